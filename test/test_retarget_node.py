"""Real DDS between processes: a hand-joints publisher process -> retarget_node process -> commands received here.

Here the node runs with simulate_robot (the commanded-state loop, engaged on activation) and autostart; the
measured-state start, deadman, hold and lifecycle are tested against a stand-in robot in test_retarget_safety.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import numpy as np
import pytest
from ros_harness import REPO, NodeProcess, spin_until, subscribe

from scalehp_ros.retargeting.robot_config import load_robot_config

pytestmark = pytest.mark.ros
NODES = REPO / "test" / "nodes"
ROBOT = load_robot_config(REPO / "config" / "robots" / "scalehp_ur5e_allegro.yaml")


def _call(node, client, request, timeout=10.0):
    assert client.wait_for_service(timeout_sec=timeout), f"service {client.srv_name} not available"
    future = client.call_async(request)
    assert spin_until(node, future.done, timeout)
    return future.result()


def test_hand_joints_in_joint_commands_out(ros, tmp_path):
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import PoseStamped
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import GetParameters, SetParameters
    from rclpy.node import Node
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray
    from trajectory_msgs.msg import JointTrajectory

    override = tmp_path / "override.yaml"
    override.write_text(
        "retarget_node:\n  ros__parameters:\n    tracking_timeout: 0.4\n    autostart: true\n    simulate_robot: true\n"
    )
    node = Node("retarget_probe")
    states, hands, trajectories, diagnostics, targets = [], [], [], [], []
    subscribe(node, JointState, "/retarget_node/joint_command", states.append)
    subscribe(node, PoseStamped, "/retarget_node/ee_target", targets.append)
    subscribe(node, Float64MultiArray, "/retarget_node/hand/commands", hands.append)
    subscribe(node, JointTrajectory, "/retarget_node/arm/joint_trajectory", trajectories.append)
    subscribe(node, DiagnosticArray, "/diagnostics", diagnostics.append)
    from tf2_msgs.msg import TFMessage

    from scalehp_ros.ros.tf_publisher import TF_STATIC_QOS

    static = []
    node.create_subscription(TFMessage, "/tf_static", lambda m: static.extend(m.transforms), TF_STATIC_QOS)
    args = ("--ros-args", "--params-file", "config/retarget.yaml", "--params-file", str(override))
    with (
        NodeProcess("scalehp_ros.ros.retarget_node", *args) as retarget,
        NodeProcess(str(NODES / "hand_joints_publisher.py"), "--nan-every", "7", "--stamp-base", "1000") as pub,
    ):
        got = spin_until(
            node, lambda: len(targets) >= 40 and len(hands) >= 40 and len(diagnostics) >= 2, 40.0
        )  # ee_target: one per accepted frame (commands also stream between frames)
        assert retarget.alive() and pub.alive(), retarget.output() + pub.output()
        assert got, f"{len(states)} joint states, {len(hands)} hand commands\n{retarget.output()}"

        # Parameters: the params files were parsed (the override wins), invalid values are refused.
        get = node.create_client(GetParameters, "/retarget_node/get_parameters")
        values = _call(node, get, GetParameters.Request(names=["tracking_timeout", "arm_mode"])).values
        assert values[0].double_value == pytest.approx(0.4) and values[1].string_value == "absolute"
        set_ = node.create_client(SetParameters, "/retarget_node/set_parameters")
        bad = Parameter(name="arm_mode", value=ParameterValue(type=ParameterType.PARAMETER_STRING, string_value="x"))
        result = _call(node, set_, SetParameters.Request(parameters=[bad])).results[0]
        assert not result.successful and "arm_mode" in result.reason
        values = _call(node, get, GetParameters.Request(names=["arm_mode"])).values
        assert values[0].string_value == "absolute"
        assert retarget.alive(), retarget.output()
        assert "rejected hand joints" in retarget.output()  # the NaN frames: a throttled warning, no crash
        assert node.count_publishers("/joint_states") == 0  # commands never go to the measured state topic
    # the camera is placed in the robot's TF tree (camera_source: parameter) for RViz
    assert static and static[-1].header.frame_id == ROBOT.arm.base_frame
    assert static[-1].transform.translation.z == pytest.approx(0.4)
    names = list(ROBOT.joint_names)
    for msg in states:
        assert list(msg.name) == names and len(msg.position) == len(names) == len(msg.velocity)
        assert np.all(np.isfinite(msg.position))
    assert targets and all(m.header.frame_id == ROBOT.arm.base_frame for m in targets)
    for msg in targets:
        # the IK target carries the input stamp: 1000 + k / 30
        k = (msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9 - 1000.0) * 30.0
        assert k == pytest.approx(round(k), abs=1e-3)
        # NaN frames (every 7th) were rejected, not commanded
        assert round(k) % 7 != 6
    for msg in hands:
        assert len(msg.data) == len(ROBOT.hand.joints)
    assert trajectories and list(trajectories[-1].joint_names) == list(ROBOT.arm.joints)
    # recent commands, this command one period ahead, two look-ahead points, the closing brake to rest; stamped
    last = trajectories[-1]
    points = last.points
    assert len(points) >= 3 and all(len(p.velocities) == len(ROBOT.arm.joints) for p in points)
    times = [p.time_from_start.sec + p.time_from_start.nanosec * 1e-9 for p in points]
    k = times.index(pytest.approx(0.02))
    assert times[k : k + 3] == pytest.approx([0.02, 0.04, 0.06]) and times[0] > 0
    assert all(b > a for a, b in itertools.pairwise(times))  # strictly increasing (issue 20 row 9)
    assert not any(points[-1].velocities)  # a lost stream ends at rest (issue 20 row 2)
    assert last.header.stamp.sec > 0
    last = diagnostics[-1].status[0]
    values = {kv.key: kv.value for kv in last.values}
    assert int(values["rejected_inputs"]) >= 1 and values["arm_mode"] == "absolute"
    node.destroy_node()


@pytest.mark.parametrize("publish", [True, False])
def test_camera_tf_before_the_first_hand_or_left_to_the_driver(ros, publish):
    """RViz places the camera before any hand arrives; publish_camera_tf:=false leaves the optical frame to the
    camera driver's own TF tree (realsense2_camera's camera_link -> ...), so it never has two parents."""
    from rclpy.node import Node
    from tf2_msgs.msg import TFMessage

    from scalehp_ros.ros.tf_publisher import TF_STATIC_QOS

    node = Node("camera_tf_probe")
    static = []
    node.create_subscription(TFMessage, "/tf_static", lambda m: static.extend(m.transforms), TF_STATIC_QOS)
    args = (
        "--ros-args",
        "-p",
        "autostart:=true",
        "-p",
        "simulate_robot:=true",
        "-p",
        f"publish_camera_tf:={str(publish).lower()}",
    )
    with NodeProcess("scalehp_ros.ros.retarget_node", *args) as proc:  # no hand joints are ever sent
        got = spin_until(node, lambda: bool(static), timeout=15.0 if publish else 6.0)
        assert proc.alive(), proc.output()
    if publish:
        assert got, proc.output()
        t = static[-1]
        assert (t.header.frame_id, t.child_frame_id) == (ROBOT.arm.base_frame, "camera_color_optical_frame")
    else:
        assert not static, [t.child_frame_id for t in static]
    node.destroy_node()


def _transition(node, name: str) -> bool:
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState

    ids = {
        "configure": Transition.TRANSITION_CONFIGURE,
        "activate": Transition.TRANSITION_ACTIVATE,
        "deactivate": Transition.TRANSITION_DEACTIVATE,
        "cleanup": Transition.TRANSITION_CLEANUP,
    }
    client = node.create_client(ChangeState, "/retarget_node/change_state")
    try:
        return _call(node, client, ChangeState.Request(transition=Transition(id=ids[name]))).success
    finally:
        node.destroy_client(client)


def _set_parameter(node, name: str, value: str):
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters

    client = node.create_client(SetParameters, "/retarget_node/set_parameters")
    p = Parameter(name=name, value=ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=value))
    try:
        return _call(node, client, SetParameters.Request(parameters=[p])).results[0]
    finally:
        node.destroy_client(client)


def _static_tf_publishers(node) -> list[str]:
    return [i.node_name for i in node.get_publishers_info_by_topic("/tf_static") if i.node_name == "retarget_node"]


def test_cleanup_undoes_configure_no_tf_static_publisher_left(ros):
    """issue 20 row 16: deactivate -> cleanup -> configure -> cleanup left two /tf_static publishers while
    unconfigured; cleanup must destroy what configure created."""
    from rclpy.node import Node

    node = Node("cleanup_probe")
    args = ("--ros-args", "-p", "simulate_robot:=true", "-p", "deadman:=none")
    with NodeProcess("scalehp_ros.ros.retarget_node", *args) as proc:
        assert _transition(node, "configure"), proc.output()
        assert spin_until(node, lambda: len(_static_tf_publishers(node)) == 1, 10.0), proc.output()
        assert _transition(node, "activate") and _transition(node, "deactivate") and _transition(node, "cleanup")
        assert spin_until(node, lambda: not _static_tf_publishers(node), 10.0), _static_tf_publishers(node)
        assert _transition(node, "configure")
        assert spin_until(node, lambda: len(_static_tf_publishers(node)) == 1, 10.0), _static_tf_publishers(node)
        assert _transition(node, "cleanup")
        assert spin_until(node, lambda: not _static_tf_publishers(node), 10.0), _static_tf_publishers(node)
        # nothing else configure made stays either: no command publishers, no subscriptions on its inputs
        names = [t for t, _ in node.get_publisher_names_and_types_by_node("retarget_node", "/")]
        assert not [t for t in names if t.startswith("/retarget_node/") and t != "/retarget_node/transition_event"]
        assert proc.alive(), proc.output()
    node.destroy_node()


def _deadman_types(node) -> set[str]:
    return {i.topic_type for i in node.get_subscriptions_info_by_topic("/retarget_node/deadman")}


def test_deadman_source_changes_only_while_inactive_and_the_subscription_follows(ros):
    """issue 20 row 4: `ros2 param set deadman none` with the pedal released was accepted while active (the arm
    then follows unguarded), and switching to joy kept the Bool subscription."""
    from rclpy.node import Node

    node = Node("deadman_probe")
    args = ("--ros-args", "-p", "autostart:=true", "-p", "deadman:=bool")
    with NodeProcess("scalehp_ros.ros.retarget_node", *args) as proc:
        assert spin_until(node, lambda: _deadman_types(node) == {"std_msgs/msg/Bool"}, 20.0), proc.output()
        result = _set_parameter(node, "deadman", "none")  # active: refused, with the reason
        assert not result.successful and "not active" in result.reason, result.reason
        assert _transition(node, "deactivate"), proc.output()
        result = _set_parameter(node, "deadman", "joy")
        assert result.successful, result.reason
        assert spin_until(node, lambda: _deadman_types(node) == {"sensor_msgs/msg/Joy"}, 10.0), _deadman_types(node)
        assert _set_parameter(node, "deadman", "none").successful
        assert spin_until(node, lambda: not _deadman_types(node), 10.0), _deadman_types(node)
        assert _set_parameter(node, "deadman", "bool").successful
        assert _transition(node, "activate")
        assert spin_until(node, lambda: _deadman_types(node) == {"std_msgs/msg/Bool"}, 10.0), _deadman_types(node)
        assert not _set_parameter(node, "deadman", "joy").successful
        assert proc.alive(), proc.output()
    node.destroy_node()


def test_stamps_going_back_start_a_new_stream(ros):
    """issue 20 row 10: a second play of the same hand stream (the same stamps: a bag played twice, --loop, a
    simulator reset) was refused frame by frame ("not newer") until its stamps passed the old maximum;
    retarget_node now starts a new stream, as hand_pose_node does for images."""
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import PoseStamped
    from rclpy.node import Node

    node = Node("replay_probe")
    targets, diagnostics = [], []
    node.create_subscription(PoseStamped, "/retarget_node/ee_target", targets.append, 500)
    node.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 50)
    args = ("--ros-args", "-p", "autostart:=true", "-p", "simulate_robot:=true", "-p", "deadman:=none")
    hand = (str(NODES / "hand_joints_publisher.py"), "--stamp-base", "1000")

    def stamp(msg) -> float:
        return msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9

    with NodeProcess("scalehp_ros.ros.retarget_node", *args) as proc:
        with NodeProcess(*hand) as first:
            assert spin_until(node, lambda: len(targets) >= 30, 40.0), proc.output() + first.output()
        first_max = max(stamp(m) for m in targets)
        n_first = len(targets)
        with NodeProcess(*hand) as second:  # the same stamps again, from 1000
            got = spin_until(node, lambda: sum(stamp(m) < first_max - 0.2 for m in targets[n_first:]) >= 10, 30.0)
            assert got, proc.output() + second.output()
        assert "not newer" not in proc.output(), proc.output()
        assert "a new stream" in proc.output()
        spin_until(node, lambda: False, 1.5)
    values = {kv.key: kv.value for d in diagnostics for s in d.status if "retarget" in s.name for kv in s.values}
    assert int(values["stream_restarts"]) >= 1, values
    node.destroy_node()


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process (s), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_joint_states_at_500_hz_cost_little_cpu(ros):
    """issue 20 row 14: with a UR's 500 Hz /joint_states, retarget_node took 51 % of a core disengaged (queue depth
    50, Python per message). It now keeps only the newest state (depth 1) and takes it in the command tick, so
    the executor never wakes for a state message. Measured: the node's CPU share with the 500 Hz stand-in minus
    its share without (same process, same parameters). The bound is generous (0262da1 measured about +0.20 of
    a core here, this code about +0.03); the share is printed for the record."""
    from rclpy.node import Node

    node = Node("cpu_probe")
    args = ("--ros-args", "-p", "autostart:=true", "-p", "deadman:=none")
    with NodeProcess("scalehp_ros.ros.retarget_node", *args) as proc:
        spin_until(node, lambda: False, 3.0)  # started and configured
        window = 6.0
        with NodeProcess(str(NODES / "joint_states_500hz.py")) as robot:
            spin_until(node, lambda: False, 2.0)  # discovery
            c0, t0 = _cpu_seconds(proc.proc.pid), time.monotonic()
            spin_until(node, lambda: False, window)
            busy = (_cpu_seconds(proc.proc.pid) - c0) / (time.monotonic() - t0)
        assert robot.proc.returncode == 0, robot.output()
        published, seconds = (float(w) for w in robot.output().split("published ")[1].split(" s")[0].split(" in "))
        assert published / seconds > 450.0, robot.output()  # the stand-in really published at 500 Hz
        spin_until(node, lambda: False, 1.0)
        c0, t0 = _cpu_seconds(proc.proc.pid), time.monotonic()
        spin_until(node, lambda: False, window)
        idle = (_cpu_seconds(proc.proc.pid) - c0) / (time.monotonic() - t0)
        assert proc.alive(), proc.output()
    print(f"retarget_node CPU share: {busy:.3f} with 500 Hz /joint_states, {idle:.3f} without")
    assert busy - idle < 0.10, (busy, idle)
    node.destroy_node()
