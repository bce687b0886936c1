"""Model fitting (canonical pose stage, `canonical.model: fit`): the kinematic hand fitted to the 2D keypoints.

The kinematic hand of `perception.hand_model` (rigid palm, per-finger joint angles inside the anatomical limits,
bone lengths fixed to the proportions in force) is fitted, under perspective, to the normalised 2D keypoints,
with the detector's relative 3D pose as a prior on every bone vector. Everything is in canonical units (unit
mean bone length): a hand k times larger at k times the distance projects the same, so the canonical pose can
be fitted before the scale is known; the translation is fitted with it (and dropped: the root solve places the
hand).

Parameters per hand: the wrist's rotation (a rotation vector, hand frame -> camera axes), the `hand_model.NUM_DOF`
joint angles (bounded by `hand_model.DOF_LIMITS`) and the translation (canonical units). Residuals:

- 2D: projected joint minus keypoint, divided by keypoint_sigma times the hand's mean 2D bone length (so the
  weight does not depend on the focal length or the hand's distance), times the sqrt of the joint weight;
- prior: each bone vector minus the detector's (with the same lengths), per camera axis, divided by
  prior_sigma_xy (x, y) or prior_sigma_z (depth, the detector's weak axis), in mean bone lengths.

Solved by a projected Levenberg-Marquardt (angles clipped to their limits after each step), all hands at
once; the Jacobian by forward differences, every perturbation in one batched forward-kinematics call.
Initialised by fitting the model to the detector's pose alone (inverse kinematics, from the palm's Procrustes
rotation and the angles read off the detector's fingers), for both mirror images: the one that fits the
detector's 3D better decides the chirality (a hand's handedness label is not needed, and a wrong one cannot
force a mirrored fit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalehp_ros.common.joints import (
    BONE_CHILDREN,
    BONE_PARENTS,
    FINGER_CHAINS,
    FINGERS,
    NUM_JOINTS,
    PALM_JOINTS,
)
from scalehp_ros.perception import hand_model
from scalehp_ros.perception.root_solver import solve_translation

_PALM = np.array(PALM_JOINTS)
_NROT, _NANG = 3, hand_model.NUM_DOF
NUM_PARAMS = _NROT + _NANG + 3  # rotation vector, joint angles, translation
_MIRROR = {False: np.array([1.0, 1.0, 1.0]), True: np.array([-1.0, 1.0, 1.0])}
_FD_STEP = 1e-6
_MIN_Z = 1e-3  # canonical units: a joint nearer the camera plane is treated as this near


@dataclass(frozen=True)
class FitWeights:
    """Residual scales of the fit (see the module docstring). keypoint_sigma: fraction of the hand's mean 2D bone
    length; prior_sigma_xy, prior_sigma_z: mean bone lengths; huber: residual (in sigmas) beyond which the
    loss grows linearly (outlier keypoints); ik_iterations, iterations: Levenberg-Marquardt steps of the
    inverse kinematics and of the 2D fit; warm_iterations: steps of the 2D fit when warm-started from the
    previous frame's fit (no inverse kinematics)."""

    keypoint_sigma: float = 0.08
    prior_sigma_xy: float = 0.2
    prior_sigma_z: float = 0.4
    huber: float = 3.0
    ik_iterations: int = 10
    iterations: int = 10
    warm_iterations: int = 3


@dataclass(frozen=True)
class ModelFit:
    """Result for N hands. canonical: (N, 21, 3) fitted joints, wrist at 0, camera axes, canonical units.
    params: (N, NUM_PARAMS) rotation vector, joint angles (radians, `hand_model.DOF_NAMES`), translation.
    is_left: (N,) the chirality chosen (mirror image of the right-hand model). cost: (N,) final cost
    (half the sum of squared residuals, robust loss applied)."""

    canonical: np.ndarray
    params: np.ndarray
    is_left: np.ndarray
    cost: np.ndarray


