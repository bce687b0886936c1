"""Placement (pipeline stage 4b): where in the camera frame the solved hands go.

The root solve (perception.root_solver) fits each hand's metric shape to its 2D keypoints. `root_placement`
chooses whether that placement stands (`solve`) or whether the same shape is moved rigidly to where the
kinematic model fit (perception.model_fit, the canonical stage's `fit_*` weights, same proportions and
solver) puts the hand (`fit`); `auto` is fit on stills and solve in a stream.

- A still: the shape's centroid moved onto the fitted hand's centroid (the shape relative to the wrist is the
  solve's; its projection no longer fits the keypoints as tightly, so the reported reprojection error is the
  moved shape's).
- A stream: a depth correction of the solve, its centroid moved along its own ray by a ratio (a monocular
  depth error grows with distance, so the ratio, not the shift in metres, carries over). Each side's fit runs
  on every `root_placement_fit_every`-th frame of that side (at least every `FIT_REUSE_MAX_AGE_S`),
  warm-started from its previous fit (`FIT_WARM_MAX_GAP_S`; only when every hand fitted in that frame has
  one), its ratio smoothed with the previous one (`root_placement_fit_smoothing`); the frames between reuse
  the last ratio. The state is kept per side label: two hands with the same label are fitted cold on every
  frame and nothing is kept for them. A fit that fails or gives an implausible ratio (`FIT_RATIO_RANGE`)
  leaves the last ratio in force (or the solve's placement when there is none) and is retried next frame.

Frames and units: metres, camera optical frame; stamps in seconds; keypoints normalised (K^-1 applied).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from scalehp_ros.common.joints import WRIST
from scalehp_ros.common.joints import bone_lengths as bone_lengths_of
from scalehp_ros.common.params import Settings, param
from scalehp_ros.perception import root_solver
from scalehp_ros.perception.canonical import CanonicalSettings, canonical_from_detector, fit_weights
from scalehp_ros.perception.model_fit import ModelFit, fit_hands
from scalehp_ros.perception.root_solver import RootSolution, RootSolveSettings

# solve = where the root solve of the canonical pose puts the hand; fit = the same shape, centred where the
# kinematic model fit's solve puts the fitted hand; auto = fit on still images, solve in a stream (the fit
# costs ~7.5 ms per hand even warm-started, more than a 30 fps frame on 2 cores can spare beside MediaPipe
# with two hands; bench/fit_placement.py).
PLACEMENTS: tuple[str, ...] = ("auto", "solve", "fit")
# a fit's depth correction is reused in a stream for at most this long (s), whatever root_placement_fit_every
# says (at 30 fps: at most 3 frames)
FIT_REUSE_MAX_AGE_S = 0.1
# a side's last fit warm-starts the next one (and its ratio is smoothed) while it is at most this old (s);
# older, the next fit starts from the inverse kinematics of the detector's pose, as on a still
FIT_WARM_MAX_GAP_S = 0.2
# fit ratios outside this range (the fit's centroid depth over the solve's) are implausible: not used
FIT_RATIO_RANGE = (0.5, 2.0)


@dataclass(frozen=True)
class PlacementSettings(Settings):
    """Settings of the placement stage (`Placement`)."""

    root_placement: str = param(
        "auto",
        "where the hand is placed: solve (this solve of the canonical pose), fit (the same shape, centred where "
        "the kinematic model fit puts the hand; in a stream a depth correction of the solve, see "
        "root_placement_fit_every) or auto (fit on still images, solve in a stream)",
        choices=PLACEMENTS,
    )
    root_placement_fit_every: int = param(
        3,
        "root_placement fit in a stream: the model fit runs on every N-th frame of each hand (and at least every "
        f"{FIT_REUSE_MAX_AGE_S} s), the frames between reuse its depth correction (1 = every frame)",
        1,
        30,
    )
    root_placement_fit_smoothing: float = param(
        0.5,
        "root_placement fit in a stream: weight of a new fit's depth correction against the previous one "
        "(exponential smoothing per fit; 1 = none)",
        0.01,
        1.0,
    )


@dataclass
class SideFit:
    """The last model fit of one side in a stream: its parameters and chirality (the next fit's warm start),
    its stamp (s), the depth correction it gave (`ratio`: the fit's hand centroid over the solve's, along the
    solve's centroid ray) and how many frames have reused that correction since."""

    params: np.ndarray
    is_left: bool
    stamp: float
    ratio: float
    reused: int = 0


@dataclass(frozen=True)
class HandsInView:
    """What the placement needs of one frame's hands: canonical poses (N, 21, 3) and the detector's relative
    3D (N, 21, 3), viewing rays (N, 3), normalised keypoints xy (N, 21, 2), focal (2, 2) px, scales (N,) m,
    bone lengths (N, 20) m or None (the canonical pose's), side labels."""

    canonical: np.ndarray
    rel3d: np.ndarray
    rays: np.ndarray
    xy: np.ndarray
    focal: np.ndarray
    scale: np.ndarray
    bone_lengths: np.ndarray | None
    sides: list[str]


def moved(sol: RootSolution, shift: np.ndarray, xy: np.ndarray, focal: np.ndarray) -> RootSolution:
    """The solution's hands moved rigidly by shift (N, 3) m (non-finite rows: not moved), with the reprojection
    errors of the moved joints."""
    shift[~np.isfinite(shift).all(axis=1)] = 0.0
    joints = sol.joints + shift[:, None]
    errors = root_solver.reprojection_error(joints, xy, focal)
    return RootSolution(joints, joints[:, WRIST].copy(), errors)


class Placement:
    """The placement stage with its stream state (each side's last fit); see the module docstring."""

    def __init__(self, settings: PlacementSettings | None = None) -> None:
        self.settings = PlacementSettings() if settings is None else settings
        self.fits: dict[str, SideFit] = {}  # side label -> its last fit in the current stream

    def reset(self) -> None:
        """A new stream: forget every side's last fit."""
        self.fits = {}

    def uses_fit(self, canonical: CanonicalSettings, stamp: float | None) -> bool:
        """Whether this frame's hands are placed by the fit (never when the canonical pose is the fit)."""
        placement = self.settings.root_placement
        return canonical.canonical_model != "fit" and (placement == "fit" or (placement == "auto" and stamp is None))

    def place(
        self,
        sol: RootSolution,
        hands: HandsInView,
        stamp: float | None,
        canonical: CanonicalSettings,
        solve: RootSolveSettings,
    ) -> RootSolution:
        """The solved hands placed as `root_placement` says (stamp None: a still, no state kept)."""
        if not self.uses_fit(canonical, stamp):
            return sol
        sides, xy, focal = hands.sides, hands.xy, hands.focal
        n = len(sides)
        keep = stamp is not None and len(set(sides)) == n  # the state is per side label
        last: list[SideFit | None] = [None] * n
        if keep:
            last = [self.fits.get(side) for side in sides]
            last = [f if f is not None and 0.0 <= stamp - f.stamp <= FIT_WARM_MAX_GAP_S else None for f in last]
        every, smoothing = self.settings.root_placement_fit_every, self.settings.root_placement_fit_smoothing
        due = np.array([f is None or f.reused + 1 >= every or stamp - f.stamp > FIT_REUSE_MAX_AGE_S for f in last])
        centroid = sol.joints.mean(axis=1)
        # every hand with a last fit starts from its ratio; a due hand's is replaced by its new fit below
        shift = np.array(
            [np.zeros(3) if f is None else (f.ratio - 1.0) * ctr for f, ctr in zip(last, centroid, strict=True)]
        )
        for i in np.flatnonzero(~due):
            last[i].reused += 1
        if due.any():
            fitted = fit_centroids(hands, due, [last[i] for i in np.flatnonzero(due)], canonical, solve)
            if fitted is None:  # keypoints the fit cannot use (no extent in the image): see the module docstring
                return sol if stamp is None else moved(sol, shift, xy, focal)
            fit, fit_centroid = fitted
            for k, i in enumerate(np.flatnonzero(due)):
                if stamp is None:  # a still: the fit's placement itself
                    shift[i] = fit_centroid[k] - centroid[i]
                    continue
                ratio = float(fit_centroid[k] @ centroid[i] / (centroid[i] @ centroid[i]))
                if not FIT_RATIO_RANGE[0] <= ratio <= FIT_RATIO_RANGE[1]:  # also NaN: see the module docstring
                    continue
                if last[i] is not None:
                    ratio = smoothing * ratio + (1.0 - smoothing) * last[i].ratio
                shift[i] = (ratio - 1.0) * centroid[i]
                if keep:
                    self.fits[sides[i]] = SideFit(fit.params[k], bool(fit.is_left[k]), float(stamp), ratio)
        return moved(sol, shift, xy, focal)


def fit_centroids(
    hands: HandsInView,
    due: np.ndarray,
    last: list[SideFit | None],
    canonical: CanonicalSettings,
    solve: RootSolveSettings,
) -> tuple[ModelFit, np.ndarray] | None:
    """(ModelFit, (M, 3) camera-frame centroids (m) of the fitted hands placed by the root solve) of the hands
    selected by the boolean mask `due` (M of them), or None where the fit cannot run. last: each selected
    hand's previous fit in the stream (all present: warm start)."""
    scale = hands.scale[due]
    bone_lengths = None if hands.bone_lengths is None else hands.bone_lengths[due]
    xy = hands.xy[due]
    proportions = None if bone_lengths is None else bone_lengths / scale[:, None]
    if canonical.canonical_model == "detector":
        prior = hands.canonical[due]  # the fit's prior: the detector's canonical pose, proportions applied
    else:
        detector = replace(canonical, canonical_model="detector")
        prior = canonical_from_detector(hands.rel3d[due], hands.rays[due], detector, xy, proportions)
    lengths = bone_lengths_of(prior) if proportions is None else proportions
    warm = None
    if all(f is not None for f in last):
        params, is_left = np.stack([f.params for f in last]), np.array([f.is_left for f in last])
        warm = ModelFit(prior, params, is_left, np.zeros(len(last)))
    try:
        fit = fit_hands(xy, prior, lengths, fit_weights(canonical), warm=warm)
        rel = scale[:, None, None] * fit.canonical
        fsol = root_solver.solve(rel, xy, hands.focal, solve, bone_lengths=bone_lengths)
    except ValueError:
        return None
    return fit, fsol.joints.mean(axis=1)
