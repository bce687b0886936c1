"""Orientation of the 21 joint frames of a hand, for TF and PoseArray output (ROS-free).

All inputs and outputs are in the camera optical frame (x right, y down, z forward), metres.

- Wrist frame (the palm frame, `palm_frame`): origin at the wrist; x toward the middle-finger MCP; z the
  palm normal, pointing out of the palm (volar side); y = z × x (right-handed). Consequently y points toward
  the thumb side on a left hand and toward the little-finger side on a right hand. The retargeting maps this
  frame onto the robot's end effector, so both sides of the project share this one definition.
- Every other joint: x along the bone leaving the joint toward the fingertip (for a tip: along the last
  bone), z the palm normal made orthogonal to x, y = z × x. For a straight, unflexed finger this frame is
  the wrist frame carried along the finger; flexion turns it about y.
"""

from __future__ import annotations

import numpy as np

from scalehp_ros.common.joints import (
    INDEX_MCP,
    LITTLE_MCP,
    MIDDLE_MCP,
    NUM_JOINTS,
    PALM_PLANE_JOINTS,
    PARENTS,
    TIPS,
    WRIST,
)

_PALM = PALM_PLANE_JOINTS
# child used for each joint's x axis: the next joint toward the tip (a tip uses its own bone)
_CHILD = np.array([MIDDLE_MCP] + [i + 1 if i not in TIPS else i for i in range(1, NUM_JOINTS)])
_FROM = np.array([WRIST] + [i if i not in TIPS else PARENTS[i] for i in range(1, NUM_JOINTS)])
_MIN_LENGTH = 1e-4  # m: below this the palm is degenerate (keypoints on one spot)


def _unit(v: np.ndarray, eps: float = 1e-9) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, eps)


def check_joints(joints: np.ndarray) -> np.ndarray:
    """(21, 3) finite float array, or ValueError naming what is wrong."""
    joints = np.asarray(joints, dtype=float)
    if joints.shape != (NUM_JOINTS, 3):
        raise ValueError(f"hand joints must have shape ({NUM_JOINTS}, 3), got {joints.shape}")
    if not np.all(np.isfinite(joints)):
        raise ValueError("hand joints contain NaN or inf")
    return joints


def palm_frame(joints: np.ndarray, side: str = "right") -> tuple[np.ndarray, np.ndarray]:
    """Palm frame (R, p) of (21, 3) joints: R's columns are the palm axes, p the wrist, in the joints' frame.

    x toward the middle MCP (projected into the palm plane), z the palm plane's normal out of the palm,
    y = z × x. The plane is the least-squares plane through the wrist and the four MCPs (SVD), so one noisy
    keypoint tilts it less than a three-point cross product would; the normal's sign comes from the
    index-to-little direction and the hand's side.
    """
    joints = check_joints(joints)
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    wrist = joints[WRIST]
    forward = joints[MIDDLE_MCP] - wrist
    across = joints[INDEX_MCP] - joints[LITTLE_MCP]
    if np.linalg.norm(forward) < _MIN_LENGTH or np.linalg.norm(across) < _MIN_LENGTH:
        raise ValueError("degenerate palm: wrist and MCP keypoints coincide")
    points = joints[list(_PALM)]
    _, _, vt = np.linalg.svd(points - points.mean(axis=0))
    normal = vt[2]
    # Right hand: (index - little) x (wrist -> middle) points out of the palm; a left hand mirrors it.
    reference = np.cross(across, forward) * (1.0 if side == "right" else -1.0)
    if normal @ reference < 0:
        normal = -normal
    x = forward - (forward @ normal) * normal
    norm = np.linalg.norm(x)
    if norm < _MIN_LENGTH:
        raise ValueError("degenerate palm: the middle finger points along the palm normal")
    x /= norm
    return np.column_stack([x, np.cross(normal, x), normal]), wrist.copy()


def palm_normal(joints: np.ndarray, side: str) -> np.ndarray:
    """Unit palm normal (volar direction) of (21,3) joints; `side` is 'left' or 'right'."""
    return palm_frame(joints, side)[0][:, 2]


def _frames(x: np.ndarray, z_hint: np.ndarray) -> np.ndarray:
    """Rotation matrices (n,3,3) with columns x, y, z from x axes and a common z hint."""
    x = _unit(x)
    z = _unit(z_hint - (x @ z_hint)[:, None] * x)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-1)


def joint_rotations(joints: np.ndarray, side: str) -> np.ndarray:
    """Rotation matrices (21,3,3) of the joint frames described in the module docstring.

    Column k of R[i] is axis k of joint i's frame expressed in the camera frame.
    """
    palm, _ = palm_frame(joints, side)
    rotations = _frames(joints[_CHILD] - joints[_FROM], palm[:, 2])
    rotations[WRIST] = palm
    return rotations


def rotation_to_quaternion(r: np.ndarray) -> np.ndarray:
    """(…,3,3) rotation matrices to (…,4) quaternions in ROS order (x, y, z, w), w >= 0."""
    from scipy.spatial.transform import Rotation

    q = Rotation.from_matrix(r.reshape(-1, 3, 3)).as_quat()
    q *= np.where(q[:, 3:4] < 0, -1.0, 1.0)
    return q.reshape(*r.shape[:-2], 4)
