"""Safe on a real robot, over real DDS: retarget_node as a lifecycle node with a stand-in robot process.

The stand-in (test/nodes/standin_robot.py) publishes measured /joint_states, starts far from the rest posture
and follows the commands with a first-order lag. Checked on every command received: position, velocity and
acceleration bounds; then engage refusal without a measured state, deadman / hold / hand / measured-state loss
-> the arm holds while the stream goes on, and the lifecycle transitions through the lifecycle services.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import time

import numpy as np
import pytest
import ros_tooling
from ros_harness import REPO, NodeProcess, ros_env, spin_until

from scalehp_ros.retargeting.robot_config import load_robot_config

pytestmark = pytest.mark.ros
NODES = REPO / "test" / "nodes"
ROBOT = load_robot_config(REPO / "config" / "robots" / "scalehp_ur5e_allegro.yaml")
FAR = np.array([1.0, -1.0, 1.0, -0.5, -1.0, 1.2])
N_ARM = len(ROBOT.arm.joints)
VELOCITY_SCALE, ARM_ACCEL, MAX_STEP_DT = 0.5, 4.0, 0.1
ARM_STOP = 10.0  # arm_stop_deceleration: deadman released, measured state lost (docs/safety.md)


def _call(node, client, request, timeout=10.0):
    assert client.wait_for_service(timeout_sec=timeout), f"service {client.srv_name} not available"
    future = client.call_async(request)
    assert spin_until(node, future.done, timeout)
    return future.result()


class Probe:
    """The operator's side in the test: records commands and diagnostics, sends the deadman heartbeat."""

    def __init__(self):
        from diagnostic_msgs.msg import DiagnosticArray
        from lifecycle_msgs.srv import ChangeState, GetState
        from rclpy.node import Node
        from sensor_msgs.msg import JointState
        from std_msgs.msg import Bool
        from std_srvs.srv import SetBool

        self.node = Node("safety_probe")
        self.commands: list[tuple[int, np.ndarray, np.ndarray]] = []  # (stamp ns, arm q, arm v)
        self.measured: list[np.ndarray] = []
        self.diag: dict[str, str] = {}
        self.deadman = False
        n = self.node
        n.create_subscription(JointState, "/retarget_node/joint_command", self._on_command, 500)
        n.create_subscription(JointState, "/joint_states", lambda m: self.measured.append(np.array(m.position)), 50)
        n.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 20)
        pub = n.create_publisher(Bool, "/retarget_node/deadman", 10)
        n.create_timer(0.05, lambda: self.deadman and pub.publish(Bool(data=True)))
        self.engage = n.create_client(SetBool, "/retarget_node/engage")
        self.hold = n.create_client(SetBool, "/retarget_node/hold")
        self.change = n.create_client(ChangeState, "/retarget_node/change_state")
        self.get = n.create_client(GetState, "/retarget_node/get_state")

    def _on_command(self, msg) -> None:
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        self.commands.append((stamp, np.array(msg.position[:N_ARM]), np.array(msg.velocity[:N_ARM])))

    def _on_diag(self, msg) -> None:
        for s in msg.status:
            if "retarget" in s.name:
                self.diag = {kv.key: kv.value for kv in s.values} | {"message": s.message}

    def spin(self, seconds: float) -> None:
        spin_until(self.node, lambda: False, seconds)

    def state(self) -> str:
        from lifecycle_msgs.srv import GetState

        return _call(self.node, self.get, GetState.Request()).current_state.label

    def transition(self, transition_id: int) -> bool:
        from lifecycle_msgs.msg import Transition
        from lifecycle_msgs.srv import ChangeState

        return _call(self.node, self.change, ChangeState.Request(transition=Transition(id=transition_id))).success

    def set(self, client, on: bool):
        from std_srvs.srv import SetBool

        return _call(self.node, client, SetBool.Request(data=on))


