"""The real tf2_ros (geometry2's tf2_ros_py over tf2_py and tf2, built into the test tooling from
../shared/vendor/ros2; see test/ros_tooling.py), over real DDS kept on loopback.

- The nodes publish TF through tf2_ros's broadcasters where tf2_ros is importable (a ROS install, the test
  tooling) and through tf2_msgs directly where it is not (the pip-only venv): both are checked.
- retarget_node `camera_source: tf` places the camera from a static transform published by
  tf2_ros.StaticTransformBroadcaster, with the same result as the same pose given as parameters.
The lookups of the running graph's hand frames are in test_ros2_workflow.py (they need the launched graph).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from ros_harness import REPO, NodeProcess, ros_env, spin_until
from ros_tooling import tf2_ros_missing_reason, tooling_env

from scalehp_ros.retargeting.robot_config import load_robot_config

REASON = tf2_ros_missing_reason()
pytestmark = [pytest.mark.ros, pytest.mark.slow, pytest.mark.skipif(REASON is not None, reason=REASON or "")]
NODES = REPO / "test" / "nodes"
ROBOT = load_robot_config(REPO / "config" / "robots" / "scalehp_ur5e_allegro.yaml")

_BACKENDS = """
import json, rclpy
from rclpy.node import Node
from scalehp_ros.ros.tf_publisher import StaticTfPublisher, TfPublisher
rclpy.init()
node = Node("backend_probe")
tf, static = TfPublisher(node), StaticTfPublisher(node)
print(json.dumps([tf.backend, type(tf._broadcaster).__module__, type(static._broadcaster).__module__]))
node.destroy_node()
rclpy.try_shutdown()
"""


def test_tf_is_sent_through_tf2_ros_where_it_is_importable_and_tf2_msgs_where_not():
    def backends(env):
        out = subprocess.run([sys.executable, "-c", _BACKENDS], env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    # the test tooling (like a ROS install): tf2_ros's TransformBroadcaster / StaticTransformBroadcaster
    assert backends(tooling_env()) == [
        "tf2_ros",
        "tf2_ros.transform_broadcaster",
        "tf2_ros.static_transform_broadcaster",
    ]
    # the pip-only venv has no tf2_ros: TFMessage published directly (the same topics and QoS)
    assert backends(ros_env()) == ["tf2_msgs", "builtins", "builtins"]


def _quaternion_xyzw(rpy) -> tuple[float, float, float, float]:
    import pinocchio as pin

    q = pin.Quaternion(pin.rpy.rpyToMatrix(*rpy))
    return q.x, q.y, q.z, q.w


def _targets(camera_args: tuple[str, ...], static: list[str] | None, count: int = 60):
    """Run retarget_node (absolute arm mode, simulated robot, tooling env: real tf2_ros) on the recorded hand
    joints; return {stamp: ee_target translation} and the node's output."""
    from geometry_msgs.msg import PoseStamped
    from rclpy.node import Node

    node = Node("camera_source_probe")
    targets: dict[tuple[int, int], np.ndarray] = {}

    def on_target(m) -> None:
        p = m.pose.position
        targets[(m.header.stamp.sec, m.header.stamp.nanosec)] = np.array([p.x, p.y, p.z])

    node.create_subscription(PoseStamped, "/retarget_node/ee_target", on_target, 500)
    env = tooling_env()
    args = ("--ros-args", "--params-file", "config/retarget.yaml", "-p", "autostart:=true")
    args += ("-p", "simulate_robot:=true", *camera_args)
    probe = NodeProcess(str(NODES / "tf2_probe.py"), "--static", *static, env=env) if static else None
    try:
        with NodeProcess("scalehp_ros.ros.retarget_node", *args, env=env) as retarget:
            # the hands start once the node listens, so every run sees the same frames on the same stamps
            topic = "/hand_pose_node/right/joints"
            listens = spin_until(node, lambda: node.count_subscribers(topic) > 0, 60.0)
            assert listens, retarget.output()[-3000:]
            pub = NodeProcess(str(NODES / "hand_joints_publisher.py"), "--stamp-base", "1000", env=env)
            with pub:
                got = spin_until(node, lambda: len(targets) >= count, 60.0)
                assert retarget.alive() and pub.alive(), retarget.output()[-3000:]
            assert got, f"{len(targets)} ee targets\n{retarget.output()[-3000:]}"
            output = retarget.output()
    finally:
        if probe is not None:
            probe.stop()
        node.destroy_node()
    return targets, output


def test_camera_source_tf_takes_the_camera_pose_from_a_tf2_ros_static_transform(ros):
    xyz, rpy = (0.05, 0.1, 0.45), (-1.5707963, 0.0, 1.3)  # not config/retarget.yaml's camera pose
    frame = "camera_color_optical_frame"
    static = [ROBOT.arm.base_frame, frame, *map(str, xyz), *map(str, _quaternion_xyzw(rpy))]
    via_tf, _ = _targets(("-p", "camera_source:=tf", "-p", "publish_camera_tf:=false"), static)
    pose = ("-p", f"camera_xyz:={list(xyz)}", "-p", f"camera_rpy:={list(rpy)}")
    via_parameters, _ = _targets(pose, None)
    default, _ = _targets((), None)
    common = sorted(set(via_tf) & set(via_parameters) & set(default))
    assert len(common) >= 20, (len(via_tf), len(via_parameters), len(default))
    tf_xyz = np.array([via_tf[s] for s in common])
    # the transform from tf2_ros places the hand as the same pose given as parameters does
    np.testing.assert_allclose(tf_xyz, np.array([via_parameters[s] for s in common]), atol=1e-6)
    # and not where config/retarget.yaml's own camera pose would (the test means something)
    assert np.abs(tf_xyz - np.array([default[s] for s in common])).max() > 0.03


def test_camera_source_tf_without_the_transform_commands_nothing_and_says_why(ros):
    from geometry_msgs.msg import PoseStamped
    from rclpy.node import Node

    node = Node("camera_source_missing_probe")
    targets = []
    node.create_subscription(PoseStamped, "/retarget_node/ee_target", targets.append, 100)
    env = tooling_env()
    args = ("--ros-args", "--params-file", "config/retarget.yaml", "-p", "autostart:=true")
    args += ("-p", "simulate_robot:=true", "-p", "camera_source:=tf", "-p", "publish_camera_tf:=false")
    with (
        NodeProcess("scalehp_ros.ros.retarget_node", *args, env=env) as retarget,
        NodeProcess(str(NODES / "hand_joints_publisher.py"), env=env),
    ):
        said = spin_until(node, lambda: "no transform" in retarget.output(), 40.0)
        assert said and retarget.alive(), retarget.output()[-3000:]
        assert not targets
    node.destroy_node()
