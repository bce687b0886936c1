"""EstimatorConfig: every tunable of the hand pose estimator, with units, ranges and validation in one place.

`PARAMETERS` describes each field (description with unit, min/max or choices) so that a ROS node can
declare them as parameters with descriptors without repeating any of it; `EstimatorConfig` holds the
defaults and validates every value on construction (ValueError naming the field).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from scalehp_ros.perception.anthropometry import HAND_LENGTH_PRIOR_M


@dataclass(frozen=True)
class ParamSpec:
    """Metadata of one config field: description (with unit), numeric range (inclusive) or choices."""

    name: str
    description: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    default: Any = None
    dynamic: bool = True  # may change while a node runs (ROS parameters)


_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec("max_hands", "maximum number of hands detected per image", 1, 4),
    ParamSpec("min_detection_confidence", "MediaPipe palm detection score threshold [0-1]", 0.0, 1.0),
    ParamSpec("min_presence_confidence", "MediaPipe hand presence score threshold [0-1]", 0.0, 1.0),
    ParamSpec("min_tracking_confidence", "MediaPipe landmark tracking score threshold, video mode [0-1]", 0.0, 1.0),
    ParamSpec(
        "mirrored",
        "the image is a mirrored (selfie) view: swap the left/right labels (bool)",
    ),
    ParamSpec(
        "scale_mode",
        "hand scale source: population prior, fixed from hand_length_m, or a learned model",
        choices=("prior", "fixed", "learned"),
    ),
    ParamSpec(
        "hand_length_m",
        "operator hand length for scale_mode=fixed: distal wrist crease to middle fingertip, hand flat (m)",
        0.10,
        0.30,
    ),
    ParamSpec(
        "solver",
        "root solve: linear least squares, robust IRLS/Huber, kinematic ray/sphere, or refine (LM fit)",
        choices=("linear", "robust", "kinematic", "refine"),
    ),
    ParamSpec(
        "proportions",
        "bone lengths of the canonical pose: anthropometric (published proportions, detector's bone "
        "directions) or detector (MediaPipe's own)",
        choices=("anthropometric", "detector"),
    ),
    ParamSpec(
        "ray_align",
        "read the detector's relative pose in the frame looking along the hand's viewing ray, not the optical "
        "axis (bool)",
    ),
    ParamSpec(
        "joint_weighting",
        "per-joint weights of the 2D fit: uniform, or palm (wrist, CMC and MCP joints weigh twice the rest)",
        choices=("uniform", "palm"),
    ),
    ParamSpec("huber_px", "Huber threshold of the robust solve (px)", 0.1, 100.0),
    ParamSpec("keypoint_sigma_px", "expected 2D keypoint error used by refine (px)", 0.1, 100.0),
    ParamSpec("prior_sigma_xy_m", "trust in the detector's bone vectors across the image plane, refine (m)", 1e-4, 1.0),
    ParamSpec("prior_sigma_z_m", "trust in the detector's bone vectors in depth, refine (m)", 1e-4, 1.0),
    ParamSpec("refine_iterations", "Levenberg-Marquardt iterations of refine", 1, 20),
    ParamSpec("filter_min_cutoff_hz", "One Euro filter minimum cutoff of the joints (Hz)", 1e-3, 100.0),
    ParamSpec("filter_beta", "One Euro filter speed coefficient of the joints (Hz per m/s)", 0.0, 1000.0),
    ParamSpec("filter_d_cutoff_hz", "One Euro filter cutoff of the speed estimate (Hz)", 1e-3, 100.0),
    ParamSpec("scale_min_cutoff_hz", "One Euro filter minimum cutoff of the hand scale (Hz)", 1e-3, 100.0),
    ParamSpec(
        "handedness_hysteresis",
        "margin around 0.5 the smoothed right-hand probability must cross to switch a track's side [0-0.5)",
        0.0,
        0.49,
    ),
    ParamSpec(
        "track_max_jump",
        "largest frame-to-frame move of a hand still matched to its track (fraction of the image diagonal)",
        0.01,
        1.0,
    ),
    ParamSpec("track_timeout_s", "a track not seen for this long is dropped (s)", 0.0, 60.0),
)


@dataclass(frozen=True)
class EstimatorConfig:
    """Tunables of HandPoseEstimator; see PARAMETERS (or `describe()`) for units and ranges."""

    max_hands: int = 2
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    mirrored: bool = False
    scale_mode: str = "prior"
    hand_length_m: float = HAND_LENGTH_PRIOR_M
    solver: str = "refine"
    proportions: str = "anthropometric"
    ray_align: bool = True
    joint_weighting: str = "palm"
    huber_px: float = 4.0
    keypoint_sigma_px: float = 3.0
    prior_sigma_xy_m: float = 0.01
    prior_sigma_z_m: float = 0.02
    refine_iterations: int = 2
    filter_min_cutoff_hz: float = 1.5
    filter_beta: float = 10.0
    filter_d_cutoff_hz: float = 1.0
    scale_min_cutoff_hz: float = 0.1
    handedness_hysteresis: float = 0.2
    track_max_jump: float = 0.2
    track_timeout_s: float = 0.5

    def __post_init__(self) -> None:
        for spec in _SPECS:
            value = validate_value(spec, getattr(self, spec.name), type(getattr(EstimatorConfig, spec.name)))
            object.__setattr__(self, spec.name, value)  # numbers normalised to the field's type

    def replace(self, **changes: Any) -> EstimatorConfig:
        """A validated copy with `changes` applied; ValueError for unknown names or bad values."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ValueError(f"unknown estimator parameter(s): {', '.join(unknown)}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def validate_value(spec: ParamSpec, value: Any, kind: type | None = None) -> Any:
    """`value` checked against `spec` (type of `kind`, default: the spec's default's type), normalised to that
    type (an int for a float field becomes a float); ValueError naming the field and the problem otherwise."""
    name = spec.name
    kind = kind or type(spec.default)
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be a bool, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str) or (spec.choices and value not in spec.choices):
            expected = f"one of {spec.choices}" if spec.choices else "a string"
            raise ValueError(f"{name} must be {expected}, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if kind is int and not float(value).is_integer():
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if (spec.min is not None and value < spec.min) or (spec.max is not None and value > spec.max):
        raise ValueError(f"{name} must be in [{spec.min}, {spec.max}], got {value!r}")
    return kind(value)


def describe() -> tuple[ParamSpec, ...]:
    """The ParamSpecs of every field, with the default filled in, in field order."""
    defaults = EstimatorConfig()
    return tuple(dataclasses.replace(s, default=getattr(defaults, s.name)) for s in _SPECS)


PARAMETERS: dict[str, ParamSpec] = {s.name: s for s in describe()}
if set(PARAMETERS) != {f.name for f in dataclasses.fields(EstimatorConfig)}:
    raise RuntimeError("config.PARAMETERS and EstimatorConfig fields differ")
