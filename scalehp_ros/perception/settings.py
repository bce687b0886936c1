"""EstimatorConfig: every tunable of the hand pose estimator, one settings group per pipeline stage.

Each group is defined, with its units, ranges and choices, in the module of the stage that uses it
(`scalehp_ros.common.params`), and the estimator hands each stage its group unchanged:

    frontend      FrontendSettings     perception.frontend      MediaPipe options, mirrored view
    acquisition   AcquisitionSettings  perception.acquisition   fallback search for missed hands (crops, contrast)
    scale         ScaleSettings        perception.scale         mode (prior, fixed), hand_length_m, operator_profile
    canonical     CanonicalSettings    perception.canonical     model, proportions, ray_align; model_fit weights
    root_solve    RootSolveSettings    perception.root_solver   solver, joint weighting, LM / Huber tuning
    placement     PlacementSettings    perception.placement     mode (solve, fit, auto), the stream fit, the guard
    filters       FilterSettings       perception.filters       One Euro filters, handedness hysteresis
    tracking      TrackingSettings     perception.tracking      track gate and timeout
    depth         DepthSettings        perception.depth         registered depth: samples, noise model, plausibility
    online_scale  OnlineScaleSettings  perception.scale_calibration  the operator's scale measured online from depth

Parameter names are dotted, `<group>.<field>` (`depth.window_px`, `canonical.model_fit.keypoint_sigma`):
`EstimatorConfig.parameters()` is the ParamSpec table a ROS node declares, `EstimatorConfig.from_flat({...})` /
`config.replace({"placement.mode": "fit"})` build validated configs from those names (ValueError for unknown
names or bad values). The flat names used before the groups (`ESTIMATOR_RENAMED`, e.g. `root_placement`,
`scale_mode`, `canonical_model`) are still accepted there and mapped to the new ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from scalehp_ros.common.params import Settings, group
from scalehp_ros.perception.acquisition import AcquisitionSettings
from scalehp_ros.perception.canonical import CanonicalSettings
from scalehp_ros.perception.depth import DepthSettings
from scalehp_ros.perception.filters import FilterSettings
from scalehp_ros.perception.frontend import FrontendSettings
from scalehp_ros.perception.placement import PlacementSettings
from scalehp_ros.perception.root_solver import RootSolveSettings
from scalehp_ros.perception.scale import ScaleSettings
from scalehp_ros.perception.scale_calibration import OnlineScaleSettings
from scalehp_ros.perception.tracking import TrackingSettings

# Flat names before the stage groups (docs/parameters.md's migration table): {old name: new name}.
# EstimatorConfig.from_flat / replace still accept them; hand_pose_node refuses them, naming the new one.
ESTIMATOR_RENAMED: dict[str, str] = {
    "max_hands": "frontend.max_hands",
    "min_detection_confidence": "frontend.min_detection_confidence",
    "min_presence_confidence": "frontend.min_presence_confidence",
    "min_tracking_confidence": "frontend.min_tracking_confidence",
    "mirrored": "frontend.mirrored",
    "acquisition_fallback": "acquisition.fallback",
    "acquisition_contrast": "acquisition.contrast",
    "acquisition_crop_scales": "acquisition.crop_scales",
    "acquisition_crop_overlap": "acquisition.crop_overlap",
    "acquisition_merge_iou": "acquisition.merge_iou",
    "acquisition_max_calls": "acquisition.max_calls",
    "acquisition_beside": "acquisition.beside",
    "acquisition_side_aware_merge": "acquisition.side_aware_merge",
    "acquisition_video_period_s": "acquisition.video_period_s",
    "scale_mode": "scale.mode",
    "hand_length_m": "scale.hand_length_m",
    "operator_profile": "scale.operator_profile",
    "canonical_model": "canonical.model",
    "proportions": "canonical.proportions",
    "fit_keypoint_sigma": "canonical.model_fit.keypoint_sigma",
    "fit_prior_sigma_xy": "canonical.model_fit.prior_sigma_xy",
    "fit_prior_sigma_z": "canonical.model_fit.prior_sigma_z",
    "ray_align": "canonical.ray_align",
    "solver": "root_solve.solver",
    "joint_weighting": "root_solve.joint_weighting",
    "huber_px": "root_solve.huber_px",
    "keypoint_sigma_px": "root_solve.keypoint_sigma_px",
    "prior_sigma_xy_m": "root_solve.prior_sigma_xy_m",
    "prior_sigma_z_m": "root_solve.prior_sigma_z_m",
    "refine_iterations": "root_solve.refine_iterations",
    "root_placement": "placement.mode",
    "root_placement_fit_every": "placement.fit_every",
    "root_placement_fit_smoothing": "placement.fit_smoothing",
    "placement_guard": "placement.guard",
    "palm_pnp": "placement.palm_pnp",
    "filter_min_cutoff_hz": "filters.min_cutoff_hz",
    "filter_beta": "filters.beta",
    "filter_d_cutoff_hz": "filters.d_cutoff_hz",
    "scale_min_cutoff_hz": "filters.scale_min_cutoff_hz",
    "handedness_hysteresis": "filters.handedness_hysteresis",
    "reference_depth_min_cutoff_hz": "filters.reference_depth_min_cutoff_hz",
    "reference_depth_beta": "filters.reference_depth_beta",
    "track_max_jump": "tracking.max_jump",
    "track_timeout_s": "tracking.timeout_s",
    "depth_fusion": "depth.fusion",
    "depth_window_px": "depth.window_px",
    "depth_min_m": "depth.min_m",
    "depth_max_m": "depth.max_m",
    "depth_edge_m": "depth.edge_m",
    "depth_edge_near": "depth.edge_near",
    "depth_surface_model": "depth.surface_model",
    "depth_self_occlusion": "depth.self_occlusion",
    "depth_noise_per_m": "depth.noise_per_m",
    "depth_model_sigma_m": "depth.model_sigma_m",
    "depth_band_frac": "depth.band_frac",
    "depth_consensus_m": "depth.consensus_m",
    "depth_min_palm_joints": "depth.min_palm_joints",
    "depth_fingers": "depth.fingers",
    "depth_calibration": "online_scale.enabled",
    "calibration_min_frames": "online_scale.min_frames",
    "calibration_rel_se": "online_scale.rel_se",
    "calibration_max_palm_tilt_deg": "online_scale.max_palm_tilt_deg",
    "calibration_window": "online_scale.window",
    "calibration_profile_out": "online_scale.profile_out",
    "calibration_name": "online_scale.operator_name",
}


@dataclass(frozen=True)
class EstimatorConfig(Settings):
    """Tunables of HandPoseEstimator, one group per pipeline stage; see `parameters()` for units and ranges."""

    RENAMED: ClassVar[Mapping[str, str]] = ESTIMATOR_RENAMED

    frontend: FrontendSettings = group(FrontendSettings)
    acquisition: AcquisitionSettings = group(AcquisitionSettings)
    scale: ScaleSettings = group(ScaleSettings)
    canonical: CanonicalSettings = group(CanonicalSettings)
    root_solve: RootSolveSettings = group(RootSolveSettings)
    placement: PlacementSettings = group(PlacementSettings)
    filters: FilterSettings = group(FilterSettings)
    tracking: TrackingSettings = group(TrackingSettings)
    depth: DepthSettings = group(DepthSettings)
    online_scale: OnlineScaleSettings = group(OnlineScaleSettings)