def _kabsch(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Rotation R (3, 3) minimising |R src_i - dst_i| over points (M, 3) (both about their own centroid)."""
    a, b = src - src.mean(0), dst - dst.mean(0)
    u, _, vt = np.linalg.svd(b.T @ a)
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


def _matrix_to_rotvec(R: np.ndarray) -> np.ndarray:
    angle = np.arccos(np.clip(0.5 * (np.trace(R) - 1.0), -1.0, 1.0))
    w = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]])
    if angle < 1e-9:
        return np.zeros(3)
    if np.pi - angle < 1e-6:  # near 180 degrees the skew part vanishes: the axis from R + I
        axis = (R + np.eye(3))[:, np.argmax(np.diag(R))]
        return angle * axis / np.linalg.norm(axis)
    return angle * w / (2.0 * np.sin(angle))


class _Problem:
    """Residuals of B hands for batches of parameter vectors: (B, M, P) -> (B, M, R).

    lengths (B, 20), prior_bones (B, 20, 3), w_prior (3,), mirror (B, 3); with xy (B, 21, 2) and w_2d (B, 21)
    the 2D residuals too, and the parameters end with the translation.
    """

    def __init__(self, lengths, prior_bones, w_prior, mirror, xy=None, w_2d=None) -> None:
        self.lengths, self.prior_bones, self.w_prior, self.mirror = lengths, prior_bones, w_prior, mirror
        self.xy, self.w_2d = xy, w_2d

    def joints(self, params: np.ndarray) -> np.ndarray:
        """Root-relative joints (B, M, 21, 3), camera axes, of parameters (B, M, P)."""
        b, m, _ = params.shape
        flat = params.reshape(b * m, -1)
        lengths = np.repeat(self.lengths, m, axis=0)
        hand = hand_model.forward_kinematics(flat[:, _NROT : _NROT + _NANG], lengths).reshape(b, m, NUM_JOINTS, 3)
        R = hand_model.rotation_vectors_to_matrices(flat[:, :_NROT]).reshape(b, m, 3, 3)
        return (hand * self.mirror[:, None, None]) @ R.transpose(0, 1, 3, 2)

    def residuals(self, params: np.ndarray) -> np.ndarray:
        b, m, _ = params.shape
        P = self.joints(params)
        bones = P[:, :, BONE_CHILDREN] - P[:, :, BONE_PARENTS]
        r = [((bones - self.prior_bones[:, None]) * self.w_prior).reshape(b, m, -1)]
        if self.xy is not None:
            P = P + params[:, :, None, _NROT + _NANG :]
            proj = P[..., :2] / np.maximum(P[..., 2:], _MIN_Z)
            r.append(((proj - self.xy[:, None]) * self.w_2d[:, None, :, None]).reshape(b, m, -1))
        return np.concatenate(r, axis=-1)


def _huber_cost(r: np.ndarray, k: float) -> np.ndarray:
    if not np.isfinite(k):
        return 0.5 * (r * r).sum(-1)
    a = np.abs(r)
    return np.where(a <= k, 0.5 * r * r, k * a - 0.5 * k * k).sum(-1)


def _levenberg_marquardt(problem: _Problem, x: np.ndarray, lo, hi, iterations: int, huber: float) -> tuple:
    """Projected Levenberg-Marquardt on B problems at once (x (B, P), bounds (P,)), Huber loss by reweighting;
    the Jacobian by forward differences, evaluated with each trial point in one batched call. (x, cost (B,))."""
    b, p = x.shape
    step = np.full(p, _FD_STEP)
    probe = np.concatenate((np.zeros((1, p)), np.diag(step)))  # (P + 1, P)

    def evaluate(x):
        res = problem.residuals(x[:, None] + probe)
        r = res[:, 0]
        return r, (res[:, 1:] - r[:, None]) / step[:, None], _huber_cost(r, huber)

    r, J, cost = evaluate(x)
    lam = np.full(b, 1e-3)
    eye = np.eye(p)
    for _ in range(iterations):
        w = np.minimum(1.0, huber / np.maximum(np.abs(r), 1e-12))
        H = (J * w[:, None]) @ J.transpose(0, 2, 1)
        g = (J @ (w * r)[..., None])[..., 0]
        H = H + (lam[:, None, None] * (H * eye)) + 1e-9 * eye
        x_new = np.clip(x - np.linalg.solve(H, g[..., None])[..., 0], lo, hi)
        r_new, J_new, cost_new = evaluate(x_new)
        better = cost_new < cost
        x, r, cost = (
            np.where(better[:, None], x_new, x),
            np.where(better[:, None], r_new, r),
            np.minimum(cost, cost_new),
        )
        J = np.where(better[:, None, None], J_new, J)
        lam = np.where(better, lam * 0.3, lam * 10.0)
    return x, cost


def _bounds(with_translation: bool) -> tuple[np.ndarray, np.ndarray]:
    lo = np.concatenate((np.full(_NROT, -np.inf), hand_model.DOF_LIMITS[:, 0]))
    hi = np.concatenate((np.full(_NROT, np.inf), hand_model.DOF_LIMITS[:, 1]))
    if with_translation:
        lo, hi = np.concatenate((lo, np.full(3, -np.inf))), np.concatenate((hi, np.full(3, np.inf)))
    return lo, hi


def _initial_angles(hand: np.ndarray) -> np.ndarray:
    """Joint angles (B, NUM_DOF) read off poses (B, 21, 3) already in the model's hand frame, clipped to the
    limits: the long fingers' abduction and flexions exactly, the thumb's flexions about a mid-range metacarpal."""
    b = len(hand)
    angles = np.zeros((b, hand_model.NUM_DOF))
    angles[:, 1] = np.mean(hand_model.DOF_LIMITS[1])
    z = np.array([0.0, 0.0, 1.0])
    for k, finger in enumerate(FINGERS):
        chain = FINGER_CHAINS[finger]
        v = hand[:, chain[1:]] - hand[:, chain[:-1]]  # (B, 3, 3) the finger's bones beyond its first joint
        if finger == "thumb":
            mid = hand_model.forward_kinematics(angles, np.ones((b, 20)))
            direction = mid[:, chain[2]] - mid[:, chain[1]]
            flex_axis = np.cross(direction, z)
            flex_axis /= np.linalg.norm(flex_axis, axis=-1, keepdims=True)
            across = np.cross(flex_axis, direction)
            first = 2
        else:
            base = hand_model.in_palm(hand_model.MCP_SPREAD_DEG[finger])
            side = np.cross(z, base)
            angles[:, 4 * k] = np.arctan2(v[:, 0] @ side, v[:, 0] @ base)
            c, s = np.cos(angles[:, 4 * k])[:, None], np.sin(angles[:, 4 * k])[:, None]
            direction, across = base * c + side * s, np.broadcast_to(z, (b, 3))
            first = 1
        total = np.arctan2(-(v * across[:, None]).sum(-1), (v * direction[:, None]).sum(-1))  # (B, 3)
        flex = np.diff(total, axis=1, prepend=0.0)
        angles[:, 4 * k + first : 4 * k + 4] = flex[:, first - 1 :]
    return np.clip(angles, hand_model.DOF_LIMITS[:, 0], hand_model.DOF_LIMITS[:, 1])


def fit_hands(
    xy: np.ndarray,
    prior: np.ndarray,
    lengths: np.ndarray,
    weights: FitWeights | None = None,
    joint_weights: np.ndarray | None = None,
    warm: ModelFit | None = None,
) -> ModelFit:
    """Fit the kinematic hand to N hands.

    xy: (N, 21, 2) normalised keypoints. prior: (N, 21, 3) the detector's root-relative pose, camera axes, with
    the bone lengths `lengths` (`canonical.with_bone_lengths`). lengths: (20,) or (N, 20) the model's bone
    lengths, joints.BONES order, canonical units (unit mean). joint_weights: optional (21,) or (N, 21) weights
    of the 2D residuals. warm: the previous frame's fit of the same N hands (video): its rotation, joint
    angles and chirality start the 2D fit, which then runs `warm_iterations` steps, with no inverse
    kinematics. Raises ValueError for wrong shapes, non-finite or degenerate input.
    """
    weights = FitWeights() if weights is None else weights
    xy = np.asarray(xy, dtype=np.float64)
    prior = np.asarray(prior, dtype=np.float64)
    n = len(xy)
    if xy.shape != (n, NUM_JOINTS, 2) or prior.shape != (n, NUM_JOINTS, 3):
        raise ValueError(f"xy must be (N, 21, 2) and prior (N, 21, 3), got {xy.shape} and {prior.shape}")
    lengths = np.broadcast_to(np.asarray(lengths, dtype=np.float64), (n, len(BONE_CHILDREN)))
    jw = np.broadcast_to(np.ones(NUM_JOINTS) if joint_weights is None else joint_weights, (n, NUM_JOINTS))
    for name, a in (("xy", xy), ("prior", prior), ("lengths", lengths), ("joint_weights", jw)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains non-finite values")
    if np.any(lengths <= 0.0) or np.any(jw < 0.0):
        raise ValueError("bone lengths must be positive and joint weights non-negative")
    size2d = np.linalg.norm(xy[:, BONE_CHILDREN] - xy[:, BONE_PARENTS], axis=-1).mean(-1)
    if np.any(size2d <= 1e-9):
        raise ValueError("degenerate keypoints: the hand has no extent in the image")
    w_prior = 1.0 / np.array([weights.prior_sigma_xy, weights.prior_sigma_xy, weights.prior_sigma_z])
    prior_bones = prior[:, BONE_CHILDREN] - prior[:, BONE_PARENTS]
    if warm is not None:
        if warm.params.shape != (n, NUM_PARAMS) or not np.all(np.isfinite(warm.params)):
            raise ValueError(f"warm must be a finite fit of the same {n} hands, got params {warm.params.shape}")
        pose, left = warm.params[:, : _NROT + _NANG], np.asarray(warm.is_left, dtype=bool)
        return _fit_2d(xy, prior_bones, lengths, jw, size2d, w_prior, pose, left, weights, weights.warm_iterations)
    # inverse kinematics of the detector's pose, both chiralities at once: (right hands, left hands)
    rest = hand_model.forward_kinematics(np.zeros((n, hand_model.NUM_DOF)), lengths)
    mirror = np.concatenate((np.tile(_MIRROR[False], (n, 1)), np.tile(_MIRROR[True], (n, 1))))
    x0 = np.empty((2 * n, _NROT + _NANG))
    for i in range(2 * n):
        R = _kabsch(rest[i % n, _PALM] * mirror[i], prior[i % n, _PALM])
        x0[i, :_NROT] = _matrix_to_rotvec(R)
        x0[i, _NROT:] = _initial_angles(((prior[i % n] @ R) * mirror[i])[None])[0]
    ik = _Problem(np.tile(lengths, (2, 1)), np.tile(prior_bones, (2, 1, 1)), w_prior, mirror)
    lo, hi = _bounds(False)
    x_ik, cost_ik = _levenberg_marquardt(ik, x0, lo, hi, weights.ik_iterations, np.inf)
    is_left = cost_ik[n:] < cost_ik[:n]
    x_ik = np.where(is_left[:, None], x_ik[n:], x_ik[:n])
    return _fit_2d(xy, prior_bones, lengths, jw, size2d, w_prior, x_ik, is_left, weights, weights.iterations)


def _fit_2d(xy, prior_bones, lengths, jw, size2d, w_prior, x_pose, is_left, weights, iterations) -> ModelFit:
    """The 2D fit of N hands from pose parameters x_pose (N, rotation + angles) and chirality, with the
    closed-form translation of that pose as the start."""
    n = len(xy)
    w_2d = np.sqrt(jw) / (weights.keypoint_sigma * size2d[:, None])
    mirror = np.where(is_left[:, None], _MIRROR[True], _MIRROR[False])
    problem = _Problem(lengths, prior_bones, w_prior, mirror, xy, w_2d)
    rel = problem.joints(np.concatenate((x_pose, np.zeros((n, 3))), axis=1)[:, None])[:, 0]
    x0 = np.concatenate((x_pose, solve_translation(rel, xy)), axis=1)
    lo, hi = _bounds(True)
    x, cost = _levenberg_marquardt(problem, x0, lo, hi, iterations, weights.huber)
    return ModelFit(problem.joints(x[:, None])[:, 0], x, is_left, cost)
