"""The launch file included under namespaces, with the real `ros2 launch` (test tooling, see test/ros_tooling.py)
over real DDS: two instances side by side (/left, /right), and hands:=two inside a namespace (/robot1).

RViz and robot_state_publisher have no wheel here: the launches leave them out with their own arguments.
"""

from __future__ import annotations

import subprocess
import tempfile

import pytest
from ros_harness import spin_until
from ros_tooling import colcon_build, missing_reason, tooling_env
from test_ros2_workflow import NO_ROS_ONLY_NODES, Launch

from scalehp_ros.retargeting.robot_config import load_robot_config

REASON = missing_reason()
pytestmark = [
    pytest.mark.ros,
    pytest.mark.slow,
    pytest.mark.skipif(REASON is not None, reason=REASON or ""),
]

WRAPPER = """
from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import GroupAction, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch_ros.actions import PushRosNamespace

TELEOP = get_package_share_directory("scalehp_ros") + "/launch/teleop.launch.py"
INSTANCES = {instances!r}


def generate_launch_description():
    return LaunchDescription([
        GroupAction([
            PushRosNamespace(namespace),
            IncludeLaunchDescription(PythonLaunchDescriptionSource(TELEOP), launch_arguments=list(args.items())),
        ])
        for namespace, args in INSTANCES.items()
    ])
"""
ROBOT = load_robot_config(__import__("ros_harness").REPO / "config" / "robots" / "scalehp_ur5e_allegro.yaml")


@pytest.fixture(scope="module")
def install(tmp_path_factory):
    return colcon_build(tmp_path_factory.mktemp("ws"))


