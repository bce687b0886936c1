"""The test harness's own rules: what integration tests read with, and the ROS-free fast lane."""

from __future__ import annotations

import pytest
import ros_harness


def test_test_readers_are_reliable_and_deep():
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, ReliabilityPolicy

    qos = ros_harness.reader_qos()
    assert qos.reliability == ReliabilityPolicy.RELIABLE and qos.history == HistoryPolicy.KEEP_LAST
    assert qos.depth == ros_harness.READER_DEPTH >= 1000
    assert ros_harness.reader_qos(latched=True).durability == DurabilityPolicy.TRANSIENT_LOCAL


def test_fast_lane_refuses_to_start_ros(monkeypatch):
    monkeypatch.setenv(ros_harness.LANE_VAR, "fast")
    with pytest.raises(RuntimeError, match=r"mark it with @pytest.mark.ros"):
        ros_harness.require_localhost_discovery()
    with pytest.raises(RuntimeError, match="ROS-free lane"):
        ros_harness.ros_env()
