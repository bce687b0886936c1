"""EstimatorConfig: every tunable of the hand pose estimator, one settings group per pipeline stage.

Each group is defined, with its units, ranges and choices, in the module of the stage that uses it
(`scalehp_ros.common.params`), and the estimator hands each stage its group unchanged:

    frontend    FrontendSettings     perception.frontend      MediaPipe options, mirrored view
    acquisition AcquisitionSettings  perception.acquisition   fallback search for missed hands (crops, contrast)
    scale       ScaleSettings        perception.scale         scale_mode, hand_length_m
    canonical   CanonicalSettings    perception.canonical     proportions, ray_align
    root_solve  RootSolveSettings    perception.root_solver   solver, joint weighting, LM / Huber tuning
    placement   PlacementSettings    perception.placement     root_placement: solve, fit, auto; the stream fit
    filters     FilterSettings       perception.filters       One Euro filters, handedness hysteresis
    tracking    TrackingSettings     perception.tracking      track gate and timeout
    depth       DepthSettings        perception.depth         registered depth: samples, noise model, plausibility
    calibration ScaleCalibrationSettings perception.scale_calibration  online operator scale from depth

Parameter names are the leaf field names, the same at every level: `EstimatorConfig.parameters()` is the flat
ParamSpec table a ROS node declares, `EstimatorConfig.from_flat({...})` / `config.replace(name=value)`
build validated configs from flat names (ValueError for unknown names or bad values).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scalehp_ros.common.params import Settings
from scalehp_ros.perception.acquisition import AcquisitionSettings
from scalehp_ros.perception.canonical import CanonicalSettings
from scalehp_ros.perception.depth import DepthSettings
from scalehp_ros.perception.filters import FilterSettings
from scalehp_ros.perception.frontend import FrontendSettings
from scalehp_ros.perception.placement import PlacementSettings
from scalehp_ros.perception.root_solver import RootSolveSettings
from scalehp_ros.perception.scale import ScaleSettings
from scalehp_ros.perception.scale_calibration import ScaleCalibrationSettings
from scalehp_ros.perception.tracking import TrackingSettings


@dataclass(frozen=True)
class EstimatorConfig(Settings):
    """Tunables of HandPoseEstimator, one group per pipeline stage; see `parameters()` for units and ranges."""

    frontend: FrontendSettings = field(default_factory=FrontendSettings)
    acquisition: AcquisitionSettings = field(default_factory=AcquisitionSettings)
    scale: ScaleSettings = field(default_factory=ScaleSettings)
    canonical: CanonicalSettings = field(default_factory=CanonicalSettings)
    root_solve: RootSolveSettings = field(default_factory=RootSolveSettings)
    placement: PlacementSettings = field(default_factory=PlacementSettings)
    filters: FilterSettings = field(default_factory=FilterSettings)
    tracking: TrackingSettings = field(default_factory=TrackingSettings)
    depth: DepthSettings = field(default_factory=DepthSettings)
    calibration: ScaleCalibrationSettings = field(default_factory=ScaleCalibrationSettings)
