"""The hand scale: one number per hand, its mean bone length in metres (see `joints.mean_bone_length`).

Three sources, selected by `EstimatorConfig.scale_mode`:

- ``prior``: the population mean, from published hand lengths (`anthropometry.HAND_LENGTH_PRIOR_M`,
  Pheasant & Haslegrave 2006) converted with the published proportions. Right on average; for one person
  off by the population spread (SD ~6.7 %), which becomes a depth error of the same fraction.
- ``fixed``: from the operator's own hand length measured with a ruler: hand flat, fingers straight and
  together, from the distal wrist crease (the most distal skin crease where the palm meets the wrist) to
  the tip of the middle finger. Converted to a mean bone length with `anthropometry.MEAN_BONE_PER_HAND_LENGTH`
  (mean bone = 0.225 x hand length for the reference proportions). The most accurate mode for teleoperation.
- ``learned``: an interface for a model that predicts the scale from the image; not implemented yet.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from scalehp_ros.perception.anthropometry import PRIOR_MEAN_BONE_M, mean_bone_from_hand_length

SCALE_MODES: tuple[str, ...] = ("prior", "fixed", "learned")
LEARNED_NOT_IMPLEMENTED = (
    "scale_mode='learned' is not implemented yet: no learned scale model exists in this package; "
    "use scale_mode='prior' or scale_mode='fixed' with hand_length_m"
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


class LearnedScale:
    """Placeholder for a learned scale regressor (a later issue). Calling it raises NotImplementedError."""

    def __call__(self, canonical: np.ndarray, uv: np.ndarray, image_rgb: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError(LEARNED_NOT_IMPLEMENTED)


def make_scale_estimator(mode: str, hand_length_m: float | None = None) -> ScaleEstimator:
    """The ScaleEstimator for `mode`; 'fixed' needs the operator's hand length in metres.

    Raises ValueError for an unknown mode or a missing/invalid hand length and NotImplementedError for
    'learned' (so a configuration that cannot work fails when it is set, not on the first frame).
    """
    if mode == "prior":
        return ConstantScale(PRIOR_MEAN_BONE_M)
    if mode == "fixed":
        if hand_length_m is None or not (np.isfinite(hand_length_m) and hand_length_m > 0):
            raise ValueError(f"scale_mode='fixed' needs a positive hand_length_m, got {hand_length_m}")
        return ConstantScale(mean_bone_from_hand_length(hand_length_m))
    if mode == "learned":
        raise NotImplementedError(LEARNED_NOT_IMPLEMENTED)
    raise ValueError(f"unknown scale_mode {mode!r}; choose one of {SCALE_MODES}")
