"""Orientation of the 21 joint frames of a hand, for TF and PoseArray output (ROS-free).

All inputs and outputs are in the camera optical frame (x right, y down, z forward), metres.

- Wrist frame (the palm frame): origin at the wrist; x toward the middle-finger MCP; z the palm normal,
  pointing out of the palm (volar side); y = z × x (right-handed). Consequently y points toward the thumb
  side on a left hand and toward the little-finger side on a right hand. The palm normal comes from a
  least-squares plane through the wrist and the four finger MCPs (robust to one bent MCP), its sign from
  the side of the hand.
- Every other joint: x along the bone leaving the joint toward the fingertip (for a tip: along the last
  bone), z the palm normal made orthogonal to x, y = z × x. For a straight, unflexed finger this frame is
  the wrist frame carried along the finger; flexion turns it about y.
"""

from __future__ import annotations

import numpy as np

from scalehp_ros.joints import INDEX_MCP, LITTLE_MCP, MIDDLE_MCP, NUM_JOINTS, PARENTS, RING_MCP, TIPS, WRIST

_PALM = np.array([WRIST, INDEX_MCP, MIDDLE_MCP, RING_MCP, LITTLE_MCP])
# child used for each joint's x axis: the next joint toward the tip (a tip uses its own bone)
_CHILD = np.array([MIDDLE_MCP] + [i + 1 if i not in TIPS else i for i in range(1, NUM_JOINTS)])
_FROM = np.array([WRIST] + [i if i not in TIPS else PARENTS[i] for i in range(1, NUM_JOINTS)])


def _unit(v: np.ndarray, eps: float = 1e-9) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, eps)


def palm_normal(joints: np.ndarray, side: str) -> np.ndarray:
    """Unit palm normal (volar direction) of (21,3) joints; `side` is 'left' or 'right'."""
    pts = joints[_PALM]
    _, _, vt = np.linalg.svd(pts - pts.mean(axis=0))
    normal = vt[2]
    across = np.cross(joints[INDEX_MCP] - joints[WRIST], joints[LITTLE_MCP] - joints[WRIST])
    if side == "left":
        across = -across
    return normal if float(normal @ across) >= 0.0 else -normal


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
    joints = np.asarray(joints, dtype=float)
    if joints.shape != (NUM_JOINTS, 3) or not np.all(np.isfinite(joints)):
        raise ValueError(f"joints must be a finite (21, 3) array, got shape {joints.shape}")
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    normal = palm_normal(joints, side)
    return _frames(joints[_CHILD] - joints[_FROM], normal)


def rotation_to_quaternion(r: np.ndarray) -> np.ndarray:
    """(…,3,3) rotation matrices to (…,4) quaternions in ROS order (x, y, z, w), w >= 0."""
    from scipy.spatial.transform import Rotation

    q = Rotation.from_matrix(r.reshape(-1, 3, 3)).as_quat()
    q *= np.where(q[:, 3:4] < 0, -1.0, 1.0)
    return q.reshape(*r.shape[:-2], 4)
