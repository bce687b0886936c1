"""sensor_msgs/Image <-> NumPy without cv_bridge (no ROS 2 cv_bridge wheel exists for the pip-only setup).

Raw images are converted to HxWx3 uint8 RGB the way cv_bridge's `toCvCopy(msg, "rgb8")` does, with OpenCV's
cvtColor for every colour conversion (nv12 / nv21, which cv_bridge's conversion table lacks, with OpenCV's
matching codes):

- rgb8, bgr8: 3 bytes per pixel; bgr8 via COLOR_BGR2RGB.
- rgba8, bgra8: 4 bytes per pixel, alpha dropped (COLOR_RGBA2RGB / COLOR_BGRA2RGB).
- mono8: grey copied to R = G = B (COLOR_GRAY2RGB).
- mono16: 2 bytes per pixel in the byte order `is_bigendian` names; scaled to 8 bit by value >> 8 (the top
  byte; cv_bridge rounds value * 255 / 65535, which differs from this by at most 1), then as mono8.
- uyvy and its alias yuv422: 4:2:2 packed U Y0 V Y1 (COLOR_YUV2RGB_UYVY).
- yuyv and its alias yuv422_yuy2: 4:2:2 packed Y0 U Y1 V (COLOR_YUV2RGB_YUY2).
- nv12 / nv21: 4:2:0 semi-planar, a luma plane of height rows, then height / 2 rows of interleaved
  U V (nv12) or V U (nv21) (COLOR_YUV2RGB_NV12 / COLOR_YUV2RGB_NV21).

"yuv422" is UYVY, not YUYV: sensor_msgs/image_encodings.hpp lists it as the deprecated alias of "uyvy"
("yuv422_yuy2" of "yuyv"), and cv_bridge converts it with COLOR_YUV2RGB_UYVY (usb_cam's uyvy format and
the V4L2 UYVY fourcc publish "yuv422"; their YUYV publishes "yuv422_yuy2"). The YUV conversions are
OpenCV's: BT.601 limited range, as cv_bridge.

`step` is the length of one row in bytes and may exceed width x bytes per pixel (row padding); for nv12 /
nv21 the same step applies to the luma rows and to the height / 2 chroma rows that follow them, and the
data holds height * 3 / 2 rows. 4:2:2 needs an even width, 4:2:0 an even width and height. `is_bigendian`
matters only for mono16. Encoding names are matched case-insensitively.

Compressed: whatever OpenCV decodes (jpeg, png). Every malformed message gives a ValueError naming the
problem, never a crash deeper down.
"""

from __future__ import annotations

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image

# encoding -> (bytes per pixel of a row, cvtColor code to RGB or None)
_PACKED = {
    "rgb8": (3, None),
    "bgr8": (3, cv2.COLOR_BGR2RGB),
    "rgba8": (4, cv2.COLOR_RGBA2RGB),
    "bgra8": (4, cv2.COLOR_BGRA2RGB),
    "mono8": (1, cv2.COLOR_GRAY2RGB),
    "mono16": (2, cv2.COLOR_GRAY2RGB),
    "uyvy": (2, cv2.COLOR_YUV2RGB_UYVY),
    "yuv422": (2, cv2.COLOR_YUV2RGB_UYVY),
    "yuyv": (2, cv2.COLOR_YUV2RGB_YUY2),
    "yuv422_yuy2": (2, cv2.COLOR_YUV2RGB_YUY2),
}
# 4:2:0 semi-planar: a 1-byte luma plane of height rows, then height / 2 rows of interleaved chroma
_SEMI_PLANAR = {"nv12": cv2.COLOR_YUV2RGB_NV12, "nv21": cv2.COLOR_YUV2RGB_NV21}
_CHROMA_422 = ("uyvy", "yuv422", "yuyv", "yuv422_yuy2")

SUPPORTED_ENCODINGS = (*_PACKED, *_SEMI_PLANAR)


