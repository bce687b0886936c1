"""HandPoseEstimator: one RGB image + intrinsics -> metric 3D hand joints in the camera optical frame.

The ScaleHP pipeline, composed from the one-concept modules of this package:

    image --frontend--> 2D keypoints, relative 3D, handedness       (MediaPipe HandLandmarker)
          --canonical--> root-relative pose, unit mean bone length   (published proportions by default)
          --scale------> mean bone length in metres                  (prior | fixed | learned)
          --root_solver> camera-frame joints fitted to the 2D         (closed form + refinement)
          --filters----> One Euro per track, handedness hysteresis   (video streams only)

ROS-free: the perception node only converts messages to and from these calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from scalehp_ros.common.joints import INDEX_MCP, LITTLE_MCP, MIDDLE_MCP, RING_MCP, WRIST
from scalehp_ros.perception import root_solver
from scalehp_ros.perception.anthropometry import BONE_PROPORTIONS
from scalehp_ros.perception.camera import pixels_to_normalized, rotation_to_ray, validate_intrinsics
from scalehp_ros.perception.canonical import canonical_pose, with_bone_lengths
from scalehp_ros.perception.filters import HandednessHysteresis, OneEuroFilter
from scalehp_ros.perception.frontend import Detection, MediaPipeFrontend, validate_detection
from scalehp_ros.perception.scale import make_scale_estimator
from scalehp_ros.perception.settings import EstimatorConfig
from scalehp_ros.perception.tracking import HandTracker

_FRONTEND_FIELDS = (
    "max_hands",
    "min_detection_confidence",
    "min_presence_confidence",
    "min_tracking_confidence",
    "mirrored",
)
_TEMPORAL_FIELDS = (
    "filter_min_cutoff_hz",
    "filter_beta",
    "filter_d_cutoff_hz",
    "scale_min_cutoff_hz",
    "handedness_hysteresis",
    "track_max_jump",
    "track_timeout_s",
)
_PALM = (WRIST, 1, INDEX_MCP, MIDDLE_MCP, RING_MCP, LITTLE_MCP)
PALM_WEIGHTS = np.full(21, 0.5)
PALM_WEIGHTS[list(_PALM)] = 1.0
PALM_WEIGHTS.setflags(write=False)


@dataclass
class HandPose:
    """One hand in one image.

    joints_cam: (21, 3) metres, camera optical frame (x right, y down, z forward), joints.JOINT_NAMES order.
    joints_2d: (21, 2) the detector's keypoints, pixels. handedness: 'left'/'right', the subject's own hand;
    handedness_score: its probability [0-1]. scale: mean bone length, metres. translation: (3,) the wrist
    position (= joints_cam[0]), metres. reprojection_error: mean pixel distance between the projected
    joints_cam and joints_2d. confidence: the detector's score for this hand [0-1] (MediaPipe's handedness
    classification score, the only per-hand score its Tasks API returns). track_id: stable over a video
    stream (-1 for still images).
    """

    joints_cam: np.ndarray
    joints_2d: np.ndarray
    handedness: str
    handedness_score: float
    scale: float
    translation: np.ndarray
    reprojection_error: float
    confidence: float
    track_id: int = -1


def hand_rays(uv: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Viewing rays (N, 3) through the centres of the hands' keypoint boxes (uv (N, 21, 2) px).

    MediaPipe predicts its 3D landmarks from a crop around the hand, so they cannot depend on where the hand
    is in the image: they are expressed in a frame looking along this ray, not along the optical axis.
    """
    centre = 0.5 * (uv.min(axis=1) + uv.max(axis=1))
    xy = pixels_to_normalized(centre[:, None, :], K)[:, 0]
    return np.concatenate((xy, np.ones((len(xy), 1))), axis=1)


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


def _validate_stamp(stamp: Any) -> float | None:
    if stamp is None:
        return None
    if isinstance(stamp, bool) or not isinstance(stamp, int | float | np.floating | np.integer):
        raise ValueError(f"stamp must be seconds (a number) or None, got {stamp!r}")
    if not math.isfinite(stamp):
        raise ValueError(f"stamp must be finite, got {stamp!r}")
    return float(stamp)


