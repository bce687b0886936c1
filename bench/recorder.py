"""Cost of episode recording: image -> hand joints latency with recording on vs off, and episode bytes/s.

This process publishes the bundled clip (640x480, 30 Hz, with CameraInfo, stamped at publish) to a
hand_pose_node process and measures receive time minus image stamp of its right-hand PoseArray. A
recorder_node process (default topics, JPEG images) runs throughout; blocks with an episode being recorded
("on") alternate with blocks where it is idle ("off": subscribed, nothing written), so both conditions see
the same machine state and the ratio comes from one run. Bytes per second: each episode's bag size over its
duration. Run under tools/run_isolated.sh:

    tools/run_isolated.sh .venv/bin/python bench/recorder.py --blocks 6 --seconds 10 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from node_latency import HEIGHT, RATE, WIDTH, load_frames

from scalehp_ros.perception.camera import intrinsics_from_hfov
from scalehp_ros.perception.frame_source import CameraModel
from scalehp_ros.ros.conversions.image import rgb_to_image_msg
from scalehp_ros.ros.video_source import camera_info_msg

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=6, help="alternating off/on blocks (even)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one block")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    if os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") != "LOCALHOST":
        sys.exit("run under tools/run_isolated.sh (DDS must stay on loopback)")

    import subprocess

    import rclpy
    from geometry_msgs.msg import PoseArray
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image
    from std_srvs.srv import Trigger

    frames = load_frames()
    model = CameraModel(WIDTH, HEIGHT, intrinsics_from_hfov(WIDTH, HEIGHT, 60.0))
    out = Path(tempfile.mkdtemp(prefix="bench_recorder_"))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scalehp_ros.ros.hand_pose_node",
                "--ros-args",
                "-r",
                "image:=/camera/image_raw",
                "-r",
                "camera_info:=/camera/camera_info",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scalehp_ros.ros.recorder_node",
                "--ros-args",
                "-p",
                f"output_dir:={out}",
                "-p",
                "min_free_bytes:=0",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        ),
    ]
    rclpy.init()
    node = Node("bench_recorder")
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    image_pub = node.create_publisher(Image, "/camera/image_raw", qos_profile_sensor_data)
    info_pub = node.create_publisher(CameraInfo, "/camera/camera_info", qos_profile_sensor_data)
    latency: dict[str, list[float]] = {"off": [], "on": []}
    phase = {"name": "warmup"}
    sent = {"off": 0, "on": 0}

    def on_hand(msg) -> None:
        if phase["name"] in latency:
            stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
            latency[phase["name"]].append((time.time() - stamp) * 1e3)

    node.create_subscription(PoseArray, "/hand_pose_node/right/joints", on_hand, 10)
    start_cli = node.create_client(Trigger, "/recorder_node/start_episode")
    stop_cli = node.create_client(Trigger, "/recorder_node/stop_episode")

    def call(cli) -> str:
        cli.wait_for_service(timeout_sec=60)
        fut = cli.call_async(Trigger.Request())
        while not fut.done():
            ex.spin_once(timeout_sec=0.05)
        return fut.result().message

    k = 0

    def stream(seconds: float, name: str) -> None:
        nonlocal k
        phase["name"] = name
        period, t_next = 1.0 / RATE, time.monotonic()
        end = t_next + seconds
        while time.monotonic() < end:
            msg = rgb_to_image_msg(frames[k % len(frames)])
            k += 1
            msg.header.frame_id = "camera_color_optical_frame"
            msg.header.stamp = node.get_clock().now().to_msg()
            info_pub.publish(camera_info_msg(model, msg.header))
            image_pub.publish(msg)
            if name in sent:
                sent[name] += 1
            t_next += period
            while (wait := t_next - time.monotonic()) > 0:
                ex.spin_once(timeout_sec=wait)

    episodes = []
    try:
        while image_pub.get_subscription_count() < 2:
            ex.spin_once(timeout_sec=0.1)
        stream(opts.warmup, "warmup")
        for b in range(opts.blocks):
            if b % 2:
                call(start_cli)
                t0 = time.monotonic()
                stream(opts.seconds, "on")
                phase["name"] = "stopping"
                path = Path(call(stop_cli))
                episodes.append((path, time.monotonic() - t0))
            else:
                stream(opts.seconds, "off")
        phase["name"] = "done"
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
        for p in procs:
            p.send_signal(2)
            p.wait(10)

    def stats(v):
        a = np.array(v)
        return {"n": int(a.size), "p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95))}

    size = sum(f.stat().st_size for path, _ in episodes for f in path.glob("*") if f.is_file())
    seconds = sum(d for _, d in episodes)
    result = {
        "off": stats(latency["off"]),
        "on": stats(latency["on"]),
        "hands_per_frame_off": len(latency["off"]) / max(1, sent["off"]),
        "hands_per_frame_on": len(latency["on"]) / max(1, sent["on"]),
        "episode_bytes_per_s": size / seconds if seconds else None,
        "episodes": len(episodes),
    }
    result["ratio_p50_on_over_off"] = result["on"]["p50_ms"] / result["off"]["p50_ms"]
    result["ratio_p95_on_over_off"] = result["on"]["p95_ms"] / result["off"]["p95_ms"]
    off, on = result["off"], result["on"]
    print(
        f"latency off p50/p95 {off['p50_ms']:.1f}/{off['p95_ms']:.1f} ms, "
        f"on {on['p50_ms']:.1f}/{on['p95_ms']:.1f} ms "
        f"(ratio p50 {result['ratio_p50_on_over_off']:.2f}, p95 {result['ratio_p95_on_over_off']:.2f}); "
        f"hands per frame off {result['hands_per_frame_off']:.2f} on {result['hands_per_frame_on']:.2f}; "
        f"episode {result['episode_bytes_per_s'] / 1e6:.2f} MB/s"
    )
    if opts.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
