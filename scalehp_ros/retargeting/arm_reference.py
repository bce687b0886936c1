"""The arm's target from hand_pose_node's arm reference (retarget_node `arm_target: arm_reference`).

hand_pose_node publishes, per image, a hand's 21 joints (`~/<side>/joints`) and its arm reference point
(`~/<side>/arm_reference`, `HandPose.arm_reference`: the wrist as the palm places it, its depth filtered along
its viewing ray; it holds still when only the fingers move, docs/accuracy.md). Both carry the image's stamp
and frame. `ArmReferencePairing` pairs them by that stamp (two topics: either may arrive first) and moves the
joints rigidly so that their wrist is the reference: the palm's orientation and the fingers stay the joints',
the arm's target position (the palm frame's origin, the wrist) becomes the reference's.

A joints frame whose reference has not arrived waits, the newest only; the next joints frame replaces it
(`dropped` counts those). Stamps going back (a replay, a simulator reset) forget the kept references. A
reference stream that stops therefore stops the frames reaching the command loop, and the loop holds on loss
exactly as when the joints stop (docs/safety.md). Units: metres, camera optical frame.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from scalehp_ros.common.joints import NUM_JOINTS, WRIST

ARM_TARGETS: tuple[str, ...] = ("wrist", "arm_reference")
KEPT_REFERENCES = 30  # the newest references kept for joints frames still to come (1 s at 30 fps)


def with_reference(joints: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(21, 3) joints moved rigidly so their wrist is `reference` (3,), metres; ValueError for a bad input."""
    joints = np.asarray(joints, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if joints.shape != (NUM_JOINTS, 3) or reference.shape != (3,):
        raise ValueError(f"expected (21, 3) joints and a (3,) reference, got {joints.shape} and {reference.shape}")
    if not np.isfinite(reference).all():
        raise ValueError("arm reference contains NaN or inf")
    return joints + (reference - joints[WRIST])


class ArmReferencePairing:
    """Pairs joints frames with the arm reference of the same stamp and frame (module docstring)."""

    def __init__(self) -> None:
        self.references: OrderedDict[tuple[float, str], np.ndarray] = OrderedDict()
        self.pending: tuple[float, str, np.ndarray, Any] | None = None
        self.dropped = 0  # joints frames that never got their reference

    def reset(self) -> None:
        self.references.clear()
        self.pending = None

    def add_reference(self, stamp: float, frame_id: str, point: np.ndarray) -> tuple[Any, np.ndarray] | None:
        """A reference (stamp s, frame, point (3,) m). Returns (the waiting frame's payload, its joints moved
        onto the reference) when the waiting joints frame is its pair, else None. ValueError for a bad point."""
        point = np.asarray(point, dtype=np.float64)
        if point.shape != (3,) or not np.isfinite(point).all():
            raise ValueError("arm reference must be three finite numbers")
        if self.references and stamp < next(reversed(self.references))[0]:  # stamps went back: a new stream
            self.references.clear()
        self.references[(stamp, frame_id)] = point
        while len(self.references) > KEPT_REFERENCES:
            self.references.popitem(last=False)
        if self.pending is not None and self.pending[:2] == (stamp, frame_id):
            joints, payload = self.pending[2], self.pending[3]
            self.pending = None
            return payload, with_reference(joints, point)
        return None

    def add_joints(self, stamp: float, frame_id: str, joints: np.ndarray, payload: Any = None) -> np.ndarray | None:
        """A joints frame (stamp s, frame, (21, 3) m; payload: what `add_reference` hands back with it, e.g.
        its header): the joints moved onto its reference when that is here, else None (it waits, replacing a
        frame that waited before)."""
        if self.references and stamp < next(iter(self.references))[0]:  # older than all kept: a new stream
            self.references.clear()
        reference = self.references.get((stamp, frame_id))
        if reference is not None:
            if self.pending is not None and self.pending[0] <= stamp:  # a late reference must not resurrect it
                self.pending = None
                self.dropped += 1
            return with_reference(joints, reference)
        if self.pending is not None:
            self.dropped += 1
        self.pending = (stamp, frame_id, np.asarray(joints, dtype=np.float64).copy(), payload)
        return None
