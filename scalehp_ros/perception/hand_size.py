"""Hand size (pipeline stage 3): the one authority on how big each hand is and what its bones are.

Four sources, resolved here and nowhere else, first present wins:

1. **profile**: an operator profile (perception.profile): the `operator_profile` file, one handed over with
   `set_profile` (e.g. a fresh ArUco sheet calibration), or the online calibration's own once it converges
   (the latest of these is in force). Each hand gets its side's measured bones: the scale (their mean) and
   the proportions of its canonical pose.
2. **online calibration** (perception.scale_calibration, from registered depth): before it converges, its
   running estimate is the scale of the depth solve once it has `CALIBRATION_USE_AFTER` inlier frames
   (before that, the frame's own depth-anchored scale); the RGB-only placement keeps source 3/4.
3. **fixed**: `scale.mode` fixed, the operator's ruler-measured `hand_length_m`.
4. **prior**: the population mean (`scale.mode` prior).

Without a profile the bone lengths are the scale times the canonical stage's `proportions` (None for
`detector`: the canonical pose's own). Units: metres (mean bone length, bone lengths).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalehp_ros.common.joints import SIDES
from scalehp_ros.perception.canonical import PROPORTIONS
from scalehp_ros.perception.profile import OperatorProfile
from scalehp_ros.perception.scale import ScaleSettings, load_operator_profile, make_scale_estimator
from scalehp_ros.perception.scale_calibration import (
    CalibrationStatus,
    OnlineScaleSettings,
    ScaleCalibration,
    calibrated_profile,
)

# With fewer inlier frames than this the depth solve uses the frame's own depth-anchored scale, with more the
# calibration's running estimate (until it converges and becomes the operator profile).
CALIBRATION_USE_AFTER = 10
OPERATOR = "operator"  # the key of the one online calibration (both hands)


@dataclass(frozen=True)
class HandSizes:
    """The size of N hands: scale (N,) mean bone length, m; bone_lengths (N, 20) m or None (the canonical
    pose's own proportions at that scale)."""

    scale: np.ndarray
    bone_lengths: np.ndarray | None


class HandSize:
    """The hand-size authority (module docstring): scale.mode, the profile in force and the online
    calibration."""

    def __init__(self, settings: ScaleSettings) -> None:
        self._estimator = make_scale_estimator(settings)
        self._settings = settings
        self.profile: OperatorProfile | None = load_operator_profile(settings)
        self._calibration: dict[str, ScaleCalibration] = {}

    def update(self, settings: ScaleSettings) -> None:
        """New scale settings (validated first: ValueError leaves the current ones); a change reloads the
        `operator_profile` file (replacing a profile handed over with `set_profile`)."""
        estimator = make_scale_estimator(settings)
        profile = load_operator_profile(settings) if settings != self._settings else self.profile
        self._estimator, self._settings, self.profile = estimator, settings, profile

    def set_profile(self, profile: OperatorProfile | None) -> None:
        """Use `profile` from the next frame on; None: back to scale.mode."""
        if profile is not None and not isinstance(profile, OperatorProfile):
            raise ValueError(f"profile must be an OperatorProfile or None, got {type(profile).__name__}")
        self.profile = profile

    def profile_bones(self, sides: list[str]) -> np.ndarray | None:
        """(N, 20) the profile's bone lengths of each hand's side (m), or None without a profile."""
        if self.profile is None:
            return None
        return np.stack([self.profile.bone_lengths(side) for side in sides])

    def resolve(
        self,
        profile_bones: np.ndarray | None,
        canonical: np.ndarray,
        uv: np.ndarray,
        image_rgb: np.ndarray | None,
        proportions: str,
    ) -> HandSizes:
        """The hands' sizes. profile_bones: `profile_bones` of this frame; canonical (N, 21, 3) unit mean
        bone, uv (N, 21, 2) px and the image for scale.mode; proportions: the canonical stage's choice."""
        if profile_bones is not None:
            return HandSizes(profile_bones.mean(axis=1), profile_bones)
        scale = np.asarray(self._estimator(canonical, uv, image_rgb), dtype=np.float64)
        unit = PROPORTIONS[proportions]
        return HandSizes(scale, None if unit is None else scale[:, None] * unit)

    # -- the online calibration ---------------------------------------------------------------------------
    def _operator(self, settings: OnlineScaleSettings) -> ScaleCalibration:
        # one operator: both hands calibrate one scale (a person's two hands differ by far less than the
        # calibration's tolerance), so it converges twice as fast with both hands in view
        return self._calibration.setdefault(OPERATOR, ScaleCalibration(settings))

    def depth_scale(
        self, scale: np.ndarray, depth_ratio: np.ndarray, valid: np.ndarray, settings: OnlineScaleSettings
    ) -> np.ndarray:
        """(N,) m the scale of the depth solve: for hands with valid depth the calibration's running estimate
        (source 2) once it is usable, else the frame's depth-anchored scale (scale x depth_ratio); the others
        keep `scale`."""
        cal = self._operator(settings)
        running = settings.enabled and (cal.converged or cal.status.inliers >= CALIBRATION_USE_AFTER)
        return np.where(valid, cal.status.scale if running else scale * depth_ratio, scale)

    def add_samples(self, samples: list[float], settings: OnlineScaleSettings) -> OperatorProfile | None:
        """Feed depth-anchored scales (m) to the online calibration; when it converges its profile (both sides,
        published proportions) becomes the profile in force and is returned (None otherwise)."""
        cal = self._operator(settings)
        out = None
        for s in samples:
            was = cal.converged
            cal.add(s)
            if cal.converged and not was:
                scale, frames = float(cal.status.scale), cal.frames
                out = calibrated_profile(
                    {side: scale for side in SIDES}, settings.operator_name, dict.fromkeys(SIDES, frames)
                )
                self.profile = out
        return out

    def calibration_status(self) -> dict[str, CalibrationStatus]:
        """{'operator': status} of the online calibration, empty before its first sample."""
        return {key: c.status for key, c in self._calibration.items() if c.status.scale is not None}
