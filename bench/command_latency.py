"""retarget_node's share of the end-to-end latency: hand-joints stamp -> command published, over real DDS.

test/nodes/hand_joints_publisher.py publishes the retargeting clip's joints at 30 Hz stamped at publication
(as hand_pose_node stamps its output with the image stamp, this stamp stands in for the image's); retarget_node
(simulate_robot, autostart) retargets them and reports, in its diagnostics, the time from that stamp to the
command's publication (p50 / p95 over its last 300 frames). Add hand_pose_node's image -> joints latency
(bench/node_latency.py, or make demo's summary) for the whole camera -> command path.

It also reports retarget_node's CPU (`cpu_share`, user + system time of its process / wall time, after a
warm-up) while two reliable subscribers stand in for the arm and hand controllers, and the rate of the arm
command stream they received (`command_hz`: the 50 Hz stream plus the tick each new frame sends at once).
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


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (s), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _count(counter: list[int]) -> None:
    counter[0] += 1


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
    from std_msgs.msg import Float64MultiArray
    from trajectory_msgs.msg import JointTrajectory

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
    commands = [0]
    node.create_subscription(JointTrajectory, "/retarget_node/arm/joint_trajectory", lambda m: _count(commands), 10)
    node.create_subscription(Float64MultiArray, "/retarget_node/hand/commands", lambda m: None, 10)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        warm_up = min(5.0, opts.seconds / 3)
        end = time.monotonic() + warm_up
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.1)
        cpu0, wall0, commands0 = _cpu_seconds(procs[0].pid), time.monotonic(), commands[0]
        end = wall0 + opts.seconds - warm_up
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.1)
        wall = time.monotonic() - wall0
        cpu_share = (_cpu_seconds(procs[0].pid) - cpu0) / wall
        command_hz = (commands[0] - commands0) / wall
    finally:
        for p in procs:
            p.send_signal(2)
            p.wait(10)
        node.destroy_node()
        rclpy.try_shutdown()
    result = {
        k: float(last[k]) for k in ("latency_p50_ms", "latency_p95_ms", "step_p50_ms", "step_p95_ms") if k in last
    }
    result |= {"cpu_share": round(cpu_share, 3), "command_hz": round(command_hz, 1), "load_average": os.getloadavg()[0]}
    print(json.dumps(result) if opts.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0 if result else 1


if __name__ == "__main__":
    raise SystemExit(main())
