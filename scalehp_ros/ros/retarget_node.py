"""retarget_node: hand joints (PoseArray) -> arm and hand joint commands, a thin rclpy layer over teleop.

Subscribes  joints_topic (geometry_msgs/PoseArray, 21 poses in scalehp_ros.common.joints order, camera optical frame, m)
Publishes   joint_states (sensor_msgs/JointState, arm then hand joints, stamp of the input)
            ~/arm/joint_trajectory (trajectory_msgs/JointTrajectory, one point, for a joint_trajectory_controller)
            ~/hand/commands (std_msgs/Float64MultiArray, hand joints in the robot YAML's order)
            ~/ee_target (geometry_msgs/PoseStamped, palm-convention target in the base frame)
            /diagnostics (diagnostic_msgs/DiagnosticArray)
Service     ~/engage (std_srvs/SetBool): the relative-mode clutch.
Parameters  declared with descriptors and ranges; defaults from config/retarget.yaml in the package share.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
import pinocchio as pin
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseArray, PoseStamped, TransformStamped
from rcl_interfaces.msg import FloatingPointRange, ParameterDescriptor, SetParametersResult
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import SetBool
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from scalehp_ros.common.joints import NUM_JOINTS
from scalehp_ros.common.share import package_share
from scalehp_ros.retargeting.robot_config import load_parameter_file, load_robot_config
from scalehp_ros.retargeting.teleop import ARM_MODES, Teleoperator, TeleopSettings
from scalehp_ros.ros.tf_publisher import StaticTfPublisher

NODE_NAME = "retarget_node"
PARAMS_FILE = "config/retarget.yaml"
_VECTORS = ("camera_xyz", "camera_rpy", "offset_xyz", "offset_rpy", "workspace_min", "workspace_max")
_RANGES = {
    "motion_scale": (0.01, 10.0),
    "tracking_timeout": (0.05, 10.0),
    "max_step_dt": (0.005, 1.0),
    "velocity_scale": (0.01, 1.0),
    "diagnostics_period": (0.1, 10.0),
}
_READ_ONLY = ("robot_config", "joints_topic", "camera_source")
_DESCRIPTIONS = {
    "robot_config": "robot YAML (config/robots/), relative to the package share directory or absolute",
    "joints_topic": "input PoseArray topic: 21 hand joints in the camera optical frame (m)",
    "camera_source": "camera pose in the base frame from 'parameter' (camera_xyz/rpy) or 'tf'",
    "camera_xyz": "camera optical frame position in the robot base frame (m)",
    "camera_rpy": "camera optical frame orientation in the robot base frame (URDF roll pitch yaw, rad)",
    "arm_mode": f"arm mode, one of {ARM_MODES}",
    "offset_xyz": "absolute mode: translation of the fixed offset applied to the palm pose (m, base frame)",
    "offset_rpy": "absolute mode: rotation of the fixed offset (rad)",
    "motion_scale": "relative mode: end-effector translation per palm translation",
    "workspace_min": "lower corner of the end-effector workspace box (m, base frame)",
    "workspace_max": "upper corner of the end-effector workspace box (m, base frame)",
    "tracking_timeout": "no hand for this long (s): hold the last command, disengage the clutch",
    "max_step_dt": "longest time step (s) the velocity clamp grants one command",
    "velocity_scale": "fraction of the URDF joint velocity limits commands may use",
    "diagnostics_period": "period of /diagnostics messages (s)",
}


def pose_array_to_joints(msg: PoseArray) -> np.ndarray:
    """(21, 3) joint positions of a PoseArray, metres; ValueError on a wrong count."""
    if len(msg.poses) != NUM_JOINTS:
        raise ValueError(f"expected {NUM_JOINTS} poses, got {len(msg.poses)}")
    return np.array([(p.position.x, p.position.y, p.position.z) for p in msg.poses], dtype=float)


def _stamp_seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


class RetargetNode(Node):
    def __init__(self):
        super().__init__(NODE_NAME)
        share = package_share()
        defaults = load_parameter_file(share / PARAMS_FILE, NODE_NAME)
        for name, description in _DESCRIPTIONS.items():
            if name not in defaults:
                raise ValueError(f"{share / PARAMS_FILE} lacks parameter {name!r}")
            descriptor = ParameterDescriptor(description=description, read_only=name in _READ_ONLY)
            if name in _RANGES:
                low, high = _RANGES[name]
                descriptor.floating_point_range = [FloatingPointRange(from_value=low, to_value=high, step=0.0)]
            value = defaults[name]
            if name in _VECTORS:
                value = [float(v) for v in value]
            elif name in _RANGES:
                value = float(value)
            self.declare_parameter(name, value, descriptor)

        robot_path = share / str(self.get_parameter("robot_config").value)
        self.robot = load_robot_config(robot_path)  # ValueError with a clear message on a bad robot YAML
        self.core = Teleoperator(self.robot, self._settings({}))
        self.base_frame = self.robot.arm.base_frame
        self.camera_source = self.get_parameter("camera_source").value
        self._tf_buffer = None
        if self.camera_source == "tf":
            try:
                from tf2_ros import Buffer, TransformListener
            except ImportError as exc:
                raise RuntimeError(
                    "camera_source 'tf' needs tf2_ros, which is not installed here; use camera_source 'parameter'"
                ) from exc
            self._tf_buffer = Buffer()
            self._tf_listener = TransformListener(self._tf_buffer, self)
        elif self.camera_source != "parameter":
            raise ValueError(f"camera_source must be 'parameter' or 'tf', got {self.camera_source!r}")

        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.static_tf = StaticTfPublisher(self)
        self._step_ms: deque[float] = deque(maxlen=300)  # retargeting time per frame (IK + hand), ms
        self._camera_frame: str | None = None
        self.joint_state_pub = self.create_publisher(JointState, "joint_states", 10)
        self.trajectory_pub = self.create_publisher(JointTrajectory, "~/arm/joint_trajectory", 10)
        self.hand_pub = self.create_publisher(Float64MultiArray, "~/hand/commands", 10)
        self.ee_pub = self.create_publisher(PoseStamped, "~/ee_target", 10)
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        topic = self.get_parameter("joints_topic").value
        self.create_subscription(PoseArray, topic, self._on_joints, qos_profile_sensor_data)
        self.create_service(SetBool, "~/engage", self._on_engage)
        self._diag_timer = self.create_timer(self.get_parameter("diagnostics_period").value, self._publish_diagnostics)
        self._tracking_timer = self.create_timer(0.05, lambda: self.core.tick(time.monotonic()))
        self.get_logger().info(
            f"robot {self.robot.name} ({robot_path}), input {topic}, arm_mode {self.core.settings.arm_mode}, "
            f"hand retargeting {self.core.hand.params.type}"
        )

    def _settings(self, changes: dict[str, object]) -> TeleopSettings:
        def value(name: str):
            return changes[name] if name in changes else self.get_parameter(name).value

        return TeleopSettings(
            arm_mode=str(value("arm_mode")),
            camera_xyz=tuple(value("camera_xyz")),
            camera_rpy=tuple(value("camera_rpy")),
            offset_xyz=tuple(value("offset_xyz")),
            offset_rpy=tuple(value("offset_rpy")),
            motion_scale=float(value("motion_scale")),
            workspace_min=tuple(value("workspace_min")),
            workspace_max=tuple(value("workspace_max")),
            tracking_timeout=float(value("tracking_timeout")),
            max_step_dt=float(value("max_step_dt")),
            velocity_scale=float(value("velocity_scale")),
        )

    def _on_set_parameters(self, params: list[Parameter]) -> SetParametersResult:
        changes = {p.name: p.value for p in params}
        try:
            for name in _VECTORS:
                if name in changes and len(changes[name]) != 3:
                    raise ValueError(f"{name} needs 3 numbers, got {list(changes[name])}")
            settings = self._settings(changes)
            settings.validate()
            if "diagnostics_period" in changes:
                self._diag_timer.cancel()
                self._diag_timer = self.create_timer(float(changes["diagnostics_period"]), self._publish_diagnostics)
            self.core.configure(settings)
        except (ValueError, TypeError) as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        if self._camera_frame and {"camera_xyz", "camera_rpy"} & set(changes):
            self._publish_camera_transform(self._camera_frame)
        return SetParametersResult(successful=True)

    def _publish_camera_transform(self, camera_frame: str) -> None:
        """With camera_source 'parameter', place the camera in the robot's TF tree (for RViz and others)."""
        if self._tf_buffer is not None:
            return
        self._camera_frame = camera_frame
        pose = self.core.base_from_camera
        t = TransformStamped(child_frame_id=camera_frame)
        t.header.frame_id = self.base_frame
        t.header.stamp = self.get_clock().now().to_msg()
        t.transform.translation.x, t.transform.translation.y, t.transform.translation.z = (
            float(v) for v in pose.translation
        )
        q = pin.Quaternion(pose.rotation)
        t.transform.rotation.x, t.transform.rotation.y = float(q.x), float(q.y)
        t.transform.rotation.z, t.transform.rotation.w = float(q.z), float(q.w)
        self.static_tf.send([t])

    def _camera_pose(self, msg: PoseArray) -> None:
        if self._tf_buffer is None:
            if msg.header.frame_id and msg.header.frame_id != self._camera_frame:
                self._publish_camera_transform(msg.header.frame_id)
            return
        from rclpy.time import Time

        try:
            tf = self._tf_buffer.lookup_transform(self.base_frame, msg.header.frame_id, Time.from_msg(msg.header.stamp))
        except Exception as exc:  # tf2 raises several exception types; all mean "no transform for this frame"
            raise ValueError(f"no transform {self.base_frame} <- {msg.header.frame_id}: {exc}") from exc
        t, r = tf.transform.translation, tf.transform.rotation
        rotation = pin.Quaternion(r.w, r.x, r.y, r.z).normalized().toRotationMatrix()
        self.core.set_camera_pose(pin.SE3(rotation, np.array([t.x, t.y, t.z])))

    def _on_joints(self, msg: PoseArray) -> None:
        try:
            joints = pose_array_to_joints(msg)
            self._camera_pose(msg)
            t0 = time.perf_counter()
            command = self.core.step(joints, _stamp_seconds(msg.header.stamp), time.monotonic())
            self._step_ms.append((time.perf_counter() - t0) * 1e3)
        except ValueError as exc:
            self.get_logger().warning(f"rejected hand joints: {exc}", throttle_duration_sec=2.0)
            return
        except Exception as exc:  # a node never dies on a bad message
            self.get_logger().error(f"retargeting failed: {type(exc).__name__}: {exc}", throttle_duration_sec=2.0)
            return
        stamp = msg.header.stamp
        state = JointState()
        state.header.stamp = stamp
        state.name = list(self.robot.joint_names)
        state.position = [*command.arm.tolist(), *command.hand.tolist()]
        self.joint_state_pub.publish(state)
        trajectory = JointTrajectory()
        # A zero stamp means "start on receipt" to joint_trajectory_controller; the image stamp would lie in
        # the past by the perception latency and make the controller skip (jump) to the point.
        trajectory.joint_names = list(self.robot.arm.joints)
        point = JointTrajectoryPoint(positions=command.arm.tolist())
        point.time_from_start.sec = int(command.dt)
        point.time_from_start.nanosec = round((command.dt % 1.0) * 1e9)
        trajectory.points = [point]
        self.trajectory_pub.publish(trajectory)
        self.hand_pub.publish(Float64MultiArray(data=command.hand.tolist()))
        if command.ee_target is not None:
            pose = PoseStamped()
            pose.header.stamp, pose.header.frame_id = stamp, self.base_frame
            p = command.ee_target.translation
            q = pin.Quaternion(command.ee_target.rotation)
            pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = (float(v) for v in p)
            pose.pose.orientation.x, pose.pose.orientation.y = float(q.x), float(q.y)
            pose.pose.orientation.z, pose.pose.orientation.w = float(q.z), float(q.w)
            self.ee_pub.publish(pose)

    def _on_engage(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        response.success, response.message = self.core.engage(bool(request.data), time.monotonic())
        self.get_logger().info(f"engage({request.data}): {response.message}")
        self._publish_diagnostics()
        return response

    def _timing(self) -> dict[str, str]:
        if not self._step_ms:
            return {}
        p50, p95 = np.percentile(np.array(self._step_ms), [50, 95])
        return {"step_p50_ms": f"{p50:.3f}", "step_p95_ms": f"{p95:.3f}"}

    def _publish_diagnostics(self) -> None:
        status = self.core.status(time.monotonic())
        msg = DiagnosticArray()
        msg.header.stamp = self.get_clock().now().to_msg()  # diagnostics describe the node now, not an image
        level = (DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR)[status.level]
        msg.status = [
            DiagnosticStatus(
                level=level,
                name=f"{self.get_name()}: retargeting",
                message=status.message,
                hardware_id=self.robot.name,
                values=[KeyValue(key=k, value=v) for k, v in {**status.values, **self._timing()}.items()],
            )
        ]
        self.diag_pub.publish(msg)


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    node = None
    try:
        node = RetargetNode()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
