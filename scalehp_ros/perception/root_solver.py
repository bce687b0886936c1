"""Root solve (pipeline stage 4): camera-frame joints of each hand from its metric relative pose and 2D keypoints.

Frames and units: metres, camera optical frame (x right, y down, z forward). The keypoints arrive as
normalised image coordinates (x, y) = K^-1 (u, v, 1): the estimator applies the intrinsics once, at its
entry. Where an error is measured in pixels (the Huber threshold, the keypoint sigma, the reported
reprojection error), `focal`, the 2x2 linear part of K, [[fx, skew], [0, fy]] (pixels per unit of normalised
coordinate), turns a normalised residual into pixels: u - u' = fx (x - x') + skew (y - y'), v - v' = fy (y - y').

Given a hand's metric root-relative joints r_i (scale x canonical pose, camera axes), the camera-frame
joints are r_i + t. A joint projects onto its keypoint (x_i, y_i) when

    (r_ix + t_x) - x_i (r_iz + t_z) = 0,     (r_iy + t_y) - y_i (r_iz + t_z) = 0,

two equations linear in t. Least squares over the 21 joints gives 3x3 normal equations, solved in closed
form for all hands at once (`solve_translation`). The residual of each equation is z_i times the
normalised reprojection error, so `solve_translation_robust` reweights by 1/z_i^2 (geometric error in
pixels) and by Huber weights (outlier keypoints) over a few iterations (IRLS).

The relative 3D pose from a monocular network is good in x/y and poor in depth, while its 2D keypoints
are accurate. Two refinements keep the bone lengths at their known values (scale x proportions) and
move the joints to fit the 2D keypoints:

- `refine_kinematic`: closed form, joint by joint down the kinematic tree: each joint goes where its
  camera ray meets the sphere of radius "bone length" around its (already placed) parent; of the two
  intersections the one nearest the network's predicted depth is kept.
- `refine_gauss_newton`: a few Levenberg-Marquardt steps on all 63 coordinates jointly, minimising
  reprojection error (pixels), bone-length error, and the deviation of each bone vector from the network's
  (depth trusted less than x/y). It spreads the 2D noise over the hand instead of down each finger.

`solve(rel, xy, focal, settings)` runs the method `RootSolveSettings.solver` names; the solver and
joint-weighting choices are the keys of `SOLVE_METHODS` and `JOINT_WEIGHTINGS`. All functions take arrays
with a leading hands axis (N, 21, ...) and are vectorised over it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scalehp_ros.common.joints import (
    BONE_CHILDREN,
    BONE_PARENTS,
    BONES,
    NUM_JOINTS,
    PALM_JOINTS,
    WRIST,
)
from scalehp_ros.common.params import Settings, param

_MIN_DEPTH = 1e-3  # metres: a joint closer than this to the camera plane is treated as this close
IRLS_ITERATIONS = 3  # reweightings of the robust solve
SIGMA_BONE_M = 0.001  # bone-length residual scale of the LM fit (m): the lengths are held almost rigidly
LM_DAMPING = 1e-3  # Levenberg-Marquardt damping (relative, on the diagonal)

_PALM_WEIGHTS = np.full(NUM_JOINTS, 0.5)
_PALM_WEIGHTS[list(PALM_JOINTS)] = 1.0
_PALM_WEIGHTS.setflags(write=False)
# Per-joint weights of the 2D fit by `RootSolveSettings.joint_weighting` (None: every joint weighs 1).
JOINT_WEIGHTINGS: dict[str, np.ndarray | None] = {"uniform": None, "palm": _PALM_WEIGHTS}


@dataclass(frozen=True)
class RootSolution:
    """Camera-frame result of a root solve for N hands.

    joints: (N, 21, 3) metres, camera optical frame.  translation: (N, 3) wrist position, metres.
    reprojection_error: (N,) mean distance between projected joints and the 2D keypoints, pixels.
    """

    joints: np.ndarray
    translation: np.ndarray
    reprojection_error: np.ndarray


def _as_batch(a: np.ndarray, tail: tuple[int, ...], name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.shape[-len(tail) :] != tail or a.ndim not in (len(tail), len(tail) + 1):
        raise ValueError(f"{name} must have shape {tail} or (N, *{tail}), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains non-finite values")
    return a if a.ndim == len(tail) + 1 else a[None]


def _as_focal(focal: np.ndarray) -> np.ndarray:
    focal = np.asarray(focal, dtype=np.float64)
    if focal.shape[-2:] != (2, 2) or focal.ndim not in (2, 3):
        raise ValueError(f"focal must be the (2, 2) or (N, 2, 2) linear part of K, got shape {focal.shape}")
    return focal


def _weights(weights: np.ndarray | None, n: int) -> np.ndarray:
    if weights is None:
        return np.ones((n, NUM_JOINTS))
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64), (n, NUM_JOINTS))
    if not np.all(np.isfinite(w)) or np.any(w < 0) or np.any(w.sum(axis=-1) <= 0):
        raise ValueError("joint weights must be finite, non-negative and not all zero")
    return w


def _normal_solve(rel: np.ndarray, xy: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least-squares t for (N,21,3) rel, (N,21,2) normalised xy, (N,21) weights.

    With A_i = [[1, 0, -x_i], [0, 1, -y_i]] and b_i = [x_i r_iz - r_ix, y_i r_iz - r_iy], the normal matrix
    sum w A^T A = [[S, 0, -Sx], [0, S, -Sy], [-Sx, -Sy, Sxx]] is eliminated in closed form: t_z first
    (its pivot is S times the weighted spread of the rays), then t_x, t_y.
    """
    # all weighted sums in one product: S, Sx, Sy, Sxx and the right-hand side (in-place, few numpy calls:
    # this runs once per hand per frame and per IRLS step)
    feats = np.empty((*xy.shape[:-1], 7))
    feats[..., 0] = 1.0
    feats[..., 1:3] = xy
    x, y = feats[..., 1], feats[..., 2]
    np.multiply(xy, rel[..., 2:3], out=feats[..., 4:6])
    feats[..., 4:6] -= rel[..., :2]
    feats[..., 3] = x * x + y * y
    feats[..., 6] = x * feats[..., 4] + y * feats[..., 5]
    m = (w[:, None, :] @ feats)[:, 0]
    sw, swx, swy, sxx, r0, r1, r2 = m.T
    pivot = sxx - (swx * swx + swy * swy) / sw
    if (pivot <= 1e-12 * sxx + 1e-300).any():
        raise ValueError("degenerate keypoints: all weighted rays coincide, depth is undetermined")
    t = np.empty((len(m), 3))
    t[:, 2] = ((swx * r0 + swy * r1) / sw - r2) / pivot
    t[:, 0] = (r0 + swx * t[:, 2]) / sw
    t[:, 1] = (r1 + swy * t[:, 2]) / sw
    return t


