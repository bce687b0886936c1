"""Real DDS between real processes: camera process -> image_to_tf process -> TF received here."""

import os

import pytest
from ros_harness import REPO, NodeProcess, spin_until, subscribe

pytestmark = pytest.mark.ros
NODES = REPO / "test" / "nodes"


def test_images_cross_processes_and_come_back_as_tf(ros):
    from rclpy.node import Node
    from tf2_msgs.msg import TFMessage

    node = Node("transport_probe")
    tfs = []
    subscribe(node, TFMessage, "/tf", lambda m: tfs.extend(m.transforms))
    camera_args = ("--cx", "300", "--cy", "250", "--fx", "600", "--rate", "30", "--stamp-base", "1000")
    with (
        NodeProcess(str(NODES / "image_to_tf.py")) as relay,
        NodeProcess(str(NODES / "camera_publisher.py"), *camera_args) as cam,
    ):
        got = spin_until(node, lambda: len(tfs) >= 20, timeout=30.0)
        assert relay.alive() and cam.alive(), relay.output() + cam.output()
    assert got, f"only {len(tfs)} TF messages arrived\n{relay.output()}\n{cam.output()}"
    for t in tfs:
        assert t.header.frame_id == "camera_color_optical_frame"
        assert t.child_frame_id == "image_centre_ray"
        # K^-1 [320, 240, 1] with fx=fy=600, cx=300, cy=250
        assert t.transform.translation.x == pytest.approx(20 / 600)
        assert t.transform.translation.y == pytest.approx(-10 / 600)
        assert t.transform.translation.z == pytest.approx(1.0)
    # Stamps are copied from the images, never now(): the camera stamps frame k at 1000 + k/30 s.
    frame_index = [((t.header.stamp.sec + t.header.stamp.nanosec * 1e-9) - 1000.0) * 30.0 for t in tfs]
    assert all(k == pytest.approx(round(k), abs=1e-3) and k >= 0 for k in frame_index), frame_index
    assert len({round(k) for k in frame_index}) >= 10
    node.destroy_node()


def test_rclpy_init_refuses_without_localhost_discovery(monkeypatch):
    import rclpy

    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "SUBNET")
    with pytest.raises(RuntimeError, match="DDS isolation"):
        rclpy.init()
    assert not rclpy.ok()


def test_suite_runs_with_localhost_discovery_and_own_domain():
    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert 1 <= int(os.environ["ROS_DOMAIN_ID"]) <= 100
