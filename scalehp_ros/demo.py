"""`make demo`: the whole teleoperation graph over real DDS on the bundled clip, recorded to out/.

Starts the graph of config/teleop_graph.yaml as processes (scalehp_ros.bringup; the nodes that need a
ROS installation are skipped), plays the clip once through video_source, and records what crosses DDS
in this process: camera frames, both hands' PoseArrays, the robot's JointState and the nodes'
diagnostics. After the clip ends it renders out/demo.mp4 (input with the reprojected skeleton, the metric
hand from the front and the top, the robot following it) and writes out/summary.json.

Run it under tools/run_isolated.sh (make demo does), which keeps DDS on loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from scalehp_ros.bringup import GraphProcesses
from scalehp_ros.graph import resolve
from scalehp_ros.joints import mean_bone_length

RECORD_WIDTH = 640  # frames are kept JPEG-compressed at this width until rendering


@dataclass
class RecordedHand:
    """The subset of HandPose the renderer draws, rebuilt from a PoseArray (camera frame, metres)."""

    joints_cam: np.ndarray
    joints_2d: np.ndarray
    handedness: str
    scale: float


def _stamp_key(stamp) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def project(K: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Pixel coordinates (n,2) of camera-frame points (n,3) under the pinhole K."""
    uvw = points @ K.T
    return uvw[:, :2] / uvw[:, 2:3]


