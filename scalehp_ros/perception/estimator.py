"""HandPoseEstimator: one RGB image + intrinsics -> metric 3D hand joints in the camera optical frame.

The ScaleHP pipeline, composed from the one-concept modules of this package; each stage gets its own
settings group of `EstimatorConfig` (perception.settings) unchanged:

    image --frontend-----> 2D keypoints uv (px), relative 3D, handedness  FrontendSettings   (MediaPipe)
          --acquisition--> the hands it missed: crops, contrast (stills;  AcquisitionSettings
                           streams only while nothing is seen)
    uv, K, D --K^-1, D^-1> normalised keypoints xy, focal = K[:2, :2]     (the intrinsics, applied once)
          --canonical----> root-relative pose, unit mean bone length      CanonicalSettings  (published proportions)
          --scale--------> mean bone length in metres                     ScaleSettings      (prior | fixed | profile)
          --root_solver--> camera-frame joints fitted to xy (metres)      RootSolveSettings  (closed form + refinement)
          --depth--------> with a registered depth image: joint depths,   DepthSettings      (optional)
                           a second solve with them as a least-squares
                           term, the depth-anchored scale for the online  ScaleCalibrationSettings
                           calibration (-> an operator profile)
          --tracking-----> stable track ids                               TrackingSettings   (video streams only)
          --filters------> One Euro per track, handedness hysteresis      FilterSettings     (video streams only)

Frames and units: joints in metres, camera optical frame (x right, y down, z forward); keypoints in pixels
(HandPose.joints_2d) and, inside the pipeline, normalised image coordinates; reprojection errors in pixels.
ROS-free: the perception node only converts messages to and from these calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from scalehp_ros.common.joints import SIDES, WRIST
from scalehp_ros.common.joints import bone_lengths as bone_lengths_of
from scalehp_ros.perception import depth as depth_stage
from scalehp_ros.perception import root_solver
from scalehp_ros.perception.acquisition import Acquisition, AcquisitionReport
from scalehp_ros.perception.camera import Distortion, normalize_pixels, validate_distortion, validate_intrinsics
from scalehp_ros.perception.canonical import PROPORTIONS, canonical_from_detector, fit_weights
from scalehp_ros.perception.filters import TrackFilters
from scalehp_ros.perception.frontend import Detection, MediaPipeFrontend, validate_detection
from scalehp_ros.perception.model_fit import ModelFit, fit_hands
from scalehp_ros.perception.profile import OperatorProfile, save_profile
from scalehp_ros.perception.scale import load_operator_profile, make_scale_estimator
from scalehp_ros.perception.scale_calibration import CalibrationStatus, ScaleCalibration, calibrated_profile
from scalehp_ros.perception.settings import EstimatorConfig
from scalehp_ros.perception.tracking import HandTracker


@dataclass
class HandPose:
    """One hand in one image.

    joints_cam: (21, 3) metres, camera optical frame (x right, y down, z forward), joints.JOINT_NAMES order.
    joints_2d: (21, 2) the detector's keypoints, pixels. handedness: 'left'/'right', the subject's own hand;
    handedness_score: its probability [0-1]. scale: mean bone length, metres. translation: (3,) the wrist
    position (= joints_cam[0]), metres. reprojection_error: mean pixel distance between the projected
    joints_cam and joints_2d. confidence: the detector's score for this hand [0-1] (MediaPipe's handedness
    classification score, the only per-hand score its Tasks API returns). track_id: stable over a video
    stream (-1 for still images). depth_used: a registered depth image constrained this hand's solve;
    depth_confidence: the fraction of its palm joints with valid depth [0-1].
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
    depth_used: bool = False
    depth_confidence: float = 0.0


