"""HandPoseEstimator: one RGB image + intrinsics -> metric 3D hand joints in the camera optical frame.

The ScaleHP pipeline, composed from the one-concept modules of this package; each stage gets its own
settings group of `EstimatorConfig` (perception.settings) unchanged:

    image --frontend-----> 2D keypoints uv (px), relative 3D, handedness  FrontendSettings   (MediaPipe)
          --acquisition--> the hands it missed: crops, contrast (stills;  AcquisitionSettings
                           streams only while nothing is seen)
    uv, K, D --K^-1, D^-1> normalised keypoints xy, focal = K[:2, :2]     (the intrinsics, applied once)
          --canonical----> root-relative pose, unit mean bone length      CanonicalSettings  (published proportions)
          --hand_size----> mean bone length and bone lengths in metres    ScaleSettings      (profile > online
                           (the one authority: perception.hand_size)                       calibration > fixed > prior)
          --root_solver--> camera-frame joints fitted to xy (metres)      RootSolveSettings  (closed form + refinement)
          --placement----> the solve's placement or the model fit's       PlacementSettings  (solve | fit | auto)
                           (placement.palm_pnp and a profile: the profile's palm placed by PnP, perception.palm_pnp)
          --depth_fusion-> with a registered depth image: joint depths,   DepthSettings      (optional)
                           a second solve with them as a least-squares
                           term; depth-anchored scales for the online     OnlineScaleSettings
                           calibration (-> hand_size; a converged one becomes the profile, written to a file here)
          --tracking-----> stable track ids                               TrackingSettings   (video streams only)
          --filters------> One Euro per track, handedness hysteresis      FilterSettings     (video streams only)

Frames and units: joints in metres, camera optical frame (x right, y down, z forward); keypoints in pixels
(HandPose.joints_2d) and, inside the pipeline, normalised image coordinates; reprojection errors in pixels.
ROS-free: the perception node only converts messages to and from these calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from scalehp_ros.common.joints import WRIST
from scalehp_ros.perception import depth as depth_stage
from scalehp_ros.perception import depth_fusion, root_solver
from scalehp_ros.perception.acquisition import Acquisition, AcquisitionReport
from scalehp_ros.perception.camera import Distortion, normalize_pixels, validate_distortion, validate_intrinsics
from scalehp_ros.perception.canonical import canonical_from_detector, hand_rays
from scalehp_ros.perception.filters import TrackFilters
from scalehp_ros.perception.frontend import Detection, MediaPipeFrontend, validate_detection
from scalehp_ros.perception.hand_pose import HandPose
from scalehp_ros.perception.hand_size import HandSize
from scalehp_ros.perception.inputs import validate_depth_arg, validate_image, validate_stamp
from scalehp_ros.perception.palm_pnp import place_hands
from scalehp_ros.perception.placement import HandsInView, Placement, arm_reference
from scalehp_ros.perception.profile import OperatorProfile, save_profile
from scalehp_ros.perception.scale_calibration import CalibrationStatus
from scalehp_ros.perception.settings import EstimatorConfig
from scalehp_ros.perception.tracking import HandTracker


@dataclass
class _Stream:
    """Timing of one video stream (the tracks live in the estimator's tracker, each side's last placement fit
    in its Placement)."""

    start: float
    last_stamp: float
    last_ms: int = 0


class HandPoseEstimator:
    """Metric 3D hand pose from RGB images; see the module docstring. Not thread-safe; close() when done."""

    def __init__(self, config: EstimatorConfig | None = None, frontend: MediaPipeFrontend | None = None) -> None:
        config = EstimatorConfig() if config is None else config
        if not isinstance(config, EstimatorConfig):
            raise ValueError(f"config must be an EstimatorConfig, got {type(config).__name__}")
        self._size = HandSize(config.scale)
        self._placement = Placement(config.placement)
        self._config = config
        self._frontend = frontend
        self._stream: _Stream | None = None
        self._tracker = HandTracker(config.tracking)
        self._acquisition = Acquisition(self._detect_still, config.acquisition)
        self.calibration_written: str | None = None  # path of the last profile written by the calibration
        self.calibration_error: str | None = None  # why writing it failed, if it did

    # -- configuration ---------------------------------------------------------------------------------
    @property
    def config(self) -> EstimatorConfig:
        return self._config

    @property
    def last_acquisition(self) -> AcquisitionReport:
        """What finding the hands of the last `estimate` call cost: detector calls (1 = no fallback), the
        fallback's extra calls and the hands it added, wall time (see perception.acquisition)."""
        return self._acquisition.last_report

    @property
    def last_detector_time_s(self) -> float:
        """Wall time (s) of the last MediaPipe HandLandmarker call alone; 0.0 before the first."""
        return float(getattr(self._frontend, "last_inference_s", 0.0))

    def update_config(self, changes: Mapping[str, Any] | None = None, /, **kwargs: Any) -> EstimatorConfig:
        """Apply parameter changes (`EstimatorConfig.parameters()` names: dotted ones in `changes`, e.g.
        `{"scale.mode": "fixed"}`) at run time. Bad names or values, and scale.mode 'learned' (not implemented),
        raise ValueError and leave the current configuration in force. Returns the new config."""
        new = self._config.replace(changes, **kwargs)
        self._size.update(new.scale)
        old = self._config
        self._config = new
        self._placement.settings = new.placement
        self._acquisition.settings = new.acquisition
        if old.frontend != new.frontend and self._frontend is not None:
            self._frontend.close()
            self._frontend = None
            self._stream = None
        if old.filters != new.filters or old.tracking != new.tracking:
            self._stream = None
            self._tracker.reset()
            self._tracker.settings = new.tracking
        return new

    @property
    def operator_profile(self) -> OperatorProfile | None:
        """The operator profile in force (from `operator_profile` or `set_operator_profile`), or None."""
        return self._size.profile

    def set_operator_profile(self, profile: OperatorProfile | None) -> None:
        """Use `profile` (e.g. a fresh `calibration.Calibrator` result) for the scale and bone lengths from the
        next frame on, without a file; None: back to scale.mode. A later change of the scale parameters
        reloads the `operator_profile` file."""
        self._size.set_profile(profile)

    def calibration_status(self) -> dict[str, CalibrationStatus]:
        """The online depth calibration ({'operator': status}, empty before the first depth frame; both hands
        feed the one operator scale; perception.scale_calibration)."""
        return self._size.calibration_status()

    def _get_frontend(self) -> MediaPipeFrontend:
        if self._frontend is None:
            self._frontend = MediaPipeFrontend(self._config.frontend)
        return self._frontend

    def prepare(self, video: bool = True) -> None:
        """Load the detector's model now (for a video stream by default), so the first frames are not lost."""
        self._get_frontend().prepare(video)

    def _detect_still(self, image_rgb: np.ndarray) -> list[Detection]:
        """The detector in IMAGE mode (the acquisition fallback's calls, in streams too)."""
        return self._get_frontend().detect(image_rgb)

    # -- the pipeline ----------------------------------------------------------------------------------
    def estimate(
        self,
        image_rgb: np.ndarray,
        K: np.ndarray,
        stamp: float | None = None,
        distortion: tuple[str, Any] | None = None,
        depth: np.ndarray | None = None,
    ) -> list[HandPose]:
        """Hands in one image. image_rgb: HxWx3 uint8 RGB. K: 3x3 intrinsics of that image (pixels).

        stamp None: an independent still (no temporal state). stamp in seconds: a frame of a video stream
        (tracking and filtering); a stamp that does not increase (a looping or restarted video) resets the
        stream. distortion: the lens model of the image as sensor_msgs/CameraInfo gives it, a
        (distortion_model, D) pair ('plumb_bob' / 'rational_polynomial': OpenCV's k1, k2, p1, p2[, k3[, ...]];
        'equidistant': k1..k4), applied to the keypoints; None or D all zero: a pinhole image. For a raw image
        pass CameraInfo's K and (distortion_model, d); for a rectified image (image_rect) pass P[:3, :3]
        (the rectified camera, not K) and no distortion. Returns [] when no hand is found; when fewer than
        max_hands are found the acquisition fallback searches further (`last_acquisition` reports its cost).
        depth: optional HxW float depth image in metres registered to this image (same size; 0 or NaN where
        there is none, e.g. realsense2_camera's aligned_depth_to_color), see perception.depth; None: RGB only.
        Raises ValueError for bad input.
        """
        image_rgb = validate_image(image_rgb)
        depth = validate_depth_arg(depth, (image_rgb.shape[1], image_rgb.shape[0]))
        K = validate_intrinsics(K)
        stamp = validate_stamp(stamp)
        dist = validate_distortion(distortion)
        frontend = self._get_frontend()
        max_hands = self._config.frontend.max_hands
        if stamp is None:
            detections = self._acquisition.detect(image_rgb, frontend.detect(image_rgb), max_hands)
        else:
            stream = self._stream
            if stream is None or stamp <= stream.last_stamp:
                frontend.reset_video()
                self._acquisition.reset()
                stream = self._stream = self._new_stream(stamp)
                ms = 0
            else:
                ms = max(round((stamp - stream.start) * 1000.0), stream.last_ms + 1)
            stream.last_ms, stream.last_stamp = ms, stamp
            found = frontend.detect(image_rgb, ms)
            detections = self._acquisition.detect_video(image_rgb, found, max_hands, stamp)
        h, w = image_rgb.shape[:2]
        return self._process(detections, K, stamp, (w, h), image_rgb, dist, depth)

    def _new_stream(self, stamp: float) -> _Stream:
        self._tracker.reset()  # track ids keep counting up: a new stream never reuses an old id
        self._placement.reset()
        return _Stream(start=stamp, last_stamp=stamp)

    def estimate_from_detections(
        self,
        detections: list[Detection],
        K: np.ndarray,
        stamp: float | None = None,
        image_size: tuple[int, int] | None = None,
        image_rgb: np.ndarray | None = None,
        distortion: tuple[str, Any] | None = None,
        depth: np.ndarray | None = None,
    ) -> list[HandPose]:
        """Everything after the detector: canonical pose, scale, root solve, and (with a stamp) tracking and
        filtering. image_size (width, height) px scales the tracking gate (default: from K's principal point).
        distortion, depth: as in `estimate` (depth must be image_size when that is given).
        """
        depth = validate_depth_arg(depth, image_size)
        K = validate_intrinsics(K)
        stamp = validate_stamp(stamp)
        dist = validate_distortion(distortion)
        for det in detections:
            validate_detection(det)
        return self._process(detections, K, stamp, image_size, image_rgb, dist, depth)

    def _process(
        self,
        detections: list[Detection],
        K: np.ndarray,
        stamp: float | None,
        image_size: tuple[int, int] | None,
        image_rgb: np.ndarray | None,
        distortion: Distortion | None = None,
        depth: np.ndarray | None = None,
    ) -> list[HandPose]:
        """estimate_from_detections on validated input (the front end validates what it returns)."""
        if not detections:
            return []
        if stamp is not None and (self._stream is None or stamp < self._stream.last_stamp):
            self._stream = self._new_stream(stamp)  # before the solve: the fit's warm start lives in it
        c = self._config
        uv = np.stack([d.uv for d in detections])
        # the intrinsics and lens distortion, applied once: undistorted normalised keypoints, and K's linear
        # part for errors in (undistorted) pixels
        xy, focal = normalize_pixels(uv, K, distortion), K[:2, :2]
        rel3d, rays = np.stack([d.rel3d for d in detections]), hand_rays(xy, focal)
        sides = [d.handedness for d in detections]
        bones = self._size.profile_bones(sides)  # the operator's own bones: scale and proportions
        proportions = None if bones is None else bones / bones.mean(axis=1)[:, None]
        canonical = canonical_from_detector(rel3d, rays, c.canonical, xy, proportions)
        size = self._size.resolve(bones, canonical, uv, image_rgb, c.canonical.proportions)
        scale, bone_lengths = size.scale, size.bone_lengths
        sol = root_solver.solve(scale[:, None, None] * canonical, xy, focal, c.root_solve, bone_lengths=bone_lengths)
        hands = HandsInView(canonical, rel3d, rays, xy, focal, scale, bone_lengths, sides)
        sol, placed = self._placement.place(sol, hands, stamp, c.canonical, c.root_solve)
        reference = arm_reference(scale[:, None, None] * canonical, xy)
        if c.placement.palm_pnp and bones is not None:  # the profile's palm, rigid, placed by PnP
            moved, reference = place_hands(sol.joints, bones, sides, xy)
            sol = root_solver.RootSolution(
                moved, moved[:, WRIST].copy(), root_solver.reprojection_error(moved, xy, focal)
            )
        joints, errors = sol.joints, sol.reprojection_error
        obs = None
        if depth is not None and c.depth.fusion:
            obs = depth_stage.observe(depth, uv, joints, scale, c.depth)
            if obs.valid.any():
                depth_scale = self._size.depth_scale(scale, obs.ratio, obs.valid, c.online_scale)
                fused = depth_fusion.fuse(obs, canonical, scale, depth_scale, bone_lengths, xy, focal, sol, c)
                joints, errors, scale = fused.joints, fused.errors, fused.scale
                reference = np.where(obs.valid[:, None], joints[:, WRIST], reference)  # depth measured it
                converged = self._size.add_samples(fused.calibration_samples, c.online_scale)
                if converged is not None:
                    self._write_profile(converged)
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
                depth_used=bool(obs is not None and obs.valid[i]),
                depth_confidence=0.0 if obs is None else float(obs.confidence[i]),
                placement=placed[i].used,
                placement_fallback=placed[i].fallback,
                arm_reference=reference[i] if np.isfinite(reference[i]).all() else joints[i, WRIST].copy(),
            )
            for i, det in enumerate(detections)
        ]
        if stamp is not None:
            self._filter(poses, xy, focal, K, stamp, image_size)
        return poses

    def _write_profile(self, profile: OperatorProfile) -> None:
        """The online calibration converged (its profile is in force from now on): write it to
        online_scale.profile_out when set."""
        path = self._config.online_scale.profile_out.strip()
        if path:
            try:
                self.calibration_written, self.calibration_error = str(save_profile(profile, path)), None
            except OSError as exc:
                self.calibration_error = f"could not write the calibrated profile to {path}: {exc}"

    def _filter(
        self,
        poses: list[HandPose],
        xy: np.ndarray,
        focal: np.ndarray,
        K: np.ndarray,
        stamp: float,
        image_size: tuple[int, int] | None,
    ) -> None:
        """Tracking and temporal filtering of this frame's poses (xy: their normalised keypoints)."""
        self._stream.last_stamp = stamp  # the stream itself is opened by _process
        w, h = image_size if image_size is not None else (2.0 * K[0, 2], 2.0 * K[1, 2])
        centroids = np.stack([p.joints_2d.mean(axis=0) for p in poses])
        tracks = self._tracker.update(centroids, stamp, float(np.hypot(w, h)))
        for i, (pose, track) in enumerate(zip(poses, tracks, strict=True)):
            if "filters" not in track.state:
                track.state["filters"] = TrackFilters(self._config.filters)
            f: TrackFilters = track.state["filters"]
            pose.joints_cam = f.joints(pose.joints_cam, stamp)
            pose.scale = float(f.scale(np.array(pose.scale), stamp))
            pose.translation = pose.joints_cam[WRIST].copy()
            pose.arm_reference = f.reference(pose.arm_reference, stamp)
            error = root_solver.reprojection_error(pose.joints_cam[None], xy[i : i + 1], focal)
            pose.reprojection_error = float(error[0])
            pose.handedness, pose.handedness_score = f.side.update(pose.handedness, pose.handedness_score)
            pose.track_id = track.track_id

    def reset(self) -> None:
        """Forget the video stream (tracks, filters, MediaPipe's tracking)."""
        self._stream = None
        self._tracker.reset()
        self._acquisition.reset()
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