@dataclass
class _Stream:
    """Timing of one video stream (the tracks live in the estimator's tracker)."""

    start: float
    last_stamp: float
    last_ms: int = 0


class HandPoseEstimator:
    """Metric 3D hand pose from RGB images; see the module docstring. Not thread-safe; close() when done."""

    def __init__(self, config: EstimatorConfig | None = None, frontend: MediaPipeFrontend | None = None) -> None:
        config = EstimatorConfig() if config is None else config
        if not isinstance(config, EstimatorConfig):
            raise ValueError(f"config must be an EstimatorConfig, got {type(config).__name__}")
        self._scale = make_scale_estimator(config.scale_mode, config.hand_length_m)
        self._config = config
        self._frontend = frontend
        self._stream: _Stream | None = None
        self._tracker = HandTracker(config.track_max_jump, config.track_timeout_s)

    # -- configuration ---------------------------------------------------------------------------------
    @property
    def config(self) -> EstimatorConfig:
        return self._config

    def update_config(self, **changes: Any) -> EstimatorConfig:
        """Apply parameter changes at run time. Bad names/values raise ValueError ('learned' scale raises
        NotImplementedError) and leave the current configuration in force. Returns the new config."""
        new = self._config.replace(**changes)
        scale = make_scale_estimator(new.scale_mode, new.hand_length_m)
        old = self._config
        self._config, self._scale = new, scale
        if any(getattr(old, f) != getattr(new, f) for f in _FRONTEND_FIELDS) and self._frontend is not None:
            self._frontend.close()
            self._frontend = None
            self._stream = None
        if any(getattr(old, f) != getattr(new, f) for f in _TEMPORAL_FIELDS):
            self._stream = None
            self._tracker.reset()
            self._tracker.max_jump, self._tracker.timeout_s = new.track_max_jump, new.track_timeout_s
        return new

    def _get_frontend(self) -> MediaPipeFrontend:
        if self._frontend is None:
            c = self._config
            self._frontend = MediaPipeFrontend(
                c.max_hands,
                c.min_detection_confidence,
                c.min_presence_confidence,
                c.min_tracking_confidence,
                c.mirrored,
            )
        return self._frontend

    # -- the pipeline ----------------------------------------------------------------------------------
    def estimate(self, image_rgb: np.ndarray, K: np.ndarray, stamp: float | None = None) -> list[HandPose]:
        """Hands in one image. image_rgb: HxWx3 uint8 RGB. K: 3x3 intrinsics of that image (pixels).

        stamp None: an independent still (no temporal state). stamp in seconds: a frame of a video stream
        (tracking and filtering); a stamp that does not increase (a looping or restarted video) resets the
        stream. Returns [] when no hand is found. Raises ValueError for bad input.
        """
        image_rgb = validate_image(image_rgb)
        K = validate_intrinsics(K)
        stamp = _validate_stamp(stamp)
        frontend = self._get_frontend()
        if stamp is None:
            detections = frontend.detect(image_rgb)
        else:
            stream = self._stream
            if stream is None or stamp <= stream.last_stamp:
                frontend.reset_video()
                stream = self._stream = self._new_stream(stamp)
                ms = 0
            else:
                ms = max(round((stamp - stream.start) * 1000.0), stream.last_ms + 1)
            stream.last_ms, stream.last_stamp = ms, stamp
            detections = frontend.detect(image_rgb, ms)
        h, w = image_rgb.shape[:2]
        return self._process(detections, K, stamp, (w, h), image_rgb)

    def _new_stream(self, stamp: float) -> _Stream:
        self._tracker.reset()  # track ids keep counting up: a new stream never reuses an old id
        return _Stream(start=stamp, last_stamp=stamp)

    def estimate_from_detections(
        self,
        detections: list[Detection],
        K: np.ndarray,
        stamp: float | None = None,
        image_size: tuple[int, int] | None = None,
        image_rgb: np.ndarray | None = None,
    ) -> list[HandPose]:
        """Everything after the detector: canonical pose, scale, root solve, and (with a stamp) tracking and
        filtering. image_size (width, height) px scales the tracking gate (default: from K's principal point).
        """
        K = validate_intrinsics(K)
        stamp = _validate_stamp(stamp)
        for det in detections:
            validate_detection(det)
        return self._process(detections, K, stamp, image_size, image_rgb)

    def _process(
        self,
        detections: list[Detection],
        K: np.ndarray,
        stamp: float | None,
        image_size: tuple[int, int] | None,
        image_rgb: np.ndarray | None,
    ) -> list[HandPose]:
        """estimate_from_detections on validated input (the front end validates what it returns)."""
        if not detections:
            return []
        c = self._config
        uv = np.stack([d.uv for d in detections])
        canonical, _ = canonical_pose(np.stack([d.rel3d for d in detections]))
        if c.proportions == "anthropometric":
            canonical = with_bone_lengths(canonical, BONE_PROPORTIONS)
        if c.ray_align:
            canonical = canonical @ rotation_to_ray(hand_rays(uv, K)).transpose(0, 2, 1)
        scale = np.asarray(self._scale(canonical, uv, image_rgb), dtype=np.float64)
        rel = scale[:, None, None] * canonical
        bone_lengths = scale[:, None] * BONE_PROPORTIONS if c.proportions == "anthropometric" else None
        sol = root_solver.solve(
            rel,
            uv,
            K,
            method=c.solver,
            weights=PALM_WEIGHTS if c.joint_weighting == "palm" else None,
            bone_lengths=bone_lengths,
            huber_px=c.huber_px,
            sigma_px=c.keypoint_sigma_px,
            sigma_prior_xy_m=c.prior_sigma_xy_m,
            sigma_prior_z_m=c.prior_sigma_z_m,
            iterations=c.refine_iterations,
        )
        joints, errors = sol.joints, sol.reprojection_error
        poses = [
            HandPose(
                joints_cam=joints[i],
                joints_2d=uv[i],
                handedness=det.handedness,
                handedness_score=det.score,
                scale=float(scale[i]),
                translation=joints[i, WRIST].copy(),
                reprojection_error=float(errors[i]),
                confidence=det.score,
            )
            for i, det in enumerate(detections)
        ]
        if stamp is not None:
            self._filter(poses, K, stamp, image_size)
        return poses

    def _filter(self, poses: list[HandPose], K: np.ndarray, stamp: float, image_size: tuple[int, int] | None) -> None:
        c = self._config
        if self._stream is None or stamp < self._stream.last_stamp:
            self._stream = self._new_stream(stamp)
        self._stream.last_stamp = stamp
        w, h = image_size if image_size is not None else (2.0 * K[0, 2], 2.0 * K[1, 2])
        centroids = np.stack([p.joints_2d.mean(axis=0) for p in poses])
        tracks = self._tracker.update(centroids, stamp, float(np.hypot(w, h)))
        for pose, track in zip(poses, tracks, strict=True):
            st = track.state
            if not st:
                st["joints"] = OneEuroFilter(c.filter_min_cutoff_hz, c.filter_beta, c.filter_d_cutoff_hz)
                st["scale"] = OneEuroFilter(c.scale_min_cutoff_hz, 0.0, c.filter_d_cutoff_hz)
                st["side"] = HandednessHysteresis(c.handedness_hysteresis)
            pose.joints_cam = st["joints"](pose.joints_cam, stamp)
            pose.scale = float(st["scale"](np.array(pose.scale), stamp))
            pose.translation = pose.joints_cam[WRIST].copy()
            pose.reprojection_error = float(
                root_solver.reprojection_error(pose.joints_cam[None], pose.joints_2d[None], K)[0]
            )
            pose.handedness, pose.handedness_score = st["side"].update(pose.handedness, pose.handedness_score)
            pose.track_id = track.track_id

    def reset(self) -> None:
        """Forget the video stream (tracks, filters, MediaPipe's tracking)."""
        self._stream = None
        self._tracker.reset()
        if self._frontend is not None:
            self._frontend.reset_video()

    def close(self) -> None:
        """Release MediaPipe's resources. The estimator can be used again afterwards (it re-creates them)."""
        if self._frontend is not None:
            self._frontend.close()
            self._frontend = None
        self._stream = None
        self._tracker.reset()

    def __enter__(self) -> HandPoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
