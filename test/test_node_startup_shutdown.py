"""Every node starts, stops cleanly on SIGINT and SIGTERM, and refuses an invalid parameter before it runs.

Real processes over real DDS (loopback only); what `ros2 launch` adds on top is in test_ros2_workflow.py.
"""

from __future__ import annotations

import signal
import time

import pytest
from ros_harness import NodeProcess, spin_until

pytestmark = pytest.mark.ros
NODES = {
    "hand_pose_node": "scalehp_ros.ros.hand_pose_node",
    "retarget_node": "scalehp_ros.ros.retarget_node",
    "video_source": "scalehp_ros.ros.video_source",
}


def _wait_ready(proc: NodeProcess, name: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.alive():
        out = proc.output()
        if f"[{name}]" in out and ("ready" in out or "publishing" in out or "active" in out):
            return
        time.sleep(0.2)
    raise AssertionError(f"{name} did not start:\n{proc.output()}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("name", sorted(NODES))
def test_node_exits_cleanly_on_signal(name, sig):
    # retarget_node is a lifecycle node: configured and active (as the graph starts it), robot simulated
    args = ("--ros-args", "-p", "autostart:=true", "-p", "simulate_robot:=true") if name == "retarget_node" else ()
    proc = NodeProcess(NODES[name], *args)
    try:
        _wait_ready(proc, name)
        proc.proc.send_signal(sig)
        code = proc.proc.wait(20.0)
    finally:
        proc.stop()
    out = proc.output()
    assert code == 0, out
    assert "Traceback" not in out, out


@pytest.mark.parametrize(
    ("name", "override", "reason"),
    [
        ("hand_pose_node", "scale.hand_length_m:=0.35", "scale.hand_length_m must be in [0.1, 0.3], got 0.35"),
        ("hand_pose_node", "root_solve.solver:=magic", "root_solve.solver must be one of"),
        ("retarget_node", "motion_scale:=0.0", "motion_scale must be in [0.01, 10.0], got 0.0"),
        ("video_source", "hfov_deg:=200", "hfov_deg must be in [1.0, 179.0], got 200"),
    ],
)
def test_an_invalid_parameter_stops_the_node_with_the_reason(name, override, reason):
    proc = NodeProcess(NODES[name], "--ros-args", "-p", override)
    try:
        code = proc.proc.wait(30.0)
    finally:
        proc.stop()
    out = proc.output()
    assert code == 1, out
    assert f"invalid parameter {override.split(':=')[0]}" in out and reason in out, out
    assert "Traceback" not in out, out


def test_a_read_only_override_is_the_value_in_use_and_the_one_reported(ros):
    """`hfov_deg:=90` (an int for a read-only double): the node uses 90.0 and get_parameters says 90.0."""
    from rcl_interfaces.srv import GetParameters
    from rclpy.node import Node

    node = Node("param_probe")
    with NodeProcess(NODES["video_source"], "--ros-args", "-p", "hfov_deg:=90", "-p", "loop:=true") as proc:
        _wait_ready(proc, "video_source")
        client = node.create_client(GetParameters, "/video_source/get_parameters")
        assert client.wait_for_service(timeout_sec=10.0)
        future = client.call_async(GetParameters.Request(names=["hfov_deg"]))
        assert spin_until(node, future.done, 10.0)
        assert future.result().values[0].double_value == pytest.approx(90.0)
    node.destroy_node()