def solve_translation(rel: np.ndarray, xy: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Closed-form translation t (N, 3) or (3,), metres, so that rel + t projects onto xy.

    rel: (N, 21, 3) or (21, 3) metric root-relative joints, camera axes. xy: matching (..., 21, 2) normalised
    image coordinates. weights: optional (21,) or (N, 21) non-negative per-joint weights.
    """
    single = np.asarray(rel).ndim == 2
    rel_b = _as_batch(rel, (NUM_JOINTS, 3), "rel")
    xy_b = _as_batch(xy, (NUM_JOINTS, 2), "xy")
    t = _normal_solve(rel_b, xy_b, _weights(weights, len(rel_b)))
    return t[0] if single else t


def solve_translation_robust(
    rel: np.ndarray,
    xy: np.ndarray,
    focal: np.ndarray,
    weights: np.ndarray | None = None,
    huber_px: float = 4.0,
    iterations: int = IRLS_ITERATIONS,
) -> np.ndarray:
    """IRLS translation: geometric (pixel) error via 1/z^2 weights, Huber loss with threshold `huber_px`.

    Arguments as `solve_translation`; focal: (2, 2) or (N, 2, 2) linear part of K (the pixel errors use the
    mean focal length).
    """
    single = np.asarray(rel).ndim == 2
    rel_b = _as_batch(rel, (NUM_JOINTS, 3), "rel")
    xy_b = _as_batch(xy, (NUM_JOINTS, 2), "xy")
    focal = _as_focal(focal)
    w0 = _weights(weights, len(rel_b))
    t = _normal_solve(rel_b, xy_b, w0)
    f = 0.5 * (focal[..., 0, 0] + focal[..., 1, 1])[..., None]
    for _ in range(iterations):
        pts = rel_b + t[:, None, :]
        z = np.maximum(pts[..., 2], _MIN_DEPTH)
        err_px = f * np.linalg.norm(pts[..., :2] / z[..., None] - xy_b, axis=-1)
        huber = np.where(err_px <= huber_px, 1.0, huber_px / np.maximum(err_px, 1e-12))
        t = _normal_solve(rel_b, xy_b, w0 * huber / z**2)
    return t[0] if single else t


def solve_translation_depth(
    rel: np.ndarray,
    xy: np.ndarray,
    focal: np.ndarray,
    z: np.ndarray,
    sigma: np.ndarray,
    weights: np.ndarray | None = None,
    keypoint_sigma_px: float = 3.0,
) -> np.ndarray:
    """Least-squares translation t (N, 3) from the 2D keypoints and measured joint depths together.

    Beside the two 2D equations of each joint (module docstring), a joint with a measured depth z_i (NaN:
    none; sigma_i its standard deviation, m) adds r_iz + t_z = z_i. The 2D equations' residual is z_i times
    the normalised reprojection error, so each is weighted by its joint weight / (z_i sigma_px / f)^2 (metres),
    z_i from the hand's median measured depth; the depth rows by 1 / sigma_i^2. rel (N, 21, 3) m, xy (N, 21, 2)
    normalised, focal (2, 2) or (N, 2, 2). A hand without any depth gets the 2D-only solve.
    """
    n = len(rel)
    w = _weights(weights, n)
    has = np.isfinite(z)
    f = 0.5 * np.broadcast_to(focal[..., 0, 0] + focal[..., 1, 1], (n,))
    z_hand = np.ones(n)  # the wrist's depth, roughly (1 m for a hand without depth)
    some = has.any(axis=1)
    if some.any():
        z_hand[some] = np.nanmedian(np.where(has, z - rel[..., 2], np.nan)[some], axis=1)
    zi = np.maximum(z_hand[:, None] + rel[..., 2], 0.05)
    w2 = w / (zi * keypoint_sigma_px / f[:, None]) ** 2
    x, y = xy[..., 0], xy[..., 1]
    bx, by = x * rel[..., 2] - rel[..., 0], y * rel[..., 2] - rel[..., 1]
    A = np.zeros((n, 3, 3))
    b = np.zeros((n, 3))
    A[:, 0, 0] = A[:, 1, 1] = w2.sum(1)
    A[:, 0, 2] = A[:, 2, 0] = -(w2 * x).sum(1)
    A[:, 1, 2] = A[:, 2, 1] = -(w2 * y).sum(1)
    A[:, 2, 2] = (w2 * (x * x + y * y)).sum(1)
    b[:, 0] = (w2 * bx).sum(1)
    b[:, 1] = (w2 * by).sum(1)
    b[:, 2] = -(w2 * (x * bx + y * by)).sum(1)
    wd = np.where(has, 1.0 / np.asarray(sigma) ** 2, 0.0)
    A[:, 2, 2] += wd.sum(1)
    b[:, 2] += (wd * np.where(has, z - rel[..., 2], 0.0)).sum(1)
    return np.linalg.solve(A, b[..., None])[..., 0]


def _unit_rays(xy: np.ndarray) -> np.ndarray:
    rays = np.concatenate((xy, np.ones_like(xy[..., :1])), axis=-1)
    return rays / np.linalg.norm(rays, axis=-1, keepdims=True)


def refine_kinematic(joints: np.ndarray, xy: np.ndarray, bone_lengths: np.ndarray, prior_rel: np.ndarray) -> np.ndarray:
    """Closed-form ray/sphere placement of every joint, wrist first (see module docstring).

    joints: (N, 21, 3) initial camera-frame joints (their wrist depth is kept). xy: (N, 21, 2) normalised
    image coordinates. bone_lengths: (N, 20) metres, joints.BONES order. prior_rel: (N, 21, 3) the network's
    metric root-relative pose, used only to choose between the two ray/sphere intersections by depth.
    Returns (N, 21, 3) joints that project exactly onto xy wherever the bone can reach the ray.
    """
    d = _unit_rays(xy)
    out = np.empty_like(joints)
    out[:, WRIST] = d[:, WRIST] * (joints[:, WRIST, 2] / d[:, WRIST, 2])[:, None]
    for b, (p, c) in enumerate(BONES):
        par = out[:, p]
        dc = d[:, c]
        length = bone_lengths[:, b]
        proj = np.einsum("ni,ni->n", dc, par)
        disc = proj**2 - np.einsum("ni,ni->n", par, par) + length**2
        root = np.sqrt(np.maximum(disc, 0.0))
        z_pred = par[:, 2] + prior_rel[:, c, 2] - prior_rel[:, p, 2]
        lam_a, lam_b = proj + root, proj - root
        lam = np.where(np.abs(lam_a * dc[:, 2] - z_pred) <= np.abs(lam_b * dc[:, 2] - z_pred), lam_a, lam_b)
        on_ray = lam[:, None] * dc
        # Where the ray is out of reach, point the bone at the ray's nearest point: length kept, 2D closest.
        miss = disc < 0
        if np.any(miss):
            v = on_ray[miss] - par[miss]
            on_ray[miss] = par[miss] + v * (length[miss] / np.maximum(np.linalg.norm(v, axis=-1), 1e-12))[:, None]
        out[:, c] = on_ray
    return out


@functools.lru_cache(maxsize=8)
def _lm_structure(prior_w: tuple[float, float, float]) -> tuple[np.ndarray, ...]:
    """Sparsity of the LM Jacobian: (row, col) index arrays of the reprojection and bone-length entries, in
    the order refine_gauss_newton fills them, the constant bone-vector-prior rows (60, 63) and their J^T J
    (63, 63); all read-only."""
    j3 = 3 * np.arange(NUM_JOINTS)
    rx, ry = 2 * np.arange(NUM_JOINTS), 2 * np.arange(NUM_JOINTS) + 1
    rows_proj = np.concatenate((rx, rx, rx, ry, ry))
    cols_proj = np.concatenate((j3, j3 + 1, j3 + 2, j3 + 1, j3 + 2))
    rb = np.repeat(2 * NUM_JOINTS + np.arange(len(BONES)), 3)
    k = np.tile(np.arange(3), len(BONES))
    rows_bone = np.concatenate((rb, rb))
    cols_bone = np.concatenate((3 * np.repeat(BONE_CHILDREN, 3) + k, 3 * np.repeat(BONE_PARENTS, 3) + k))
    J = np.zeros((3 * len(BONES), 3 * NUM_JOINTS))
    for b, (p, c) in enumerate(BONES):
        for axis in range(3):
            J[3 * b + axis, 3 * c + axis] = prior_w[axis]
            J[3 * b + axis, 3 * p + axis] = -prior_w[axis]
    out = (rows_proj, cols_proj, rows_bone, cols_bone, J, J.T @ J)
    for a in out:
        a.setflags(write=False)
    return out


def refine_gauss_newton(
    joints: np.ndarray,
    xy: np.ndarray,
    focal: np.ndarray,
    bone_lengths: np.ndarray,
    prior_rel: np.ndarray,
    settings: RootSolveSettings,
    sigma_bone_m: float = SIGMA_BONE_M,
    damping: float = LM_DAMPING,
    depth: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Levenberg-Marquardt fit of all joints (N, 21, 3) to the 2D keypoints with bone lengths held.

    xy: (N, 21, 2) normalised keypoints; focal: (2, 2) or (N, 2, 2) linear part of K. Residuals, with the
    settings' fields: reprojection (pixels / keypoint_sigma_px, times the sqrt of the joint_weighting
    weight), bone length (m / sigma_bone_m), and each bone vector minus the network's (prior_rel) per axis
    (m / prior_sigma_xy_m, prior_sigma_z_m); refine_iterations steps. Starts from `joints` (e.g. the
    closed-form solve). depth: optional (z, sigma), each (N, 21) metres: a measured depth of each joint (NaN:
    none) and its standard deviation, one more residual (z_joint - z) / sigma per measured joint.
    Returns (N, 21, 3) metres, camera frame.
    """
    n = len(joints)
    z_cols = 3 * np.arange(NUM_JOINTS) + 2
    if depth is not None:
        has = np.isfinite(depth[0])
        w_depth = np.where(has, 1.0 / np.asarray(depth[1]) ** 2, 0.0)  # (N, 21)
        z_meas = np.where(has, depth[0], 0.0)
    focal = _as_focal(focal)
    prior_w = np.array(
        [1.0 / settings.prior_sigma_xy_m, 1.0 / settings.prior_sigma_xy_m, 1.0 / settings.prior_sigma_z_m]
    )
    rows_proj, cols_proj, rows_bone, cols_bone, J_prior, H_prior = _lm_structure(tuple(prior_w.tolist()))
    # the prior's residual J_prior x - target is linear in x: its normal-equation terms are constant
    target = ((prior_rel[:, BONE_CHILDREN] - prior_rel[:, BONE_PARENTS]) * prior_w).reshape(n, -1)
    g_prior_const = target @ J_prior  # (N, 63): J_prior^T target
    w_proj = np.sqrt(_weights(JOINT_WEIGHTINGS[settings.joint_weighting], n)) / settings.keypoint_sigma_px
    n_proj, n_bone = 2 * NUM_JOINTS, len(BONES)
    J = np.zeros((n, n_proj + n_bone, 3 * NUM_JOINTS))
    r = np.empty((n, n_proj + n_bone))
    fx, fy, skew = (np.broadcast_to(focal[..., i, j], (n,))[:, None] for i, j in ((0, 0), (1, 1), (0, 1)))
    eye = np.arange(3 * NUM_JOINTS)
    x = joints.reshape(n, -1).copy()
    for _ in range(settings.refine_iterations):
        P = x.reshape(n, NUM_JOINTS, 3)
        X, Y = P[..., 0], P[..., 1]
        inv_z = 1.0 / np.maximum(P[..., 2], _MIN_DEPTH)
        a, b = X * inv_z, Y * inv_z
        # pixel residuals from normalised ones: u(a, b) - u = fx (a - x) + skew (b - y), v(b) - v = fy (b - y)
        db = b - xy[..., 1]
        r[:, 0:n_proj:2] = (fx * (a - xy[..., 0]) + skew * db) * w_proj
        r[:, 1:n_proj:2] = fy * db * w_proj
        bone = P[:, BONE_CHILDREN] - P[:, BONE_PARENTS]
        blen = np.maximum(np.linalg.norm(bone, axis=-1), 1e-9)
        r[:, n_proj:] = (blen - bone_lengths) / sigma_bone_m
        # reprojection rows: d(u)/d(X, Y, z) = (fx, skew, -(fx a + skew b)) / z, d(v)/d(Y, z) = (fy, -fy b) / z
        wz = w_proj * inv_z
        J[:, rows_proj, cols_proj] = np.concatenate(
            (fx * wz, skew * wz, -(fx * a + skew * b) * wz, fy * wz, -fy * b * wz), axis=1
        )
        unit = (bone / (blen[..., None] * sigma_bone_m)).reshape(n, -1)
        J[:, rows_bone, cols_bone] = np.concatenate((unit, -unit), axis=1)
        Jt = J.transpose(0, 2, 1)
        H = Jt @ J + H_prior
        g = (Jt @ r[..., None])[..., 0] + x @ H_prior - g_prior_const
        if depth is not None:  # rows (z_i - z_meas_i) / sigma_i: diagonal in the z coordinates
            H[:, z_cols, z_cols] += w_depth
            g[:, z_cols] += w_depth * (x[:, z_cols] - z_meas)
        H[:, eye, eye] *= 1.0 + damping
        x = x - np.linalg.solve(H, g[..., None])[..., 0]
    return x.reshape(n, NUM_JOINTS, 3)


def reprojection_error(joints: np.ndarray, xy: np.ndarray, focal: np.ndarray) -> np.ndarray:
    """Mean pixel distance (N,) between projected joints (N, 21, 3) and keypoints (N, 21, 2), normalised
    coordinates, with focal the (2, 2) or (N, 2, 2) linear part of K."""
    z = np.maximum(joints[..., 2:3], _MIN_DEPTH)
    d = joints[..., :2] / z - xy  # (N, 21, 2) normalised; rows times focal^T: pixels
    return np.linalg.norm(d @ np.swapaxes(_as_focal(focal), -1, -2), axis=-1).mean(-1)


# -- the solve methods, by name ------------------------------------------------------------------------------
# Each takes (rel, xy, focal, bone_lengths or None, weights or None, settings) and returns camera-frame joints.


def _linear(rel, xy, focal, bone_lengths, weights, settings) -> np.ndarray:
    return rel + solve_translation(rel, xy, weights)[:, None, :]


def _robust(rel, xy, focal, bone_lengths, weights, settings) -> np.ndarray:
    return rel + solve_translation_robust(rel, xy, focal, weights, huber_px=settings.huber_px)[:, None, :]


def _held_lengths(rel: np.ndarray, bone_lengths: np.ndarray | None) -> np.ndarray:
    """(N, 20) bone lengths for the refinements to hold; default: those of rel."""
    if bone_lengths is None:
        bone_lengths = np.linalg.norm(rel[:, BONE_CHILDREN] - rel[:, BONE_PARENTS], axis=-1)
    return np.broadcast_to(bone_lengths, (len(rel), len(BONES)))


# the refinements start from the closed form (measured: as good as a robust start, and cheaper)
def _kinematic(rel, xy, focal, bone_lengths, weights, settings) -> np.ndarray:
    start = _linear(rel, xy, focal, bone_lengths, weights, settings)
    return refine_kinematic(start, xy, _held_lengths(rel, bone_lengths), rel)


def _refine(rel, xy, focal, bone_lengths, weights, settings) -> np.ndarray:
    start = _linear(rel, xy, focal, bone_lengths, weights, settings)
    return refine_gauss_newton(start, xy, focal, _held_lengths(rel, bone_lengths), rel, settings)


SOLVE_METHODS: dict[str, Callable[..., np.ndarray]] = {
    "linear": _linear,  # weighted closed form
    "robust": _robust,  # IRLS / Huber
    "kinematic": _kinematic,  # closed form + ray/sphere placement
    "refine": _refine,  # closed form + Levenberg-Marquardt
}
SOLVERS: tuple[str, ...] = tuple(SOLVE_METHODS)


@dataclass(frozen=True)
class RootSolveSettings(Settings):
    """Settings of the root solve stage (`solve`); units in the descriptions."""

    solver: str = param(
        "refine",
        "root solve: linear least squares, robust IRLS/Huber, kinematic ray/sphere, or refine (LM fit)",
        choices=SOLVERS,
    )
    joint_weighting: str = param(
        "palm",
        "per-joint weights of the 2D fit: uniform, or palm (wrist, CMC and MCP joints weigh twice the rest)",
        choices=tuple(JOINT_WEIGHTINGS),
    )
    huber_px: float = param(4.0, "Huber threshold of the robust solve (px)", 0.1, 100.0)
    keypoint_sigma_px: float = param(3.0, "expected 2D keypoint error used by refine (px)", 0.1, 100.0)
    prior_sigma_xy_m: float = param(
        0.01, "trust in the detector's bone vectors across the image plane, refine (m)", 1e-4, 1.0
    )
    prior_sigma_z_m: float = param(0.02, "trust in the detector's bone vectors in depth, refine (m)", 1e-4, 1.0)
    refine_iterations: int = param(2, "Levenberg-Marquardt iterations of refine", 1, 20)


def solve(
    rel: np.ndarray,
    xy: np.ndarray,
    focal: np.ndarray,
    settings: RootSolveSettings | None = None,
    bone_lengths: np.ndarray | None = None,
    depth: tuple[np.ndarray, np.ndarray] | None = None,
) -> RootSolution:
    """Camera-frame joints of N hands from their metric relative pose and 2D keypoints.

    rel: (N, 21, 3) metres, root-relative, camera axes (scale x canonical). xy: (N, 21, 2) normalised image
    coordinates (`camera.pixels_to_normalized`). focal: (2, 2) or (N, 2, 2) linear part of K (`K[:2, :2]`).
    settings: the method (`settings.solver`, one of SOLVERS) and its parameters; default RootSolveSettings().
    bone_lengths: (N, 20) metres held by the two refinements; default: the bone lengths of rel.
    depth: optional (z, sigma), each (N, 21) metres: measured joint depths (NaN: none) and their standard
    deviations (`perception.depth`), a least-squares term beside the 2D ones in the closed form
    (`solve_translation_depth`) and in the Levenberg-Marquardt refinement; None: the RGB-only solve.
    """
    settings = RootSolveSettings() if settings is None else settings
    if not isinstance(settings, RootSolveSettings):
        raise ValueError(f"settings must be a RootSolveSettings, got {type(settings).__name__}")
    rel = _as_batch(rel, (NUM_JOINTS, 3), "rel")
    xy = _as_batch(xy, (NUM_JOINTS, 2), "xy")
    focal = _as_focal(focal)
    weights = JOINT_WEIGHTINGS[settings.joint_weighting]
    if depth is None:
        joints = SOLVE_METHODS[settings.solver](rel, xy, focal, bone_lengths, weights, settings)
    else:
        z, sigma = (np.broadcast_to(np.asarray(a, dtype=np.float64), rel.shape[:2]) for a in depth)
        t = solve_translation_depth(rel, xy, focal, z, sigma, weights, settings.keypoint_sigma_px)
        joints = rel + t[:, None, :]
        if settings.solver == "kinematic":
            joints = refine_kinematic(joints, xy, _held_lengths(rel, bone_lengths), rel)
        elif settings.solver == "refine":
            held = _held_lengths(rel, bone_lengths)
            joints = refine_gauss_newton(joints, xy, focal, held, rel, settings, depth=(z, sigma))
    return RootSolution(
        joints=joints, translation=joints[:, WRIST].copy(), reprojection_error=reprojection_error(joints, xy, focal)
    )
