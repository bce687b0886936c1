"""Rigid transforms of the retargeting: rpy_matrix, homogeneous, transform_points, in_palm_frame.

Angles in radians (URDF roll-pitch-yaw), lengths in metres. The palm frame itself (origin at the wrist, x toward
the middle-finger MCP, z out of the palm) is defined once, in scalehp_ros.common.hand_frames.palm_frame: the
robot configuration's `ee_frame` and `wrist_link` follow that convention, and the perception node publishes the
same frame as `<side>_hand_wrist`.
"""

from __future__ import annotations

import numpy as np
import pinocchio as pin

from scalehp_ros.common.hand_frames import palm_frame

__all__ = ["homogeneous", "in_palm_frame", "rpy_matrix", "transform_points"]


def in_palm_frame(joints: np.ndarray, side: str = "right") -> np.ndarray:
    """(21, 3) joints expressed in their own palm frame (wrist at the origin), metres."""
    rotation, origin = palm_frame(joints, side)
    return (np.asarray(joints, dtype=float) - origin) @ rotation


def rpy_matrix(rpy) -> np.ndarray:
    """Rotation matrix of URDF roll-pitch-yaw angles (fixed axes X, then Y, then Z), radians."""
    return pin.rpy.rpyToMatrix(*(float(v) for v in rpy))


def homogeneous(rotation: np.ndarray, translation) -> np.ndarray:
    """4x4 homogeneous transform of a 3x3 rotation and a translation (metres)."""
    out = np.eye(4)
    out[:3, :3] = rotation
    out[:3, 3] = translation
    return out


def transform_points(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 transform to (..., 3) points."""
    return points @ transform[:3, :3].T + transform[:3, 3]
