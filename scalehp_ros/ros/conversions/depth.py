"""sensor_msgs/Image depth (REP 118) <-> NumPy metres, without cv_bridge.

REP 118: 16UC1 in millimetres (0 = no value; realsense2_camera, Orbbec, OAK-D) or 32FC1 in metres (NaN or
+-inf = no value; ZED, depth_image_proc). `depth_msg_to_metres` returns an HxW float32 array of metres with
0 where the sensor has no value, honouring `step` (row padding) and `is_bigendian`; every malformed message
gives a ValueError naming the problem.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import Image

from scalehp_ros.ros.conversions.image import checked_size, row_bytes

# encoding -> (bytes per pixel, little-endian numpy dtype, metres per unit)
DEPTH_ENCODINGS = {"16uc1": (2, "<u2", 0.001), "32fc1": (4, "<f4", 1.0)}


def depth_msg_to_metres(msg: Image, max_pixels: int = 4096 * 4096) -> np.ndarray:
    enc = msg.encoding.lower()
    if enc not in DEPTH_ENCODINGS:
        raise ValueError(f"unsupported depth encoding {msg.encoding!r} (REP 118: 16UC1 millimetres or 32FC1 metres)")
    h, w = checked_size(msg, max_pixels, "depth image")
    bpp, dtype, unit = DEPTH_ENCODINGS[enc]
    rows = row_bytes(msg, w * bpp, h, "depth")
    dt = np.dtype(dtype).newbyteorder(">" if msg.is_bigendian else "<")
    values = np.ascontiguousarray(rows).view(dt).reshape(h, w).astype(np.float32)
    values *= unit
    values[~np.isfinite(values)] = 0.0
    return values


def metres_to_depth_msg(depth_m: np.ndarray, encoding: str = "16UC1") -> Image:
    """An Image from an HxW depth array in metres (0 or NaN = none), as 16UC1 millimetres or 32FC1 metres."""
    enc = encoding.lower()
    if enc not in DEPTH_ENCODINGS or depth_m.ndim != 2:
        raise ValueError(f"expected HxW metres and 16UC1 or 32FC1, got {depth_m.shape} {encoding!r}")
    d = np.nan_to_num(np.asarray(depth_m, dtype=np.float64), nan=0.0)
    data = np.round(d * 1000.0).clip(0, 65535).astype("<u2") if enc == "16uc1" else d.astype("<f4")
    msg = Image()
    msg.height, msg.width = depth_m.shape
    msg.encoding = "16UC1" if enc == "16uc1" else "32FC1"
    msg.is_bigendian = 0
    msg.step = depth_m.shape[1] * data.itemsize
    msg.data = data.tobytes()
    return msg
