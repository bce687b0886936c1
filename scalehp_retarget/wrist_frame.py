"""The operator's palm frame from 21 metric hand joints, and rigid transforms between frames.

Palm frame convention (the one the robot configuration's `ee_frame` and `wrist_link` follow):
origin at the wrist joint, x toward the middle-finger MCP, z out of the palm (palmar normal), y = z cross x
(toward the little finger on a right hand, toward the index on a left hand).

The palm plane is the least-squares plane through the wrist and the four finger MCPs (SVD), so one noisy
keypoint tilts it less than a three-point cross product would; the normal's sign comes from the
index-to-little direction and the hand's side.
"""

from __future__ import annotations

import numpy as np

from scalehp_ros.joints import INDEX_MCP, LITTLE_MCP, MIDDLE_MCP, NUM_JOINTS, RING_MCP, WRIST

PALM_POINTS = (WRIST, INDEX_MCP, MIDDLE_MCP, RING_MCP, LITTLE_MCP)
_MIN_LENGTH = 1e-4  # m: below this, the palm is degenerate (all keypoints on one spot)


def check_joints(joints: np.ndarray) -> np.ndarray:
    """(21, 3) finite float array or ValueError."""
    joints = np.asarray(joints, dtype=float)
    if joints.shape != (NUM_JOINTS, 3):
        raise ValueError(f"hand joints must have shape ({NUM_JOINTS}, 3), got {joints.shape}")
    if not np.all(np.isfinite(joints)):
        raise ValueError("hand joints contain NaN or inf")
    return joints


def palm_frame(joints: np.ndarray, side: str = "right") -> tuple[np.ndarray, np.ndarray]:
    """Palm frame (R, p) of (21, 3) joints: R's columns are the palm axes, p the wrist, in the joints' frame."""
    joints = check_joints(joints)
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    wrist = joints[WRIST]
    forward = joints[MIDDLE_MCP] - wrist
    across = joints[INDEX_MCP] - joints[LITTLE_MCP]
    if np.linalg.norm(forward) < _MIN_LENGTH or np.linalg.norm(across) < _MIN_LENGTH:
        raise ValueError("degenerate palm: wrist and MCP keypoints coincide")
    points = joints[list(PALM_POINTS)]
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
    y = np.cross(normal, x)
    return np.column_stack([x, y, normal]), wrist.copy()


def in_palm_frame(joints: np.ndarray, side: str = "right") -> np.ndarray:
    """(21, 3) joints expressed in their own palm frame (wrist at the origin), metres."""
    rotation, origin = palm_frame(joints, side)
    return (np.asarray(joints, dtype=float) - origin) @ rotation


def rpy_matrix(rpy) -> np.ndarray:
    """Rotation matrix of URDF roll-pitch-yaw angles (fixed axes X, then Y, then Z), radians."""
    r, p, y = (float(v) for v in rpy)
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    return np.array(
        [
            [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
            [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
            [-sp, cp * sr, cp * cr],
        ]
    )


def homogeneous(rotation: np.ndarray, translation) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3] = rotation
    out[:3, 3] = translation
    return out


def transform_points(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 transform to (..., 3) points."""
    return points @ transform[:3, :3].T + transform[:3, 3]