class FileLaunch(Launch):
    """`ros2 launch FILE` (a launch file that includes teleop.launch.py), otherwise as test_ros2_workflow's."""

    def __init__(self, install, path):
        self.log = tempfile.NamedTemporaryFile("w+", prefix="launch_", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            ["ros2", "launch", str(path)],
            env=tooling_env(install),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wrapper(install, tmp_path, instances: dict[str, dict[str, str]]) -> FileLaunch:
    path = tmp_path / "wrapper.launch.py"
    path.write_text(WRAPPER.format(instances=instances))
    return FileLaunch(install, path)


def _no_ros_only(args: dict[str, str]) -> dict[str, str]:
    return args | dict(a.split(":=") for a in NO_ROS_ONLY_NODES)


def _call(node, client, request, timeout=20.0):
    assert client.wait_for_service(timeout_sec=timeout), f"service {client.srv_name} not available"
    future = client.call_async(request)
    assert spin_until(node, future.done, timeout)
    return future.result()


def _engage(node, name: str):
    from std_srvs.srv import SetBool

    client = node.create_client(SetBool, f"{name}/engage")
    try:
        return _call(node, client, SetBool.Request(data=True))
    finally:
        node.destroy_client(client)


def test_two_instances_side_by_side_keep_their_frames_topics_and_diagnostics(install, ros, tmp_path):
    """issue 20 row 15: two copies of the launch file under /left and /right published the same hand frames and
    camera TF, their diagnostics could not be told apart, and both read the absolute /joint_states. With
    frame_prefix / camera_frame per instance, the node's full name in its diagnostics and a relative
    measured_state_topic, each instance keeps its own."""
    from diagnostic_msgs.msg import DiagnosticArray
    from rcl_interfaces.srv import GetParameters
    from rclpy.node import Node
    from sensor_msgs.msg import JointState
    from tf2_msgs.msg import TFMessage

    from scalehp_ros.ros.tf_publisher import TF_STATIC_QOS

    instances = {
        side: _no_ros_only(
            {"camera": "none", "deadman": "none", "frame_prefix": f"{side}_", "camera_frame": f"{side}_camera_optical"}
        )
        for side in ("left", "right")
    }
    node = Node("instances_probe")
    names: set[str] = set()
    static: dict[str, str] = {}
    node.create_subscription(DiagnosticArray, "/diagnostics", lambda m: names.update(s.name for s in m.status), 50)

    def on_static(msg) -> None:
        static.update({t.child_frame_id: t.header.frame_id for t in msg.transforms})

    node.create_subscription(TFMessage, "/tf_static", on_static, TF_STATIC_QOS)
    # the left robot's measured state, in the left instance's namespace only
    state = node.create_publisher(JointState, "/left/joint_states", 10)
    joints = list(ROBOT.arm.joints) + list(ROBOT.hand.joints)
    posture = list(ROBOT.arm.posture) + [0.0] * len(ROBOT.hand.joints)

    def publish_state() -> None:
        msg = JointState(name=joints, position=posture)
        msg.header.stamp = node.get_clock().now().to_msg()
        state.publish(msg)

    node.create_timer(0.02, publish_state)
    launch = _wrapper(install, tmp_path, instances)
    try:
        wanted = {f"/{side}/{n}: {what}" for side in instances for n, what in (
            ("retarget_node", "retargeting"), ("hand_pose_node", "hand pose pipeline"))}  # fmt: skip
        spin_until(node, lambda: wanted <= names or launch.proc.poll() is not None, 150.0)
        assert wanted <= names, (sorted(names), launch.output()[-4000:])
        # each instance places its own camera frame in the robot's tree
        got = spin_until(node, lambda: {"left_camera_optical", "right_camera_optical"} <= set(static), 20.0)
        assert got, static
        # the hand frames get each instance's prefix
        for side in instances:
            client = node.create_client(GetParameters, f"/{side}/hand_pose_node/get_parameters")
            values = _call(node, client, GetParameters.Request(names=["frame_prefix"])).values
            assert values[0].string_value == f"{side}_"
        # each retarget_node reads its own namespace's joint_states: the left one engages, the right one has none
        response = None
        for _ in range(20):
            response = _engage(node, "/left/retarget_node")
            if response.success:
                break
            spin_until(node, lambda: False, 0.5)
        assert response.success, response.message
        response = _engage(node, "/right/retarget_node")
        assert not response.success and "no measured joint state" in response.message, response.message
        assert launch.interrupt() == 0, launch.output()[-4000:]
    finally:
        launch.close()
        node.destroy_node()


def test_two_hands_included_under_a_namespace(install, ros, tmp_path):
    """issue 20 row 19: hands:=two included under a namespace had absolute per-side namespaces and topics: its
    retarget_nodes sat at /left and /right and read /hand_pose_node/*/joints and /joint_states. Included under
    /robot1 everything now stays inside it, the simulator's measured state included (engage needs it)."""
    from rclpy.node import Node

    instances = {"robot1": _no_ros_only({"camera": "none", "hands": "two", "robot": "sim", "deadman": "none"})}
    node = Node("namespace_probe")
    launch = _wrapper(install, tmp_path, instances)
    try:
        wanted = {("/robot1/left", "retarget_node"), ("/robot1/right", "retarget_node"), ("/robot1", "sim_node")}
        wanted.add(("/robot1", "hand_pose_node"))

        def seen() -> bool:
            return wanted <= {(ns, n) for n, ns in node.get_node_names_and_namespaces()}

        assert spin_until(node, seen, 150.0), launch.output()[-4000:]
        for side in ("left", "right"):

            def subscribed(side=side) -> set[str]:
                return {t for t, _ in node.get_subscriber_names_and_types_by_node("retarget_node", f"/robot1/{side}")}

            expected = {
                f"/robot1/hand_pose_node/{side}/joints",
                f"/robot1/hand_pose_node/{side}/tracking",
                "/robot1/joint_states",
            }
            assert spin_until(node, lambda s=subscribed, e=expected: e <= s(), 30.0), subscribed()
            response = None
            for _ in range(40):  # the simulator's /robot1/joint_states reaches this side's node
                response = _engage(node, f"/robot1/{side}/retarget_node")
                if response.success:
                    break
                spin_until(node, lambda: False, 0.5)
            assert response.success, response.message + launch.output()[-3000:]
        outside = [n for n, ns in node.get_node_names_and_namespaces() if ns in ("/left", "/right")]
        assert not outside, outside
        assert launch.interrupt() == 0, launch.output()[-4000:]
    finally:
        launch.close()
        node.destroy_node()