def checked_size(msg: Image, max_pixels: int, what: str = "image") -> tuple[int, int]:
    """(height, width) of a message that is neither empty nor over `max_pixels`, else ValueError."""
    h, w = int(msg.height), int(msg.width)
    if h <= 0 or w <= 0:
        raise ValueError(f"empty {what} {w}x{h}")
    if h * w > max_pixels:
        raise ValueError(f"{what} {w}x{h} exceeds the limit of {max_pixels} pixels")
    return h, w


def row_bytes(msg: Image, width_bytes: int, rows: int, what: str = "") -> np.ndarray:
    """(rows, width_bytes) uint8 view of the pixel bytes, row padding (`step`) dropped; ValueError when `step`
    is shorter than a row or the data is not `step` x `rows` bytes."""
    step, prefix = int(msg.step), f"{what} " if what else ""
    if step < width_bytes:
        raise ValueError(f"{prefix}step {step} shorter than a row of {width_bytes} bytes ({msg.encoding})")
    if len(msg.data) != step * rows:
        raise ValueError(f"{prefix}data length {len(msg.data)} != step {step} x {rows} rows of {msg.encoding}")
    return np.frombuffer(msg.data, dtype=np.uint8).reshape(rows, step)[:, :width_bytes]


def image_msg_to_rgb(msg: Image, max_pixels: int = 4096 * 4096) -> np.ndarray:
    """Return an HxWx3 uint8 RGB array (a new array) from an Image message in one of SUPPORTED_ENCODINGS."""
    enc = msg.encoding.lower()
    if enc not in _PACKED and enc not in _SEMI_PLANAR:
        raise ValueError(f"unsupported encoding {msg.encoding!r} (supported: {', '.join(SUPPORTED_ENCODINGS)})")
    h, w = checked_size(msg, max_pixels)
    if enc in _SEMI_PLANAR:
        if w % 2 or h % 2:
            raise ValueError(f"{enc} (4:2:0) needs an even width and height, got {w}x{h}")
        bpp, code, rows = 1, _SEMI_PLANAR[enc], h * 3 // 2
    else:
        (bpp, code), rows = _PACKED[enc], h
        if enc in _CHROMA_422 and w % 2:
            raise ValueError(f"{enc} (4:2:2) needs an even width, got {w}")
    buf = row_bytes(msg, w * bpp, rows)
    img = np.ascontiguousarray(buf)  # (rows, row_bytes); a copy only where the rows were padded
    if enc == "mono16":
        img = (img.view(">u2" if msg.is_bigendian else "<u2") >> 8).astype(np.uint8)
    elif bpp > 1:  # rgb / rgba orders, and 4:2:2 packed as HxWx2 (what cvtColor takes for UYVY / YUY2)
        img = img.reshape(h, w, bpp)
    if code is None:
        return img.copy()
    return cv2.cvtColor(img, code)


def rgb_to_image_msg(rgb: np.ndarray, header=None, encoding: str = "rgb8") -> Image:
    """Build an Image message from an HxWx3 uint8 RGB array, as rgb8 or bgr8."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected HxWx3 uint8, got {rgb.dtype} {rgb.shape}")
    if encoding not in ("rgb8", "bgr8"):
        raise ValueError(f"encoding must be rgb8 or bgr8, got {encoding!r}")
    data = rgb if encoding == "rgb8" else rgb[:, :, ::-1]
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = rgb.shape[:2]
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = rgb.shape[1] * 3
    msg.data = np.ascontiguousarray(data).tobytes()
    return msg


def compressed_msg_to_rgb(msg: CompressedImage, max_pixels: int = 4096 * 4096) -> np.ndarray:
    """Decode a sensor_msgs/CompressedImage (jpeg/png) to an HxWx3 uint8 RGB array."""
    if not msg.data:
        raise ValueError("empty CompressedImage")
    buf = np.frombuffer(msg.data, dtype=np.uint8)
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot decode CompressedImage with format {msg.format!r}")
    if bgr.shape[0] * bgr.shape[1] > max_pixels:
        raise ValueError(f"image {bgr.shape[1]}x{bgr.shape[0]} exceeds the limit of {max_pixels} pixels")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
