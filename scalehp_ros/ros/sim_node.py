"""sim_node: the MuJoCo sandbox (scalehp_ros.simulation) behind the topics of a real robot driver.

Loads the robot of the robot YAMLs in `robot_configs` (one per arm; all name the same URDF), with the table
and objects, starts at each arm's rest posture, and runs the physics in real time: a timer every
`step_period` advances the simulation to the wall clock (at most `max_catch_up` per tick; time it cannot
catch up is counted and lowers the real-time factor).
Subscribes  <prefix>/arm/joint_trajectory (trajectory_msgs/JointTrajectory; its first point is the position
            target, joints by name) and <prefix>/hand/commands (std_msgs/Float64MultiArray, in the robot
            YAML's hand.joints order) for each prefix of `command_prefixes` (aligned with robot_configs):
            the topics retarget_node publishes (or a joint_trajectory_controller / forward_position_controller
            would take), so a real robot driver replaces this node with no other change.
Publishes   joint_states_topic (sensor_msgs/JointState: the MEASURED state, every tick, node clock stamp),
            ~/image + ~/camera_info (sensor_msgs: the scene camera, rgb8, every render_period; 0 = off),
            /diagnostics (1 Hz: real-time factor since start and over the last second, simulated
            time, time lost (not caught up), commands, rejected commands).
Targets are clipped to the URDF's position limits and followed at most at its velocity limits by position
actuators within its effort limits (scalehp_ros.simulation.sim).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Float64MultiArray, Header
from trajectory_msgs.msg import JointTrajectory

from scalehp_ros.common.params import Settings, param
from scalehp_ros.common.share import package_share
from scalehp_ros.retargeting.robot_config import load_robot_config
from scalehp_ros.ros.conversions.image import rgb_to_image_msg
from scalehp_ros.ros.diagnostics import OK, WARN, Diagnostics
from scalehp_ros.ros.node_main import run_node
from scalehp_ros.ros.parameters import ParameterBinding
from scalehp_ros.simulation.sim import SimSettings, Simulation

NODE_NAME = "sim_node"


@dataclass(frozen=True)
class SimNodeSettings(Settings):
    """sim_node's own parameters (the physics and camera ones are SimSettings). Units: seconds."""

    robot_configs: str = param(
        "config/robots/scalehp_ur5e_allegro.yaml",
        "comma-separated robot YAMLs, one per arm (relative to the package share directory or absolute); "
        "all name the same URDF, which is simulated",
        dynamic=False,
    )
    command_prefixes: str = param(
        "/retarget_node",
        "comma-separated topic prefixes, one per robot YAML: <prefix>/arm/joint_trajectory, <prefix>/hand/commands",
        dynamic=False,
    )
    joint_states_topic: str = param("/joint_states", "measured joint states (sensor_msgs/JointState)", dynamic=False)
    step_period: float = param(0.01, "physics catch-up and joint-state period (s)", 0.001, 0.1, dynamic=False)
    max_catch_up: float = param(
        0.25,
        "most simulated time one tick may advance (s): a longer stall is lost, not caught up",
        0.005,
        1.0,
        dynamic=False,
    )
    render_period: float = param(0.2, "camera image period (s); 0 = no rendering", 0.0, 10.0, dynamic=False)
    frame_id: str = param("sim_camera_optical_frame", "frame_id of the rendered image", dynamic=False)


@dataclass(frozen=True)
class _AllSettings(Settings):
    node: SimNodeSettings = field(default_factory=SimNodeSettings)
    sim: SimSettings = field(default_factory=SimSettings)


PARAMS = _AllSettings.parameters()


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


