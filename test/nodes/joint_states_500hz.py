"""Test fixture process: a robot driver's /joint_states at 500 Hz (a UR's rate), the robot standing still.

Each timer callback publishes every message due since the start (rate x elapsed time), so the average rate is
--rate even when a loaded machine delays the timer. On exit it prints how many it published and over how long.
"""

import argparse
import time
from pathlib import Path

import yaml
from rclpy.node import Node
from sensor_msgs.msg import JointState

from scalehp_ros.ros.node_main import run_node

REPO = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--robot", default=str(REPO / "config" / "robots" / "scalehp_ur5e_allegro.yaml"))
    parser.add_argument("--rate", type=float, default=500.0)
    args = parser.parse_args()
    raw = yaml.safe_load(Path(args.robot).read_text())
    names = list(raw["arm"]["joints"]) + list(raw["hand"]["joints"])
    start, sent = time.monotonic(), [0]

    def make_node() -> Node:
        node = Node("joint_states_500hz")
        pub = node.create_publisher(JointState, "/joint_states", 10)
        msg = JointState(name=names, position=[0.0] * len(names), velocity=[0.0] * len(names))

        def tick() -> None:
            due = int((time.monotonic() - start) * args.rate)
            while sent[0] < due:
                msg.header.stamp = node.get_clock().now().to_msg()
                pub.publish(msg)
                sent[0] += 1

        node.create_timer(1.0 / args.rate, tick)
        # run_node calls close() on the way out: the count the test reads
        node.close = lambda: print(f"published {sent[0]} in {time.monotonic() - start:.3f} s", flush=True)
        return node

    return run_node(make_node, name="joint_states_500hz")


if __name__ == "__main__":
    raise SystemExit(main())
