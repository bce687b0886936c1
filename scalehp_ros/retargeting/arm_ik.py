"""Damped least-squares inverse kinematics of the arm's end effector on pinocchio, inside the joint limits.

Minimises, over the arm joints q (rad), within [lower, upper]:

    0.5 |p_ee(q) - p_target|^2 + 0.5 w_o^2 |log3(R_target^T R_ee(q))|^2 + 0.5 posture_weight |q - q_posture|^2

(metres vs radians weighed by w_o = orientation_weight; W = diag(1, 1, 1, w_o, w_o, w_o) below), by
Levenberg-Marquardt steps
(J^T W J + lambda I + posture_weight I) dq = -(J^T W e + posture_weight (q - q_posture)), each step projected
into the joint limits and accepted only if it lowers the cost. Warm-started from the previous solution, so a
teleoperation stream needs one to three iterations per frame. An unreachable target ends at the closest pose in
this weighted sense (a local minimum; no NaN: the damping keeps every system well conditioned).
Poses are in the arm's base frame (config arm.base_frame), metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pinocchio as pin

from scalehp_ros.retargeting.robot_config import ArmConfig
from scalehp_ros.retargeting.robot_model import RobotModel
from scalehp_ros.retargeting.transforms import rpy_matrix

_MAX_STEP = 0.3  # rad per iteration


@dataclass
class IKResult:
    q: np.ndarray  # rad, arm joint order
    position_error: float  # m
    orientation_error: float  # rad
    iterations: int
    converged: bool


class ArmIK:
    """End-effector pose -> arm joint positions; the target is the pose of the palm-convention frame."""

    def __init__(
        self,
        arm: ArmConfig,
        orientation_weight: float = 0.3,
        posture_weight: float = 2e-5,
        damping: float = 1e-6,
        max_iterations: int = 50,
        position_tolerance: float = 1e-5,
        orientation_tolerance: float = 1e-4,
    ):
        self.robot = RobotModel(arm.urdf, arm.joints)
        self.ee_id = self.robot.frame_id(arm.ee_frame)
        posture = np.asarray(arm.posture, dtype=float)
        if np.any(posture < self.robot.lower) or np.any(posture > self.robot.upper):
            raise ValueError("arm.posture is outside the joint limits")
        self.posture = posture
        # base frame in the model root (constant: the base sits upstream of every arm joint)
        self.root_from_base = self.robot.placement(posture, arm.base_frame)
        # palm-convention frame expressed in the end-effector frame
        self.ee_from_palm = pin.SE3(rpy_matrix(arm.ee_frame_rpy), np.zeros(3))
        self.orientation_weight = orientation_weight
        self.posture_weight = posture_weight
        self.damping = damping
        self.max_iterations = max_iterations
        self.position_tolerance = position_tolerance
        self.orientation_tolerance = orientation_tolerance
        self.q = posture.copy()

    @property
    def lower(self) -> np.ndarray:
        return self.robot.lower

    @property
    def upper(self) -> np.ndarray:
        return self.robot.upper

    def forward(self, q: np.ndarray) -> pin.SE3:
        """Pose of the palm-convention end-effector frame in the base frame at q."""
        root_ee = self.robot.placement(q, self.ee_id)
        return self.root_from_base.actInv(root_ee) * self.ee_from_palm

    def reset(self, q: np.ndarray | None = None) -> None:
        self.q = self.posture.copy() if q is None else self.robot.clip(np.asarray(q, dtype=float))

    def _error(self, q: np.ndarray, target_root_ee: pin.SE3) -> tuple[np.ndarray, np.ndarray]:
        """[position error (m, root frame); rotation error log3(R_target^T R) (rad)] and the current rotation."""
        model, data = self.robot.model, self.robot.data
        pin.forwardKinematics(model, data, self.robot.to_pin(q))
        current = pin.updateFramePlacement(model, data, self.ee_id)
        rotation = current.rotation
        relative = target_root_ee.rotation.T @ rotation
        err = np.concatenate([current.translation - target_root_ee.translation, pin.log3(relative)])
        return err, rotation

    def solve(self, target: pin.SE3, q_start: np.ndarray | None = None) -> IKResult:
        """Joint positions placing the palm-convention frame at `target` (base frame); warm start: last result."""
        if not (np.all(np.isfinite(target.translation)) and np.all(np.isfinite(target.rotation))):
            raise ValueError("IK target contains NaN or inf")
        robot = self.robot
        lower, upper = robot.lower, robot.upper
        target_root_ee = self.root_from_base * target * self.ee_from_palm.inverse()
        weights = np.array([1.0, 1.0, 1.0, *(3 * [self.orientation_weight])])
        w2 = weights * weights
        wp = self.posture_weight
        q = np.clip(self.q if q_start is None else np.asarray(q_start, dtype=float), lower, upper)
        err, rotation = self._error(q, target_root_ee)
        cost = 0.5 * float(w2 @ (err * err)) + 0.5 * wp * float((q - self.posture) @ (q - self.posture))
        damping = self.damping
        n = robot.nq
        identity = np.eye(n)
        iterations, converged = 0, False
        for iterations in range(1, self.max_iterations + 1):
            if np.linalg.norm(err[:3]) < self.position_tolerance and np.linalg.norm(err[3:]) < (
                self.orientation_tolerance
            ):
                converged = True
                iterations -= 1
                break
            jac_local = pin.computeFrameJacobian(robot.model, robot.data, robot.to_pin(q), self.ee_id, pin.LOCAL)
            jac_local = jac_local[:, robot.v_index]
            relative = target_root_ee.rotation.T @ rotation
            jac = np.vstack([rotation @ jac_local[:3], pin.Jlog3(relative) @ jac_local[3:]])
            jtw = jac.T * w2
            hessian = jtw @ jac + wp * identity
            gradient = jtw @ err + wp * (q - self.posture)
            scale = hessian.diagonal() + 1e-9
            while True:
                step = -np.linalg.solve(hessian + np.diag(damping * (scale + scale.mean())), gradient)
                largest = np.abs(step).max()
                if largest > _MAX_STEP:
                    step *= _MAX_STEP / largest
                q_new = np.clip(q + step, lower, upper)
                err_new, rotation_new = self._error(q_new, target_root_ee)
                dq = q_new - self.posture
                cost_new = 0.5 * float(w2 @ (err_new * err_new)) + 0.5 * wp * float(dq @ dq)
                if cost_new <= cost:
                    break
                damping *= 10.0
                if damping > 1e6:
                    break
            if cost_new > cost:  # no descent direction left inside the limits: a (local) minimum
                break
            damping = max(damping * 0.3, self.damping)
            decrease = cost - cost_new
            q, err, rotation, cost = q_new, err_new, rotation_new, cost_new
            if decrease <= 1e-12 + 1e-9 * cost:
                break
        self.q = q
        position_error = float(np.linalg.norm(self.forward(q).translation - target.translation))
        rotation_error = float(np.linalg.norm(pin.log3(self.forward(q).rotation.T @ target.rotation)))
        return IKResult(q.copy(), position_error, rotation_error, iterations, converged)
