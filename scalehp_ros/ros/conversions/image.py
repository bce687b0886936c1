"""sensor_msgs/Image <-> NumPy without cv_bridge (no ROS 2 cv_bridge wheel exists for the pip-only setup).

Raw images: rgb8, bgr8 and mono8 (what the project consumes); compressed: whatever OpenCV decodes
(jpeg, png). Every malformed message gives a
ValueError naming the problem, never a crash deeper down.
"""

from __future__ import annotations

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image

CHANNELS = {"rgb8": 3, "bgr8": 3, "mono8": 1}


def image_msg_to_rgb(msg: Image, max_pixels: int = 4096 * 4096) -> np.ndarray:
    """Return an HxWx3 uint8 RGB array (a copy) from an rgb8 / bgr8 / mono8 Image message."""
    enc = msg.encoding.lower()
    if enc not in CHANNELS:
        raise ValueError(f"unsupported encoding {msg.encoding!r} (supported: {', '.join(CHANNELS)})")
    h, w, c = int(msg.height), int(msg.width), CHANNELS[enc]
    if h <= 0 or w <= 0:
        raise ValueError(f"empty image {w}x{h}")
    if h * w > max_pixels:
        raise ValueError(f"image {w}x{h} exceeds the limit of {max_pixels} pixels")
    if msg.step < w * c:
        raise ValueError(f"step {msg.step} shorter than a row of {w * c} bytes")
    if len(msg.data) != msg.step * h:
        raise ValueError(f"data length {len(msg.data)} != step {msg.step} x height {h}")
    rows = np.frombuffer(msg.data, dtype=np.uint8).reshape(h, msg.step)[:, : w * c]
    img = rows.reshape(h, w, c)
    if enc == "rgb8":
        return img.copy()
    if enc == "bgr8":
        return img[:, :, ::-1].copy()
    return np.repeat(img, 3, axis=2)


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
