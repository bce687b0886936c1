"""A pinocchio model of one kinematic part of the robot (the arm or the hand) with only its own joints free.

Joints not named in the configuration (for example the hand joints when building the arm, or the arm joints
when building the hand from a combined URDF) are locked at their neutral value with
pinocchio.buildReducedModel, so forward kinematics and Jacobians cost only what the part needs.

Mimic joints (URDF `<mimic joint= multiplier= offset=>`, e.g. the coupled phalanges of an Inspire or Ability
hand) that follow a configured joint, directly or through a chain, stay free in the model and are coupled:
the configuration is the configured (actuated) joints q, the model's is q_pin = A q + b, and Jacobians with
respect to q are J_pin A (the chain rule, `reduce_jacobian`). A coupled joint's limits bound its parent's
(lo <= a q + b <= hi), so `lower`/`upper` are the intersection and no joint, mimic ones included, leaves its
URDF limits inside them. A configured joint that is itself a mimic joint is refused (command its parent).
All public arrays are in the configuration's joint order; units are metres and radians.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pinocchio as pin


def urdf_mimic(urdf: str | Path) -> dict[str, tuple[str, float, float]]:
    """{mimic joint: (parent joint, multiplier, offset)} of a URDF's `<mimic>` tags (defaults 1 and 0)."""
    out = {}
    for joint in ET.parse(str(urdf)).getroot().iter("joint"):
        mimic = joint.find("mimic")
        if mimic is not None and joint.get("type") != "fixed":
            out[joint.get("name")] = (
                mimic.get("joint"),
                float(mimic.get("multiplier", 1.0)),
                float(mimic.get("offset", 0.0)),
            )
    return out


class RobotModel:
    """Forward kinematics and joint limits of the joints `joints` of a URDF (Jacobians: pinocchio on `model`)."""

    def __init__(self, urdf: str | Path, joints: Sequence[str], velocity_limits: bool = True):
        """`velocity_limits`: require a positive URDF velocity limit on every configured joint (the command
        loop bounds speeds by them); False for kinematics-only uses (the robot registry's coverage run)."""
        full = pin.buildModelFromUrdf(str(urdf))
        missing = [j for j in joints if not full.existJointName(j)]
        if missing:
            raise ValueError(f"joints {missing} are not in {urdf}")
        coupling = self._coupling(urdf_mimic(urdf), joints, urdf)
        keep = set(joints) | set(coupling)
        lock = [i for i in range(1, full.njoints) if full.names[i] not in keep]
        self.model = pin.buildReducedModel(full, lock, pin.neutral(full)) if lock else full
        self.data = self.model.createData()
        self.joint_names = tuple(joints)
        self.mimic_names = tuple(sorted(coupling))
        ids = [self.model.getJointId(j) for j in joints]
        self.q_index = np.array([self.model.joints[i].idx_q for i in ids])
        self.v_index = np.array([self.model.joints[i].idx_v for i in ids])
        n = len(joints) + len(coupling)
        if self.model.nq != n or self.model.nv != n:
            raise ValueError(f"{urdf}: expected {n} 1-DOF joints, the reduced model has nq={self.model.nq}")
        self.lower = self.model.lowerPositionLimit[self.q_index].copy()
        self.upper = self.model.upperPositionLimit[self.q_index].copy()
        self.velocity = self.model.velocityLimit[self.v_index].copy()
        # q_pin = A q + b; A is also the velocity map (1-DOF joints: nq = nv, same indices)
        self.A = np.zeros((n, len(joints)))
        self.A[self.q_index, np.arange(len(joints))] = 1.0
        self.b = np.zeros(n)
        for name, (parent, multiplier, offset) in coupling.items():
            i, k = self.model.joints[self.model.getJointId(name)].idx_q, joints.index(parent)
            self.A[i, k], self.b[i] = multiplier, offset
            lo, hi = self.model.lowerPositionLimit[i], self.model.upperPositionLimit[i]
            if multiplier != 0.0:
                bounds = sorted(((lo - offset) / multiplier, (hi - offset) / multiplier))
                self.lower[k], self.upper[k] = max(self.lower[k], bounds[0]), min(self.upper[k], bounds[1])
                if self.model.velocityLimit[i] > 0:  # 0: not given in the URDF (the parent's limit applies)
                    self.velocity[k] = min(self.velocity[k], self.model.velocityLimit[i] / abs(multiplier))
            elif not lo <= offset <= hi:
                raise ValueError(f"{urdf}: mimic joint {name!r} is held at {offset} outside its limits")
        bad = ~(np.isfinite(self.lower) & np.isfinite(self.upper) & (self.lower <= self.upper))
        if velocity_limits:
            bad |= ~(self.velocity > 0)
        if bad.any():
            names = [j for j, b in zip(joints, bad, strict=True) if b]
            raise ValueError(f"{urdf}: joints need finite position limits and positive velocity limits ({names})")
        # configuration order is pinocchio's own order, no mimic joint: to_pin() needs no scatter (the common case)
        self.identity_order = not coupling and bool(np.array_equal(self.q_index, np.arange(len(joints))))

    @staticmethod
    def _coupling(
        mimic: dict[str, tuple[str, float, float]], joints: Sequence[str], urdf: str | Path
    ) -> dict[str, tuple[str, float, float]]:
        """{mimic joint: (configured joint it follows, multiplier, offset)}, chains resolved, for the mimic
        joints that follow one of `joints`; ValueError for a configured mimic joint or a cycle."""
        named = [j for j in joints if j in mimic]
        if named:
            parents = {j: mimic[j][0] for j in named}
            raise ValueError(f"{urdf}: {parents} are mimic joints (joint: its parent); configure their parents")
        out = {}
        for name in mimic:
            multiplier, offset, parent, seen = 1.0, 0.0, name, set()
            while parent in mimic:
                if parent in seen:
                    raise ValueError(f"{urdf}: mimic joints form a cycle at {parent!r}")
                seen.add(parent)
                up, m, o = mimic[parent]
                multiplier, offset, parent = multiplier * m, multiplier * o + offset, up
            if parent in joints:
                out[name] = (parent, multiplier, offset)
        return out

    @property
    def nq(self) -> int:
        return len(self.joint_names)

    def frame_id(self, name: str) -> int:
        if not self.model.existFrame(name):
            raise ValueError(f"frame {name!r} is not in the model")
        return self.model.getFrameId(name)

    def to_pin(self, q: np.ndarray) -> np.ndarray:
        """Configuration-order joint vector -> pinocchio q (mimic joints from their parents)."""
        if self.identity_order:
            return np.asarray(q, dtype=float)
        if self.mimic_names:
            return self.A @ np.asarray(q, dtype=float) + self.b
        out = np.empty(self.model.nq)
        out[self.q_index] = q
        return out

    def reduce_jacobian(self, jac: np.ndarray) -> np.ndarray:
        """A Jacobian with respect to the model's velocity (columns nv) -> with respect to q (columns nq)."""
        if self.identity_order:
            return jac
        if self.mimic_names:
            return jac @ self.A
        return jac[:, self.v_index]

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
