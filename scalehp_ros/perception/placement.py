"""Placement (pipeline stage 4b): where in the camera frame the solved hands go.

The root solve (perception.root_solver) fits each hand's metric shape to its 2D keypoints. `placement.mode`
chooses whether that placement stands (`solve`) or whether the same shape is moved rigidly to where the
kinematic model fit (perception.model_fit, the canonical stage's `fit_*` weights, same proportions and
solver) puts the hand (`fit`); `auto` is fit on stills and solve in a stream. The default is `solve` with
the guard below: on real photos the solve places stills better than the fit (docs/accuracy.md, the defaults
rule), and the guard keeps the fit where the solve fails.

- A still: the shape's centroid moved onto the fitted hand's centroid (the shape relative to the wrist is the
  solve's; its projection no longer fits the keypoints as tightly, so the reported reprojection error is the
  moved shape's).
- A stream: a depth correction of the solve, its centroid moved along its own ray by a ratio (a monocular
  depth error grows with distance, so the ratio, not the shift in metres, carries over). Each side's fit runs
  on every `placement.fit_every`-th frame of that side (at least every `FIT_REUSE_MAX_AGE_S`),
  warm-started from its previous fit (`FIT_WARM_MAX_GAP_S`; only when every hand fitted in that frame has
  one), its ratio smoothed with the previous one (`placement.fit_smoothing`); the frames between reuse
  the last ratio. The state is kept per side label: two hands with the same label are fitted cold on every
  frame and nothing is kept for them. A fit that fails or gives an implausible ratio (`FIT_RATIO_RANGE`)
  leaves the last ratio in force (or the solve's placement when there is none) and is retried next frame.

The guard (`placement.guard`, on by default): a placement is implausible when its joints leave the plausible
depth range (`DEPTH_RANGE_M`), its bone lengths are off the held ones by more than `BONE_TOLERANCE`, its own
shape reprojects onto its own keypoints worse than `REPROJECTION_TOLERANCE` of the hand's pixel extent, its
centroid jumps in depth against the previous frame of the same side by more than `DEPTH_JUMP_REL` plus
`MAX_DEPTH_SPEED_M_S` x dt (streams), or, where both were computed, the solve and the fit disagree in depth
beyond their uncertainties (`DEPTH_SIGMA_REL` each, a 3-sigma gate on the difference). Then the other
placement is used when it is plausible (a disagreement goes to the fit: its joint limits rule out the
depth-reversed shapes that mislead the solve), and `Placed.fallback` says why. On stills with
`placement.mode` solve the fit is computed for the disagreement check; in streams the fit runs only for a hand
whose solve fails a check.

Frames and units: metres, camera optical frame; stamps in seconds; keypoints normalised (K^-1 applied).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from scalehp_ros.common.joints import INDEX_MCP, LITTLE_MCP, MIDDLE_MCP, NUM_JOINTS, RING_MCP, WRIST
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
# a fit's depth correction is reused in a stream for at most this long (s), whatever placement.fit_every
# says (at 30 fps: at most 3 frames)
FIT_REUSE_MAX_AGE_S = 0.1
# a side's last fit warm-starts the next one (and its ratio is smoothed) while it is at most this old (s);
# older, the next fit starts from the inverse kinematics of the detector's pose, as on a still
FIT_WARM_MAX_GAP_S = 0.2
# fit ratios outside this range (the fit's centroid depth over the solve's) are implausible: not used
FIT_RATIO_RANGE = (0.5, 2.0)
# the guard's plausibility limits (module docstring)
DEPTH_RANGE_M = (0.05, 10.0)  # every joint's depth, m
# mean relative deviation of the bones from the held lengths (the refine trades single short bones against the
# keypoints: a fingertip bone 85 % long is seen on plausible hands, a hand whose bones are off on average is not)
BONE_TOLERANCE = 0.25
REPROJECTION_TOLERANCE = 0.08  # mean reprojection error of the own shape / the hand's 2D box diagonal
DEPTH_JUMP_REL = 0.2  # centroid depth change against the previous frame, fraction of its depth ...
MAX_DEPTH_SPEED_M_S = 1.5  # ... plus this speed times the time between the frames
DEPTH_JUMP_MAX_GAP_S = 0.5  # frames further apart are not compared
# relative depth uncertainty of one monocular placement (solve or fit): the spread of their depth errors beyond
# the scale's, which both share; their difference is gated at 3 sigma of two such errors
DEPTH_SIGMA_REL = 0.04
DISAGREEMENT_REL = 3.0 * np.sqrt(2.0) * DEPTH_SIGMA_REL


# The arm's reference point (`arm_reference`): the wrist of the hand placed with the palm's joints (wrist and
# the four MCPs, the rigid part) trusted fully and the rest by this weight. The fingers' depth is the detector's
# weakest (it under-flexes them), so a placement that trusts them moves the wrist when only the fingers move;
# a little weight keeps the palm's placement from the keypoint noise of only five joints
# (`scalehp-eval drift`, docs/accuracy.md).
ARM_REFERENCE_FINGER_WEIGHT = 0.1
ARM_REFERENCE_WEIGHTS = np.full(NUM_JOINTS, ARM_REFERENCE_FINGER_WEIGHT)
ARM_REFERENCE_WEIGHTS[[WRIST, INDEX_MCP, MIDDLE_MCP, RING_MCP, LITTLE_MCP]] = 1.0
ARM_REFERENCE_WEIGHTS.setflags(write=False)


def arm_reference(rel: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(N, 3) m, camera frame: the arm's reference point of each hand, robust to finger articulation: the wrist
    of the metric shape rel (N, 21, 3), root-relative, as its palm places it on the normalised keypoints xy
    (N, 21, 2) (`ARM_REFERENCE_WEIGHTS`, closed form). Its absolute position carries the monocular depth bias
    of any RGB placement; what it removes is the wrist's motion when only the fingers move. Non-finite where
    the keypoints have no extent."""
    try:
        return root_solver.solve_translation(rel, xy, ARM_REFERENCE_WEIGHTS) + rel[:, WRIST]
    except ValueError:
        return np.full((len(rel), 3), np.nan)


