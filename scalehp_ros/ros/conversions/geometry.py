"""Stamps and rigid transforms: builtin_interfaces/Time <-> seconds, pinocchio SE3 <-> geometry_msgs.

Units: seconds, metres; quaternions in ROS order (x, y, z, w).
"""

from __future__ import annotations

import numpy as np
import pinocchio as pin
from builtin_interfaces.msg import Duration, Time
from geometry_msgs.msg import Pose, Quaternion, Transform, Vector3


def stamp_seconds(stamp: Time) -> float:
    """A header stamp in seconds."""
    return stamp.sec + stamp.nanosec * 1e-9


def duration(seconds: float) -> Duration:
    """builtin_interfaces/Duration of a non-negative number of seconds."""
    whole = int(seconds)
    return Duration(sec=whole, nanosec=round((seconds - whole) * 1e9))


def _quaternion(rotation: np.ndarray) -> Quaternion:
    q = pin.Quaternion(rotation)
    return Quaternion(x=float(q.x), y=float(q.y), z=float(q.z), w=float(q.w))


def se3_to_pose(pose: pin.SE3) -> Pose:
    p = pose.translation
    out = Pose(orientation=_quaternion(pose.rotation))
    out.position.x, out.position.y, out.position.z = (float(v) for v in p)
    return out


def se3_to_transform(pose: pin.SE3) -> Transform:
    p = pose.translation
    return Transform(
        translation=Vector3(x=float(p[0]), y=float(p[1]), z=float(p[2])), rotation=_quaternion(pose.rotation)
    )


def transform_to_se3(transform: Transform) -> pin.SE3:
    t, r = transform.translation, transform.rotation
    rotation = pin.Quaternion(r.w, r.x, r.y, r.z).normalized().toRotationMatrix()
    return pin.SE3(rotation, np.array([t.x, t.y, t.z]))
