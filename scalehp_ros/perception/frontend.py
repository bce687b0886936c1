"""Front end (pipeline stage 1): MediaPipe HandLandmarker -> 2D keypoints, relative 3D pose, handedness per hand.

Input: an HxWx3 uint8 RGB image. Output per hand (`Detection`): keypoints in pixels (u right, v down),
MediaPipe's world landmarks (metres-ish, camera-parallel axes, origin near the hand centre), the side and
its score. `FrontendSettings` holds MediaPipe's options and the `mirrored` flag.

IMAGE mode for independent stills, VIDEO mode (MediaPipe's own landmark tracking between frames) for
streams. Handedness: measured on this MediaPipe (1.2.2, full-complexity models), the Tasks HandLandmarker
labels the subject's own hand for an ordinary, unmirrored camera image (it agrees with the ground-truth
hand_type of the RHD fixtures, with the chirality of its own 3D landmarks, and flips when the image is
flipped), despite the legacy solution's documentation saying labels assume a mirrored selfie image. So
labels pass through unchanged, and `mirrored=True` (a selfie view shown mirror-imaged) swaps them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision

from scalehp_ros.common.joints import NUM_JOINTS
from scalehp_ros.common.params import Settings, param
from scalehp_ros.perception.model_bundle import hand_landmarker_path

_SWAP = {"left": "right", "right": "left"}


@dataclass(frozen=True)
class FrontendSettings(Settings):
    """Settings of the detector front end (`MediaPipeFrontend`)."""

    max_hands: int = param(2, "maximum number of hands detected per image", 1, 4)
    min_detection_confidence: float = param(0.5, "MediaPipe palm detection score threshold [0-1]", 0.0, 1.0)
    min_presence_confidence: float = param(0.5, "MediaPipe hand presence score threshold [0-1]", 0.0, 1.0)
    min_tracking_confidence: float = param(
        0.5, "MediaPipe landmark tracking score threshold, video mode [0-1]", 0.0, 1.0
    )
    mirrored: bool = param(False, "the image is a mirrored (selfie) view: swap the left/right labels (bool)")


@dataclass(frozen=True)
class Detection:
    """One hand as the detector sees it.

    uv: (21, 2) keypoints, pixels. rel3d: (21, 3) MediaPipe world landmarks, metres-ish, origin near the
    hand centre, axes parallel to the camera's (x right, y down, z forward). handedness: 'left' / 'right'
    (the subject's own hand, after the `mirrored` correction); score: the classifier's probability of it.
    """

    uv: np.ndarray
    rel3d: np.ndarray
    handedness: str
    score: float


def validate_detection(det: Detection) -> None:
    """ValueError naming the problem when a detection's arrays have the wrong shape or non-finite values."""
    uv, rel = np.asarray(det.uv), np.asarray(det.rel3d)
    if uv.shape != (NUM_JOINTS, 2) or rel.shape != (NUM_JOINTS, 3):
        raise ValueError(f"landmarks must be (21, 2) pixels and (21, 3) metres, got {uv.shape} and {rel.shape}")
    if not (np.all(np.isfinite(uv)) and np.all(np.isfinite(rel))):
        raise ValueError("landmarks contain non-finite values")
    if det.handedness not in _SWAP:
        raise ValueError(f"handedness must be 'left' or 'right', got {det.handedness!r}")
    if not (np.isfinite(det.score) and 0.0 <= det.score <= 1.0):
        raise ValueError(f"handedness score must be in [0, 1], got {det.score}")


class MediaPipeFrontend:
    """Wraps the two MediaPipe HandLandmarker running modes. Not thread-safe; close() when done."""

    def __init__(self, settings: FrontendSettings | None = None) -> None:
        self._model = str(hand_landmarker_path())
        self.settings = FrontendSettings() if settings is None else settings
        self._image: vision.HandLandmarker | None = None
        self._video: vision.HandLandmarker | None = None
        self._last_ms = -1
        self.last_inference_s = 0.0  # wall time of the last MediaPipe call alone (for benchmarks)

    def _create(self, mode: vision.RunningMode) -> vision.HandLandmarker:
        options = vision.HandLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=self._model),
            running_mode=mode,
            num_hands=self.settings.max_hands,
            min_hand_detection_confidence=self.settings.min_detection_confidence,
            min_hand_presence_confidence=self.settings.min_presence_confidence,
            min_tracking_confidence=self.settings.min_tracking_confidence,
        )
        return vision.HandLandmarker.create_from_options(options)

    def detect(self, image_rgb: np.ndarray, timestamp_ms: int | None = None) -> list[Detection]:
        """Hands in a validated HxWx3 uint8 RGB image; timestamp_ms (strictly increasing) selects VIDEO mode."""
        if timestamp_ms is None:
            if self._image is None:
                self._image = self._create(vision.RunningMode.IMAGE)
            start = time.perf_counter()
            mp_image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(image_rgb))
            result = self._image.detect(mp_image)
        else:
            if self._video is None:
                self._video = self._create(vision.RunningMode.VIDEO)
            if timestamp_ms <= self._last_ms:
                raise ValueError(f"video timestamps must increase: {timestamp_ms} ms after {self._last_ms} ms")
            self._last_ms = int(timestamp_ms)
            start = time.perf_counter()
            mp_image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(image_rgb))
            result = self._video.detect_for_video(mp_image, int(timestamp_ms))
        self.last_inference_s = time.perf_counter() - start
        h, w = image_rgb.shape[:2]
        out = []
        for lms, world, cats in zip(result.hand_landmarks, result.hand_world_landmarks, result.handedness, strict=True):
            uv = np.array([(p.x * w, p.y * h) for p in lms], dtype=np.float64)
            rel = np.array([(p.x, p.y, p.z) for p in world], dtype=np.float64)
            side = cats[0].category_name.lower()
            if self.settings.mirrored:
                side = _SWAP[side]
            det = Detection(uv, rel, side, float(cats[0].score))
            validate_detection(det)
            out.append(det)
        return out

    def prepare(self, video: bool = True) -> None:
        """Load the model now (about a second) instead of on the first frame, which a live stream would drop."""
        if video and self._video is None:
            self._video = self._create(vision.RunningMode.VIDEO)
        if not video and self._image is None:
            self._image = self._create(vision.RunningMode.IMAGE)

    def reset_video(self) -> None:
        """Forget the video stream (MediaPipe's tracking state and timestamps): the next frame starts afresh."""
        if self._last_ms < 0:
            return  # no frame seen yet: nothing to forget (keeps a prepare()d model loaded)
        if self._video is not None:
            self._video.close()
        self._video = None
        self._last_ms = -1

    def close(self) -> None:
        for lm in (self._image, self._video):
            if lm is not None:
                lm.close()
        self._image = self._video = None
        self._last_ms = -1
