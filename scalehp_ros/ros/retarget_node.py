"""retarget_node: hand joints (PoseArray) -> arm and hand joint commands, a thin rclpy layer over Teleoperator.

Subscribes  joints_topic (geometry_msgs/PoseArray, 21 poses in common.joints order, camera optical frame, m)
Publishes   joint_states (sensor_msgs/JointState, arm then hand joints, stamp of the input)
            ~/arm/joint_trajectory (trajectory_msgs/JointTrajectory, one point, for a joint_trajectory_controller)
            ~/hand/commands (std_msgs/Float64MultiArray, hand joints in the robot YAML's order)
            ~/ee_target (geometry_msgs/PoseStamped, palm-convention target in the base frame)
            /diagnostics (diagnostic_msgs/DiagnosticArray)
Service     ~/engage (std_srvs/SetBool): the relative-mode clutch.
Parameters  TeleopSettings (scalehp_ros.retargeting.teleop) plus RetargetNodeSettings below; defaults in the
            dataclasses, config/retarget.yaml generated from them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseArray, PoseStamped, TransformStamped
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from rclpy.time import Time
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray, Header
from std_srvs.srv import SetBool
from trajectory_msgs.msg import JointTrajectory

from scalehp_ros.common.joints import NUM_JOINTS
from scalehp_ros.common.params import Settings, param
from scalehp_ros.common.share import package_share
from scalehp_ros.common.stream_stats import RollingPercentiles
from scalehp_ros.retargeting.robot_config import load_robot_config
from scalehp_ros.retargeting.teleop import Teleoperator, TeleopSettings
from scalehp_ros.ros import parameters
from scalehp_ros.ros.conversions import robot_command
from scalehp_ros.ros.conversions.geometry import se3_to_transform, stamp_seconds, transform_to_se3
from scalehp_ros.ros.node_main import run_node
from scalehp_ros.ros.tf_publisher import StaticTfPublisher

NODE_NAME = "retarget_node"
CAMERA_SOURCES = ("parameter", "tf")


@dataclass(frozen=True)
class RetargetNodeSettings(Settings):
    """The node's own parameters (the teleoperation ones are TeleopSettings)."""

    robot_config: str = param(
        "config/robots/scalehp_ur5e_allegro.yaml",
        "robot YAML (config/robots/), relative to the package share directory or absolute",
        dynamic=False,
    )
    joints_topic: str = param(
        "hand_pose_node/right/joints",
        "input PoseArray topic (relative: resolved in the node's namespace): 21 hand joints, camera optical frame (m)",
        dynamic=False,
    )
    camera_source: str = param(
        "parameter",
        "camera pose in the base frame from 'parameter' (camera_xyz/rpy) or 'tf' (needs tf2_ros)",
        choices=CAMERA_SOURCES,
        dynamic=False,
    )
    diagnostics_period: float = param(1.0, "period of /diagnostics messages (s)", 0.1, 10.0, dynamic=False)
    publish_camera_tf: bool = param(
        True,
        "with camera_source 'parameter': publish base frame -> camera frame (camera_xyz/rpy) on /tf_static; "
        "false when the camera driver's own TF tree (e.g. realsense2_camera's camera_link -> optical frames) "
        "is attached to the robot elsewhere, so the optical frame never gets two parents",
        dynamic=False,
    )
    camera_frame: str = param(
        "camera_color_optical_frame",
        "camera optical frame published at start-up, before the first hand (the input's frame_id wins later)",
        dynamic=False,
    )


@dataclass(frozen=True)
class _AllSettings(Settings):
    node: RetargetNodeSettings = field(default_factory=RetargetNodeSettings)
    teleop: TeleopSettings = field(default_factory=TeleopSettings)


PARAMS = _AllSettings.parameters()
_TELEOP_NAMES = {s.name for s in TeleopSettings.parameters()}


def pose_array_to_joints(msg: PoseArray) -> np.ndarray:
    """(21, 3) joint positions of a PoseArray, metres; ValueError on a wrong count."""
    if len(msg.poses) != NUM_JOINTS:
        raise ValueError(f"expected {NUM_JOINTS} poses, got {len(msg.poses)}")
    return np.array([(p.position.x, p.position.y, p.position.z) for p in msg.poses], dtype=float)


