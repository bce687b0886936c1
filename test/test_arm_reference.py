"""retargeting.arm_reference: pairing joints frames with hand_pose_node's arm reference by stamp (ROS-free)."""

from __future__ import annotations

import numpy as np
import pytest

from scalehp_ros.common.joints import WRIST
from scalehp_ros.retargeting.arm_reference import KEPT_REFERENCES, ArmReferencePairing, with_reference

RNG = np.random.default_rng(0)
JOINTS = RNG.normal(0.0, 0.05, (21, 3)) + np.array([0.0, 0.0, 0.5])
F = "camera_color_optical_frame"


def test_with_reference_moves_the_joints_rigidly_onto_the_reference():
    ref = np.array([0.1, -0.05, 0.6])
    moved = with_reference(JOINTS, ref)
    np.testing.assert_allclose(moved[WRIST], ref)
    np.testing.assert_allclose(moved - moved[WRIST], JOINTS - JOINTS[WRIST], atol=1e-15)  # shape and orientation
    with pytest.raises(ValueError):
        with_reference(JOINTS, np.array([np.nan, 0.0, 0.5]))
    with pytest.raises(ValueError):
        with_reference(JOINTS[:20], ref)


def test_pairing_in_either_order_and_only_by_stamp_and_frame():
    p = ArmReferencePairing()
    ref = np.array([0.0, 0.0, 0.55])
    assert p.add_reference(1.0, F, ref) is None  # the reference first: kept
    np.testing.assert_allclose(p.add_joints(1.0, F, JOINTS)[WRIST], ref)
    assert p.add_joints(2.0, F, JOINTS, payload="header 2") is None  # the joints first: wait
    assert p.add_reference(2.0, "other_frame", ref) is None  # another frame is not its pair
    payload, moved = p.add_reference(2.0, F, ref + 0.01)
    assert payload == "header 2"
    np.testing.assert_allclose(moved[WRIST], ref + 0.01)
    assert p.pending is None and p.dropped == 0


def test_frames_without_a_reference_are_dropped_not_followed():
    p = ArmReferencePairing()
    for k in range(5):
        assert p.add_joints(float(k), F, JOINTS) is None
    assert p.dropped == 4  # the newest still waits
    assert p.add_reference(3.0, F, JOINTS[WRIST]) is None  # an older frame's reference: nothing waits for it
    with pytest.raises(ValueError):
        p.add_reference(5.0, F, np.array([0.0, np.inf, 0.5]))


def test_a_late_reference_never_hands_back_a_frame_older_than_one_already_followed():
    """Frame 1 waits; frame 2's reference came first, so frame 2 is followed at once. Frame 1's reference
    arriving after that must not return frame 1: its stamp would go back and restart the stream."""
    p = ArmReferencePairing()
    ref = np.array([0.0, 0.0, 0.55])
    assert p.add_joints(1.0, F, JOINTS, payload="header 1") is None
    assert p.add_reference(2.0, F, ref) is None
    np.testing.assert_allclose(p.add_joints(2.0, F, JOINTS, payload="header 2")[WRIST], ref)
    assert p.add_reference(1.0, F, ref) is None
    assert p.pending is None and p.dropped == 1


def test_kept_references_are_bounded_and_stamps_going_back_forget_them():
    p = ArmReferencePairing()
    for k in range(KEPT_REFERENCES + 10):
        p.add_reference(10.0 + k, F, JOINTS[WRIST])
    assert len(p.references) == KEPT_REFERENCES
    p.add_reference(1.0, F, JOINTS[WRIST] + 0.1)  # a replay from the start
    assert list(p.references) == [(1.0, F)]
    assert p.add_joints(0.5, F, JOINTS) is None and not p.references  # older than every kept one: a new stream