class Recorder:
    """Collects the graph's traffic, keyed by image stamp, in the demo process."""

    def __init__(self, node):
        from diagnostic_msgs.msg import DiagnosticArray
        from geometry_msgs.msg import PoseArray
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CameraInfo, Image, JointState

        sensor = QoSProfile(depth=30, reliability=ReliabilityPolicy.BEST_EFFORT)
        self.frames: dict[int, bytes] = {}
        self.arrival: dict[int, float] = {}
        self.K: np.ndarray | None = None
        self.image_size: tuple[int, int] | None = None
        self.hands: dict[int, dict[str, np.ndarray]] = {}
        self.hand_latency_ms: list[float] = []
        self.joint_states: dict[int, dict[str, float]] = {}
        self.diagnostics: dict[str, dict[str, str]] = {}
        node.create_subscription(Image, "/camera/image_raw", self._on_image, sensor)
        node.create_subscription(CameraInfo, "/camera/camera_info", self._on_info, sensor)
        for side in ("left", "right"):
            node.create_subscription(
                PoseArray, f"/hand_pose_node/{side}/joints", lambda m, s=side: self._on_hand(s, m), 30
            )
        node.create_subscription(JointState, "/joint_states", self._on_joint_state, 30)
        node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 30)

    def _on_image(self, msg) -> None:
        from scalehp_ros.image_msg import image_msg_to_rgb

        rgb = image_msg_to_rgb(msg)
        self.image_size = (rgb.shape[1], rgb.shape[0])
        scale = RECORD_WIDTH / rgb.shape[1]
        small = cv2.resize(rgb, (RECORD_WIDTH, round(rgb.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        _, jpeg = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
        self.frames[_stamp_key(msg.header.stamp)] = jpeg.tobytes()

    def _on_info(self, msg) -> None:
        self.K = np.array(msg.k, dtype=float).reshape(3, 3)

    def _on_hand(self, side: str, msg) -> None:
        key = _stamp_key(msg.header.stamp)
        joints = np.array([[p.position.x, p.position.y, p.position.z] for p in msg.poses])
        self.hands.setdefault(key, {})[side] = joints
        self.hand_latency_ms.append((time.time() - key * 1e-9) * 1e3)

    def _on_joint_state(self, msg) -> None:
        self.joint_states[_stamp_key(msg.header.stamp)] = dict(zip(msg.name, msg.position, strict=False))

    def _on_diagnostics(self, msg) -> None:
        for status in msg.status:
            self.diagnostics[status.name] = {kv.key: kv.value for kv in status.values}


def _summary(rec: Recorder, wall_s: float, published: int) -> dict:
    keys = sorted(rec.frames)
    detected = [k for k in keys if k in rec.hands]
    right_scales = np.array([mean_bone_length(rec.hands[k]["right"]) for k in detected if "right" in rec.hands[k]])
    lat = np.array(rec.hand_latency_ms)
    retarget = next((d for n, d in rec.diagnostics.items() if "retarget" in n), {})
    perception = next((d for n, d in rec.diagnostics.items() if "hand pose" in n), {})
    return {
        "frames_published": published,
        "frames_received": len(keys),
        "frames_with_hand": len(detected),
        "detection_rate": len(detected) / len(keys) if keys else 0.0,
        "fps_processed": float(perception.get("processed_fps", "nan")),
        "fps_output": len(detected) / wall_s if wall_s > 0 else 0.0,
        "latency_p50_ms": float(np.percentile(lat, 50)) if lat.size else None,
        "latency_p95_ms": float(np.percentile(lat, 95)) if lat.size else None,
        "hand_scale_mean_mm": float(right_scales.mean() * 1e3) if right_scales.size else None,
        "hand_scale_std_over_mean": float(right_scales.std() / right_scales.mean()) if right_scales.size else None,
        "retarget_ms_per_frame": {k: v for k, v in retarget.items() if k.endswith("_ms")},
        "joint_state_messages": len(rec.joint_states),
        "wall_time_s": wall_s,
    }


def _render(rec: Recorder, out_video: Path, robot_config: str, fps: float) -> int:
    from scalehp_retarget.config import load_robot_config
    from scalehp_retarget.robot import load_model
    from scalehp_ros.demo_view import DemoRenderer, VideoWriter

    model = load_model(load_robot_config(robot_config))
    renderer = DemoRenderer(model)
    K = rec.K.copy()
    scale = RECORD_WIDTH / rec.image_size[0]
    K[:2] *= scale
    names = [model.names[j] for j in range(1, model.njoints)]
    js_keys = np.array(sorted(rec.joint_states))
    count = 0
    with VideoWriter(out_video, fps) as writer:
        for k, key in enumerate(sorted(rec.frames)):
            frame = cv2.cvtColor(
                cv2.imdecode(np.frombuffer(rec.frames[key], np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB
            )
            hands = [
                RecordedHand(j, project(K, j), side, float(mean_bone_length(j)))
                for side, j in rec.hands.get(key, {}).items()
            ]
            q = None
            if js_keys.size:
                i = np.searchsorted(js_keys, key, side="right") - 1
                if i >= 0:
                    state = rec.joint_states[int(js_keys[i])]
                    q = renderer.configuration(state)
            info = {"frame": f"{k + 1}/{len(rec.frames)}", "hands": ", ".join(h.handedness for h in hands) or "none"}
            if hands:
                info["hand size"] = f"{hands[0].scale * 1e3:.1f} mm bone"
            writer.write(renderer.render(frame, hands, q, info))
            count += 1
    del names
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--video", default="", help="video file (default: the bundled demo clip)")
    parser.add_argument("--max-frames", type=int, default=0, help="play only the first N frames (0 = all)")
    parser.add_argument("--robot-config", default="", help="config/robots/<name>.yaml (default: the graph's)")
    parser.add_argument("--timeout", type=float, default=150.0, help="give up after this many seconds")
    opts = parser.parse_args(argv)
    if os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") != "LOCALHOST":
        print(
            "demo: refusing to start without ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST; run it with "
            "`make demo` (tools/run_isolated.sh)",
            file=sys.stderr,
        )
        return 2

    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node

    args = {"rviz": "false", "video_file": opts.video}
    if opts.robot_config:
        args["robot_config"] = opts.robot_config
    specs = resolve(args)
    source = next(s for s in specs if s.name == "video_source")
    source.parameters.update({"shutdown_at_end": True, "max_frames": opts.max_frames})
    robot_config = next(s for s in specs if s.name == "retarget_node").parameters["robot_config"]

    opts.out.mkdir(parents=True, exist_ok=True)
    rclpy.init()
    node = Node("demo_recorder")
    rec = Recorder(node)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    graph = GraphProcesses(specs, log_dir=opts.out / "logs")
    for spec in graph.skipped:
        print(f"demo: skipping {spec.name}: needs a ROS 2 installation (RViz / robot_state_publisher)")
    start = time.monotonic()
    graph.start()
    print(f"demo: started {', '.join(s.name for s in graph.specs)}; logs in {opts.out / 'logs'}", flush=True)
    last_report, failed = 0.0, None
    try:
        while time.monotonic() - start < opts.timeout:
            executor.spin_once(timeout_sec=0.05)
            ended = graph.exited()
            if "video_source" in ended:
                break
            if ended:
                failed = ended
                break
            if time.monotonic() - last_report > 2.0:
                last_report = time.monotonic()
                print(
                    f"demo: {time.monotonic() - start:5.1f} s  frames {len(rec.frames):4d}  "
                    f"with hand {len(rec.hands):4d}  joint states {len(rec.joint_states):4d}",
                    flush=True,
                )
        drain = time.monotonic()
        while time.monotonic() - drain < 1.5:  # the last frames' outputs are still in flight
            executor.spin_once(timeout_sec=0.05)
    finally:
        wall = time.monotonic() - start
        codes = graph.stop()
        node.destroy_node()
        rclpy.try_shutdown()
    if failed:
        print(f"demo: a node exited early: {failed}; see {opts.out / 'logs'}", file=sys.stderr)
        return 1
    if not rec.frames:
        print("demo: no camera frame arrived", file=sys.stderr)
        return 1
    summary = _summary(rec, wall, len(rec.frames))
    summary["exit_codes"] = codes
    print("demo: rendering out video ...", flush=True)
    fps = 30.0
    summary["video_frames"] = _render(rec, opts.out / "demo.mp4", robot_config, fps)
    (opts.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"demo: wrote {opts.out / 'demo.mp4'} and {opts.out / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
