"""Pinhole intrinsics: validation and rescaling to the image actually received (ROS-free).

K is the 3x3 intrinsic matrix of the camera optical frame (x right, y down, z forward), in pixels.
"""

from __future__ import annotations

import numpy as np

# Two sizes share an aspect ratio when their x and y scale factors differ by less than this (relative).
ASPECT_TOLERANCE = 0.01


def validate_intrinsics(K: np.ndarray) -> np.ndarray:
    """Return K as a float (3,3) array, or raise ValueError naming what is wrong with it."""
    K = np.asarray(K, dtype=float)
    if K.shape != (3, 3):
        raise ValueError(f"K must be 3x3, got shape {K.shape}")
    if not np.all(np.isfinite(K)):
        raise ValueError("K has non-finite entries")
    fx, fy = K[0, 0], K[1, 1]
    if fx <= 0 or fy <= 0:
        raise ValueError(f"K focal lengths must be positive, got fx={fx}, fy={fy}")
    if not np.allclose(K[2], [0.0, 0.0, 1.0]) or K[1, 0] != 0.0:
        raise ValueError(f"K is not an upper-triangular pinhole matrix with last row [0, 0, 1]: {K.tolist()}")
    return K


def intrinsics_for_image(K: np.ndarray, calib_size: tuple[int, int], image_size: tuple[int, int]) -> np.ndarray:
    """K for an image of `image_size` (width, height) given K calibrated at `calib_size` (width, height).

    Same size: K unchanged. Same aspect ratio (a resized stream): fx, cx scaled by the width ratio and
    fy, cy by the height ratio (pixel-centre convention of a plain resize). Otherwise ValueError.
    """
    K = validate_intrinsics(K)
    (cw, ch), (iw, ih) = calib_size, image_size
    if cw <= 0 or ch <= 0:
        raise ValueError(f"calibration size {cw}x{ch} is not positive")
    if (cw, ch) == (iw, ih):
        return K
    sx, sy = iw / cw, ih / ch
    if abs(sx - sy) > ASPECT_TOLERANCE * max(sx, sy):
        raise ValueError(f"image {iw}x{ih} does not match CameraInfo {cw}x{ch} and has another aspect ratio")
    scaled = K.copy()
    scaled[0, :] *= sx
    scaled[1, :] *= sy
    scaled[0, 2] = (K[0, 2] + 0.5) * sx - 0.5
    scaled[1, 2] = (K[1, 2] + 0.5) * sy - 0.5
    return scaled


def intrinsics_from_hfov(width: int, height: int, hfov_deg: float) -> np.ndarray:
    """K of an ideal pinhole with square pixels, centred principal point and horizontal FOV `hfov_deg`."""
    if not 1.0 <= hfov_deg <= 179.0:
        raise ValueError(f"horizontal field of view must be in [1, 179] degrees, got {hfov_deg}")
    f = 0.5 * width / np.tan(np.radians(hfov_deg) / 2.0)
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])
