"""Test fixture process: a robot driver's /joint_states at 500 Hz (a UR's rate), the robot standing still.

Each timer callback publishes every message due since the start (rate x elapsed time), so the average rate is
--rate even when a loaded machine delays the timer. On exit it prints how many it published and over how long.
"""

import argparse
import time
from pathlib import Path

import rclpy
import yaml
from rclpy.node import Node
from sensor_msgs.msg import JointState

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--robot", default=str(REPO / "config" / "robots" / "scalehp_ur5e_allegro.yaml"))
    parser.add_argument("--rate", type=float, default=500.0)
    args = parser.parse_args()
    raw = yaml.safe_load(Path(args.robot).read_text())
    names = list(raw["arm"]["joints"]) + list(raw["hand"]["joints"])
    rclpy.init()
    node = Node("joint_states_500hz")
    pub = node.create_publisher(JointState, "/joint_states", 10)
    msg = JointState(name=names, position=[0.0] * len(names), velocity=[0.0] * len(names))
    start, sent = time.monotonic(), [0]

    def tick() -> None:
        due = int((time.monotonic() - start) * args.rate)
        while sent[0] < due:
            msg.header.stamp = node.get_clock().now().to_msg()
            pub.publish(msg)
            sent[0] += 1

    node.create_timer(1.0 / args.rate, tick)
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        print(f"published {sent[0]} in {time.monotonic() - start:.3f} s", flush=True)
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
