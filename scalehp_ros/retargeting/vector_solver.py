"""Keypoint-vector least squares for hand retargeting: residuals and analytic pinocchio Jacobians for dls.py.

Objective (the one dex-retargeting minimises with SLSQP, here solved as nonlinear least squares):

    f(q) = sum_k  w_k * huber_delta(|v_k(q) - t_k|) / K  +  norm_delta * |q - q_prev|^2

v_k(q) = p_task_k(q) - p_origin_k(q): robot link position differences in the hand model's root frame (metres),
t_k the reference vectors. The Huber loss is handled by iteratively reweighted least squares (weight 1/delta in
the quadratic zone, 1/|r| in the linear one), which gives the Gauss-Newton step of the Huber objective.
Joint limits are a box: variables at a bound whose gradient pushes outward are frozen (active set) and every
step is projected back into the box, so every iterate, and the result, is inside the limits (the loop itself:
dls.bounded_dls). Joint positions in radians, configuration order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pinocchio as pin

from scalehp_ros.retargeting.dls import bounded_dls
from scalehp_ros.retargeting.robot_model import RobotModel

_MAX_STEP = 0.5  # rad: largest per-joint change in one iteration (keeps far-from-solution steps sane)
_DAMPING = 1e-4  # initial Levenberg-Marquardt damping, relative to the diagonal


class VectorLeastSquares:
    """Solves min_q f(q) within [lower, upper] for a fixed set of (origin link, task link) vector pairs."""

    def __init__(self, robot: RobotModel, origin_links: Sequence[str], task_links: Sequence[str]):
        if len(origin_links) != len(task_links) or not origin_links:
            raise ValueError("need as many origin links as task links, at least one")
        self.robot = robot
        model = robot.model
        names = list(dict.fromkeys([*origin_links, *task_links]))
        ids = [robot.frame_id(n) for n in names]
        # Links rigidly attached to the model root (e.g. the wrist) have constant positions and zero Jacobians.
        moving = [model.frames[f].parentJoint != 0 for f in ids]
        self.frame_ids = [f for f, m in zip(ids, moving, strict=True) if m]
        fixed_ids = [f for f, m in zip(ids, moving, strict=True) if not m]
        self.num_vectors = len(task_links)
        # vectors = select @ positions(moving frames) + constant
        select = np.zeros((len(task_links), len(ids)))
        for row, (o, t) in enumerate(zip(origin_links, task_links, strict=True)):
            select[row, names.index(t)] += 1.0
            select[row, names.index(o)] -= 1.0
        order = [i for i, m in enumerate(moving) if m]
        rest = [i for i, m in enumerate(moving) if not m]
        neutral = robot.to_pin(robot.clip(np.zeros(robot.nq)))
        q0 = robot.from_pin(neutral)
        fixed_pos = np.array([robot.placement(q0, f).translation for f in fixed_ids]).reshape(-1, 3)
        self.select = select[:, order]
        self.constant = select[:, rest] @ fixed_pos if rest else np.zeros((len(task_links), 3))
        self.iterations = 0  # of the last solve

    def _positions(self, q_pin: np.ndarray, jacobians: bool = False) -> np.ndarray:
        """(K, 3) vectors after forward kinematics at pinocchio configuration q_pin (`jacobians`: the joint
        Jacobians too, in the same pass: pinocchio.computeJointJacobians runs the forward kinematics)."""
        model, data = self.robot.model, self.robot.data
        if jacobians:
            pin.computeJointJacobians(model, data, q_pin)
        else:
            pin.forwardKinematics(model, data, q_pin)
        if not self.frame_ids:
            return self.constant.copy()
        pos = np.concatenate([pin.updateFramePlacement(model, data, f).translation for f in self.frame_ids])
        return self.select @ pos.reshape(-1, 3) + self.constant

    def vectors(self, q: np.ndarray) -> np.ndarray:
        """(K, 3) robot vectors at q (configuration order), model root frame, metres."""
        return self._positions(self.robot.to_pin(q))

    def solve(
        self,
        targets: np.ndarray,
        q_start: np.ndarray,
        q_prev: np.ndarray,
        weights: np.ndarray | None = None,
        huber_delta: float = 0.02,
        norm_delta: float = 4e-3,
        max_iterations: int = 20,
        tolerance: float = 1e-4,
    ) -> np.ndarray:
        """Joint positions (configuration order, rad) minimising f, starting from q_start, inside the limits.

        dls.bounded_dls with the IRLS weights recomputed from the residuals at every iteration and joints at a
        bound frozen (active set): a step is accepted only when it does not raise f, so the cost never
        increases, even for unreachable targets. Stops when the largest joint step is below `tolerance` (rad),
        the relative decrease of f is below 1e-4, or after `max_iterations` Jacobian evaluations.
        """
        robot, model, data = self.robot, self.robot.model, self.robot.data
        n, k = robot.nq, self.num_vectors
        weights = (np.ones(k) if weights is None else np.asarray(weights, dtype=float)) / k
        reference = pin.ReferenceFrame.LOCAL_WORLD_ALIGNED
        frame_ids, select = self.frame_ids, self.select

        # Every point the solver linearises at is the one it evaluated last (the start, then each accepted step):
        # evaluating computes the joint Jacobians with the kinematics, in one pinocchio pass instead of two.
        evaluated: list[np.ndarray | None] = [None]

        def evaluate(q: np.ndarray) -> tuple[float, tuple[np.ndarray, np.ndarray]]:
            evaluated[0] = q
            residual = self._positions(robot.to_pin(q), jacobians=True) - targets
            dist = np.sqrt((residual * residual).sum(axis=1))
            clipped = np.minimum(dist, huber_delta)
            huber = clipped * (dist - 0.5 * clipped) / huber_delta  # 0.5 d^2 / delta inside, d - delta / 2 outside
            return float(weights @ huber), (residual, dist)

        def linearise(q: np.ndarray, state: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            residual, dist = state
            if q is not evaluated[0]:
                pin.computeJointJacobians(model, data, robot.to_pin(q))
            jac = robot.reduce_jacobian(
                np.concatenate([pin.getFrameJacobian(model, data, f, reference)[:3] for f in frame_ids])
            )
            sqrt_w = np.sqrt(weights / np.maximum(dist, huber_delta))  # IRLS: Huber weight 1/delta or 1/|r|
            jv = (select @ jac.reshape(len(frame_ids), 3 * n)).reshape(k, 3, n) * sqrt_w[:, None, None]
            jv = jv.reshape(3 * k, n)
            return jv.T @ jv, jv.T @ (residual * sqrt_w[:, None]).reshape(3 * k)

        result = bounded_dls(
            evaluate,
            linearise,
            q_start,
            robot.lower,
            robot.upper,
            max_iterations=max_iterations if frame_ids else 0,
            max_step=_MAX_STEP,
            damping=_DAMPING,
            regularisation=2.0 * norm_delta,
            q_reference=q_prev,
            diagonal_floor=1e-12,
            freeze_at_bounds=True,
            step_tolerance=tolerance,
            relative_decrease=1e-4,
        )
        self.iterations = result.iterations
        return result.q
