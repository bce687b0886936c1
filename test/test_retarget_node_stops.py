"""retarget_node over real DDS: lifecycle deactivate brakes to rest and streams until v = 0 (issue 20 row 2), and
limits only tighten while active (issue 20 row 7, the node's on-set-parameters check). The node runs with
simulate_robot (the commanded state stands in for the robot) and autostart, fed by the hand-joints publisher."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from ros_harness import REPO, NodeProcess, spin_until

from scalehp_ros.retargeting.command_loop import CommandLoopSettings
from scalehp_ros.retargeting.robot_config import load_robot_config

pytestmark = pytest.mark.ros
NODES = REPO / "test" / "nodes"
ROBOT = load_robot_config(REPO / "config" / "robots" / "scalehp_ur5e_allegro.yaml")
N_ARM = len(ROBOT.arm.joints)
DEFAULTS = CommandLoopSettings()


def _call(node, client, request, timeout=10.0):
    assert client.wait_for_service(timeout_sec=timeout), f"service {client.srv_name} not available"
    future = client.call_async(request)
    assert spin_until(node, future.done, timeout)
    return future.result()


def _double(name: str, value: float):
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue

    return Parameter(name=name, value=ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=value))


def _vector(name: str, value):
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue

    kind = ParameterType.PARAMETER_DOUBLE_ARRAY
    return Parameter(name=name, value=ParameterValue(type=kind, double_array_value=list(value)))


def test_deactivate_brakes_to_rest_and_limits_only_tighten_while_active(ros, tmp_path):
    """issue 20 row 2 (deactivate and shutdown at speed: the stream goes on within the stop deceleration until
    v = 0) and row 7 (raising velocity_scale or arm_acceleration while active is refused with the reason;
    lowering is accepted; raising is accepted while inactive)."""
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState
    from rcl_interfaces.srv import SetParameters
    from rclpy.node import Node
    from sensor_msgs.msg import JointState

    override = tmp_path / "override.yaml"
    override.write_text("retarget_node:\n  ros__parameters:\n    autostart: true\n    simulate_robot: true\n")
    node = Node("stops_probe")
    commands: list[tuple[float, np.ndarray, np.ndarray]] = []  # (stamp s, arm q, arm v)

    def on_command(msg) -> None:
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        commands.append((stamp, np.array(msg.position[:N_ARM]), np.array(msg.velocity[:N_ARM])))

    node.create_subscription(JointState, "/retarget_node/joint_command", on_command, 1000)
    set_params = node.create_client(SetParameters, "/retarget_node/set_parameters")
    change = node.create_client(ChangeState, "/retarget_node/change_state")

    def set_(*params):
        return _call(node, set_params, SetParameters.Request(parameters=list(params))).results

    args = ("--ros-args", "--params-file", "config/retarget.yaml", "--params-file", str(override))
    with (
        NodeProcess("scalehp_ros.ros.retarget_node", *args) as retarget,
        NodeProcess(str(NODES / "hand_joints_publisher.py"), "--stamp-now") as hand,
    ):
        assert spin_until(node, lambda: len(commands) > 50, 40.0), retarget.output() + hand.output()

        # row 7: loosening refused while active (with the reason), tightening accepted
        for name, value in (("velocity_scale", 0.9), ("arm_acceleration", 100.0), ("measured_state_timeout", 5.0)):
            [result] = set_(_double(name, value))
            assert not result.successful and name in result.reason and "inactive" in result.reason, result.reason
        [result] = set_(_double("velocity_scale", 0.4))
        assert result.successful, result.reason

        # a target jump (the offset moves 30 cm): the arm ramps toward it; deactivate at speed
        [result] = set_(_vector("offset_xyz", (0.0, 0.3, 0.0)))
        assert result.successful, result.reason
        assert spin_until(node, lambda: np.max(np.abs(commands[-1][2])) > 0.4, 10.0), commands[-1]
        n0 = len(commands)
        request = ChangeState.Request(transition=Transition(id=Transition.TRANSITION_DEACTIVATE))
        assert _call(node, change, request).success
        spin_until(node, lambda: False, 1.5)
        assert retarget.alive(), retarget.output()

        # row 7: raising is accepted while inactive
        [result] = set_(_double("velocity_scale", 0.9))
        assert result.successful, result.reason
        deactivated = commands[n0 - 1 :]

        # shutdown at speed: activate again (simulate_robot engages), jump the target, shut down while moving
        request = ChangeState.Request(transition=Transition(id=Transition.TRANSITION_ACTIVATE))
        assert _call(node, change, request).success
        [result] = set_(_vector("offset_xyz", (0.0, 0.0, 0.0)))
        assert result.successful, result.reason
        assert spin_until(node, lambda: np.max(np.abs(commands[-1][2])) > 0.4, 10.0), commands[-1]
        n1 = len(commands)
        request = ChangeState.Request(transition=Transition(id=Transition.TRANSITION_ACTIVE_SHUTDOWN))
        assert _call(node, change, request).success
        spin_until(node, lambda: False, 1.0)
        assert retarget.alive(), retarget.output()
    _check_brake(deactivated, "deactivate")
    _check_brake(commands[n1 - 1 :], "shutdown")
    node.destroy_node()


def _check_brake(braking, what: str) -> None:
    """The commands from the last one before `what` on: moving at first, then within the stop deceleration
    (constant acceleration between commands) to rest, in about v / a_stop."""
    assert len(braking) >= 3, f"{len(braking)} commands after {what} at speed"
    moving = np.max(np.abs(braking[0][2]))
    assert moving > 0.3, f"the arm was not moving at {what} ({moving} rad/s)"
    assert not np.any(braking[-1][2]), f"the stream ended at {braking[-1][2]} rad/s after {what}"
    a_stop = DEFAULTS.arm_stop_deceleration
    for (t0, q0, v0), (t1, q1, v1) in itertools.pairwise(braking):
        dt = min(t1 - t0, DEFAULTS.max_step_dt)
        assert np.allclose(q1 - q0, (v0 + v1) * dt / 2, atol=1e-6), "a command was missed or is inconsistent"
        assert np.all(np.abs(v1 - v0) <= a_stop * (dt + 1e-6) + 1e-6), (v1 - v0, a_stop * dt)  # stamps: float s
    assert braking[-1][0] - braking[0][0] <= moving / a_stop + 0.1


def test_watchdogs_survive_a_sim_clock_that_jumps_back(ros, tmp_path):
    """issue 20 row 3: with use_sim_time, /clock jumps back 100 s while the hand stops: the node's watchdogs run
    on a steady clock, so the hand counts as lost after tracking_timeout (before: negative ages read as fresh,
    "following the hand" for 100 s while commands stream)."""
    from builtin_interfaces.msg import Time
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.node import Node
    from rclpy.qos import QoSProfile
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import JointState
    from std_srvs.srv import SetBool

    override = tmp_path / "override.yaml"
    override.write_text(
        "retarget_node:\n  ros__parameters:\n    autostart: true\n    simulate_robot: true\n    use_sim_time: true\n"
    )
    node = Node("clock_probe")
    sim = {"t": 1000.0}
    clock_pub = node.create_publisher(Clock, "/clock", QoSProfile(depth=10))

    def publish_clock() -> None:
        sim["t"] += 0.01
        sec = int(sim["t"])
        clock_pub.publish(Clock(clock=Time(sec=sec, nanosec=int((sim["t"] - sec) * 1e9))))

    node.create_timer(0.01, publish_clock)
    commands, diag = [], {}
    node.create_subscription(JointState, "/retarget_node/joint_command", commands.append, 1000)

    def on_diag(msg) -> None:
        for s in msg.status:
            if "retarget" in s.name:
                diag.clear()
                diag.update({kv.key: kv.value for kv in s.values} | {"message": s.message})

    node.create_subscription(DiagnosticArray, "/diagnostics", on_diag, 50)
    hold = node.create_client(SetBool, "/retarget_node/hold")

    def status() -> dict:
        diag.clear()
        assert _call(node, hold, SetBool.Request(data=False)).success  # a no-op that publishes diagnostics now
        assert spin_until(node, lambda: bool(diag), 5.0)
        return dict(diag)

    args = ("--ros-args", "--params-file", "config/retarget.yaml", "--params-file", str(override))
    with NodeProcess("scalehp_ros.ros.retarget_node", *args) as retarget:
        with NodeProcess(str(NODES / "hand_joints_publisher.py"), "--stamp-now") as hand:
            assert spin_until(node, lambda: len(commands) > 50, 40.0), retarget.output() + hand.output()
            deadline = time.monotonic() + 10.0
            while status().get("following") != "True" and time.monotonic() < deadline:
                spin_until(node, lambda: False, 0.2)
            assert diag.get("following") == "True", diag
        sim["t"] -= 100.0  # the hand stopped; the clock jumps back 100 s
        spin_until(node, lambda: False, 1.5)
        after = status()
        assert "hand lost" in after["holding_because"] and after["following"] == "False", after
        # commands still stream on the new (earlier) clock, with strictly increasing stamps
        stamps = [c.header.stamp.sec + c.header.stamp.nanosec * 1e-9 for c in commands[-20:]]
        assert stamps[-1] < 1000.0 and all(b > a for a, b in itertools.pairwise(stamps[-10:]))
        assert retarget.alive(), retarget.output()
    node.destroy_node()


def test_a_robot_that_does_not_follow_is_an_error_not_a_runaway(ros):
    """issue 20 row 1 over DDS: the stand-in robot listens on the wrong command topic, so its /joint_states keep
    arriving, frozen. Engaged with the hand streaming, the command must not ramp away: the node disengages,
    re-seeds the command at the measured state and reports ERROR naming the joint in /diagnostics."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    from rclpy.node import Node
    from sensor_msgs.msg import JointState
    from std_srvs.srv import SetBool

    node = Node("follow_probe")
    commands, diag = [], {}
    node.create_subscription(JointState, "/retarget_node/joint_command", commands.append, 1000)

    def on_diag(msg) -> None:
        for s in msg.status:
            if "retarget" in s.name:
                diag.update({kv.key: kv.value for kv in s.values} | {"message": s.message, "level": s.level})

    node.create_subscription(DiagnosticArray, "/diagnostics", on_diag, 50)
    engage = node.create_client(SetBool, "/retarget_node/engage")
    args = ("--ros-args", "--params-file", "config/retarget.yaml", "-p", "deadman:=none", "-p", "autostart:=true")
    far = np.array([1.0, -1.0, 1.0, -0.5, -1.0, 1.2])  # the stand-in's start
    with (
        NodeProcess("scalehp_ros.ros.retarget_node", *args) as retarget,
        NodeProcess(str(NODES / "standin_robot.py"), "--command-topic", "/nowhere") as robot,
        NodeProcess(str(NODES / "hand_joints_publisher.py"), "--stamp-now") as hand,
    ):
        deadline = time.monotonic() + 30
        while not (response := _call(node, engage, SetBool.Request(data=True))).success:
            assert time.monotonic() < deadline, response.message + retarget.output() + robot.output()
            spin_until(node, lambda: False, 0.3)
        assert spin_until(node, lambda: diag.get("following_errors", "0") != "0", 10.0), diag
        spin_until(node, lambda: False, 1.0)
        assert retarget.alive() and hand.alive(), retarget.output()
    assert diag["level"] == DiagnosticStatus.ERROR, diag
    assert "following error" in diag["message"] and any(j in diag["message"] for j in ROBOT.arm.joints), diag
    assert diag["engaged"] == "False", diag
    arms = [np.array(c.position[:N_ARM]) for c in commands]
    assert max(np.max(np.abs(q - far)) for q in arms) < 0.1 + 1.57 * 0.35  # never ran away
    assert np.allclose(arms[-1], far, atol=1e-6)  # held where the robot stands
    node.destroy_node()
