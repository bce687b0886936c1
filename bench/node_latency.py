"""Image publish -> TF receive latency of hand_pose_node over real DDS, at 30 Hz, 640x480, one hand.

This process publishes frames of the bundled clip (centre-cropped to 4:3 and resized to 640x480) with a
CameraInfo, stamped with the publish time; hand_pose_node runs as a separate process; this process
receives /tf and measures, for every right_hand_wrist transform, receive time minus image stamp.
It also samples the node's resident memory after a warm-up and at the end.

    tools/run_isolated.sh .venv/bin/python bench/node_latency.py --seconds 300 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from scalehp_ros.perception.camera import intrinsics_from_hfov
from scalehp_ros.perception.frame_source import CameraModel, FrameSource
from scalehp_ros.ros.conversions.geometry import stamp_seconds
from scalehp_ros.ros.conversions.image import rgb_to_image_msg
from scalehp_ros.ros.video_source import camera_info_msg, demo_video_path

REPO = Path(__file__).resolve().parent.parent

WIDTH, HEIGHT, RATE = 640, 480, 30.0


def load_frames(limit: int = 300) -> list[np.ndarray]:
    """Up to `limit` frames of the clip, centre-cropped to 4:3 and resized to 640x480 (RGB)."""
    src = FrameSource(demo_video_path())
    frames = []
    while len(frames) < limit and (rgb := src.read()) is not None:
        h, w = rgb.shape[:2]
        cw = min(w, h * 4 // 3)
        x0 = (w - cw) // 2
        frames.append(cv2.resize(rgb[:, x0 : x0 + cw], (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA))
    src.close()
    return frames


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="streaming time after warm-up")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    opts = parser.parse_args()
    if os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") != "LOCALHOST":
        sys.exit("run under tools/run_isolated.sh (DDS must stay on loopback)")

    import subprocess

    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image
    from tf2_msgs.msg import TFMessage

    from scalehp_ros.ros.tf_publisher import TF_QOS

    frames = load_frames()
    K = intrinsics_from_hfov(WIDTH, HEIGHT, 60.0)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    node_proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scalehp_ros.ros.hand_pose_node",
            "--ros-args",
            "--params-file",
            str(REPO / "config/hand_pose.yaml"),
            "-p",
            "frontend.max_hands:=1",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    rclpy.init()
    node = Node("latency_bench")
    image_pub = node.create_publisher(Image, "image", qos_profile_sensor_data)
    info_pub = node.create_publisher(CameraInfo, "camera_info", qos_profile_sensor_data)
    latencies: list[float] = []
    measuring = [False]

    def on_tf(msg: TFMessage) -> None:
        now = time.time()
        for t in msg.transforms:
            if t.child_frame_id == "right_hand_wrist" and measuring[0]:
                latencies.append((now - stamp_seconds(t.header.stamp)) * 1e3)

    node.create_subscription(TFMessage, "/tf", on_tf, TF_QOS)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    model = CameraModel(WIDTH, HEIGHT, K)
    sent = [0]

    def publish() -> None:
        msg = rgb_to_image_msg(frames[sent[0] % len(frames)])
        now = time.time()
        msg.header.stamp.sec, msg.header.stamp.nanosec = int(now), int((now % 1) * 1e9)
        msg.header.frame_id = "camera_color_optical_frame"
        info_pub.publish(camera_info_msg(model, msg.header))
        image_pub.publish(msg)
        sent[0] += 1

    node.create_timer(1.0 / RATE, publish)
    t0 = time.monotonic()
    while time.monotonic() - t0 < opts.warmup:
        executor.spin_once(timeout_sec=0.01)
    rss_start = rss_mb(node_proc.pid)
    measuring[0] = True
    sent_at_start = sent[0]
    t1 = time.monotonic()
    last = t1
    while time.monotonic() - t1 < opts.seconds:
        executor.spin_once(timeout_sec=0.01)
        if not opts.json and time.monotonic() - last > 10:
            last = time.monotonic()
            print(f"{last - t1:6.0f} s: {len(latencies)} TF, rss {rss_mb(node_proc.pid):.0f} MB", flush=True)
    elapsed = time.monotonic() - t1
    rss_end = rss_mb(node_proc.pid)
    frames_sent = sent[0] - sent_at_start
    node.destroy_node()
    rclpy.try_shutdown()
    node_proc.terminate()
    node_proc.wait(10)
    lat = np.array(latencies)
    result = {
        "p50_ms": float(np.percentile(lat, 50)) if lat.size else None,
        "p95_ms": float(np.percentile(lat, 95)) if lat.size else None,
        "fps": len(lat) / elapsed,
        "input_fps": frames_sent / elapsed,
        "frames_sent": frames_sent,
        "tf_received": int(lat.size),
        "rss_start_mb": rss_start,
        "rss_end_mb": rss_end,
        "seconds": elapsed,
    }
    if not opts.json:
        for k, v in result.items():
            print(f"{k:>14}: {v}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