@dataclass(frozen=True)
class PlacementSettings(Settings):
    """Settings of the placement stage (`Placement`)."""

    mode: str = param(
        "solve",
        "where the hand is placed: solve (this solve of the canonical pose; the default, chosen on real photos, "
        "docs/accuracy.md), fit (the same shape, centred where the kinematic model fit puts the hand; in a stream "
        "a depth correction of the solve, see placement.fit_every) or auto (fit on still images, solve in a "
        "stream); placement.guard falls back to the other one where the chosen one is implausible",
        choices=PLACEMENTS,
    )
    fit_every: int = param(
        3,
        "placement.mode fit in a stream: the model fit runs on every N-th frame of each hand (and at least every "
        f"{FIT_REUSE_MAX_AGE_S} s), the frames between reuse its depth correction (1 = every frame)",
        1,
        30,
    )
    fit_smoothing: float = param(
        0.5,
        "placement.mode fit in a stream: weight of a new fit's depth correction against the previous one "
        "(exponential smoothing per fit; 1 = none)",
        0.01,
        1.0,
    )
    palm_pnp: bool = param(
        False,
        "with an operator profile in force: move each placed hand rigidly so its palm sits where a perspective-n-"
        "point fit of the profile's rigid palm to the 2D palm keypoints puts it, and take that palm's wrist as the "
        "arm reference (perception.palm_pnp; off by default until real photos show it, docs/accuracy.md)",
    )
    guard: bool = param(
        True,
        "fall back to the other placement (solve or fit) when the chosen one is implausible: bone lengths, "
        "reprojection of its own shape, depth jump against the previous frame, solve and fit disagreeing in depth",
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


@dataclass(frozen=True)
class Placed:
    """How one hand was placed: `used` 'solve' or 'fit'; `fallback` why the guard replaced the configured
    placement ('' when it stood), e.g. 'solve: depth jump 0.31 > 0.22; fit used'."""

    used: str
    fallback: str = ""


def extent_px(xy: np.ndarray, focal: np.ndarray) -> np.ndarray:
    """(N,) diagonal of each hand's 2D keypoint box, pixels."""
    px = xy @ focal.T
    return np.linalg.norm(px.max(axis=1) - px.min(axis=1), axis=-1)


def implausible(
    joints: np.ndarray, own_error_px: float, extent: float, held: np.ndarray | None, last: tuple[float, float] | None
) -> str:
    """Why one placed hand is implausible ('' when it is not); see the module docstring. joints (21, 3) m;
    own_error_px: the reprojection error of its own shape; extent: its keypoint box diagonal, px; held (20,) m
    the bone lengths it should have (None: not checked); last: (dt s, centroid depth m) of the same side's
    previous frame, or None."""
    if not np.isfinite(joints).all():
        return "non-finite joints"
    z = joints[:, 2]
    if z.min() < DEPTH_RANGE_M[0] or z.max() > DEPTH_RANGE_M[1]:
        return f"depth {z.min():.2f}-{z.max():.2f} m outside {DEPTH_RANGE_M[0]}-{DEPTH_RANGE_M[1]} m"
    if held is not None:
        off = float(np.mean(np.abs(bone_lengths_of(joints) / held - 1.0)))
        if off > BONE_TOLERANCE:
            return f"bone lengths off by {off:.0%} on average"
    if np.isfinite(own_error_px) and own_error_px > REPROJECTION_TOLERANCE * extent:
        return f"reprojection {own_error_px:.1f} px > {REPROJECTION_TOLERANCE:.0%} of the hand's {extent:.0f} px"
    if last is not None:
        dt, z_last = last
        jump, allowed = abs(float(z.mean()) - z_last), DEPTH_JUMP_REL * z_last + MAX_DEPTH_SPEED_M_S * dt
        if jump > allowed:
            return f"depth jump {jump:.2f} m > {allowed:.2f} m"
    return ""


class Placement:
    """The placement stage with its stream state (each side's last fit and depth); see the module docstring."""

    def __init__(self, settings: PlacementSettings | None = None) -> None:
        self.settings = PlacementSettings() if settings is None else settings
        self.fits: dict[str, SideFit] = {}  # side label -> its last fit in the current stream
        self.depths: dict[str, tuple[float, float]] = {}  # side label -> (stamp s, centroid depth m) last placed

    def reset(self) -> None:
        """A new stream: forget every side's last fit and depth."""
        self.fits = {}
        self.depths = {}

    def uses_fit(self, canonical: CanonicalSettings, stamp: float | None) -> bool:
        """Whether this frame's hands are placed by the fit (never when the canonical pose is the fit)."""
        placement = self.settings.mode
        return canonical.model != "fit" and (placement == "fit" or (placement == "auto" and stamp is None))

    def place(
        self,
        sol: RootSolution,
        hands: HandsInView,
        stamp: float | None,
        canonical: CanonicalSettings,
        solve: RootSolveSettings,
    ) -> tuple[RootSolution, list[Placed]]:
        """The solved hands placed as `placement.mode` says and the guard allows (stamp None: a still, no
        state kept); with how each was placed."""
        n = len(hands.sides)
        guard = self.settings.guard
        can_fit = canonical.model != "fit"
        by_fit = self.uses_fit(canonical, stamp)
        fitted = fit_errors = None
        if by_fit:
            fitted, fit_errors = self._by_fit(sol, hands, stamp, canonical, solve)
        elif guard and can_fit and stamp is None:  # a still: the fit as the alternative of the disagreement check
            fitted, fit_errors = self._by_fit(sol, hands, None, canonical, solve)
        chosen = fitted if by_fit and fitted is not None else sol
        placed = [Placed("fit" if chosen is fitted else "solve")] * n
        if guard:
            chosen, placed = self._guard(sol, fitted, fit_errors, by_fit, hands, stamp, canonical, solve)
        keep = stamp is not None and len(set(hands.sides)) == n
        self.depths = {}
        if keep:
            for side, j in zip(hands.sides, chosen.joints, strict=True):
                if np.isfinite(j).all():
                    self.depths[side] = (float(stamp), float(j[:, 2].mean()))
        return chosen, placed

    def _guard(self, sol, fitted, fit_errors, by_fit, hands, stamp, canonical, solve):
        """The guard of the module docstring: (chosen solution, [Placed])."""
        n = len(hands.sides)
        extent = extent_px(hands.xy, hands.focal)
        keep = stamp is not None and len(set(hands.sides)) == n
        last = [None] * n
        if keep:
            for i, side in enumerate(hands.sides):
                prev = self.depths.get(side)
                if prev is not None and 0.0 <= stamp - prev[0] <= DEPTH_JUMP_MAX_GAP_S:
                    last[i] = (stamp - prev[0], prev[1])
        # the fit's placement of each hand (NaN rows: none yet) and its own shape's reprojection error (NaN: not
        # known, a stream frame that reused the last fit's correction)
        has_fit = np.full(n, fitted is not None)
        fit_joints = fitted.joints.copy() if fitted is not None else np.full_like(sol.joints, np.nan)
        fit_err = fit_errors.copy() if fit_errors is not None else np.full(n, np.nan)
        solve_err = sol.reprojection_error

        def check(name: str, i: int) -> str:
            if name == "fit" and not has_fit[i]:
                return "no fit"
            joints, errors = (fit_joints, fit_err) if name == "fit" else (sol.joints, solve_err)
            held = None if hands.bone_lengths is None else hands.bone_lengths[i]
            return implausible(joints[i], float(errors[i]), float(extent[i]), held, last[i])

        placed: list[Placed] = []
        use_fit = np.zeros(n, dtype=bool)
        for i in range(n):
            first = "fit" if by_fit else "solve"
            why = check(first, i)
            if not why and has_fit[i] and first == "solve":
                zs, zf = sol.joints[i, :, 2].mean(), fit_joints[i, :, 2].mean()
                rel = abs(zs - zf) / max(abs(zf), 1e-9)
                if rel > DISAGREEMENT_REL:  # a disagreement goes to the fit (module docstring)
                    why = f"solve and fit {rel:.0%} apart in depth > {DISAGREEMENT_REL:.0%}"
            if not why:
                placed.append(Placed(first))
                use_fit[i] = first == "fit"
                continue
            other = "solve" if first == "fit" else "fit"
            if other == "fit" and not has_fit[i] and canonical.model != "fit":
                one = self._fit_one(sol, hands, i, stamp, canonical, solve)
                if one is not None:
                    fit_joints[i], fit_err[i], has_fit[i] = one[0], one[1], True
            alt_why = check(other, i)
            if alt_why:
                kept = first if first == "solve" or has_fit[i] else "solve"
                placed.append(Placed(kept, f"{first}: {why}; {other} also implausible ({alt_why}): {kept} kept"))
                use_fit[i] = kept == "fit"
            else:
                placed.append(Placed(other, f"{first}: {why}; {other} used"))
                use_fit[i] = other == "fit"
        joints = np.where(use_fit[:, None, None], fit_joints, sol.joints)
        errors = root_solver.reprojection_error(joints, hands.xy, hands.focal)
        return RootSolution(joints, joints[:, WRIST].copy(), errors), placed

    def _fit_one(self, sol, hands, i, stamp, canonical, solve) -> tuple[np.ndarray, float] | None:
        """The fit's placement of hand i alone (cold, or warm from its side's last fit) as on a still: (joints
        (21, 3) m, the fitted shape's own reprojection error px), or None where the fit cannot run."""
        mask = np.zeros(len(hands.sides), dtype=bool)
        mask[i] = True
        f = self.fits.get(hands.sides[i])
        warm = f is not None and stamp is not None and 0.0 <= stamp - f.stamp <= FIT_WARM_MAX_GAP_S
        out = fit_centroids(hands, mask, [f if warm else None], canonical, solve)
        if out is None:
            return None
        own = out[1]
        shift = own.centroid[0] - sol.joints[i].mean(axis=0)
        return sol.joints[i] + shift, float(own.errors[0])

    def _by_fit(self, sol, hands, stamp, canonical, solve) -> tuple[RootSolution | None, np.ndarray | None]:
        """The solved hands moved where the fit puts them (see the module docstring), and each fitted hand's
        own reprojection error in px (NaN where this frame ran no fit for it); (None, None) when no fit ran."""
        sides, xy, focal = hands.sides, hands.xy, hands.focal
        n = len(sides)
        keep = stamp is not None and len(set(sides)) == n  # the state is per side label
        last: list[SideFit | None] = [None] * n
        if keep:
            last = [self.fits.get(side) for side in sides]
            last = [f if f is not None and 0.0 <= stamp - f.stamp <= FIT_WARM_MAX_GAP_S else None for f in last]
        every, smoothing = self.settings.fit_every, self.settings.fit_smoothing
        due = np.array([f is None or f.reused + 1 >= every or stamp - f.stamp > FIT_REUSE_MAX_AGE_S for f in last])
        centroid = sol.joints.mean(axis=1)
        # every hand with a last fit starts from its ratio; a due hand's is replaced by its new fit below
        shift = np.array(
            [np.zeros(3) if f is None else (f.ratio - 1.0) * ctr for f, ctr in zip(last, centroid, strict=True)]
        )
        own_errors = np.full(n, np.nan)
        for i in np.flatnonzero(~due):
            last[i].reused += 1
        if due.any():
            fitted = fit_centroids(hands, due, [last[i] for i in np.flatnonzero(due)], canonical, solve)
            if fitted is None:  # keypoints the fit cannot use (no extent in the image): see the module docstring
                return (None, None) if stamp is None else (moved(sol, shift, xy, focal), own_errors)
            fit, own = fitted
            for k, i in enumerate(np.flatnonzero(due)):
                own_errors[i] = own.errors[k]
                if stamp is None:  # a still: the fit's placement itself
                    shift[i] = own.centroid[k] - centroid[i]
                    continue
                ratio = float(own.centroid[k] @ centroid[i] / (centroid[i] @ centroid[i]))
                if not FIT_RATIO_RANGE[0] <= ratio <= FIT_RATIO_RANGE[1]:  # also NaN: see the module docstring
                    continue
                if last[i] is not None:
                    ratio = smoothing * ratio + (1.0 - smoothing) * last[i].ratio
                shift[i] = (ratio - 1.0) * centroid[i]
                if keep:
                    self.fits[sides[i]] = SideFit(fit.params[k], bool(fit.is_left[k]), float(stamp), ratio)
        return moved(sol, shift, xy, focal), own_errors


@dataclass(frozen=True)
class FittedHands:
    """The fitted hands placed by the root solve: centroid (M, 3) m, errors (M,) their reprojection error, px."""

    centroid: np.ndarray
    errors: np.ndarray


def fit_centroids(
    hands: HandsInView,
    due: np.ndarray,
    last: list[SideFit | None],
    canonical: CanonicalSettings,
    solve: RootSolveSettings,
) -> tuple[ModelFit, FittedHands] | None:
    """(ModelFit, FittedHands: the camera-frame centroids (m) and reprojection errors (px) of the fitted hands
    placed by the root solve) of the hands
    selected by the boolean mask `due` (M of them), or None where the fit cannot run. last: each selected
    hand's previous fit in the stream (all present: warm start)."""
    scale = hands.scale[due]
    bone_lengths = None if hands.bone_lengths is None else hands.bone_lengths[due]
    xy = hands.xy[due]
    proportions = None if bone_lengths is None else bone_lengths / scale[:, None]
    if canonical.model == "detector":
        prior = hands.canonical[due]  # the fit's prior: the detector's canonical pose, proportions applied
    else:
        detector = replace(canonical, model="detector")
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
    return fit, FittedHands(fsol.joints.mean(axis=1), fsol.reprojection_error)