def check_every_command(commands, start=None, accel=ARM_ACCEL):
    """Position, velocity (velocity_scale x URDF) and acceleration bounds on every consecutive pair of commands
    (velocities as sent); the step a command is granted is the time since the previous one, at most
    max_step_dt (the node's rule)."""
    vmax = ROBOT_VELOCITY * VELOCITY_SCALE
    lower, upper = ROBOT_LIMITS
    assert commands
    _, q_prev, v_prev = commands[0]
    if start is not None:  # the first command leaves the measured state at rest: at most a dt^2 away
        assert np.all(np.abs(q_prev - start) <= ARM_ACCEL * MAX_STEP_DT**2 + 1e-3), (q_prev, start)
    for (t0, _, _), (t1, q, v) in itertools.pairwise(commands):
        dt = max(min((t1 - t0) * 1e-9, MAX_STEP_DT), 1e-6)
        assert np.all(q >= lower) and np.all(q <= upper)
        # constant acceleration between commands: the step is the mean velocity times dt (also: none was missed)
        assert np.allclose(q - q_prev, (v + v_prev) * dt / 2, atol=1e-6), "a command was missed or is inconsistent"
        assert np.all(np.abs(v) <= vmax + 1e-9), v
        assert np.all(np.abs(v - v_prev) <= accel * dt + 1e-6), (v - v_prev, accel * dt)
        q_prev, v_prev = q, v


def _robot_limits():
    from scalehp_ros.retargeting.robot_model import RobotModel

    model = RobotModel(ROBOT.arm.urdf, ROBOT.arm.joints)
    return model.velocity, (model.lower, model.upper)


ROBOT_VELOCITY, ROBOT_LIMITS = _robot_limits()


def held(commands, seconds=0.4):
    """The commands of the last `seconds` are one position at rest."""
    last = commands[-1][0]
    tail = [c for c in commands if c[0] >= last - seconds * 1e9]
    return len(tail) >= 5 and all(np.allclose(c[1], tail[-1][1], atol=1e-9) and not np.any(c[2]) for c in tail)


