"""A pinocchio model of one kinematic part of the robot (the arm or the hand) with only its own joints free.

Joints not named in the configuration (for example the hand joints when building the arm, or the arm joints
when building the hand from a combined URDF) are locked at their neutral value with
pinocchio.buildReducedModel, so forward kinematics and Jacobians cost only what the part needs.
All public arrays are in the configuration's joint order; units are metres and radians.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pinocchio as pin


class RobotModel:
    """Forward kinematics and joint limits of the joints `joints` of a URDF (Jacobians: pinocchio on `model`)."""

    def __init__(self, urdf: str | Path, joints: Sequence[str]):
        full = pin.buildModelFromUrdf(str(urdf))
        missing = [j for j in joints if not full.existJointName(j)]
        if missing:
            raise ValueError(f"joints {missing} are not in {urdf}")
        keep = set(joints)
        lock = [i for i in range(1, full.njoints) if full.names[i] not in keep]
        self.model = pin.buildReducedModel(full, lock, pin.neutral(full)) if lock else full
        self.data = self.model.createData()
        self.joint_names = tuple(joints)
        ids = [self.model.getJointId(j) for j in joints]
        self.q_index = np.array([self.model.joints[i].idx_q for i in ids])
        self.v_index = np.array([self.model.joints[i].idx_v for i in ids])
        if self.model.nq != len(joints) or self.model.nv != len(joints):
            raise ValueError(f"{urdf}: expected {len(joints)} 1-DOF joints, the reduced model has nq={self.model.nq}")
        self.lower = self.model.lowerPositionLimit[self.q_index].copy()
        self.upper = self.model.upperPositionLimit[self.q_index].copy()
        self.velocity = self.model.velocityLimit[self.v_index].copy()
        bad = ~(np.isfinite(self.lower) & np.isfinite(self.upper) & (self.lower <= self.upper))
        if bad.any() or not np.all(self.velocity > 0):
            names = [j for j, b in zip(joints, bad, strict=True) if b]
            raise ValueError(f"{urdf}: joints need finite position limits and positive velocity limits ({names})")
        # configuration order is pinocchio's own order: to_pin() needs no scatter (the common case)
        self.identity_order = bool(np.array_equal(self.q_index, np.arange(len(joints))))

    @property
    def nq(self) -> int:
        return len(self.joint_names)

    def frame_id(self, name: str) -> int:
        if not self.model.existFrame(name):
            raise ValueError(f"frame {name!r} is not in the model")
        return self.model.getFrameId(name)

    def to_pin(self, q: np.ndarray) -> np.ndarray:
        """Configuration-order joint vector -> pinocchio q."""
        if self.identity_order:
            return np.asarray(q, dtype=float)
        out = np.empty(self.model.nq)
        out[self.q_index] = q
        return out

    def from_pin(self, q_pin: np.ndarray) -> np.ndarray:
        return np.asarray(q_pin, dtype=float)[self.q_index]

    def clip(self, q: np.ndarray) -> np.ndarray:
        return np.clip(q, self.lower, self.upper)

    def placement(self, q: np.ndarray, frame: str | int) -> pin.SE3:
        """Pose of `frame` in the model root frame at joint configuration `q` (configuration order)."""
        fid = self.frame_id(frame) if isinstance(frame, str) else frame
        pin.forwardKinematics(self.model, self.data, self.to_pin(q))
        return pin.updateFramePlacement(self.model, self.data, fid).copy()

    def positions(self, q: np.ndarray, frame_ids: Sequence[int]) -> np.ndarray:
        """(n, 3) positions of frames in the model root frame, metres."""
        pin.forwardKinematics(self.model, self.data, self.to_pin(q))
        return np.array([pin.updateFramePlacement(self.model, self.data, f).translation for f in frame_ids])
