"""Test fixture process: a stand-in robot that publishes its measured joint states on /joint_states.

It starts at --start (arm joints, rad; hand joints at 0), far from the rest posture by default, and follows
the last command it received on --command-topic (sensor_msgs/JointState, by joint name) with a first-order
lag (time constant --tau), integrating at --rate, as a position-controlled robot under ros2_control would.
Joint names come from the robot YAML (arm joints then hand joints).
"""

import argparse
import math
from pathlib import Path

import yaml
from rclpy.node import Node
from sensor_msgs.msg import JointState

from scalehp_ros.ros.node_main import run_node

REPO = Path(__file__).resolve().parents[2]
FAR = "1.0,-1.0,1.0,-0.5,-1.0,1.2"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--robot", default=str(REPO / "config" / "robots" / "scalehp_ur5e_allegro.yaml"))
    parser.add_argument("--start", default=FAR, help="arm joint positions at start (rad, comma separated)")
    parser.add_argument("--command-topic", default="/retarget_node/joint_command")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--tau", type=float, default=0.03, help="first-order lag of the joints (s)")
    args = parser.parse_args()
    raw = yaml.safe_load(Path(args.robot).read_text())
    names = list(raw["arm"]["joints"]) + list(raw["hand"]["joints"])
    start = [float(v) for v in args.start.split(",")]
    state = dict(zip(names, start + [0.0] * (len(names) - len(start)), strict=True))
    command: dict[str, float] = {}

    def make_node() -> Node:
        node = Node("standin_robot")
        pub = node.create_publisher(JointState, "/joint_states", 50)

        def on_command(msg: JointState) -> None:
            command.update(zip(msg.name, msg.position, strict=False))

        node.create_subscription(JointState, args.command_topic, on_command, 50)
        alpha = 1.0 - math.exp(-1.0 / (args.rate * args.tau))

        def tick() -> None:
            for name, target in command.items():
                if name in state:
                    state[name] += alpha * (target - state[name])
            msg = JointState(name=names, position=[state[n] for n in names])
            msg.header.stamp = node.get_clock().now().to_msg()
            pub.publish(msg)

        node.create_timer(1.0 / args.rate, tick)
        return node

    return run_node(make_node, name="standin_robot")


if __name__ == "__main__":
    raise SystemExit(main())