def test_lifecycle_measured_start_ramp_deadman_hold_and_losses(ros):
    from lifecycle_msgs.msg import Transition

    probe = Probe()
    args = ("--ros-args", "--params-file", "config/retarget.yaml", "-p", "deadman:=bool", "-p", "deadman_timeout:=0.3")
    # the stand-in robot's states reach the node up to ~0.3 s late on a loaded 2-core CI machine (executor and
    # DDS delays): a following error there would be the machine's, not the robot's
    args += ("-p", "following_error_lag:=0.6")
    hand = (str(NODES / "hand_joints_publisher.py"), "--stamp-now")
    with NodeProcess("scalehp_ros.ros.retarget_node", *args) as node, NodeProcess(*hand) as hand_pub:
        # Lifecycle over the services: unconfigured -> inactive -> active.
        assert probe.get.wait_for_service(timeout_sec=30), node.output()
        assert probe.state() == "unconfigured"
        assert probe.transition(Transition.TRANSITION_CONFIGURE), node.output()
        assert probe.state() == "inactive"
        response = probe.set(probe.engage, True)
        assert not response.success and "not active" in response.message
        assert probe.transition(Transition.TRANSITION_ACTIVATE) and probe.state() == "active"

        # No robot yet: nothing commanded, engage refused with the reason, nothing ever on /joint_states.
        probe.spin(1.0)
        assert not probe.commands
        response = probe.set(probe.engage, True)
        assert not response.success and "no measured joint state" in response.message, response.message
        assert probe.node.count_publishers("/joint_states") == 0

        with NodeProcess(str(NODES / "standin_robot.py")) as robot:
            assert spin_until(probe.node, lambda: len(probe.measured) > 10, 20), robot.output()
            assert np.allclose(probe.measured[-1][:N_ARM], FAR)
            probe.deadman = True
            deadline = time.monotonic() + 20  # until the node, too, has discovered the robot (a loaded machine)
            while not (response := probe.set(probe.engage, True)).success and time.monotonic() < deadline:
                assert "no measured joint state" in response.message
                probe.spin(0.3)
            assert response.success, response.message + node.output()
            # The ramp from the far start to the hand: until the arm follows at rest-ish speed.
            probe.spin(5.0)
            assert len(probe.commands) > 100, node.output()
            check_every_command(probe.commands, start=FAR)
            arm = probe.commands[-1][1]
            assert np.max(np.abs(arm - FAR)) > 0.5  # it moved there
            assert np.max(np.abs(probe.measured[-1][:N_ARM] - arm)) < 0.1  # and the robot followed
            assert probe.diag.get("following") == "True", probe.diag

            # Deadman lost (no heartbeat): the arm brakes and holds, the stream goes on.
            probe.deadman = False
            n0 = len(probe.commands)
            probe.spin(1.5)
            assert held(probe.commands) and len(probe.commands) - n0 > 40
            assert "deadman released" in probe.diag["holding_because"], probe.diag
            probe.deadman = True
            # following again; /diagnostics comes once a second, so wait for the first one after the resume
            assert spin_until(probe.node, lambda: probe.diag.get("following") == "True", 3.0), probe.diag

            # Hold service, then its release.
            assert probe.set(probe.hold, True).success
            probe.spin(1.5)
            assert held(probe.commands) and "hold requested" in probe.diag["holding_because"]
            assert probe.set(probe.hold, False).success
            assert spin_until(probe.node, lambda: probe.diag.get("following") == "True", 3.0), probe.diag

            # Hand lost.
            hand_pub.stop()
            probe.spin(1.5)
            assert held(probe.commands) and "hand lost" in probe.diag["holding_because"], probe.diag
            robot_output = robot.output()
        # Measured state lost (the robot process is gone): held, disengaged.
        probe.spin(1.5)
        assert held(probe.commands) and "measured state lost" in probe.diag["holding_because"], probe.diag
        assert probe.diag["engaged"] == "False"
        assert "disengaged: measured state lost" in node.output(), node.output()
        check_every_command(probe.commands, start=FAR, accel=ARM_STOP)  # the whole run, stops included

        # Deactivate: the stream stops; cleanup returns to unconfigured.
        assert probe.transition(Transition.TRANSITION_DEACTIVATE) and probe.state() == "inactive"
        probe.spin(0.3)
        n0 = len(probe.commands)
        probe.spin(0.5)
        assert len(probe.commands) == n0
        assert probe.transition(Transition.TRANSITION_CLEANUP) and probe.state() == "unconfigured"
        assert node.alive(), node.output() + robot_output
    latency = probe.diag.get("latency_p50_ms")
    assert latency is not None and 0 < float(latency) < 1000, probe.diag
    probe.node.destroy_node()


@pytest.mark.skipif(
    shutil.which("ros2") is None and ros_tooling.cli_missing_reason("lifecycle") is not None,
    reason=f"no `ros2 lifecycle`: {ros_tooling.cli_missing_reason('lifecycle')}; the lifecycle services are "
    "tested directly in test_lifecycle_measured_start_ramp_deadman_hold_and_losses",
)
def test_lifecycle_from_the_ros2_cli(ros):
    # the real `ros2 lifecycle` (ros2cli's), from a ROS install or the test tooling (test/ros_tooling.py)
    env = ros_env() if shutil.which("ros2") else ros_tooling.tooling_env()
    with NodeProcess("scalehp_ros.ros.retarget_node", "--ros-args", "--params-file", "config/retarget.yaml") as node:

        def cli(*args):
            return subprocess.run(["ros2", "lifecycle", *args], env=env, capture_output=True, text=True, timeout=30)

        deadline = time.monotonic() + 30
        while "unconfigured" not in cli("get", "/retarget_node").stdout and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "unconfigured" in cli("get", "/retarget_node").stdout, node.output()
        assert cli("set", "/retarget_node", "configure").returncode == 0
        assert cli("set", "/retarget_node", "activate").returncode == 0
        assert "active" in cli("get", "/retarget_node").stdout
