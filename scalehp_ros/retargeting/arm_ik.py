"""Damped least-squares inverse kinematics of the arm's end effector on pinocchio, inside the joint limits.

Minimises, over the arm joints q (rad), within [lower, upper]:

    0.5 |p_ee(q) - p_target|^2 + 0.5 w_o^2 |log3(R_target^T R_ee(q))|^2 + 0.5 posture_weight |q - q_posture|^2

(metres vs radians weighed by w_o = orientation_weight; W = diag(w^2) with w = (1, 1, 1, w_o, w_o, w_o) below),
with the bounded damped least-squares loop of dls.bounded_dls: Gauss-Newton model J^T W J, J^T W e of the pose
error e, the posture term as its regularisation, damping relative to diag + its mean, steps of at most 0.3 rad
projected into the joint limits and accepted only if they do not raise the cost; it stops when the pose is
within the tolerances or the cost no longer drops. Warm-started from the previous solution, so a
teleoperation stream needs one to three iterations per frame. An unreachable target ends at the closest pose in
this weighted sense (a local minimum; no NaN: the damping keeps every system well conditioned).
Poses are in the arm's base frame (config arm.base_frame), metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pinocchio as pin

from scalehp_ros.retargeting.dls import bounded_dls
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

    def ee_frame_pose(self, q: np.ndarray) -> pin.SE3:
        """Pose of the URDF end-effector frame itself (config arm.ee_frame, not the palm convention) in the base
        frame at q: what MoveIt Servo's pose tracking of that frame takes."""
        return self.root_from_base.actInv(self.robot.placement(q, self.ee_id))

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
        target_root_ee = self.root_from_base * target * self.ee_from_palm.inverse()
        weights = np.array([1.0, 1.0, 1.0, *(3 * [self.orientation_weight])])
        w2 = weights * weights

        def evaluate(q: np.ndarray) -> tuple[float, tuple[np.ndarray, np.ndarray]]:
            err, rotation = self._error(q, target_root_ee)
            return 0.5 * float(w2 @ (err * err)), (err, rotation)

        def linearise(q: np.ndarray, state: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            err, rotation = state
            jac_local = pin.computeFrameJacobian(robot.model, robot.data, robot.to_pin(q), self.ee_id, pin.LOCAL)
            jac_local = robot.reduce_jacobian(jac_local)
            relative = target_root_ee.rotation.T @ rotation
            jac = np.vstack([rotation @ jac_local[:3], pin.Jlog3(relative) @ jac_local[3:]])
            jtw = jac.T * w2
            return jtw @ jac, jtw @ err

        def converged(state: tuple[np.ndarray, np.ndarray]) -> bool:
            err = state[0]
            return bool(
                np.linalg.norm(err[:3]) < self.position_tolerance
                and np.linalg.norm(err[3:]) < self.orientation_tolerance
            )

        result = bounded_dls(
            evaluate,
            linearise,
            self.q if q_start is None else q_start,
            robot.lower,
            robot.upper,
            max_iterations=self.max_iterations,
            max_step=_MAX_STEP,
            damping=self.damping,
            regularisation=self.posture_weight,
            q_reference=self.posture,
            diagonal_floor=1e-9,
            mean_shift=True,
            relative_decrease=1e-9,
            absolute_decrease=1e-12,
            converged=converged,
        )
        q = result.q
        self.q = q
        reached = self.forward(q)
        position_error = float(np.linalg.norm(reached.translation - target.translation))
        rotation_error = float(np.linalg.norm(pin.log3(reached.rotation.T @ target.rotation)))
        return IKResult(q.copy(), position_error, rotation_error, result.iterations, result.converged)