def hand_rays(xy: np.ndarray, focal: np.ndarray) -> np.ndarray:
    """Viewing rays (N, 3) through the centres of the hands' keypoint boxes in the image.

    xy: (N, 21, 2) normalised keypoints; focal: (2, 2) linear part of K. The box is the pixel box (the
    keypoints times focal, principal point aside), its centre mapped back to normalised coordinates.
    MediaPipe predicts its 3D landmarks from a crop around the hand, so they cannot depend on where the hand
    is in the image: they are expressed in a frame looking along this ray, not along the optical axis.
    """
    px = xy @ focal.T  # pixels relative to the principal point
    centre = np.linalg.solve(focal, (0.5 * (px.min(axis=1) + px.max(axis=1))).T).T
    return np.concatenate((centre, np.ones((len(centre), 1))), axis=1)


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


# With fewer inlier frames than this the depth solve uses the frame's own depth-anchored scale, with more the
# calibration's running estimate (until it converges and becomes the operator profile).
CALIBRATION_USE_AFTER = 10
OPERATOR = "operator"  # the key of the one online calibration (both hands)
OCCLUDED_M = 0.012  # a depth sample this far (or 3 sigma) nearer than its solved joint is an occluder's


def _validate_depth_arg(depth: Any, image_size: tuple[int, int] | None) -> np.ndarray | None:
    return None if depth is None else depth_stage.validate_depth(depth, image_size)


# root_placement fit in a stream: a side's last fit is used (warm start of the next fit, its depth ratio reused
# and smoothed) while it is at most this old, seconds; older, the next fit starts from the inverse kinematics
# of the detector's pose, as on a still, and its ratio is not smoothed with the stale one.
FIT_WARM_MAX_GAP_S = 0.2
# Fit ratios outside this range (the fit's centroid depth over the solve's) are implausible: not used.
FIT_RATIO_RANGE = (0.5, 2.0)


@dataclass
class _SideFit:
    """The last model fit of one side in a stream: its parameters and chirality (the next fit's warm start),
    its stamp (s), the depth correction it gave (`ratio`: the fit's hand centroid over the solve's, along the
    solve's centroid ray) and how many frames have reused that correction since."""

    params: np.ndarray
    is_left: bool
    stamp: float
    ratio: float
    reused: int = 0


@dataclass
class _Stream:
    """Timing of one video stream (the tracks live in the estimator's tracker); fits: the last model fit of
    each side for root_placement fit (warm start, reused depth correction)."""

    start: float
    last_stamp: float
    last_ms: int = 0
    fits: dict[str, _SideFit] = field(default_factory=dict)


