"""Pinhole camera helpers in the camera optical frame (REP 103/105: x right, y down, z forward, metres).

Pixel coordinates (u, v) follow the image: u along columns (right), v along rows (down), origin at the
centre of the top-left pixel, as in sensor_msgs/CameraInfo's K. Normalised image coordinates (x, y) =
K^-1 (u, v, 1) (`pixels_to_normalized`): the estimator converts its keypoints once, at its entry, and the
stages after it work on those, with K's 2x2 linear part where an error must be read in pixels.

Lens distortion (`normalize_pixels`): keypoints detected on a raw (distorted) image are undistorted there,
with sensor_msgs/CameraInfo's model names and D: 'plumb_bob' / 'rational_polynomial' (OpenCV's
undistortPoints, D of 4, 5, 8, 12 or 14 coefficients) and 'equidistant' (OpenCV's fisheye model, D of 4).
Drivers that leave distortion_model empty: an empty or all-zero D means no distortion, a D of 4, 5 or 8
coefficients is OpenCV's pinhole model (plumb_bob), as image_geometry applies it; any other D is refused.

`camera_from_info` reads a whole sensor_msgs/CameraInfo (any object with its fields) the way image_geometry's
PinholeCameraModel does, defaults included: binning 0 = 1, an all-zero roi = the full image, R unused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from scalehp_ros.common.pinhole import focal_from_fov

# CameraInfo.distortion_model -> the OpenCV model used ('fisheye' is accepted for 'equidistant')
DISTORTION_MODELS = {
    "plumb_bob": "pinhole",
    "rational_polynomial": "pinhole",
    "equidistant": "fisheye",
    "fisheye": "fisheye",
}
_PINHOLE_SIZES = (4, 5, 8, 12, 14)
# distortion_model "" with a non-zero D: these sizes are the pinhole model (what image_geometry applies)
_EMPTY_MODEL_SIZES = (4, 5, 8)
# undistortion: iterate to this precision in normalised coordinates (OpenCV's default is 5 iterations,
# too few for a strong wide-angle lens)
_UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)

Distortion = tuple[str, np.ndarray]


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


def validate_distortion(distortion: Any) -> Distortion | None:
    """(model, D as float64 array) checked, or None for no distortion (None, an empty or all-zero D).

    distortion: a (model, D) pair as in sensor_msgs/CameraInfo (distortion_model, d). ValueError naming the
    problem: an unknown model, a D of the wrong length for it, or non-finite coefficients.
    """
    if distortion is None:
        return None
    try:
        model, D = distortion
    except (TypeError, ValueError) as exc:
        raise ValueError(f"distortion must be a (model, D) pair, got {distortion!r}") from exc
    if not isinstance(model, str):
        raise ValueError(f"distortion model must be a string, got {model!r}")
    try:
        D = np.asarray(D, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"distortion coefficients must be numbers ({exc})") from exc
    if not np.all(np.isfinite(D)):
        raise ValueError("distortion coefficients must be finite")
    if model == "":  # many drivers and simulators leave the model unset
        if D.size == 0 or not np.any(D):
            return None
        if D.size not in _EMPTY_MODEL_SIZES:
            raise ValueError(
                f"distortion model is empty and D has {D.size} coefficients: with an empty model only 4, 5 or 8 "
                "coefficients are read (as plumb_bob); set distortion_model (plumb_bob, rational_polynomial, "
                "equidistant)"
            )
        model = "plumb_bob"
    if model.lower() not in DISTORTION_MODELS:
        raise ValueError(f"distortion model must be one of {sorted(DISTORTION_MODELS)} or empty, got {model!r}")
    if D.size == 0 or not np.any(D):
        return None
    sizes = (4,) if DISTORTION_MODELS[model.lower()] == "fisheye" else _PINHOLE_SIZES
    if D.size not in sizes:
        raise ValueError(f"{model} distortion needs {' or '.join(map(str, sizes))} coefficients, got {D.size}")
    return model.lower(), D  # validating it again gives the same pair


def normalize_pixels(uv: np.ndarray, K: np.ndarray, distortion: Distortion | None = None) -> np.ndarray:
    """Undistorted normalised image coordinates (..., J, 2) of pixels `uv` of an image with intrinsics K (3, 3)
    and lens distortion `distortion` (from `validate_distortion`; None: a pinhole image, plain K^-1).

    K^-1 first (skew included), then OpenCV's iterative undistortion in normalised coordinates.
    """
    xy = pixels_to_normalized(uv, K)
    if distortion is None:
        return xy
    model, D = distortion
    kind = DISTORTION_MODELS[model]
    pts = np.ascontiguousarray(xy.reshape(-1, 1, 2), dtype=np.float64)
    eye = np.eye(3)
    if kind == "fisheye":
        out = cv2.fisheye.undistortPoints(pts, eye, D, criteria=_UNDISTORT_CRITERIA)
    else:
        out = cv2.undistortPoints(pts, eye, D, criteria=_UNDISTORT_CRITERIA)
    return out.reshape(xy.shape)


def distort_normalized(xy: np.ndarray, distortion: Distortion | None) -> np.ndarray:
    """The forward lens model: distorted normalised coordinates of ideal ones (..., 2) (tests, synthesis)."""
    if distortion is None:
        return np.array(xy, dtype=np.float64)
    model, D = distortion
    kind = DISTORTION_MODELS[model]
    pts = np.concatenate((xy.reshape(-1, 2), np.ones((xy.size // 2, 1))), axis=1).reshape(-1, 1, 3)
    zero = np.zeros(3)
    if kind == "fisheye":
        out, _ = cv2.fisheye.projectPoints(pts, zero, zero, np.eye(3), D)
    else:
        out, _ = cv2.projectPoints(pts, zero, zero, np.eye(3), D)
    return out.reshape(xy.shape)


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
    f = focal_from_fov(width, hfov_deg)
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class CameraFromInfo:
    """What a CameraInfo says about the images published with it.

    K: (3, 3) intrinsics of those images in pixels (binning and roi applied); size: their (width, height);
    distortion: the lens model and D to undistort raw keypoints with, or None (a pinhole or rectified image).
    """

    K: np.ndarray
    size: tuple[int, int]
    distortion: Distortion | None


def camera_from_info(info: Any, rectified: bool = False, uncalibrated_hfov_deg: float = 0.0) -> CameraFromInfo:
    """Read a sensor_msgs/CameraInfo (any object with its fields) as image_geometry's PinholeCameraModel does.

    Fields a driver may leave at their defaults: distortion_model "" (see `validate_distortion`); binning 0
    (= 1, no binning); roi all zero (= the full width x height); R all zero (R is never used: keypoint rays
    stay in the camera optical frame of the image, which is what the hand is expressed in); P all zero (only
    read with `rectified`: then K stands for it when D says no distortion, else ValueError). K all zero (an
    uncalibrated driver) takes an ideal pinhole of `uncalibrated_hfov_deg`, or ValueError when that is 0.
    A non-zero roi moves the principal point by its offset and binning divides fx, fy, cx, cy (and the skew)
    by the binning factors, as image_geometry does; the images then have roi size / binning.
    `rectified`: the images are image_rect, so P[:3, :3] is their K and no distortion applies.
    """
    width, height = int(info.width), int(info.height)
    if width <= 0 or height <= 0:
        raise ValueError(f"size {width}x{height}")
    bx, by = max(1, int(info.binning_x)), max(1, int(info.binning_y))
    roi = info.roi
    x0, y0, rw, rh = int(roi.x_offset), int(roi.y_offset), int(roi.width), int(roi.height)
    if (x0, y0, rw, rh) == (0, 0, 0, 0):  # ROI all zeros is the full resolution (image_geometry)
        rw, rh = width, height
    if rw <= 0 or rh <= 0 or x0 + rw > width or y0 + rh > height:
        raise ValueError(f"roi {rw}x{rh} at ({x0}, {y0}) does not fit in the {width}x{height} image")
    K = np.array(info.k, dtype=np.float64).reshape(3, 3)
    calibrated = bool(np.any(K))
    if not calibrated:  # an uncalibrated driver (usb_cam, v4l2_camera without a calibration file)
        if not uncalibrated_hfov_deg:
            raise ValueError(
                "the camera is uncalibrated (K is all zero): calibrate it (camera_info_file / camera_info_url) "
                "or set uncalibrated_hfov_deg (launch argument hfov_deg)"
            )
        K = intrinsics_from_hfov(width, height, uncalibrated_hfov_deg)
    distortion = None
    if rectified:
        P = np.array(info.p, dtype=np.float64).reshape(3, 4)
        if np.any(P):
            K = P[:, :3].copy()
        elif calibrated and validate_distortion((info.distortion_model, info.d)) is not None:
            raise ValueError(
                "rectified_input is set but P is all zero and D is not: the rectified intrinsics are unknown "
                "(fill P, or subscribe image_raw with rectified_input false)"
            )
    elif calibrated:
        distortion = validate_distortion((info.distortion_model, info.d))
    if (x0, y0) != (0, 0) or bx > 1 or by > 1:
        K = K.copy()
        K[0, 2] -= x0
        K[1, 2] -= y0
        K[0, :] /= bx
        K[1, :] /= by
    return CameraFromInfo(validate_intrinsics(K), (rw // bx, rh // by), distortion)
