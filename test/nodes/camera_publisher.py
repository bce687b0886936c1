"""Test fixture process: publishes synthetic 640x480 rgb8 frames and CameraInfo on `image` / `camera_info`.

A stand-in for a camera driver in transport tests (the project's own video_source node replaces it where
real video matters). Frames carry a moving gradient so consecutive messages differ.
"""

import argparse

import numpy as np
from rclpy.node import Node
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, Image

from scalehp_ros.ros.conversions.image import rgb_to_image_msg
from scalehp_ros.ros.node_main import run_node


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--fx", type=float, default=600.0)
    parser.add_argument("--cx", type=float, default=300.0)
    parser.add_argument("--cy", type=float, default=250.0)
    parser.add_argument("--frame-id", default="camera_color_optical_frame")
    parser.add_argument(
        "--stamp-base",
        type=float,
        default=None,
        help="stamp frame k with stamp-base + k/rate seconds (a known grid tests can check) instead of now()",
    )
    args = parser.parse_args()

    def make_node() -> Node:
        node = Node("camera_publisher")
        image_pub = node.create_publisher(Image, "image", 5)  # REP 2003: publish reliable
        info_pub = node.create_publisher(CameraInfo, "camera_info", 5)
        w, h = args.width, args.height
        base = np.zeros((h, w, 3), np.uint8)
        base[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
        count = [0]

        def tick() -> None:
            if args.stamp_base is None:
                stamp = node.get_clock().now().to_msg()
            else:
                stamp = Time(nanoseconds=round((args.stamp_base + count[0] / args.rate) * 1e9)).to_msg()
            frame = base.copy()
            frame[..., 1] = count[0] % 256
            msg = rgb_to_image_msg(frame)
            msg.header.stamp, msg.header.frame_id = stamp, args.frame_id
            info = CameraInfo()
            info.header = msg.header
            info.width, info.height = w, h
            info.distortion_model = "plumb_bob"
            info.d = [0.0] * 5
            info.k = [args.fx, 0.0, args.cx, 0.0, args.fx, args.cy, 0.0, 0.0, 1.0]
            info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
            info.p = [args.fx, 0.0, args.cx, 0.0, 0.0, args.fx, args.cy, 0.0, 0.0, 0.0, 1.0, 0.0]
            info_pub.publish(info)
            image_pub.publish(msg)
            count[0] += 1

        node.create_timer(1.0 / args.rate, tick)
        return node

    return run_node(make_node, name="camera_publisher")


if __name__ == "__main__":
    raise SystemExit(main())
