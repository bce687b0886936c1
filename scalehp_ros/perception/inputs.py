"""Validation of the estimator's inputs: the image, the stamp and the optional depth image (the intrinsics and
the lens model are validated by perception.camera, the detections by perception.frontend)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scalehp_ros.perception import depth as depth_stage


def validate_image(image_rgb: Any) -> np.ndarray:
    """The image as an HxWx3 uint8 array, or ValueError naming what is wrong with it."""
    if not isinstance(image_rgb, np.ndarray):
        raise ValueError(f"image must be a numpy array, got {type(image_rgb).__name__}")
    if image_rgb.dtype != np.uint8:
        raise ValueError(f"image must be uint8 RGB, got dtype {image_rgb.dtype}")
    if image_rgb.ndim != 3:
        raise ValueError(f"image must be HxWx3, got {image_rgb.ndim} dimension(s) {image_rgb.shape}")
    if image_rgb.shape[2] != 3:
        raise ValueError(f"image must have 3 channels (RGB), got {image_rgb.shape[2]}")
    if image_rgb.shape[0] == 0 or image_rgb.shape[1] == 0:
        raise ValueError(f"empty image {image_rgb.shape[1]}x{image_rgb.shape[0]}")
    return image_rgb


def validate_stamp(stamp: Any) -> float | None:
    """None (a still) or the stamp in seconds as a finite float; ValueError otherwise."""
    if stamp is None:
        return None
    if isinstance(stamp, bool) or not isinstance(stamp, int | float | np.floating | np.integer):
        raise ValueError(f"stamp must be seconds (a number) or None, got {stamp!r}")
    if not math.isfinite(stamp):
        raise ValueError(f"stamp must be finite, got {stamp!r}")
    return float(stamp)


def validate_depth_arg(depth: Any, image_size: tuple[int, int] | None) -> np.ndarray | None:
    """None, or the depth image (HxW float, metres) validated against image_size (perception.depth)."""
    return None if depth is None else depth_stage.validate_depth(depth, image_size)
