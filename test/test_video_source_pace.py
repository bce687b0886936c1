"""video_source's lockstep pace over real DDS: the next frame waits for the previous one's echo, or times out.

video_source runs as its own process; this test stands in for hand_pose_node's `~/processed` (a real node
publishing std_msgs/Header on the topic video_source listens to) and holds or returns each frame's header.
"""

from __future__ import annotations

import time

import pytest
from ros_harness import NodeProcess, spin_until

pytestmark = pytest.mark.ros


def test_lockstep_waits_for_each_echo_and_times_out_without_one(ros):
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import Header

    node = Node("pace_probe")
    frames: list[tuple[float, Header]] = []
    node.create_subscription(
        Image, "/image", lambda m: frames.append((time.monotonic(), m.header)), qos_profile_sensor_data
    )
    node.create_subscription(CameraInfo, "/camera_info", lambda m: None, qos_profile_sensor_data)  # the start
    echo = node.create_publisher(Header, "/processed", 10)
    args = ("--ros-args", "-p", "pace:=lockstep", "-p", "rate:=50.0", "-p", "pace_timeout_s:=2.0",
            "-p", "max_width:=160", "-p", "wait_for_subscribers:=1", "-p", "loop:=true")  # fmt: skip
    with NodeProcess("scalehp_ros.ros.video_source", *args) as proc:
        assert spin_until(node, lambda: len(frames) >= 1, 30.0), proc.output()
        assert spin_until(node, lambda: echo.get_subscription_count() > 0, 10.0), proc.output()
        # no echo: the next frame comes only after pace_timeout_s (2 s), not at the 50 Hz rate
        assert spin_until(node, lambda: len(frames) >= 2, 5.0), proc.output()
        gap_without_echo = frames[1][0] - frames[0][0]
        # echo each frame as it comes: the clip runs at (about) the rate again
        start = len(frames)
        for _ in range(10):
            n = len(frames)
            echo.publish(frames[-1][1])
            assert spin_until(node, lambda n=n: len(frames) > n, 1.5), proc.output()
        echoed = [frames[k][0] - frames[k - 1][0] for k in range(start + 1, len(frames))]
        # an echo of an older frame does not release the next one
        n = len(frames)
        echo.publish(frames[-2][1])
        spin_until(node, lambda: False, 0.5)
        assert len(frames) == n
        assert proc.alive(), proc.output()
    node.destroy_node()
    assert 1.8 < gap_without_echo < 3.5
    assert max(echoed) < 1.0 and min(echoed) > 0.5 / 50.0


def test_lockstep_refuses_a_webcam():
    proc = NodeProcess("scalehp_ros.ros.video_source", "--ros-args", "-p", "pace:=lockstep", "-p", "device:=0")
    try:
        code = proc.proc.wait(30.0)
    finally:
        proc.stop()
    out = proc.output()
    assert code == 1, out
    assert "lockstep needs a video file" in out and "Traceback" not in out, out
