"""Temporal filters (pipeline stage 5, video streams only): One Euro filters (joints, scale), handedness hysteresis.

`FilterSettings` configures the per-track set `TrackFilters`: joints in metres (camera optical frame), scale
in metres, the side 'left'/'right' with its probability.

One Euro filter: Casiez, Roussel & Vogel, "1 Euro Filter: A Simple Speed-based Low-pass Filter for Noisy
Input in Interactive Systems", CHI 2012. A first-order low-pass whose cutoff rises with the signal's speed:
cutoff = min_cutoff + beta * |speed|, so slow motion is smoothed (less jitter) and fast motion follows
(less lag). Works element-wise on arrays of any shape; time in seconds, cutoffs in Hz.

`RayDepthFilter` filters a 3D point (the arm reference) as its viewing ray and its depth apart: a monocular
placement gets the ray from the 2D keypoints (good) and the depth from the hand's apparent size (the noisy
direction), so the depth gets its own, lower cutoff (`filters.reference_depth_min_cutoff_hz`; chosen by
`scalehp-eval drift`'s drift and step response, docs/accuracy.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scalehp_ros.common.params import Settings, param


def _alpha(cutoff_hz: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Element-wise One Euro filter. `__call__(x, t)` returns the filtered x; the first call passes x through."""

    def __init__(self, min_cutoff_hz: float = 1.0, beta: float = 0.0, d_cutoff_hz: float = 1.0) -> None:
        if not (min_cutoff_hz > 0 and d_cutoff_hz > 0 and beta >= 0):
            raise ValueError("One Euro filter needs min_cutoff_hz > 0, d_cutoff_hz > 0 and beta >= 0")
        self.min_cutoff_hz = float(min_cutoff_hz)
        self.beta = float(beta)
        self.d_cutoff_hz = float(d_cutoff_hz)
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._t is None or t <= self._t or x.shape != self._x.shape:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), float(t)
            return x.copy()
        dt = float(t) - self._t
        dx = (x - self._x) / dt
        self._dx = self._dx + _alpha(self.d_cutoff_hz, dt) * (dx - self._dx)
        cutoff = self.min_cutoff_hz + self.beta * np.abs(self._dx)
        self._x = self._x + _alpha(cutoff, dt) * (x - self._x)
        self._t = float(t)
        return self._x.copy()


class HandednessHysteresis:
    """A track's side from noisy per-frame labels: smoothed P(right) must cross 0.5 +- margin to switch.

    update(side, score) takes the frame's label ('left'/'right') and its score (probability of that label,
    0.5..1) and returns (side, smoothed probability of the returned side).
    """

    def __init__(self, margin: float = 0.2, smoothing: float = 0.3) -> None:
        if not 0.0 <= margin < 0.5:
            raise ValueError(f"hysteresis margin must be in [0, 0.5), got {margin}")
        self.margin = float(margin)
        self.smoothing = float(smoothing)
        self.side: str | None = None
        self._p_right = 0.5

    def update(self, side: str, score: float) -> tuple[str, float]:
        if side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        p_right = float(score) if side == "right" else 1.0 - float(score)
        if self.side is None:
            self._p_right, self.side = p_right, side
        else:
            self._p_right += self.smoothing * (p_right - self._p_right)
            if self.side == "left" and self._p_right > 0.5 + self.margin:
                self.side = "right"
            elif self.side == "right" and self._p_right < 0.5 - self.margin:
                self.side = "left"
        return self.side, (self._p_right if self.side == "right" else 1.0 - self._p_right)


@dataclass(frozen=True)
class FilterSettings(Settings):
    """Settings of the temporal filters of each track (`TrackFilters`)."""

    min_cutoff_hz: float = param(1.5, "One Euro filter minimum cutoff of the joints (Hz)", 1e-3, 100.0)
    beta: float = param(10.0, "One Euro filter speed coefficient of the joints (Hz per m/s)", 0.0, 1000.0)
    d_cutoff_hz: float = param(1.0, "One Euro filter cutoff of the speed estimate (Hz)", 1e-3, 100.0)
    scale_min_cutoff_hz: float = param(0.1, "One Euro filter minimum cutoff of the hand scale (Hz)", 1e-3, 100.0)
    reference_depth_min_cutoff_hz: float = param(
        0.5,
        "One Euro filter minimum cutoff of the arm reference's depth along its viewing ray (Hz; its ray uses the "
        "joints' settings); lower: less drift when only the fingers move, more lag when the hand moves in depth",
        1e-3,
        100.0,
    )
    reference_depth_beta: float = param(
        0.0, "One Euro filter speed coefficient of the arm reference's depth (Hz per m/s)", 0.0, 1000.0
    )
    handedness_hysteresis: float = param(
        0.2,
        "margin around 0.5 the smoothed right-hand probability must cross to switch a track's side [0-0.5)",
        0.0,
        0.49,
    )


class RayDepthFilter:
    """A 3D point (m, camera optical frame, z > 0) filtered as its viewing ray and its depth apart (module
    docstring): the ray's normalised image coordinates (x/z, y/z) by a One Euro filter of the ray settings,
    whose speed coefficient, given in Hz per m/s, applies to the ray's speed times the track's first depth
    (so it acts on about metres per second as for the joints); the depth z by its own One Euro filter.
    `__call__(p, t)` returns the filtered (3,) point; a point with z <= 0 or non-finite passes through and
    restarts the filter."""

    def __init__(
        self, ray: tuple[float, float, float], depth_min_cutoff_hz: float, depth_beta: float, d_cutoff_hz: float
    ) -> None:
        self._ray_settings = ray
        self._depth_settings = (depth_min_cutoff_hz, depth_beta, d_cutoff_hz)
        OneEuroFilter(*ray), OneEuroFilter(*self._depth_settings)  # validate now
        self._ray: OneEuroFilter | None = None
        self._depth: OneEuroFilter | None = None

    def reset(self) -> None:
        self._ray = self._depth = None

    def __call__(self, p: np.ndarray, t: float) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        if p.shape != (3,) or not np.isfinite(p).all() or p[2] <= 0.0:
            self.reset()
            return p.copy()
        if self._ray is None or self._depth is None:
            min_cutoff, beta, d_cutoff = self._ray_settings
            self._ray = OneEuroFilter(min_cutoff, beta * float(p[2]), d_cutoff)
            self._depth = OneEuroFilter(*self._depth_settings)
        z = float(self._depth(p[2:], t)[0])
        ray = self._ray(p[:2] / p[2], t)
        return np.array([ray[0] * z, ray[1] * z, z])


class TrackFilters:
    """The filters of one hand track: `joints` (21, 3) m, `scale` (a 0-d array) m, `reference` the arm
    reference (3,) m (`RayDepthFilter`: its ray with the joints' settings, its depth with reference_depth_*),
    `side` (hysteresis)."""

    def __init__(self, settings: FilterSettings) -> None:
        s = settings
        self.joints = OneEuroFilter(s.min_cutoff_hz, s.beta, s.d_cutoff_hz)
        self.scale = OneEuroFilter(s.scale_min_cutoff_hz, 0.0, s.d_cutoff_hz)
        self.reference = RayDepthFilter(
            (s.min_cutoff_hz, s.beta, s.d_cutoff_hz),
            s.reference_depth_min_cutoff_hz,
            s.reference_depth_beta,
            s.d_cutoff_hz,
        )
        self.side = HandednessHysteresis(s.handedness_hysteresis)