class SimNode(Node):
    def __init__(self) -> None:
        super().__init__(NODE_NAME)
        settings = _AllSettings.from_flat(ParameterBinding(self, PARAMS).values)
        s = self.settings = settings.node
        configs = [load_robot_config(package_share() / path) for path in _split(s.robot_configs)]
        prefixes = _split(s.command_prefixes)
        if not configs or len(prefixes) != len(configs):
            raise ValueError(f"command_prefixes {prefixes} must name one prefix per robot config ({len(configs)})")
        urdfs = {c.arm.urdf for c in configs} | {c.hand.urdf for c in configs}
        if len(urdfs) != 1:
            raise ValueError(f"the robot configs name different URDFs {sorted(map(str, urdfs))}; simulate one robot")
        initial = {j: float(q) for c in configs for j, q in zip(c.arm.joints, c.arm.posture, strict=True)}
        self.sim = Simulation(urdfs.pop(), settings.sim, initial=initial)
        self.rejected = 0
        self.last_rejection = ""
        self.state_pub = self.create_publisher(JointState, s.joint_states_topic, 10)
        self.diagnostics = Diagnostics(self, "simulation", hardware_id="mujoco")
        for config, prefix in zip(configs, prefixes, strict=True):
            self.create_subscription(JointTrajectory, f"{prefix}/arm/joint_trajectory", self._on_trajectory, 10)
            hand = config.hand.joints
            self.create_subscription(
                Float64MultiArray, f"{prefix}/hand/commands", lambda m, hand=hand: self._on_hand(hand, m), 10
            )
        if s.render_period > 0:
            qos = QoSProfile(depth=1)
            self.image_pub = self.create_publisher(Image, "~/image", qos)
            self.info_pub = self.create_publisher(CameraInfo, "~/camera_info", qos)
            self.create_timer(s.render_period, self._render)
            self.sim.render()  # the GL context (~0.3 s) is made before the real-time clock starts
        self._wall0 = time.monotonic()
        self._sim0 = self.sim.time
        self.lost_s = 0.0  # wall time the physics could not catch up with
        self.create_timer(s.step_period, self._step)
        self.create_timer(1.0, self._diagnostics)
        self.get_logger().info(
            f"simulating {len(self.sim.joint_names)} joints of {configs[0].arm.urdf.name}, commands from {prefixes}"
        )

    # commands -------------------------------------------------------------------------------------------
    def _apply(self, names, positions) -> None:
        try:
            self.sim.command(names, positions)
        except ValueError as exc:
            self.rejected += 1
            self.last_rejection = str(exc)

    def _on_trajectory(self, msg: JointTrajectory) -> None:
        if not msg.points:
            return
        self._apply(list(msg.joint_names), list(msg.points[0].positions))

    def _on_hand(self, joints: tuple[str, ...], msg: Float64MultiArray) -> None:
        if len(msg.data) != len(joints):
            self.rejected += 1
            self.last_rejection = f"hand command with {len(msg.data)} values for {len(joints)} joints"
            return
        self._apply(joints, list(msg.data))

    # physics --------------------------------------------------------------------------------------------
    def real_time_factor(self) -> float:
        wall = time.monotonic() - self._wall0
        return (self.sim.time - self._sim0) / wall if wall > 0 else 1.0

    def _step(self) -> None:
        behind = (time.monotonic() - self._wall0) - (self.sim.time - self._sim0) - self.lost_s
        if behind > self.settings.max_catch_up:
            self.lost_s += behind - self.settings.max_catch_up
            behind = self.settings.max_catch_up
        if behind > 0:
            self.sim.advance(behind)
        state = self.sim.joint_state()
        msg = JointState(header=Header(stamp=self.get_clock().now().to_msg()))
        msg.name = list(state.names)
        msg.position = state.position.tolist()
        msg.velocity = state.velocity.tolist()
        msg.effort = state.effort.tolist()
        self.state_pub.publish(msg)

    def _render(self) -> None:
        rgb = self.sim.render()
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self.settings.frame_id)
        image = rgb_to_image_msg(rgb)
        image.header = header
        info = CameraInfo(header=header, width=rgb.shape[1], height=rgb.shape[0])
        k = self.sim.intrinsics()
        info.k = [float(v) for v in k.ravel()]
        info.p = [float(v) for v in np.hstack([k, np.zeros((3, 1))]).ravel()]
        info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        info.distortion_model = "plumb_bob"
        info.d = [0.0] * 5
        self.info_pub.publish(info)
        self.image_pub.publish(image)

    def _diagnostics(self) -> None:
        rtf = self.real_time_factor()
        wall, sim_time = time.monotonic(), self.sim.time
        last = getattr(self, "_last_window", None)
        window = (sim_time - last[1]) / (wall - last[0]) if last and wall > last[0] else rtf
        self._last_window = (wall, sim_time)
        values = {
            "real_time_factor": f"{rtf:.3f}",
            "real_time_factor_last_s": f"{window:.3f}",
            "sim_time_s": f"{self.sim.time:.3f}",
            "lost_s": f"{self.lost_s:.3f}",
            "commands": str(self.sim.commands),
            "rejected_commands": str(self.rejected),
            "last_rejection": self.last_rejection,
        }
        if self.lost_s == 0.0:
            self.diagnostics.publish(OK, "real time", values)
        else:
            self.diagnostics.publish(WARN, "slower than real time", values)

    def close(self) -> None:
        self.sim.close()


def main(args: list[str] | None = None) -> int:
    return run_node(SimNode, args, NODE_NAME)


if __name__ == "__main__":
    raise SystemExit(main())