class RetargetNode(Node):
    def __init__(self) -> None:
        super().__init__(NODE_NAME)
        settings = _AllSettings.from_flat(parameters.declare(self, PARAMS))
        self.settings = settings.node
        robot_path = package_share() / self.settings.robot_config
        self.robot = load_robot_config(robot_path)  # ValueError with a clear message on a bad robot YAML
        self.teleop = Teleoperator(self.robot, settings.teleop)
        self.base_frame = self.robot.arm.base_frame
        self._tf_buffer = None
        if self.settings.camera_source == "tf":
            try:
                from tf2_ros import Buffer, TransformListener
            except ImportError as exc:
                raise RuntimeError(
                    "camera_source 'tf' needs tf2_ros, which is not installed here; use camera_source 'parameter'"
                ) from exc
            self._tf_buffer = Buffer()
            self._tf_listener = TransformListener(self._tf_buffer, self)

        self.add_on_set_parameters_callback(self._validate_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        self.static_tf = StaticTfPublisher(self)
        self._step_ms = RollingPercentiles()  # retargeting time per frame (IK + hand), ms
        self._camera_frame: str | None = None
        self.joint_state_pub = self.create_publisher(JointState, "joint_states", 10)
        self.trajectory_pub = self.create_publisher(JointTrajectory, "~/arm/joint_trajectory", 10)
        self.hand_pub = self.create_publisher(Float64MultiArray, "~/hand/commands", 10)
        self.ee_pub = self.create_publisher(PoseStamped, "~/ee_target", 10)
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_subscription(PoseArray, self.settings.joints_topic, self._on_joints, qos_profile_sensor_data)
        self.create_service(SetBool, "~/engage", self._on_engage)
        self.create_timer(self.settings.diagnostics_period, self._publish_diagnostics)
        self.create_timer(0.05, lambda: self.teleop.tick(time.monotonic()))
        if self._tf_buffer is None:  # RViz shows the camera in the robot's tree before the first hand
            self._publish_camera_transform(self.settings.camera_frame)
        self.get_logger().info(
            f"robot {self.robot.name} ({robot_path}), input {self.settings.joints_topic}, "
            f"arm_mode {self.teleop.settings.arm_mode}, hand retargeting {self.robot.hand.retargeting.type}"
        )

    # parameters -------------------------------------------------------------------------------------------
    def _validate_parameters(self, changes):
        result = parameters.check(PARAMS, changes)
        if result.successful:
            try:
                self.teleop.settings.replace(**self._teleop_changes(changes))
            except ValueError as exc:  # cross-field rules, e.g. workspace_min below workspace_max
                result.successful, result.reason = False, str(exc)
        return result

    @staticmethod
    def _teleop_changes(changes) -> dict:
        return {k: v for k, v in parameters.changed_values(PARAMS, changes).items() if k in _TELEOP_NAMES}

    def _apply_parameters(self, changes) -> None:
        teleop = self._teleop_changes(changes)
        if teleop:
            self.teleop.configure(self.teleop.settings.replace(**teleop))
            if self._camera_frame and {"camera_xyz", "camera_rpy"} & set(teleop):
                self._publish_camera_transform(self._camera_frame)

    # camera pose ------------------------------------------------------------------------------------------
    def _publish_camera_transform(self, camera_frame: str) -> None:
        """With camera_source 'parameter', place the camera in the robot's TF tree (for RViz and others)."""
        self._camera_frame = camera_frame
        if not self.settings.publish_camera_tf:
            return
        header = Header(frame_id=self.base_frame, stamp=self.get_clock().now().to_msg())
        transform = se3_to_transform(self.teleop.base_from_camera)
        self.static_tf.send([TransformStamped(header=header, child_frame_id=camera_frame, transform=transform)])

    def _camera_pose(self, msg: PoseArray) -> None:
        if self._tf_buffer is None:
            if msg.header.frame_id and msg.header.frame_id != self._camera_frame:
                self._publish_camera_transform(msg.header.frame_id)
            return
        try:
            tf = self._tf_buffer.lookup_transform(self.base_frame, msg.header.frame_id, Time.from_msg(msg.header.stamp))
        except Exception as exc:  # tf2 raises several exception types; all mean "no transform for this frame"
            raise ValueError(f"no transform {self.base_frame} <- {msg.header.frame_id}: {exc}") from exc
        self.teleop.set_camera_pose(transform_to_se3(tf.transform))

    # per frame --------------------------------------------------------------------------------------------
    def _on_joints(self, msg: PoseArray) -> None:
        try:
            joints = pose_array_to_joints(msg)
            self._camera_pose(msg)
            t0 = time.perf_counter()
            command = self.teleop.step(joints, stamp_seconds(msg.header.stamp), time.monotonic())
            self._step_ms.add((time.perf_counter() - t0) * 1e3)
        except ValueError as exc:
            self.get_logger().warning(f"rejected hand joints: {exc}", throttle_duration_sec=2.0)
            return
        except Exception as exc:  # a node never dies on a bad message
            self.get_logger().error(f"retargeting failed: {type(exc).__name__}: {exc}", throttle_duration_sec=2.0)
            return
        header = Header(stamp=msg.header.stamp)
        state = np.concatenate((command.arm, command.hand))
        self.joint_state_pub.publish(robot_command.joint_state(header, self.robot.joint_names, state))
        self.trajectory_pub.publish(robot_command.arm_trajectory(self.robot.arm.joints, command.arm, command.dt))
        self.hand_pub.publish(robot_command.hand_command(command.hand))
        if command.ee_target is not None:
            header.frame_id = self.base_frame
            self.ee_pub.publish(robot_command.pose_stamped(header, command.ee_target))

    def _on_engage(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        response.success, response.message = self.teleop.engage(bool(request.data), time.monotonic())
        self.get_logger().info(f"engage({request.data}): {response.message}")
        self._publish_diagnostics()
        return response

    def _publish_diagnostics(self) -> None:
        status = self.teleop.status(time.monotonic())
        values = dict(status.values)
        timing = self._step_ms.summary()
        if timing is not None:
            values["step_p50_ms"], values["step_p95_ms"] = f"{timing[0]:.3f}", f"{timing[1]:.3f}"
        level = (DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR)[status.level]
        diag = DiagnosticStatus(
            level=level,
            name=f"{self.get_name()}: retargeting",
            message=status.message,
            hardware_id=self.robot.name,
            values=[KeyValue(key=k, value=v) for k, v in values.items()],
        )
        msg = DiagnosticArray(status=[diag])
        msg.header.stamp = self.get_clock().now().to_msg()  # diagnostics describe the node now, not an image
        self.diag_pub.publish(msg)


def main(args: list[str] | None = None) -> int:
    return run_node(RetargetNode, args, NODE_NAME)


if __name__ == "__main__":
    raise SystemExit(main())
