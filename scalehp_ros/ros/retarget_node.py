"""retarget_node: hand joints (PoseArray) -> a safe joint command stream; a lifecycle node over CommandLoop.

Lifecycle: unconfigured -> configure (loads the robot, creates topics and services) -> activate (may command,
starts disengaged) -> deactivate (stops the stream) -> cleanup (destroys everything configure created, the
/tf_static publisher included). `autostart: true` does configure + activate
at start (the graph sets it); engaging stays a separate, explicit step.
Subscribes  joints_topic (geometry_msgs/PoseArray, 21 poses in common.joints order, camera optical frame, m);
            stamps going back start a new stream (a bag played again or looping, a simulator reset)
            tracking_topic (diagnostic_msgs/DiagnosticArray, hand_pose_node's per-side tracking state: a
            'lost' hand holds at once, arm and fingers, and resumes through the limiters; empty = off)
            arm_reference_topic (geometry_msgs/PointStamped, hand_pose_node's arm reference; only with
            arm_target arm_reference: each joints frame waits for the reference of its stamp and its wrist is
            moved there, retargeting.arm_reference; without references no frame is followed: hold on loss)
            measured_state_topic (sensor_msgs/JointState, the robot's measured joints; not with simulate_robot;
            depth 1, parsed once per command tick: a 500 Hz driver costs no Python per message)
            deadman_topic (std_msgs/Bool heartbeat, or sensor_msgs/Joy with deadman: joy; `deadman` changes
            only while the node is not active, and the subscription follows it)
Publishes   joint_command_topic (sensor_msgs/JointState: the commanded state, arm then hand, with velocities;
            stamped at publication) -- never /joint_states unless simulate_robot (a visualisation-only run)
            arm_command_topic (trajectory_msgs/JointTrajectory: command + look-ahead with velocities)
            hand_command_topic (std_msgs/Float64MultiArray, hand joints in the robot YAML's order)
            servo_pose_topic (geometry_msgs/PoseStamped: the URDF ee_frame's commanded pose, when set)
            ~/ee_target (geometry_msgs/PoseStamped, palm-convention IK target in the base frame, input stamp)
            /diagnostics (diagnostic_msgs/DiagnosticArray, named by the node's fully qualified name)
Services    ~/engage (std_srvs/SetBool): start (from the measured state) / stop following, both arm modes;
            ~/hold (std_srvs/SetBool): true brakes to a stop and holds, false releases.
Parameters  TeleopSettings, CommandLoopSettings (scalehp_ros.retargeting) plus RetargetNodeSettings below;
            defaults in the dataclasses, config/retarget.yaml generated from them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PointStamped, PoseArray, PoseStamped, TransformStamped
from rclpy.callback_groups import CallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rclpy.time import Time
from sensor_msgs.msg import JointState, Joy
from std_msgs.msg import Bool, Float64MultiArray, Header
from std_srvs.srv import SetBool
from trajectory_msgs.msg import JointTrajectory

from scalehp_ros.common.joints import NUM_JOINTS
from scalehp_ros.common.params import Settings, param
from scalehp_ros.common.share import package_share
from scalehp_ros.common.stream_stats import RollingPercentiles
from scalehp_ros.retargeting.arm_reference import ARM_TARGETS, ArmReferencePairing
from scalehp_ros.retargeting.command_loop import CommandLoop, CommandLoopSettings, LoopCommand
from scalehp_ros.retargeting.robot_config import load_robot_config
from scalehp_ros.retargeting.teleop import Teleoperator, TeleopSettings
from scalehp_ros.ros.conversions import robot_command
from scalehp_ros.ros.conversions.geometry import se3_to_transform, stamp_seconds, transform_to_se3
from scalehp_ros.ros.diagnostics import ERROR, OK, WARN, Diagnostics
from scalehp_ros.ros.node_main import run_node
from scalehp_ros.ros.parameters import ParameterBinding
from scalehp_ros.ros.tf_publisher import StaticTfPublisher

NODE_NAME = "retarget_node"
CAMERA_SOURCES = ("parameter", "tf")
MAX_LATENCY_S = 10.0  # image stamps further in the past (or in the future) are another clock: not a latency
# The measured state: only the newest message matters (REP 2003 sensor data, depth 1); it is parsed in the tick.
MEASURED_QOS = QoSProfile(
    reliability=ReliabilityPolicy.BEST_EFFORT,
    durability=DurabilityPolicy.VOLATILE,
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
)
TRACKING_STATES = ("tracked", "held", "lost")  # hand_pose_node's ~/<side>/tracking (docs/hand_tracking.md)


class _PolledGroup(CallbackGroup):
    """Entities the executor never waits on: the node takes their messages itself, where it needs them. A
    robot driver's /joint_states at 500 Hz then costs no executor wake-up and no Python per message, and the
    per-frame tracking state is read by the tick that acts on it (one wake-up per frame less, bench/README.md)."""

    def can_execute(self, entity) -> bool:
        return False

    def beginning_execution(self, entity) -> bool:
        return False

    def ending_execution(self, entity) -> None:
        pass


@dataclass(frozen=True)
class RetargetNodeSettings(Settings):
    """The node's own parameters (the teleoperation ones are TeleopSettings, the stream's CommandLoopSettings)."""

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
    arm_target: str = param(
        "wrist",
        "what the arm's target position follows: wrist (the joints' wrist) or arm_reference (hand_pose_node's "
        "arm reference on arm_reference_topic, which holds still when only the fingers move; docs/accuracy.md)",
        choices=ARM_TARGETS,
        dynamic=False,
    )
    arm_reference_topic: str = param(
        "hand_pose_node/right/arm_reference",
        "with arm_target arm_reference: hand_pose_node's arm reference of the input hand (geometry_msgs/"
        "PointStamped, camera optical frame, m; relative: resolved in the node's namespace)",
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
    autostart: bool = param(
        False, "configure and activate at start, without a lifecycle manager (still starts disengaged)", dynamic=False
    )
    measured_state_topic: str = param(
        "joint_states",
        "the robot's measured joint states (sensor_msgs/JointState; relative: resolved in the node's namespace)",
        dynamic=False,
    )
    tracking_topic: str = param(
        "hand_pose_node/right/tracking",
        "hand_pose_node's tracking state of the input hand (diagnostic_msgs/DiagnosticArray, docs/hand_tracking.md): "
        "'lost' holds arm and fingers at once; empty = off (only tracking_timeout detects a loss)",
        dynamic=False,
    )
    joint_command_topic: str = param(
        "~/joint_command",
        "commanded state (sensor_msgs/JointState); /joint_states only in a visualisation-only run with simulate_robot",
        dynamic=False,
    )
    arm_command_topic: str = param(
        "~/arm/joint_trajectory",
        "arm commands (trajectory_msgs/JointTrajectory), e.g. /arm_controller/joint_trajectory",
        dynamic=False,
    )
    hand_command_topic: str = param(
        "~/hand/commands",
        "hand commands (std_msgs/Float64MultiArray), e.g. /hand_controller/commands",
        dynamic=False,
    )
    servo_pose_topic: str = param(
        "",
        "MoveIt Servo pose target (geometry_msgs/PoseStamped of the URDF ee_frame, at command_rate), e.g. "
        "/servo_node/pose_target_cmds; empty = off",
        dynamic=False,
    )
    stamp_trajectories: bool = param(
        True,
        "stamp arm trajectories with the command time, so the controller splines exactly along the stream "
        "(its clock must agree with this node's within a few ms); false: zero stamp, start on receipt",
        dynamic=False,
    )
    deadman_topic: str = param("~/deadman", "deadman input topic (std_msgs/Bool or sensor_msgs/Joy)", dynamic=False)
    deadman_button: int = param(0, "with deadman joy: the Joy button that must be pressed", 0, 127)


@dataclass(frozen=True)
class _AllSettings(Settings):
    node: RetargetNodeSettings = field(default_factory=RetargetNodeSettings)
    teleop: TeleopSettings = field(default_factory=TeleopSettings)
    loop: CommandLoopSettings = field(default_factory=CommandLoopSettings)


PARAMS = _AllSettings.parameters()
_TELEOP_NAMES = {s.name for s in TeleopSettings.parameters()}
_LOOP_NAMES = {s.name for s in CommandLoopSettings.parameters()}


def pose_array_to_joints(msg: PoseArray) -> np.ndarray:
    """(21, 3) joint positions of a PoseArray, metres; ValueError on a wrong count."""
    if len(msg.poses) != NUM_JOINTS:
        raise ValueError(f"expected {NUM_JOINTS} poses, got {len(msg.poses)}")
    return np.array([(p.position.x, p.position.y, p.position.z) for p in msg.poses], dtype=float)


class RetargetNode(LifecycleNode):
    def __init__(self) -> None:
        super().__init__(NODE_NAME)
        self._t0_ns = self.get_clock().now().nanoseconds
        binding = ParameterBinding(self, PARAMS, apply=self._apply_parameters, validate=self._validate_parameters)
        self.all_settings = _AllSettings.from_flat(binding.values)
        self.settings = self.all_settings.node
        self.robot = None
        self.teleop: Teleoperator | None = None
        self.loop: CommandLoop | None = None
        self._entities: list = []  # what configure created and cleanup destroys
        self._tick_timer = None
        self._tf_buffer = None
        self._camera_frame: str | None = None
        self._measured: dict[str, tuple[float, float]] = {}  # joint name -> (position, time)
        self._measured_sub = None  # polled in the tick (depth 1: the newest state only)
        self._tracking_sub = None  # polled in the tick (every state, in order)
        self._deadman_sub = None
        self.static_tf: StaticTfPublisher | None = None
        self.hand_tracking: tuple[str, float, float] | None = None  # hand_pose_node's (state, age s, stamp s)
        self._pairing: ArmReferencePairing | None = None  # with arm_target arm_reference
        self.stream_restarts = 0  # input stamps went back: a new stream
        self._step_ms = RollingPercentiles()  # retargeting time per frame (IK + hand), ms
        self._latency_ms = RollingPercentiles()  # image stamp -> command publish, ms
        self._other_clock = 0  # frames whose stamp is not on this clock (no latency)
        self._lifecycle = "unconfigured"
        # the fully qualified name: two instances (/left, /right) stay apart in a diagnostics aggregator
        self.diagnostics = Diagnostics(self, "retargeting", qualified=True)
        self.create_timer(self.settings.diagnostics_period, self._publish_diagnostics)
        if self.settings.autostart:
            self.trigger_configure()
            if self._lifecycle == "inactive":
                self.trigger_activate()

    def now(self) -> float:
        """The steady clock (s) of every watchdog (measured state, deadman, hand, engage): a ROS or system
        clock that jumps (sim time, NTP) never makes an old input look fresh."""
        return time.monotonic()

    def _seconds(self, nanoseconds: int) -> float:
        return (nanoseconds - self._t0_ns) * 1e-9

    # lifecycle --------------------------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        s = self.settings
        try:
            robot_path = package_share() / s.robot_config
            self.robot = load_robot_config(robot_path)  # ValueError with a clear message on a bad robot YAML
            self.teleop = Teleoperator(self.robot, self.all_settings.teleop)
            self.loop = CommandLoop(self.teleop, self.all_settings.loop)
            simulate = self.all_settings.loop.simulate_robot
            command_topic = self.resolve_topic_name(s.joint_command_topic)
            if not simulate and command_topic == self.resolve_topic_name(s.measured_state_topic):
                raise ValueError(
                    f"joint_command_topic {command_topic} is the measured state topic: commands on the robot's "
                    "state topic are allowed only with simulate_robot (a visualisation-only run)"
                )
            if s.camera_source == "tf":
                try:
                    from tf2_ros import Buffer, TransformListener
                except ImportError as exc:
                    raise RuntimeError(
                        "camera_source 'tf' needs tf2_ros, which is not installed here; use camera_source 'parameter'"
                    ) from exc
                self._tf_buffer = Buffer()
                self._tf_listener = TransformListener(self._tf_buffer, self)
        except (ValueError, RuntimeError, FileNotFoundError) as exc:
            self.get_logger().error(f"cannot configure: {exc}")
            self.teleop = self.loop = None
            return TransitionCallbackReturn.FAILURE
        self.base_frame = self.robot.arm.base_frame
        self.static_tf = StaticTfPublisher(self)
        e = self._entities
        e.append(self.static_tf)  # cleanup destroys it: no /tf_static publisher while unconfigured
        self.command_pub = self.create_publisher(JointState, s.joint_command_topic, 10)
        self.trajectory_pub = self.create_publisher(JointTrajectory, s.arm_command_topic, 10)
        self.hand_pub = self.create_publisher(Float64MultiArray, s.hand_command_topic, 10)
        self.ee_pub = self.create_publisher(PoseStamped, "~/ee_target", 10)
        self.servo_pub = self.create_publisher(PoseStamped, s.servo_pose_topic, 10) if s.servo_pose_topic else None
        e += [self.command_pub, self.trajectory_pub, self.hand_pub, self.ee_pub, self.servo_pub]
        e.append(self.create_subscription(PoseArray, s.joints_topic, self._on_joints, qos_profile_sensor_data))
        if s.arm_target == "arm_reference":
            self._pairing = ArmReferencePairing()
            qos = qos_profile_sensor_data  # per-frame data, as the joints
            e.append(self.create_subscription(PointStamped, s.arm_reference_topic, self._on_arm_reference, qos))
        if s.tracking_topic:
            qos = qos_profile_sensor_data  # per-frame data, as the joints
            self._tracking_sub = self.create_subscription(
                DiagnosticArray, s.tracking_topic, self._on_tracking, qos, callback_group=_PolledGroup()
            )
            e.append(self._tracking_sub)
        if not simulate:
            self._measured_sub = self.create_subscription(
                JointState, s.measured_state_topic, self._on_measured, MEASURED_QOS, callback_group=_PolledGroup()
            )
            e.append(self._measured_sub)
        self._subscribe_deadman()
        e.append(self.create_service(SetBool, "~/engage", self._on_engage))
        e.append(self.create_service(SetBool, "~/hold", self._on_hold))
        # ticks on the steady clock; each command is stamped with the node clock (sim time too) and skipped
        # when that has not moved
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._tick_timer = self.create_timer(self.loop.period, self._on_tick, clock=steady)
        e.append(self._tick_timer)
        self._lifecycle = "inactive"
        if self._tf_buffer is None:  # RViz shows the camera in the robot's tree before the first hand
            self._publish_camera_transform(s.camera_frame)
        self.get_logger().info(
            f"configured: robot {self.robot.name} ({robot_path}), input {s.joints_topic}, arm_mode "
            f"{self.teleop.settings.arm_mode}, hand retargeting {self.robot.hand.retargeting.type}, commands on "
            f"{command_topic}, measured state "
            f"{'simulated (commanded state)' if simulate else self.resolve_topic_name(s.measured_state_topic)}"
        )
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.loop.activate(self.now())
        self._lifecycle = "active"
        self.get_logger().info("active, " + ("engaged (simulated robot)" if self.loop.state.engaged else "disengaged"))
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.loop.deactivate()  # the tick timer streams the brake at the stop deceleration until v = 0
        self._lifecycle = "inactive"
        self.get_logger().info("inactive: braking to rest, then the command stream stops")
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._destroy()
        self._lifecycle = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        if self.loop is not None:
            self.loop.deactivate()
            self._brake_out()
        self._destroy()
        self._lifecycle = "finalized"
        return TransitionCallbackReturn.SUCCESS

    def _subscribe_deadman(self) -> None:
        """The deadman subscription of the configured source (configure, and a change of `deadman` while
        inactive): Bool, Joy or none, so the input the loop reads is always the one the parameter names."""
        if self._deadman_sub is not None:
            self.destroy_subscription(self._deadman_sub)
            self._entities.remove(self._deadman_sub)
            self._deadman_sub = None
        deadman, topic = self.all_settings.loop.deadman, self.settings.deadman_topic
        if deadman == "bool":
            self._deadman_sub = self.create_subscription(Bool, topic, self._on_deadman_bool, 10)
        elif deadman == "joy":
            self._deadman_sub = self.create_subscription(Joy, topic, self._on_deadman_joy, 10)
        if self._deadman_sub is not None:
            self._entities.append(self._deadman_sub)
        if self.loop is not None:  # an input of the old source says nothing about the new one
            self.loop.deadman_pressed, self.loop.deadman_time = False, None

    def _brake_out(self, limit_s: float = 2.0) -> None:
        """Stream the brake to rest before the publishers go (shutdown): the executor is not spinning here, so
        tick at the command period on the steady clock. Should the node clock not move (sim time, paused),
        the last message's closing brake still stops the arm."""
        end = time.monotonic() + limit_s
        while self.loop.state.streaming and time.monotonic() < end:
            self._tick()
            time.sleep(self.loop.period)

    def _destroy(self) -> None:
        for entity in self._entities:
            if entity is None:
                continue
            if isinstance(entity, StaticTfPublisher):
                entity.destroy()
                continue
            for destroy in (
                self.destroy_publisher,
                self.destroy_subscription,
                self.destroy_service,
                self.destroy_timer,
            ):
                try:
                    if destroy(entity):
                        break
                except Exception:  # wrong kind of entity for this destroy_* method
                    continue
        self._entities.clear()
        self._deadman_sub = None
        self.static_tf = None
        self.teleop = self.loop = None
        self._measured.clear()
        self._measured_sub = None
        self._tracking_sub = None
        self.hand_tracking = None
        self._pairing = None

    # parameters -------------------------------------------------------------------------------------------
    def _validate_parameters(self, values: dict) -> str | None:
        """Why `values` are refused (None: accepted); ValueError from the cross-field rules refuses too."""
        reason = self._lifecycle_rule(values)
        if reason:
            return reason
        new = self.all_settings.replace(**values)  # cross-field rules, e.g. workspace_min < max
        return self.loop.check_settings(new.loop) if self.loop is not None else None  # limits only tighten

    def _lifecycle_rule(self, values: dict) -> str:
        """Why `changes` cannot apply in the node's lifecycle state ("" when they can): the deadman source
        changes only while the node is not active, so a released pedal can never be switched off under a
        following arm (`ros2 param set ... deadman none`)."""
        if self._lifecycle == "active" and "deadman" in values:
            return "deadman can change only while the node is not active (lifecycle deactivate first)"
        return ""

    def _apply_parameters(self, values: dict) -> None:
        self.all_settings = self.all_settings.replace(**values)
        self.settings = self.all_settings.node
        if self.loop is None:
            return
        if set(values) & _TELEOP_NAMES:
            self.teleop.configure(self.all_settings.teleop)
            if self._camera_frame and {"camera_xyz", "camera_rpy"} & set(values):
                self._publish_camera_transform(self._camera_frame)
        if set(values) & _LOOP_NAMES:
            self.loop.configure(self.all_settings.loop)
        if "deadman" in values:
            self._subscribe_deadman()

    # camera pose ------------------------------------------------------------------------------------------
    def _publish_camera_transform(self, camera_frame: str) -> None:
        """With camera_source 'parameter', place the camera in the robot's TF tree (for RViz and others)."""
        self._camera_frame = camera_frame
        if not self.settings.publish_camera_tf:
            return
        header = Header(frame_id=self.base_frame, stamp=self.get_clock().now().to_msg())
        transform = se3_to_transform(self.teleop.base_from_camera)
        self.static_tf.send([TransformStamped(header=header, child_frame_id=camera_frame, transform=transform)])

    def _camera_pose(self, header: Header) -> None:
        if self._tf_buffer is None:
            if header.frame_id and header.frame_id != self._camera_frame:
                self._publish_camera_transform(header.frame_id)
            return
        try:
            tf = self._tf_buffer.lookup_transform(self.base_frame, header.frame_id, Time.from_msg(header.stamp))
        except Exception as exc:  # tf2 raises several exception types; all mean "no transform for this frame"
            raise ValueError(f"no transform {self.base_frame} <- {header.frame_id}: {exc}") from exc
        self.teleop.set_camera_pose(transform_to_se3(tf.transform))

    # inputs -----------------------------------------------------------------------------------------------
    def _on_measured(self, msg: JointState) -> None:
        """Never called by the executor (_PolledGroup); _read_measured takes the messages."""

    def _read_measured(self) -> None:
        """Take the newest measured state, if one arrived since the last call (each tick calls this, so it is at
        most one command period old: its time is now), and hand it to the loop."""
        if self._measured_sub is None or self.loop is None:
            return
        msg = _take(self._measured_sub)
        if msg is None:
            return
        now = self.now()
        for name, position in zip(msg.name, msg.position, strict=False):
            self._measured[name] = (float(position), now)
        arm = [self._measured.get(n) for n in self.robot.arm.joints]
        if any(v is None for v in arm):
            return  # not every arm joint measured yet
        hand = np.array(
            [
                self._measured.get(n, (float(q), 0.0))[0]
                for n, q in zip(self.robot.hand.joints, self.loop.hand.last, strict=True)
            ]
        )
        try:
            self.loop.set_measured(np.array([v[0] for v in arm]), hand, min(v[1] for v in arm))
        except ValueError as exc:
            self.get_logger().warning(f"bad measured joint state: {exc}", throttle_duration_sec=2.0)

    def _on_deadman_bool(self, msg: Bool) -> None:
        if self.loop is not None:
            self.loop.set_deadman(bool(msg.data), self.now())

    def _on_deadman_joy(self, msg: Joy) -> None:
        if self.loop is not None:
            button = self.settings.deadman_button
            self.loop.set_deadman(button < len(msg.buttons) and msg.buttons[button] == 1, self.now())

    def _new_stream(self, stamp: float) -> None:
        """Input stamps went back (a bag played again or looping, a simulator reset): start a new stream, as
        hand_pose_node does for images, instead of refusing every frame until the old stamps are passed. The
        command itself continues from where it is, through the limiters (relative mode: a new clutch reference)."""
        last = self.teleop.last_stamp
        if last is None or not stamp < last:
            return
        self.teleop.restart_stream()
        self.stream_restarts += 1
        self.get_logger().info(
            f"hand stamps went back ({stamp:.3f} s after {last:.3f} s): a new stream (replay, loop or reset)",
            throttle_duration_sec=2.0,
        )

    def _read_tracking(self) -> None:
        """Take every tracking state that arrived since the last tick, in order (each tick and each frame call
        this, so a 'lost' acts within one command period)."""
        while self._tracking_sub is not None and (msg := _take(self._tracking_sub)) is not None:
            self._on_tracking(msg)

    def _on_tracking(self, msg: DiagnosticArray) -> None:
        """hand_pose_node's tracking state of the input hand: 'lost' holds arm and fingers now (the loop's
        'hand lost'), rather than after tracking_timeout without frames; the next frame resumes through the
        limiters. A state older than the last hand frame (another topic, no order between them) is ignored."""
        if self.loop is None or not msg.status:
            return
        status = msg.status[0]
        state = status.message
        if state not in TRACKING_STATES:
            self.get_logger().warning(f"unknown hand tracking state {state!r}", throttle_duration_sec=2.0)
            return
        values = {kv.key: kv.value for kv in status.values}
        try:
            age = float(values.get("age_s", "nan"))
        except ValueError:
            age = float("nan")
        stamp = stamp_seconds(msg.header.stamp)
        self.hand_tracking = (state, age, stamp)
        last = self.teleop.last_stamp
        if state == "lost" and (last is None or stamp > last):
            self.loop.tracking.report_lost()

    def _on_joints(self, msg: PoseArray) -> None:
        if self.loop is None or self._lifecycle != "active":
            return
        try:
            joints = pose_array_to_joints(msg)
            if self._pairing is not None:  # arm_target arm_reference: the frame waits for its reference
                stamp = stamp_seconds(msg.header.stamp)
                joints = self._pairing.add_joints(stamp, msg.header.frame_id, joints, msg.header)
        except ValueError as exc:
            self.get_logger().warning(f"rejected hand joints: {exc}", throttle_duration_sec=2.0)
            return
        if joints is not None:
            self._follow(msg.header, joints)

    def _on_arm_reference(self, msg: PointStamped) -> None:
        """hand_pose_node's arm reference: follows the joints frame of the same stamp, when that waits."""
        if self.loop is None or self._lifecycle != "active" or self._pairing is None:
            return
        p = msg.point
        try:
            paired = self._pairing.add_reference(
                stamp_seconds(msg.header.stamp), msg.header.frame_id, np.array([p.x, p.y, p.z])
            )
        except ValueError as exc:
            self.get_logger().warning(f"rejected arm reference: {exc}", throttle_duration_sec=2.0)
            return
        if paired is not None:
            self._follow(*paired)

    def _follow(self, header: Header, joints: np.ndarray) -> None:
        """One hand frame (21, 3) m in the camera frame of `header` to the command loop."""
        msg_stamp = header.stamp
        try:
            self._camera_pose(header)
            stamp = stamp_seconds(msg_stamp)
            self._new_stream(stamp)
            t0 = time.perf_counter()
            target = self.loop.on_frame(joints, stamp, self.now())
            self._step_ms.add((time.perf_counter() - t0) * 1e3)
        except ValueError as exc:
            self.get_logger().warning(f"rejected hand joints: {exc}", throttle_duration_sec=2.0)
            return
        except Exception as exc:  # a node never dies on a bad message
            self.get_logger().error(f"retargeting failed: {type(exc).__name__}: {exc}", throttle_duration_sec=2.0)
            return
        if target.ee_target is not None:
            ee_header = Header(stamp=msg_stamp, frame_id=self.base_frame)
            self.ee_pub.publish(robot_command.pose_stamped(ee_header, target.ee_target))
        # The new target goes out now (not up to a period later); the timer restarts from here.
        if self._tick():
            latency = self.get_clock().now().nanoseconds * 1e-9 - stamp_seconds(msg_stamp)
            if 0.0 <= latency <= MAX_LATENCY_S:
                self._latency_ms.add(latency * 1e3)
            else:
                self._other_clock += 1
        if self._tick_timer is not None:
            self._tick_timer.reset()

    # the stream -------------------------------------------------------------------------------------------
    def _on_tick(self) -> None:
        self._tick()

    def _tick(self) -> bool:
        if self.loop is None:
            return False
        self._read_measured()
        self._read_tracking()
        stamp = self.get_clock().now()
        faults, engaged = self.loop.state.following_errors, self.loop.state.engaged
        command = self.loop.tick(self.now(), self._seconds(stamp.nanoseconds))
        if self.loop.state.following_errors != faults:  # the robot does not follow: say so at once
            self.get_logger().error(self.loop.state.fault)
            self._publish_diagnostics()
        elif engaged and not self.loop.state.engaged:  # measured state lost, clock went back: the operator re-engages
            reasons = ", ".join(r for r in self.loop.hold_reasons(self.now()) if r != "disengaged")
            self.get_logger().warning(f"disengaged: {reasons}; call ~/engage to start again")
            self._publish_diagnostics()
        if command is None:
            return False
        self._publish(command, stamp.to_msg())
        if command.final:
            self.get_logger().info("at rest after deactivation: the command stream stopped")
        return True

    def _publish(self, c: LoopCommand, stamp) -> None:
        robot = self.robot
        header = Header(stamp=stamp)
        if self.command_pub.get_subscription_count():  # an optional view of the command: built only when read
            self.command_pub.publish(
                robot_command.joint_state(
                    header,
                    robot.joint_names,
                    np.concatenate((c.arm, c.hand)),
                    np.concatenate((c.arm_velocity, c.hand_velocity)),
                )
            )
        self.trajectory_pub.publish(
            robot_command.streamed_trajectory(
                robot.arm.joints, c.trajectory(self.loop.period), header if self.settings.stamp_trajectories else None
            )
        )
        self.hand_pub.publish(robot_command.hand_command(c.hand))
        if self.servo_pub is not None:
            servo_header = Header(stamp=stamp, frame_id=self.base_frame)
            self.servo_pub.publish(robot_command.pose_stamped(servo_header, self.teleop.ik.ee_frame_pose(c.arm)))

    # services ---------------------------------------------------------------------------------------------
    def _on_engage(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        self._read_measured()
        response.success, response.message = self.loop.engage(bool(request.data), self.now())
        self.get_logger().info(f"engage({request.data}): {response.message}")
        self._publish_diagnostics()
        return response

    def _on_hold(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        response.success, response.message = self.loop.set_hold(bool(request.data))
        self.get_logger().info(f"hold({request.data}): {response.message}")
        self._publish_diagnostics()
        return response

    def _publish_diagnostics(self) -> None:
        self._read_measured()
        if self.loop is None:
            level, message, values = WARN, f"{self._lifecycle} (lifecycle): no commands", {}
        else:
            status = self.loop.status(self.now())
            level = (OK, WARN, ERROR)[status.level]
            message, values = status.message, dict(status.values)
        values["lifecycle"] = self._lifecycle
        timing = self._step_ms.summary()
        if timing is not None:
            values["step_p50_ms"], values["step_p95_ms"] = f"{timing[0]:.3f}", f"{timing[1]:.3f}"
        latency = self._latency_ms.summary()
        if latency is not None:
            values["latency_p50_ms"], values["latency_p95_ms"] = f"{latency[0]:.2f}", f"{latency[1]:.2f}"
        values["latency_window"] = "image stamp -> command publish, last 300 frames"
        if self._other_clock:
            values["frames_stamped_on_another_clock"] = str(self._other_clock)
        values["stream_restarts"] = str(self.stream_restarts)
        values["arm_target"] = self.settings.arm_target
        if self._pairing is not None:
            values["arm_reference_frames_dropped"] = str(self._pairing.dropped)
        if self.hand_tracking is not None:
            values["hand_tracking"], age = self.hand_tracking[0], self.hand_tracking[1]
            values["hand_tracking_age_s"] = f"{age:.3f}"
        self.diagnostics.publish(level, message, values, self.robot.name if self.robot is not None else "")


def _take(subscription):
    """The next message of a polled subscription, or None (rclpy Executor._take_subscription's own way)."""
    handle = subscription.handle
    with handle:
        taken = handle.take_message(subscription.msg_type, subscription.raw)
    return None if taken is None else taken[0]


def main(args: list[str] | None = None) -> int:
    return run_node(RetargetNode, args, NODE_NAME)


if __name__ == "__main__":
    raise SystemExit(main())