class HandPoseEstimator:
    """Metric 3D hand pose from RGB images; see the module docstring. Not thread-safe; close() when done."""

    def __init__(self, config: EstimatorConfig | None = None, frontend: MediaPipeFrontend | None = None) -> None:
        config = EstimatorConfig() if config is None else config
        if not isinstance(config, EstimatorConfig):
            raise ValueError(f"config must be an EstimatorConfig, got {type(config).__name__}")
        self._scale = make_scale_estimator(config.scale)
        self._profile = load_operator_profile(config.scale)
        self._config = config
        self._frontend = frontend
        self._stream: _Stream | None = None
        self._tracker = HandTracker(config.tracking)
        self._acquisition = Acquisition(self._detect_still, config.acquisition)
        self._calibration: dict[str, ScaleCalibration] = {}
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
        return 0.0 if self._frontend is None else self._frontend.last_inference_s

    def update_config(self, **changes: Any) -> EstimatorConfig:
        """Apply flat parameter changes (`EstimatorConfig.parameters()` names) at run time. Bad names or values,
        and scale_mode 'learned' (not implemented), raise ValueError and leave the current configuration in
        force. Returns the new config."""
        new = self._config.replace(**changes)
        scale = make_scale_estimator(new.scale)
        profile = load_operator_profile(new.scale) if new.scale != self._config.scale else self._profile
        old = self._config
        self._config, self._scale, self._profile = new, scale, profile
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
        return self._profile

    def set_operator_profile(self, profile: OperatorProfile | None) -> None:
        """Use `profile` (e.g. a fresh `calibration.Calibrator` result) for the scale and bone lengths from the
        next frame on, without a file; None: back to scale_mode. A later change of the scale parameters
        reloads the `operator_profile` file."""
        if profile is not None and not isinstance(profile, OperatorProfile):
            raise ValueError(f"profile must be an OperatorProfile or None, got {type(profile).__name__}")
        self._profile = profile

    def calibration_status(self) -> dict[str, CalibrationStatus]:
        """The online depth calibration ({'operator': status}, empty before the first depth frame; both hands
        feed the one operator scale; perception.scale_calibration)."""
        return {key: c.status for key, c in self._calibration.items() if c.status.scale is not None}

    def reset_calibration(self) -> None:
        """Start the online calibration afresh (the profile in force stays until a new one converges)."""
        self._calibration.clear()

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
        depth = _validate_depth_arg(depth, (image_rgb.shape[1], image_rgb.shape[0]))
        K = validate_intrinsics(K)
        stamp = _validate_stamp(stamp)
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
        depth = _validate_depth_arg(depth, image_size)
        K = validate_intrinsics(K)
        stamp = _validate_stamp(stamp)
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
        if self._profile is not None:  # the operator's own bones: both the scale and the proportions
            bone_lengths = np.stack([self._profile.bone_lengths(d.handedness) for d in detections])
            scale = bone_lengths.mean(axis=1)
            canonical = canonical_from_detector(rel3d, rays, c.canonical, xy, bone_lengths / scale[:, None])
        else:
            canonical = canonical_from_detector(rel3d, rays, c.canonical, xy)
            scale = np.asarray(self._scale(canonical, uv, image_rgb), dtype=np.float64)
            proportions = PROPORTIONS[c.canonical.proportions]
            bone_lengths = None if proportions is None else scale[:, None] * proportions
        rel = scale[:, None, None] * canonical
        sol = root_solver.solve(rel, xy, focal, c.root_solve, bone_lengths=bone_lengths)
        placement = c.root_solve.root_placement
        if c.canonical.canonical_model != "fit" and (placement == "fit" or (placement == "auto" and stamp is None)):
            sides = [d.handedness for d in detections]
            sol = self._place_by_fit(sol, canonical, rel3d, rays, xy, focal, scale, bone_lengths, stamp, sides)
        joints, errors = sol.joints, sol.reprojection_error
        obs = None
        if depth is not None and c.depth.depth_fusion:
            obs = depth_stage.observe(depth, uv, joints, scale, c.depth)
            if obs.valid.any():
                joints, errors, scale = self._fuse_depth(obs, canonical, scale, bone_lengths, xy, focal, sol)
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
            )
            for i, det in enumerate(detections)
        ]
        if stamp is not None:
            self._filter(poses, xy, focal, K, stamp, image_size)
        return poses

    def _place_by_fit(
        self, sol, canonical, rel3d, rays, xy, focal, scale, bone_lengths, stamp, sides
    ) -> root_solver.RootSolution:
        """`root_placement: fit`: the solved hands' shapes moved so their centroids lie where the kinematic
        model fit (canonical_model 'fit', same proportions and solver) puts each hand. The shape relative to
        the wrist is unchanged; only the placement, mostly the depth, comes from the fit, whose joint limits
        and 2D fit place the hand better than the detector's bone directions do (README, "Accuracy"). The
        shape is moved rigidly at its scale, so its projection no longer fits the keypoints as tightly: the
        reprojection error reported on stills is the moved shape's, larger than the solve's.

        In a stream the placement is a depth correction of the solve: the solve's centroid moved along its ray
        by a ratio (a monocular depth error grows with the distance, so the ratio, not the shift in metres,
        carries over). Each side's fit runs on every `root_placement_fit_every`-th frame of that side (at
        least every `root_solver.FIT_REUSE_MAX_AGE_S`), warm-started from its previous fit
        (`FIT_WARM_MAX_GAP_S`; only when every hand fitted in that frame has one), and its ratio is smoothed
        with the previous one (`root_placement_fit_smoothing`); the frames between reuse the last ratio. The
        solve follows the hand on every frame; the fit only corrects its depth bias. The state is kept per
        side label: two hands with the same label are fitted cold on every frame, and nothing is kept for
        them. A fit that fails or gives an implausible ratio (`FIT_RATIO_RANGE`) leaves the last ratio in
        force (or the solve's placement when there is none) and is retried on the next frame."""
        c = self._config
        stream = self._stream if stamp is not None else None
        n = len(sides)
        keep = stream is not None and len(set(sides)) == n  # the state is per side label
        last: list[_SideFit | None] = [None] * n
        if keep:
            last = [stream.fits.get(side) for side in sides]
            last = [f if f is not None and 0.0 <= stamp - f.stamp <= FIT_WARM_MAX_GAP_S else None for f in last]
        every, smoothing = c.root_solve.root_placement_fit_every, c.root_solve.root_placement_fit_smoothing
        due = np.array(
            [f is None or f.reused + 1 >= every or stamp - f.stamp > root_solver.FIT_REUSE_MAX_AGE_S for f in last]
        )
        centroid = sol.joints.mean(axis=1)
        # every hand with a last fit starts from its ratio; a due hand's is replaced by its new fit below
        shift = np.array(
            [np.zeros(3) if f is None else (f.ratio - 1.0) * ctr for f, ctr in zip(last, centroid, strict=True)]
        )
        for i in np.flatnonzero(~due):
            last[i].reused += 1
        if due.any():
            fitted = self._fit_centroids(
                canonical[due],
                rel3d[due],
                rays[due],
                xy[due],
                focal,
                scale[due],
                None if bone_lengths is None else bone_lengths[due],
                [last[i] for i in np.flatnonzero(due)],
            )
            if fitted is None:  # keypoints the fit cannot use (no extent in the image): see the docstring
                if stream is None:
                    return sol
                return self._moved(sol, shift, xy, focal)
            fit, fit_centroid = fitted
            for k, i in enumerate(np.flatnonzero(due)):
                if stream is None:  # a still: the fit's placement itself
                    shift[i] = fit_centroid[k] - centroid[i]
                    continue
                ratio = float(fit_centroid[k] @ centroid[i] / (centroid[i] @ centroid[i]))
                if not FIT_RATIO_RANGE[0] <= ratio <= FIT_RATIO_RANGE[1]:  # also NaN: see the docstring
                    continue
                if last[i] is not None:
                    ratio = smoothing * ratio + (1.0 - smoothing) * last[i].ratio
                shift[i] = (ratio - 1.0) * centroid[i]
                if keep:
                    stream.fits[sides[i]] = _SideFit(fit.params[k], bool(fit.is_left[k]), float(stamp), ratio)
        return self._moved(sol, shift, xy, focal)

    def _fit_centroids(
        self, canonical, rel3d, rays, xy, focal, scale, bone_lengths, last: list[_SideFit | None]
    ) -> tuple[ModelFit, np.ndarray] | None:
        """(ModelFit, (N, 3) camera-frame centroids (m) of the fitted hands placed by the root solve), or None
        where the fit cannot run. last: each hand's previous fit in the stream (all present: warm start)."""
        c = self._config
        proportions = None if bone_lengths is None else bone_lengths / scale[:, None]
        if c.canonical.canonical_model == "detector":
            prior = canonical  # the fit's prior: the detector's canonical pose, proportions applied
        else:
            detector = replace(c.canonical, canonical_model="detector")
            prior = canonical_from_detector(rel3d, rays, detector, xy, proportions)
        lengths = bone_lengths_of(prior) if proportions is None else proportions
        warm = None
        if all(f is not None for f in last):
            params, is_left = np.stack([f.params for f in last]), np.array([f.is_left for f in last])
            warm = ModelFit(prior, params, is_left, np.zeros(len(last)))
        try:
            fit = fit_hands(xy, prior, lengths, fit_weights(c.canonical), warm=warm)
            rel = scale[:, None, None] * fit.canonical
            fsol = root_solver.solve(rel, xy, focal, c.root_solve, bone_lengths=bone_lengths)
        except ValueError:
            return None
        return fit, fsol.joints.mean(axis=1)

    @staticmethod
    def _moved(sol, shift: np.ndarray, xy: np.ndarray, focal: np.ndarray) -> root_solver.RootSolution:
        """The solution's hands moved rigidly by shift (N, 3) m (non-finite rows: not moved), with the
        reprojection errors of the moved joints."""
        shift[~np.isfinite(shift).all(axis=1)] = 0.0
        joints = sol.joints + shift[:, None]
        errors = root_solver.reprojection_error(joints, xy, focal)
        return root_solver.RootSolution(joints, joints[:, WRIST].copy(), errors)

    def _fuse_depth(self, obs, canonical, scale, bone_lengths, xy, focal, sol):
        """The depth solve of the hands with valid depth, and the calibration's update; returns joints,
        reprojection errors and scales of all hands (those without depth keep their RGB-only solve)."""
        c = self._config
        valid = obs.valid
        # one operator: both hands calibrate one scale (a person's two hands differ by far less than the
        # calibration's tolerance), so it converges twice as fast with both hands in view
        cal = self._calibration.setdefault(OPERATOR, ScaleCalibration(c.calibration))
        running = c.calibration.depth_calibration and (cal.converged or cal.status.inliers >= CALIBRATION_USE_AFTER)
        # the solve's scale: the calibration's running estimate, else this frame's depth-anchored scale
        new_scale = np.where(valid, cal.status.scale if running else scale * obs.ratio, scale)
        k = new_scale[valid] / scale[valid]
        rel = new_scale[valid, None, None] * canonical[valid]
        held = None if bone_lengths is None else bone_lengths[valid] * k[:, None]
        z, sigma = obs.z[valid], obs.sigma[valid]
        dsol = root_solver.solve(rel, xy[valid], focal, c.root_solve, bone_lengths=held, depth=(z, sigma))
        # a sample the solved joint lies well behind was something nearer in front of it (a finger curled over
        # the palm, an object): drop those, and samples the joint lies well in front of, and solve again
        with np.errstate(invalid="ignore"):
            r = dsol.joints[..., 2] - z
            bad = (r > np.maximum(3.0 * sigma, OCCLUDED_M)) | (r < -np.maximum(4.0 * sigma, 2.0 * OCCLUDED_M))
        if bad.any():
            z = np.where(bad, np.nan, z)
            dsol = root_solver.solve(rel, xy[valid], focal, c.root_solve, bone_lengths=held, depth=(z, sigma))
        if c.calibration.depth_calibration:
            # the frame's depth-anchored scale from the samples that survived: scale x measured / RGB-only depth
            z_rgb = sol.joints[valid][..., 2]
            facing = obs.palm_facing[valid] >= math.cos(math.radians(c.calibration.calibration_max_palm_tilt_deg))
            for zi, zr, s, f in zip(z, z_rgb, scale[valid], facing, strict=True):
                palm = np.isfinite(zi) & depth_stage.IS_PALM
                if f and palm.sum() >= c.depth.depth_min_palm_joints:
                    was = cal.converged
                    cal.add(float(s * np.median(zi[palm] / np.maximum(zr[palm], 1e-3))))
                    if cal.converged and not was:
                        self._on_converged()
        joints, errors = sol.joints.copy(), sol.reprojection_error.copy()
        joints[valid], errors[valid] = dsol.joints, dsol.reprojection_error
        return joints, errors, np.where(valid, new_scale, scale)

    def _on_converged(self) -> None:
        """The calibration converged: its profile (both sides) is used from now on and written to
        calibration_profile_out when set."""
        cal = self._calibration[OPERATOR]
        scale, frames = float(cal.status.scale), cal.frames
        profile = calibrated_profile(
            {side: scale for side in SIDES}, self._config.calibration.calibration_name, dict.fromkeys(SIDES, frames)
        )
        self._profile = profile
        path = self._config.calibration.calibration_profile_out.strip()
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
