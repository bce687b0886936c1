"""Online operator-scale calibration from depth (used while a registered depth image is available).

Each frame in which a hand has valid depth (`perception.depth.observe`) gives one depth-anchored scale: the
scale the RGB-only solve used times the ratio of the measured to the RGB-only palm depth (ScaleHP: the
solved depth is proportional to the scale, so this is the scale at which the RGB-only pipeline would have
put the hand at its measured distance). Because it is the scale *the RGB-only pipeline* needs, it also
absorbs that pipeline's own systematic depth bias; on the synthetic set it lies within 1.2 % of the true
mean bone length (README, "RGB-D"). Only hands whose palm faces the camera within
`online_scale.max_palm_tilt_deg` give a sample (the estimator checks it): on a tilted palm the surface-offset
model rests on the RGB-only palm normal, which is least sure there.

Per side, the samples (log scale) are filtered: outliers further than 3 robust standard deviations
(1.4826 MAD, at least `OUTLIER_FLOOR`) from the median are rejected, the estimate is the mean of the
inliers and its uncertainty their standard error. State: 'idle' (no sample yet), 'collecting', 'converged'
(at least `online_scale.min_frames` inliers and a relative standard error below `online_scale.rel_se`). At
convergence the estimate is frozen and becomes an operator profile (`perception.profile`, method 'depth':
mean bone = the estimate, bones = the published proportions times it, since depth at the palm measures the
scale, not the proportions), which the estimator uses from then on and writes to `online_scale.profile_out`
so a later RGB-only run starts from it (`operator_profile`).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from scalehp_ros.common.params import Settings, param
from scalehp_ros.perception.anthropometry import BONE_PROPORTIONS
from scalehp_ros.perception.profile import HandMeasurement, OperatorProfile

OUTLIER_FLOOR = 0.01  # smallest robust sigma of the log scale used for the outlier gate (1 %)
STATES = ("idle", "collecting", "converged")


@dataclass(frozen=True)
class OnlineScaleSettings(Settings):
    """Settings of the online scale calibration (`ScaleCalibration`)."""

    enabled: bool = param(True, "estimate the operator's scale online while depth is available")
    min_frames: int = param(30, "inlier frames needed before the calibration can converge", 5, 10000)
    rel_se: float = param(0.006, "converged when the scale's relative standard error is below this", 0.0005, 0.1)
    max_palm_tilt_deg: float = param(
        60.0, "calibrate only from hands whose palm normal is within this of the viewing ray (deg)", 1.0, 90.0
    )
    window: int = param(900, "most recent depth-anchored scale samples kept per hand", 20, 100000)
    profile_out: str = param(
        "", "write the operator profile (method depth) here when the calibration converges; empty: do not write"
    )
    operator_name: str = param("operator", "operator name written into the calibrated profile")


@dataclass(frozen=True)
class CalibrationStatus:
    """state: STATES; scale: current estimate, m (None before the first sample); rel_se: its relative
    standard error; frames: samples received; inliers; converged_after: samples it took to converge."""

    state: str
    scale: float | None
    rel_se: float
    frames: int
    inliers: int
    converged_after: int | None


class ScaleCalibration:
    """Robust running estimate of one hand's scale from per-frame depth-anchored scales (m)."""

    def __init__(self, settings: OnlineScaleSettings | None = None) -> None:
        self.settings = OnlineScaleSettings() if settings is None else settings
        self._log: deque[float] = deque(maxlen=self.settings.window)
        self.frames = 0
        self._frozen: float | None = None
        self.converged_after: int | None = None
        self._status = CalibrationStatus("idle", None, math.inf, 0, 0, None)

    @property
    def converged(self) -> bool:
        return self._frozen is not None

    def add(self, scale_m: float) -> CalibrationStatus:
        """One frame's depth-anchored scale (m); returns the new status. Non-finite or non-positive: ignored."""
        if not (math.isfinite(scale_m) and scale_m > 0):
            return self._status
        self.frames += 1
        self._log.append(math.log(scale_m))
        a = np.fromiter(self._log, dtype=np.float64)
        med = float(np.median(a))
        robust_sd = max(1.4826 * float(np.median(np.abs(a - med))), OUTLIER_FLOOR)
        inl = a[np.abs(a - med) <= 3.0 * robust_sd]
        mean = float(inl.mean())
        rel_se = float(inl.std(ddof=1) / math.sqrt(len(inl))) if len(inl) > 1 else math.inf
        s = self.settings
        if self._frozen is None and len(inl) >= s.min_frames and rel_se < s.rel_se:
            self._frozen, self.converged_after = math.exp(mean), self.frames
        scale = self._frozen if self._frozen is not None else math.exp(mean)
        state = "converged" if self._frozen is not None else "collecting"
        self._status = CalibrationStatus(state, scale, rel_se, self.frames, len(inl), self.converged_after)
        return self._status

    @property
    def status(self) -> CalibrationStatus:
        return self._status


def calibrated_profile(scales: dict[str, float], name: str, frames: dict[str, int] | None = None) -> OperatorProfile:
    """An operator profile (method 'depth') from calibrated scales per side (m): published proportions times
    each scale."""
    hands = {
        side: HandMeasurement(tuple(float(v) for v in BONE_PROPORTIONS * s), None, (frames or {}).get(side))
        for side, s in scales.items()
    }
    notes = "online depth calibration: mean bone from depth-anchored solves, published proportions"
    return OperatorProfile(name=name, method="depth", hands=hands, notes=notes)
