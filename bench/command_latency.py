"""retarget_node's share of the end-to-end latency: hand-joints stamp -> command published, over real DDS.

test/nodes/hand_joints_publisher.py publishes the retargeting clip's joints at 30 Hz stamped at publication
(as hand_pose_node stamps its output with the image stamp, this stamp stands in for the image's); retarget_node
(simulate_robot, autostart) retargets them and reports, in its diagnostics, the time from that stamp to the
command's publication (p50 / p95 over its last 300 frames). Add hand_pose_node's image -> joints latency
(bench/node_latency.py, or make demo's summary) for the whole camera -> command path.
Usage: tools/run_isolated.sh .venv/bin/python bench/command_latency.py [--seconds 30] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args(argv)
    if os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") != "LOCALHOST":
        print("run under tools/run_isolated.sh (DDS isolation rule)", file=sys.stderr)
        return 2
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node

    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    node_cmd = [
        sys.executable,
        "-m",
        "scalehp_ros.ros.retarget_node",
        "--ros-args",
        "--params-file",
        str(REPO / "config" / "retarget.yaml"),
        "-p",
        "autostart:=true",
        "-p",
        "simulate_robot:=true",
    ]
    pub_cmd = [sys.executable, str(REPO / "test" / "nodes" / "hand_joints_publisher.py"), "--stamp-now"]
    procs = [
        subprocess.Popen(c, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for c in (node_cmd, pub_cmd)
    ]
    rclpy.init()
    node = Node("command_latency_bench")
    last: dict[str, str] = {}

    def on_diag(msg) -> None:
        for s in msg.status:
            if "retarget" in s.name:
                last.update({kv.key: kv.value for kv in s.values})

    node.create_subscription(DiagnosticArray, "/diagnostics", on_diag, 10)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        end = time.monotonic() + opts.seconds
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.1)
    finally:
        for p in procs:
            p.send_signal(2)
            p.wait(10)
        node.destroy_node()
        rclpy.try_shutdown()
    result = {
        k: float(last[k]) for k in ("latency_p50_ms", "latency_p95_ms", "step_p50_ms", "step_p95_ms") if k in last
    }
    print(json.dumps(result) if opts.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0 if result else 1


if __name__ == "__main__":
    raise SystemExit(main())
