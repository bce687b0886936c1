"""Pinhole camera helpers in the camera optical frame (REP 103/105: x right, y down, z forward, metres).

Pixel coordinates (u, v) follow the image: u along columns (right), v along rows (down), origin at the
centre of the top-left pixel, as in sensor_msgs/CameraInfo's K. Normalised image coordinates (x, y) =
K^-1 (u, v, 1) (`pixels_to_normalized`): the estimator converts its keypoints once, at its entry, and the
stages after it work on those, with K's 2x2 linear part where an error must be read in pixels.
"""

from __future__ import annotations

import numpy as np


def validate_intrinsics(K: np.ndarray) -> np.ndarray:
    """Return K as a float64 (3, 3) array after checking it is a usable pinhole intrinsic matrix.

    Raises ValueError naming the problem: wrong shape, non-finite entries, a zero, negative or NaN focal
    length, or a last row other than (0, 0, 1). Skew is allowed.
    """
    try:
        K = np.asarray(K, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"K must be a 3x3 numeric matrix ({exc})") from exc
    if K.shape != (3, 3):
        raise ValueError(f"K must have shape (3, 3), got {K.shape}")
    fx, fy = K[0, 0], K[1, 1]
    if not (np.isfinite(fx) and np.isfinite(fy)):
        raise ValueError(f"K has a non-finite focal length (fx={fx}, fy={fy})")
    if fx <= 0.0 or fy <= 0.0:
        raise ValueError(f"K focal lengths must be positive, got fx={fx}, fy={fy}")
    if not np.all(np.isfinite(K)):
        raise ValueError("K has non-finite entries")
    if abs(K[2, 0]) > 1e-9 or abs(K[2, 1]) > 1e-9 or abs(K[2, 2] - 1.0) > 1e-9:
        raise ValueError(f"K's last row must be (0, 0, 1), got {tuple(K[2])}")
    return K


def pixels_to_normalized(uv: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Normalised image coordinates (x/z, y/z) of pixels (..., J, 2) under intrinsics K (3, 3) or (..., 3, 3)."""
    K = np.asarray(K)
    if K.ndim == 2:  # one camera: plain scalars, the common and fastest case
        fx, fy, cx, cy, skew = K[0, 0], K[1, 1], K[0, 2], K[1, 2], K[0, 1]
    else:
        fx, fy, cx, cy, skew = (K[..., r, c][..., None] for r, c in ((0, 0), (1, 1), (0, 2), (1, 2), (0, 1)))
    out = np.empty(uv.shape)
    out[..., 1] = (uv[..., 1] - cy) / fy
    out[..., 0] = (uv[..., 0] - cx - skew * out[..., 1]) / fx
    return out


def project(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pixels (..., J, 2) of camera-frame points (..., J, 3), metres (z > 0), under K (3, 3) or (..., 3, 3)."""
    fx, fy, cx, cy, skew = (K[..., r, c][..., None] for r, c in ((0, 0), (1, 1), (0, 2), (1, 2), (0, 1)))
    x = points[..., 0] / points[..., 2]
    y = points[..., 1] / points[..., 2]
    return np.stack((fx * x + skew * y + cx, fy * y + cy), axis=-1)


def rotation_to_ray(ray: np.ndarray) -> np.ndarray:
    """Rotations (..., 3, 3) turning the optical axis (0, 0, 1) onto the unit directions of `ray` (..., 3).

    The minimal rotation (about the axis z x ray), so the image x/y axes tilt as little as possible.
    """
    d = ray / np.linalg.norm(ray, axis=-1, keepdims=True)
    x, y, c = d[..., 0], d[..., 1], d[..., 2]  # c: cos of the angle to the optical axis
    # Rodrigues about a = z x d = (-y, x, 0) (|a| = sin): R = I + [a]x + [a]x^2 / (1 + c)
    k = 1.0 / (1.0 + c)
    R = np.empty((*d.shape[:-1], 3, 3))
    R[..., 0, 0] = 1.0 - k * x * x
    R[..., 0, 1] = -k * x * y
    R[..., 0, 2] = x
    R[..., 1, 0] = -k * x * y
    R[..., 1, 1] = 1.0 - k * y * y
    R[..., 1, 2] = y
    R[..., 2, 0] = -x
    R[..., 2, 1] = -y
    R[..., 2, 2] = c
    return R


# Two sizes share an aspect ratio when their x and y scale factors differ by less than this (relative).
ASPECT_TOLERANCE = 0.01


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
