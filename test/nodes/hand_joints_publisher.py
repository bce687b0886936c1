"""Test fixture process: publishes real hand joints as the perception node does (PoseArray, 21 poses).

The joints are data/human_joint_right_mediapipe.npy (MediaPipe world landmarks, wrist frame, metres), placed
0.5 m in front of a camera (optical frame: x right, y down, z forward), one frame per tick, stamped on a known
grid (stamp-base + k / rate) so tests can check that outputs carry the input stamps.

Frame 0 goes out once a subscriber is matched: a frame published before discovery is lost, and how many
were lost varied from run to run under load (test_tf2_ros compares runs frame by frame). After that the
frames keep coming whether or not anyone listens.
"""

import argparse
from pathlib import Path

import numpy as np
from geometry_msgs.msg import Pose, PoseArray
from rclpy.node import Node
from rclpy.time import Time

from scalehp_ros.ros.node_main import run_node

DATA = Path(__file__).resolve().parents[2] / "data" / "human_joint_right_mediapipe.npy"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--topic", default="/hand_pose_node/right/joints")
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--stamp-base", type=float, default=1000.0)
    parser.add_argument("--frame-id", default="camera_color_optical_frame")
    parser.add_argument("--stamp-now", action="store_true", help="stamp with the clock at publication (latency)")
    parser.add_argument("--mirror", action="store_true", help="mirror image (x -> -x): a left hand")
    parser.add_argument("--nan-every", type=int, default=0, help="send NaN joints every N-th message (0: never)")
    args = parser.parse_args()
    frames = np.load(DATA)
    # Wrist frame (z along the fingers) -> camera: fingers up (-y), palm toward the camera, 0.5 m away.
    rotation = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])
    frames = frames @ rotation.T + np.array([0.0, 0.05, 0.5])
    if args.mirror:
        frames = frames * np.array([-1.0, 1.0, 1.0])

    def make_node() -> Node:
        node = Node("hand_joints_publisher")
        pub = node.create_publisher(PoseArray, args.topic, 10)  # REP 2003: publish reliable
        count = [0]

        def tick() -> None:
            if count[0] == 0 and pub.get_subscription_count() == 0:
                return
            k = count[0]
            msg = PoseArray()
            msg.header.frame_id = args.frame_id
            msg.header.stamp = Time(nanoseconds=round((args.stamp_base + k / args.rate) * 1e9)).to_msg()
            if args.stamp_now:
                msg.header.stamp = node.get_clock().now().to_msg()
            joints = frames[k % len(frames)]
            if args.nan_every and k % args.nan_every == args.nan_every - 1:
                joints = np.full_like(joints, np.nan)
            for x, y, z in joints:
                pose = Pose()
                pose.position.x, pose.position.y, pose.position.z = float(x), float(y), float(z)
                pose.orientation.w = 1.0
                msg.poses.append(pose)
            pub.publish(msg)
            count[0] += 1

        node.create_timer(1.0 / args.rate, tick)
        return node

    return run_node(make_node, name="hand_joints_publisher")


if __name__ == "__main__":
    raise SystemExit(main())
