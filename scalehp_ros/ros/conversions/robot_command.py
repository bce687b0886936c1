"""Teleoperation commands -> the messages robot drivers take (conversion only).

Joint positions in radians in the robot YAML's joint order; poses in the robot base frame, metres.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pinocchio as pin
from geometry_msgs.msg import PoseStamped
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray, Header
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from scalehp_ros.ros.conversions.geometry import duration, se3_to_pose


def joint_state(
    header: Header, names: Sequence[str], positions: np.ndarray, velocities: np.ndarray | None = None
) -> JointState:
    """JointState of `names` at `positions` (rad), with `velocities` (rad/s) when given."""
    msg = JointState(header=header, name=list(names), position=[float(v) for v in positions])
    if velocities is not None:
        msg.velocity = [float(v) for v in velocities]
    return msg


def streamed_trajectory(
    names: Sequence[str], points: Sequence[tuple[float, np.ndarray, np.ndarray]], header: Header | None = None
) -> JointTrajectory:
    """JointTrajectory of (time_from_start s, position rad, velocity rad/s) points, times increasing and > 0.

    With velocities, joint_trajectory_controller splines through the points (cubic) instead of stopping at
    each; the next message replaces the rest. `header` None: zero stamp, "start on receipt" (see
    arm_trajectory); with the command's own time as stamp, the controller anchors the points to the node's
    clock, so receipt jitter does not bend the path (the clocks must agree).
    """
    out = JointTrajectory(joint_names=list(names))
    if header is not None:
        out.header = header
    for t, q, v in points:
        out.points.append(
            JointTrajectoryPoint(
                positions=[float(x) for x in q], velocities=[float(x) for x in v], time_from_start=duration(t)
            )
        )
    return out


def arm_trajectory(names: Sequence[str], positions: np.ndarray, time_from_start_s: float) -> JointTrajectory:
    """One-point JointTrajectory reaching `positions` (rad) `time_from_start_s` after receipt.

    The header stamp stays zero: "start on receipt" to joint_trajectory_controller. The image stamp would lie
    in the past by the perception latency and make the controller skip (jump) to the point.
    """
    point = JointTrajectoryPoint(positions=[float(v) for v in positions], time_from_start=duration(time_from_start_s))
    return JointTrajectory(joint_names=list(names), points=[point])


def hand_command(positions: np.ndarray) -> Float64MultiArray:
    """Hand joint positions (rad, robot YAML order) for a forward position controller."""
    return Float64MultiArray(data=[float(v) for v in positions])


def pose_stamped(header: Header, pose: pin.SE3) -> PoseStamped:
    return PoseStamped(header=header, pose=se3_to_pose(pose))
