"""Frames from a video file or a webcam, and the camera model that goes with them (ROS-free).

Camera intrinsics come from a calibration YAML in the format ROS's camera_calibration writes
(image_width, image_height, camera_matrix, distortion_model, distortion_coefficients,
rectification_matrix, projection_matrix), or, without one, from a horizontal field of view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import yaml

from scalehp_ros.perception.camera import intrinsics_for_image, intrinsics_from_hfov, validate_intrinsics


@dataclass
class CameraModel:
    """Pinhole model of the images a source produces: K (3x3, pixels), image size, distortion."""

    width: int
    height: int
    K: np.ndarray
    distortion_model: str = "plumb_bob"
    D: list[float] = field(default_factory=lambda: [0.0] * 5)
    R: np.ndarray = field(default_factory=lambda: np.eye(3))
    P: np.ndarray | None = None

    def projection(self) -> np.ndarray:
        if self.P is not None:
            return self.P
        return np.hstack([self.K, np.zeros((3, 1))])


def load_calibration(path: str | Path) -> CameraModel:
    """Read a camera_calibration-style YAML (yaml.safe_load). Raises ValueError on malformed files."""
    data = yaml.safe_load(Path(path).read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a calibration mapping")
    try:
        width, height = int(data["image_width"]), int(data["image_height"])
        K = np.array(data["camera_matrix"]["data"], dtype=float).reshape(3, 3)
        D = [float(v) for v in data.get("distortion_coefficients", {}).get("data", [0.0] * 5)]
        R = np.array(data.get("rectification_matrix", {}).get("data", np.eye(3).ravel()), dtype=float).reshape(3, 3)
        P_data = data.get("projection_matrix", {}).get("data")
        P = np.array(P_data, dtype=float).reshape(3, 4) if P_data is not None else None
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: malformed calibration file ({exc})") from exc
    return CameraModel(width, height, validate_intrinsics(K), data.get("distortion_model", "plumb_bob"), D, R, P)


def camera_model_for(width: int, height: int, calibration: CameraModel | None, hfov_deg: float) -> CameraModel:
    """Camera model for frames of `width` x `height`: the calibration (rescaled if needed) or the FOV model."""
    if calibration is None:
        return CameraModel(width, height, intrinsics_from_hfov(width, height, hfov_deg))
    K = intrinsics_for_image(calibration.K, (calibration.width, calibration.height), (width, height))
    P = None
    if (width, height) == (calibration.width, calibration.height):
        P = calibration.P
    return CameraModel(width, height, K, calibration.distortion_model, calibration.D, calibration.R, P)


class FrameSource:
    """Reads RGB frames from a video file (optionally looping) or a webcam device index.

    `fps` is the source's native rate (from the container, or 30 when the device does not say).
    """

    def __init__(self, video: str | Path | int, loop: bool = False, max_width: int = 0):
        self.loop = loop
        self.max_width = max_width
        self.is_file = not isinstance(video, int)
        if self.is_file and not Path(video).is_file():
            raise FileNotFoundError(f"video file not found: {video}")
        self._cap = cv2.VideoCapture(str(video) if self.is_file else video)
        if not self._cap.isOpened():
            raise RuntimeError(f"cannot open video source {video!r}")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and np.isfinite(fps) and 1.0 <= fps <= 240.0 else 30.0
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)) if self.is_file else 0
        self.frames_read = 0

    def read(self) -> np.ndarray | None:
        """Next HxWx3 uint8 RGB frame, or None at the end of a non-looping file (or a failed device read)."""
        ok, bgr = self._cap.read()
        if not ok and self.is_file and self.loop and self.frames_read > 0:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, bgr = self._cap.read()
        if not ok:
            return None
        self.frames_read += 1
        if self.max_width and bgr.shape[1] > self.max_width:
            h = round(bgr.shape[0] * self.max_width / bgr.shape[1])
            bgr = cv2.resize(bgr, (self.max_width, h), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._cap.release()
