"""Scale (pipeline stage 3): one number per hand, its mean bone length in metres (`joints.mean_bone_length`).

Input: the canonical poses (unit mean bone, camera axes), the 2D keypoints (pixels) and the image; output:
(N,) metres. The source is `ScaleSettings.mode`, one of `SCALE_MODES` (the keys of the mode table):

- ``prior``: the population mean, from published hand lengths (`anthropometry.HAND_LENGTH_PRIOR_M`,
  Pheasant & Haslegrave 2006) converted with the published proportions. Right on average; for one person
  off by the population spread (SD ~6.7 %), which becomes a depth error of the same fraction.
- ``fixed``: from the operator's own hand length `scale.hand_length_m` measured with a ruler: hand flat, fingers
  straight and together, from the distal wrist crease (the most distal skin crease where the palm meets the
  wrist) to the tip of the middle finger. Converted to a mean bone length with
  `anthropometry.MEAN_BONE_PER_HAND_LENGTH` (mean bone = 0.225 x hand length for the reference proportions).
  The most accurate mode for teleoperation.

``scale.operator_profile`` (a path to an operator profile, `perception.profile`; empty: none) overrides
``scale.mode``: each hand gets the mean bone length of its own side from the profile, and the canonical
pose the profile's bone lengths. A ruler profile (`profile.profile_from_hand_length`) is ``fixed`` written
down; an ArUco-sheet calibration (`scalehp-calibrate`) also measures the proportions.

``learned`` (a model predicting the scale from the image) has no model yet, so it is not a choice of
`scale.mode`: asking for it raises ValueError saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from scalehp_ros.common.params import Settings, param
from scalehp_ros.perception.anthropometry import HAND_LENGTH_PRIOR_M, PRIOR_MEAN_BONE_M, mean_bone_from_hand_length
from scalehp_ros.perception.profile import OperatorProfile, load_profile

LEARNED_NOT_IMPLEMENTED = (
    "scale.mode='learned' is not implemented yet: no learned scale model exists in this package; "
    "use scale.mode='prior' or scale.mode='fixed' with scale.hand_length_m"
)


class ScaleEstimator(Protocol):
    """Predicts each hand's mean bone length (m) from the canonical poses and 2D keypoints of one image."""

    def __call__(self, canonical: np.ndarray, uv: np.ndarray, image_rgb: np.ndarray | None) -> np.ndarray:
        """canonical (N, 21, 3) unit mean bone; uv (N, 21, 2) px; image HxWx3 uint8 or None -> (N,) metres."""
        ...


class ConstantScale:
    """The same scale (m) for every hand: the prior or an operator's measured hand."""

    def __init__(self, mean_bone_m: float) -> None:
        if not (np.isfinite(mean_bone_m) and mean_bone_m > 0):
            raise ValueError(f"mean bone length must be a positive finite number of metres, got {mean_bone_m}")
        self.mean_bone_m = float(mean_bone_m)

    def __call__(self, canonical: np.ndarray, uv: np.ndarray, image_rgb: np.ndarray | None) -> np.ndarray:
        return np.full(len(canonical), self.mean_bone_m)


def _prior(settings: ScaleSettings) -> ScaleEstimator:
    return ConstantScale(PRIOR_MEAN_BONE_M)


def _fixed(settings: ScaleSettings) -> ScaleEstimator:
    return ConstantScale(mean_bone_from_hand_length(settings.hand_length_m))


# scale.mode -> constructor of its ScaleEstimator; the keys are the choices of ScaleSettings.mode
_SCALE_ESTIMATORS: dict[str, Callable[[ScaleSettings], ScaleEstimator]] = {"prior": _prior, "fixed": _fixed}
SCALE_MODES: tuple[str, ...] = tuple(_SCALE_ESTIMATORS)


@dataclass(frozen=True)
class ScaleSettings(Settings):
    """Settings of the scale stage (`make_scale_estimator`)."""

    mode: str = param(
        "prior",
        "hand scale source: population prior, or fixed from the operator's scale.hand_length_m",
        choices=SCALE_MODES,
    )
    hand_length_m: float = param(
        HAND_LENGTH_PRIOR_M,
        "operator hand length for scale.mode fixed: distal wrist crease to middle fingertip, hand flat (m)",
        0.10,
        0.30,
    )
    operator_profile: str = param(
        "",
        "path of an operator profile YAML (scalehp-calibrate); overrides scale.mode and the canonical bone "
        "lengths with the operator's measured bones; empty: none",
    )

    def __post_init__(self) -> None:
        if self.mode == "learned":  # a clear message instead of "must be one of ('prior', 'fixed')"
            raise ValueError(LEARNED_NOT_IMPLEMENTED)
        super().__post_init__()


def make_scale_estimator(settings: ScaleSettings | None = None) -> ScaleEstimator:
    """The ScaleEstimator for `settings.mode` (default ScaleSettings(): the population prior).

    The settings are validated on construction: an unknown mode, an invalid hand length or 'learned'
    (not implemented) raise ValueError there, so a configuration that cannot work fails when it is set.
    """
    settings = ScaleSettings() if settings is None else settings
    if not isinstance(settings, ScaleSettings):
        raise ValueError(f"settings must be a ScaleSettings, got {type(settings).__name__}")
    return _SCALE_ESTIMATORS[settings.mode](settings)


def load_operator_profile(settings: ScaleSettings) -> OperatorProfile | None:
    """The profile `settings.operator_profile` names (validated), or None when it is empty; ValueError otherwise."""
    path = settings.operator_profile.strip()
    return load_profile(path) if path else None
