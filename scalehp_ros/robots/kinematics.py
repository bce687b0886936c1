"""Hand kinematics with mimic joints resolved, and a bounded vector retargeting solver on it.

The URDF is loaded by pinocchio with every movable joint free; the command is the vector of actuated joints
(DexConfig / UrdfSummary.actuated) and every joint's value is an affine function of it:
q_full = A q + b (a mimic joint: multiplier * its parent + offset, chains resolved: retargeting.robot_model's
coupling, the one retarget_node uses), so forward kinematics and Jacobians (J_full A) are exact for the coupled
hand. Units: metres, radians; frames: the URDF root.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pinocchio as pin

from scalehp_ros.retargeting.robot_model import RobotModel
from scalehp_ros.robots.dexconfig import UrdfSummary, read_urdf


class CoupledHand:
    """Forward kinematics and vector Jacobians of a hand URDF, parameterised by its actuated joints.

    The coupling (A, b) and the folded command range are retarget_node's own (RobotModel on the actuated
    joints: every mimic joint follows one of them, so nothing is locked and the model is the URDF's).
    """

    def __init__(self, urdf: str | Path, summary: UrdfSummary | None = None):
        self.summary = summary or read_urdf(urdf)
        try:
            robot = RobotModel(urdf, self.summary.actuated, velocity_limits=False)
        except ValueError as exc:
            raise ValueError(f"{urdf}: {exc}") from exc
        self.model, self.data = robot.model, robot.data
        uncoupled = sorted(set(self.summary.mimic) - set(robot.mimic_names))
        if uncoupled:
            raise ValueError(f"{urdf}: mimic joints {uncoupled} do not follow an actuated joint")
        if self.model.nq != len(self.summary.joints):
            raise ValueError(f"{urdf}: joints with nq != nv (continuous joints) are not supported in a hand")
        self.joint_names = self.summary.actuated
        self.A, self.b = robot.A, robot.b
        self.lower, self.upper = robot.lower, robot.upper
        self.full_lower, self.full_upper = self.model.lowerPositionLimit.copy(), self.model.upperPositionLimit.copy()
        self.full_names = [self.model.names[i] for i in range(1, self.model.njoints)]

    @property
    def nq(self) -> int:
        return len(self.joint_names)

    def full(self, q: np.ndarray) -> np.ndarray:
        """Every joint's value (pinocchio q order) for actuated joints q."""
        return self.A @ q + self.b

    def limit_violations(self, q: np.ndarray, tol: float = 1e-9) -> list[str]:
        """Joints (mimic ones included) outside their URDF limits at actuated q."""
        full = self.full(q)
        bad = (full < self.full_lower - tol) | (full > self.full_upper + tol)
        return [self.full_names[i] for i in np.flatnonzero(bad)]

    def frame_id(self, name: str) -> int:
        if not self.model.existFrame(name):
            raise ValueError(f"frame {name!r} is not in the hand model")
        return self.model.getFrameId(name)

    def placement(self, q: np.ndarray, frame: str) -> pin.SE3:
        pin.framesForwardKinematics(self.model, self.data, self.full(q))
        return self.data.oMf[self.frame_id(frame)].copy()


class VectorRetargeter:
    """Actuated joints whose origin->task link vectors (root frame) best match targets, within the limits.

    Minimises sum |v_k(q) - t_k|^2 + norm_delta |q - q_prev|^2 over the box [lower, upper] by projected
    damped Gauss-Newton, warm-started from the previous solution; then a first-order low-pass filter.
    """

    def __init__(
        self,
        hand: CoupledHand,
        origins: Sequence[str],
        tasks: Sequence[str],
        norm_delta: float = 4e-3,
        low_pass_alpha: float = 1.0,
        iterations: int = 12,
    ):
        self.hand = hand
        self.origin_ids = [hand.frame_id(o) for o in origins]
        self.task_ids = [hand.frame_id(t) for t in tasks]
        self.norm_delta, self.alpha, self.iterations = norm_delta, low_pass_alpha, iterations
        self.q = 0.5 * (hand.lower + hand.upper)
        self.filtered: np.ndarray | None = None

    def vectors(self, q: np.ndarray) -> np.ndarray:
        model, data = self.hand.model, self.hand.data
        pin.framesForwardKinematics(model, data, self.hand.full(q))
        return np.array(
            [
                data.oMf[t].translation - data.oMf[o].translation
                for o, t in zip(self.origin_ids, self.task_ids, strict=True)
            ]
        )

    def _jacobian(self, qf: np.ndarray) -> np.ndarray:
        model, data = self.hand.model, self.hand.data
        pin.computeJointJacobians(model, data, qf)
        pin.updateFramePlacements(model, data)
        rows = []
        for o, t in zip(self.origin_ids, self.task_ids, strict=True):
            jt = pin.getFrameJacobian(model, data, t, pin.LOCAL_WORLD_ALIGNED)[:3]
            jo = pin.getFrameJacobian(model, data, o, pin.LOCAL_WORLD_ALIGNED)[:3]
            rows.append(jt - jo)
        return np.vstack(rows) @ self.hand.A

    def solve(self, targets: np.ndarray) -> np.ndarray:
        """Actuated joint command (rad) for (K, 3) target vectors in the hand root frame (m)."""
        q_prev = self.q.copy()
        q = q_prev.copy()
        lo, hi = self.hand.lower, self.hand.upper
        w = self.norm_delta
        for _ in range(self.iterations):
            qf = self.hand.full(q)
            residual = (self.vectors(q) - targets).ravel()
            jac = self._jacobian(qf)
            h = jac.T @ jac + (w + 1e-6) * np.eye(len(q))
            g = jac.T @ residual + w * (q - q_prev)
            step = np.linalg.solve(h, -g)
            q_new = np.clip(q + step, lo, hi)
            if np.max(np.abs(q_new - q)) < 1e-5:
                q = q_new
                break
            q = q_new
        self.q = q
        self.filtered = q.copy() if self.filtered is None else self.filtered + self.alpha * (q - self.filtered)
        return np.clip(self.filtered, lo, hi)


def palm_in_wrist(hand: CoupledHand, wrist: str, tips: list[str], side: str) -> np.ndarray:
    """The palm convention's axes (columns) in `wrist`'s frame, from the hand's own geometry at the zero pose.

    The palm frame (scalehp_ros.common.hand_frames): x toward the fingers, z out of the palm, y = z x x (toward
    the little finger on a right hand, the thumb on a left). From the URDF: x = wrist -> middle fingertip
    (`tips` thumb first, so tips[2], or the last tip of a two-finger hand), y = -(little -> index fingertip) on a
    right hand and +(...) on a left, made orthogonal to x. No frame convention of the hand's URDF is assumed.
    """
    q = np.clip(np.zeros(hand.nq), hand.lower, hand.upper)
    wrist_pose = hand.placement(q, wrist)
    points = [wrist_pose.actInv(hand.placement(q, t)).translation for t in tips]
    x = points[2] if len(points) > 2 else points[-1]
    x = x / np.linalg.norm(x)
    lateral = points[1] - points[-1]
    lateral = lateral - (lateral @ x) * x
    if np.linalg.norm(lateral) < 1e-6:
        raise ValueError(f"{wrist}: the index and little fingertips coincide across the fingers; give the frame")
    y = (-1.0 if side == "right" else 1.0) * lateral / np.linalg.norm(lateral)
    return np.column_stack([x, y, np.cross(x, y)])
