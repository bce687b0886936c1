"""`make demo`: the whole teleoperation graph over real DDS on the bundled clip, recorded to out/.

Starts the graph of config/teleop_graph.yaml as processes (scalehp_ros.bringup.processes; the nodes that need a
ROS installation are skipped), plays the clip once through video_source, and records what crosses DDS
in this process: the CameraInfo stamps (one per frame), both hands' PoseArrays, the robot state and the
nodes' diagnostics. After the clip ends it renders <out>/demo.mp4 (input with the reprojected skeleton, the
metric hand from the front and the top, the robot following it) and writes <out>/summary.json.

--robot sim (the default of `make demo`): the graph's robot:=sim, sim_node (MuJoCo) executes the commands;
the retarget_node(s) start from its measured /joint_states (deadman none) and are engaged by this script
through ~/engage once a hand is seen; the robot state recorded is the measured /joint_states, and the robot
panel is MuJoCo's render of the same scene at the measured state of each frame, made after the run (sim_node
runs without its camera here: a live one cost perception frames on 2 cores; if sim_node's ~/image is
published, those images are used instead). --robot none: no robot, retarget_node runs with
simulate_robot (its commanded state stands in for the measured one) and the panel draws the stick figure.
--hands two: the two-hand clip (data/two_hand_video.mp4, tools/make_two_hand_clip.py) through the graph's
hands:=two (the bimanual robot, one retarget_node per side under /left and /right).

Run it under tools/run_isolated.sh (make demo does), which keeps DDS on loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from scalehp_ros.bringup.graph import resolve
from scalehp_ros.bringup.processes import GraphProcesses
from scalehp_ros.common.joints import SIDES, mean_bone_length
from scalehp_ros.common.share import package_share
from scalehp_ros.perception.camera import project
from scalehp_ros.perception.frame_source import FrameSource
from scalehp_ros.ros.video_source import demo_video_path

RECORD_WIDTH = 640  # width of the input panel's source frames (pixels)
COMMAND_TOPIC = "/retarget_node/joint_command"  # the commanded robot state (never /joint_states by default)
# the sim view shown with a camera frame: the newest one rendered by then plus the pipeline's latency
SIM_VIEW_DELAY_S = 0.1
TWO_HAND_VIDEO = "two_hand_video.mp4"


@dataclass
class RecordedHand:
    """The subset of HandPose the renderer draws, rebuilt from a PoseArray (camera frame, metres)."""

    joints_cam: np.ndarray
    joints_2d: np.ndarray
    handedness: str
    scale: float


def _stamp_key(stamp) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


class Recorder:
    """Collects the graph's traffic, keyed by image stamp, in the demo process."""

    def __init__(self, node, joint_state_topics: tuple[str, ...] = (COMMAND_TOPIC,), sides: tuple[str, ...] = ()):
        from diagnostic_msgs.msg import DiagnosticArray
        from geometry_msgs.msg import PoseArray
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CameraInfo, Image, JointState
        from std_msgs.msg import Float64MultiArray, Header
        from trajectory_msgs.msg import JointTrajectory

        # video_source publishes reliable (REP 2003); a best-effort reader here lost CameraInfo frames when the
        # 2 cores were loaded, and the k-th stamp must be the clip's k-th frame
        frames = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        self.stamps: list[int] = []  # image stamps in publish order (ns)
        self.K: np.ndarray | None = None
        self.image_size: tuple[int, int] | None = None
        self.hands: dict[int, dict[str, np.ndarray]] = {}
        self.hand_latency_ms: list[float] = []
        self.joint_states: dict[int, dict[str, float]] = {}
        self.diagnostics: dict[str, dict[str, str]] = {}
        self.info_time: list[float] = []  # receive time (s, monotonic) of each CameraInfo
        self.sim_images: list[tuple[float, np.ndarray]] = []  # (receive time, RGB) of sim_node's camera
        self.arm_commands: dict[str, list] = {s: [] for s in sides}  # per robot side: JointTrajectory messages
        self.hand_commands: dict[str, list] = {s: [] for s in sides}
        self.processed: set[int] = set()  # image stamps hand_pose_node finished (with or without a hand)
        node.create_subscription(CameraInfo, "/camera/camera_info", self._on_info, frames)
        node.create_subscription(
            Header, "/hand_pose_node/processed", lambda m: self.processed.add(_stamp_key(m.stamp)), frames
        )
        node.create_subscription(Image, "/sim_node/image", self._on_sim_image, 2)
        for side in sides:
            prefix = "/retarget_node" if side == "robot" else f"/{side}/retarget_node"
            node.create_subscription(
                JointTrajectory, f"{prefix}/arm/joint_trajectory", self.arm_commands[side].append, 100
            )
            node.create_subscription(Float64MultiArray, f"{prefix}/hand/commands", self.hand_commands[side].append, 100)
        for side in SIDES:
            node.create_subscription(
                PoseArray, f"/hand_pose_node/{side}/joints", lambda m, s=side: self._on_hand(s, m), 30
            )
        for topic in joint_state_topics:
            node.create_subscription(JointState, topic, self._on_joint_state, 100)
        node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 30)

    def _on_sim_image(self, msg) -> None:
        rgb = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.step)[:, : msg.width * 3]
        self.sim_images.append((time.monotonic(), rgb.reshape(msg.height, msg.width, 3).copy()))

    def _on_info(self, msg) -> None:
        # One CameraInfo per frame, with the frame's header, read reliably, so the k-th stamp is the clip's k-th
        # frame, which is read from the file again for rendering; summary["frames"] (from video_source's log)
        # shows if one went missing all the same.
        self.stamps.append(_stamp_key(msg.header.stamp))
        self.info_time.append(time.monotonic())
        self.K = np.array(msg.k, dtype=float).reshape(3, 3)
        self.image_size = (int(msg.width), int(msg.height))

    def _on_hand(self, side: str, msg) -> None:
        key = _stamp_key(msg.header.stamp)
        joints = np.array([[p.position.x, p.position.y, p.position.z] for p in msg.poses])
        self.hands.setdefault(key, {})[side] = joints
        self.hand_latency_ms.append((time.time() - key * 1e-9) * 1e3)

    def _on_joint_state(self, msg) -> None:
        # several publishers (one per side) merge: each stamp keeps every joint seen so far (one robot view)
        state = dict(self._last_state) if hasattr(self, "_last_state") else {}
        state.update(zip(msg.name, msg.position, strict=False))
        self._last_state = state
        self.joint_states[_stamp_key(msg.header.stamp)] = state

    def _on_diagnostics(self, msg) -> None:
        for status in msg.status:
            self.diagnostics[status.name] = {kv.key: kv.value for kv in status.values}


def _own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def _frames_published(log: Path) -> int | None:
    match = re.search(r"end of video after (\d+) frames", log.read_text(errors="replace")) if log.is_file() else None
    return int(match.group(1)) if match else None


def _summary(rec: Recorder, wall_s: float, published: int | None, cpu: dict[str, float] | None = None) -> dict:
    """What the run measured, from the traffic the recorder saw and the nodes' last diagnostics.

    cpu: each process's share of one core while the clip played (1.0 = a whole core)."""
    detected = [k for k in rec.stamps if k in rec.hands]
    right = np.array([mean_bone_length(rec.hands[k]["right"]) for k in detected if "right" in rec.hands[k]])
    lat = np.array(rec.hand_latency_ms)
    span_s = (rec.stamps[-1] - rec.stamps[0]) * 1e-9 if len(rec.stamps) > 1 else 0.0
    retarget = next((d for n, d in rec.diagnostics.items() if "retarget" in n), {})
    perception = next((d for n, d in rec.diagnostics.items() if "hand pose" in n), {})

    def number(d: dict, key: str) -> float | None:
        return float(d[key]) if key in d else None

    sent = published if published is not None else len(rec.stamps)
    processed = len(rec.processed.intersection(rec.stamps))
    return {
        "frames": sent,
        # frames hand_pose_node processed / frames the camera sent (a live camera's frames the graph is too
        # slow for are dropped by the depth-1 queues)
        "frames_processed": processed,
        "frames_processed_ratio": processed / sent if sent else 0.0,
        "mediapipe_ms_p50": number(perception, "mediapipe_ms_p50"),
        "mediapipe_ms_p95": number(perception, "mediapipe_ms_p95"),
        "cpu_share": {name: round(share, 3) for name, share in sorted((cpu or {}).items())},
        "frames_with_hand": len(detected),
        "detection_rate": len(detected) / len(rec.stamps) if rec.stamps else 0.0,
        "fps": len(detected) / span_s if span_s > 0 else 0.0,
        "input_fps": (len(rec.stamps) - 1) / span_s if span_s > 0 else 0.0,
        "latency_p50_ms": float(np.percentile(lat, 50)) if lat.size else None,
        "latency_p95_ms": float(np.percentile(lat, 95)) if lat.size else None,
        "frames_dropped_by_perception": int(perception.get("frames_dropped", 0)),
        "hand_size_mean_bone_mm": float(right.mean() * 1e3) if right.size else None,
        "hand_size_std_over_mean": float(right.std() / right.mean()) if right.size else None,
        "retarget_ms_per_frame_p50": number(retarget, "step_p50_ms"),
        "retarget_ms_per_frame_p95": number(retarget, "step_p95_ms"),
        "joint_state_messages": len(rec.joint_states),
        # image stamp -> robot command published, retarget_node's diagnostics (its last window of frames)
        "command_latency_p50_ms": number(retarget, "latency_p50_ms"),
        "command_latency_p95_ms": number(retarget, "latency_p95_ms"),
        "wall_time_s": wall_s,
        **_two_hand_summary(rec),
        **_sim_summary(rec),
    }


def _two_hand_summary(rec: Recorder) -> dict:
    """Frames with both hands, and with each on its side of the image (a person facing the camera: the right
    hand on the image's left, camera x < 0 at its wrist)."""
    both = [k for k in rec.stamps if set(rec.hands.get(k, {})) == {"left", "right"}]
    placed = [k for k in both if rec.hands[k]["right"][0, 0] < 0.0 < rec.hands[k]["left"][0, 0]]
    n = max(1, len(rec.stamps))
    return {"both_hands_rate": len(both) / n, "both_hands_right_sides_rate": len(placed) / n}


def _sim_summary(rec: Recorder) -> dict:
    sim = next((d for n, d in rec.diagnostics.items() if "sim_node" in n), None)
    if sim is None:
        return {}
    return {
        "sim_real_time_factor": float(sim["real_time_factor"]),
        "sim_lost_s": float(sim["lost_s"]),
        "sim_commands": int(sim["commands"]),
        "sim_images": len(rec.sim_images),
    }


def limits_check(rec: Recorder, configs: dict[str, Path]) -> dict:
    """Per robot side: arm and hand commands received, and whether every one was inside the URDF's position
    limits (and the arm's streamed velocities inside its velocity limits)."""
    from scalehp_ros.retargeting.robot_config import load_robot_config
    from scalehp_ros.retargeting.robot_model import RobotModel

    out = {}
    for side, path in configs.items():
        config = load_robot_config(path)
        arm, hand = RobotModel(config.arm.urdf, config.arm.joints), RobotModel(config.hand.urdf, config.hand.joints)
        ok = True
        for msg in rec.arm_commands.get(side, []):
            for point in msg.points:
                q = np.asarray(point.positions)
                ok &= bool(np.all(q >= arm.lower - 1e-9) and np.all(q <= arm.upper + 1e-9))
                ok &= bool(np.all(np.abs(point.velocities) <= arm.velocity + 1e-6))
        for msg in rec.hand_commands.get(side, []):
            q = np.asarray(msg.data)
            ok &= bool(np.all(q >= hand.lower - 1e-9) and np.all(q <= hand.upper + 1e-9))
        out[f"{side}_arm_commands"] = len(rec.arm_commands.get(side, []))
        out[f"{side}_hand_commands"] = len(rec.hand_commands.get(side, []))
        out[f"{side}_commands_within_limits"] = ok
    return out


def robot_model(robot_config_path: Path):
    """One pinocchio model of the arm with the hand on its end effector, for drawing (from the robot YAML)."""
    import pinocchio as pin

    from scalehp_ros.retargeting.robot_config import load_robot_config

    config = load_robot_config(robot_config_path)
    model = pin.buildModelFromUrdf(str(config.arm.urdf))
    if config.hand.urdf != config.arm.urdf:
        hand = pin.buildModelFromUrdf(str(config.hand.urdf))
        model = pin.appendModel(model, hand, model.getFrameId(config.arm.ee_frame), pin.SE3.Identity())
    return model


def configuration(model, state: dict[str, float]) -> np.ndarray:
    """pinocchio configuration from a JointState's {name: position} (other joints at neutral)."""
    import pinocchio as pin

    q = pin.neutral(model)
    for name, value in state.items():
        if model.existJointName(name):
            joint = model.joints[model.getJointId(name)]
            if joint.nq == 1:
                q[joint.idx_q] = value
    return q


def _render(
    rec: Recorder,
    video: Path,
    out_video: Path,
    robot_config_path: Path,
    fps: float,
    hfov_deg: float | None,
    robot_urdf: Path | None = None,
) -> int:
    """robot_urdf: the simulated robot; without sim_node's live images its MuJoCo view is rendered here from
    the recorded (measured) joint states."""
    sim_times = np.array([t for t, _ in rec.sim_images])
    replay = None
    if robot_urdf is not None and not sim_times.size:
        from scalehp_ros.simulation.sim import Simulation

        replay = Simulation(robot_urdf)
    from scalehp_ros.visualization.demo_view import DemoRenderer, VideoWriter

    model = robot_model(robot_config_path)
    renderer = DemoRenderer(model, camera_hfov_deg=hfov_deg)
    K = rec.K.copy()
    K[:2] *= RECORD_WIDTH / rec.image_size[0]
    source = FrameSource(video, max_width=rec.image_size[0])
    js_keys = np.array(sorted(rec.joint_states), dtype=np.int64)
    count = 0
    with VideoWriter(out_video, fps) as writer:
        for k, key in enumerate(rec.stamps):
            rgb = source.read()
            if rgb is None:
                break
            rgb = cv2.resize(rgb, (RECORD_WIDTH, round(rgb.shape[0] * RECORD_WIDTH / rgb.shape[1])))
            hands = [
                RecordedHand(j, project(j, K), side, float(mean_bone_length(j)))
                for side, j in rec.hands.get(key, {}).items()
            ]
            q = None
            i = int(np.searchsorted(js_keys, key, side="right")) - 1 if js_keys.size else -1
            if i >= 0:
                q = configuration(model, rec.joint_states[int(js_keys[i])])
            info = {"frame": f"{k + 1}/{len(rec.stamps)}", "hands": ", ".join(h.handedness for h in hands) or "none"}
            for h in hands:
                info[f"{h.handedness} mean bone mm"] = h.scale * 1e3
                info[f"{h.handedness} wrist depth m"] = float(h.joints_cam[0, 2])
            robot_image = None
            if sim_times.size and k < len(rec.info_time):
                j = int(np.searchsorted(sim_times, rec.info_time[k] + SIM_VIEW_DELAY_S, side="right")) - 1
                robot_image = rec.sim_images[max(j, 0)][1]
            elif replay is not None and i >= 0:
                robot_image = replay.render_state(rec.joint_states[int(js_keys[i])])
            writer.write(renderer.render(rgb, hands, q, info, robot_image=robot_image))
            count += 1
    source.close()
    if replay is not None:
        replay.close()
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--video", default="", help="video file (default: the bundled demo clip)")
    parser.add_argument("--max-frames", type=int, default=0, help="play only the first N frames (0 = all)")
    parser.add_argument("--robot-config", default="", help="config/robots/<name>.yaml (default: the graph's)")
    parser.add_argument("--timeout", type=float, default=150.0, help="give up after this many seconds")
    parser.add_argument("--robot", choices=("sim", "none"), default="sim", help="sim: MuJoCo executes the commands")
    parser.add_argument("--hands", choices=("one", "two"), default="one", help="two: the two-hand clip, bimanual")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="play the clip at this frame rate (Hz; 0 = its own, 30)"
    )
    parser.add_argument(
        "--pace",
        choices=("rate", "lockstep"),
        default="rate",
        help="rate: the clip at its frame rate, as a live camera (frames the graph is too slow for are dropped); "
        "lockstep: each frame once hand_pose_node has processed the previous one (every frame processed)",
    )
    parser.add_argument(
        "--nodes",
        choices=("all", "perception"),
        default="all",
        help="perception: only the camera and hand_pose_node (what perception alone sustains, bench/realtime.py)",
    )
    parser.add_argument(
        "--arm-target",
        choices=("", "wrist", "arm_reference"),
        default="",
        help="what the arm follows (the graph's arm_target; empty: config/retarget.yaml's, wrist)",
    )
    parser.add_argument("--no-video", action="store_true", help="skip rendering out/demo.mp4 (summary only)")
    opts = parser.parse_args(argv)
    if os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") != "LOCALHOST":
        print(
            "demo: refusing to start without ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST; run it with "
            "`make demo` (tools/run_isolated.sh)",
            file=sys.stderr,
        )
        return 2

    import rclpy
    from rclpy.experimental import EventsExecutor
    from rclpy.node import Node

    sim, two = opts.robot == "sim", opts.hands == "two"
    video_file = opts.video or (str(package_share() / "data" / TWO_HAND_VIDEO) if two else "")
    args = {"rviz": "false", "video_file": video_file, "robot": opts.robot, "hands": opts.hands, "pace": opts.pace}
    if opts.arm_target:
        args["arm_target"] = opts.arm_target
    if sim:
        args["deadman"] = "none"  # no pedal in the sandbox; this script engages the clutch(es)
    if opts.robot_config:
        args["robot_config"] = opts.robot_config
    if opts.nodes == "perception":
        sim, args["robot"] = False, "none"
    specs = resolve(args)
    source = next(s for s in specs if s.name == "video_source")
    # hand_pose_node and this recorder listen to camera_info: the clip starts once both are connected
    source.parameters.update({"shutdown_at_end": True, "max_frames": opts.max_frames, "wait_for_subscribers": 2})
    if opts.rate:
        source.parameters["rate"] = opts.rate
    retargets = [s for s in specs if s.name == "retarget_node"]
    for retarget in retargets:
        # No robot: the commanded-state loop (engaged on activation, no deadman), see retarget_node. With the
        # simulator: the measured state of sim_node, engaged below.
        retarget.parameters.update({"simulate_robot": not sim, "autostart": True})
        retarget.parameters.pop("joint_command_topic", None)
    sides = {("robot" if not s.namespace else s.namespace.strip("/")): s for s in retargets}
    side_configs = {side: package_share() / str(s.parameters["robot_config"]) for side, s in sides.items()}
    robot_config = side_configs["left" if two else "robot"]
    if opts.nodes == "perception":  # the robot config stays for drawing; no retargeting runs
        specs = [s for s in specs if s.name in ("video_source", "hand_pose_node")]
        sides, side_configs, retargets = {}, {}, []
    prefix = {side: ("" if side == "robot" else f"/{side}") + "/retarget_node" for side in sides}
    state_topics = ("/joint_states",) if sim else tuple(f"{p}/joint_command" for p in prefix.values())
    source.parameters.setdefault("max_width", 640)  # camera-sized frames cross DDS more reliably when smaller
    for spec in specs:
        if spec.name == "sim_node":
            # Two cores shared with MediaPipe: no live camera (a 5 Hz one cost ~10 % of a core and perception
            # frames); the video's robot panel is rendered by MuJoCo afterwards from the measured joint states.
            spec.parameters.update({"render_period": 0.0, "step_period": 0.02})

    opts.out.mkdir(parents=True, exist_ok=True)
    rclpy.init()
    node = Node("demo_recorder")
    rec = Recorder(node, state_topics, tuple(sides))
    from std_srvs.srv import SetBool

    engage = {side: node.create_client(SetBool, f"{p}/engage") for side, p in prefix.items()} if sim else {}
    engaged: dict[str, bool] = {}
    pending: dict[str, object] = {}
    # rclpy's events executor (single-threaded, C++ event queue): the recorder takes every message of the graph
    # (~250 a second with the simulator), and per message it costs about a third of SingleThreadedExecutor's
    # wait-set rebuild on the 2-core machine, CPU the perception node needs
    executor = EventsExecutor()
    executor.add_node(node)
    graph = GraphProcesses(specs, log_dir=opts.out / "logs")
    for spec in graph.skipped:
        print(f"demo: skipping {spec.name}: needs a ROS 2 installation (RViz / robot_state_publisher)")
    start = time.monotonic()
    # The camera starts last, once the perception and retargeting nodes (MediaPipe and pinocchio load for
    # a few seconds) subscribe to their inputs, so no frame of the clip goes unprocessed.
    graph.start({s.key for s in graph.specs} - {"video_source"})
    print(f"demo: started {', '.join(graph.procs)}; logs in {opts.out / 'logs'}", flush=True)
    ready = {"/camera/image_raw": "hand_pose_node"}  # fully qualified names (the graph's are relative)
    for s in retargets:
        ready["/" + str(s.parameters.get("joints_topic") or "hand_pose_node/right/joints").lstrip("/")] = s.name
    while (
        time.monotonic() - start < 60
        and not graph.exited()
        and not (
            all(
                any(info.node_name == who for info in node.get_subscriptions_info_by_topic(topic))
                for topic, who in ready.items()
            )
            and (not sim or node.count_publishers("/joint_states") > 0)
        )
    ):
        executor.spin_once(timeout_sec=0.1)
    graph.start({"video_source"})
    cpu_start, cpu_wall = {**graph.cpu_seconds(), "demo_recorder": _own_cpu_seconds()}, time.monotonic()
    print(f"demo: nodes ready after {time.monotonic() - start:.1f} s; playing the clip", flush=True)
    last_report, last_cpu, failed, cpu_end = 0.0, 0.0, None, {}
    try:
        while time.monotonic() - start < opts.timeout:
            executor.spin_once(timeout_sec=0.05)
            ended = graph.exited()
            if "video_source" in ended:
                break
            if ended:
                failed = ended
                break
            for side, client in engage.items():  # engage each side once its hand is seen (refused before)
                future = pending.get(side)
                if future is not None and future.done():
                    engaged[side] = bool(future.result().success)
                    pending.pop(side)
                if not engaged.get(side) and side not in pending and rec.hands and client.service_is_ready():
                    pending[side] = client.call_async(SetBool.Request(data=True))
            if time.monotonic() - last_cpu > 0.5:  # kept per process: video_source ends before the final sample
                last_cpu = time.monotonic()
                cpu_end.update(graph.cpu_seconds())
            if time.monotonic() - last_report > 2.0:
                last_report = time.monotonic()
                print(
                    f"demo: {time.monotonic() - start:5.1f} s  frames {len(rec.stamps):4d}  "
                    f"with hand {len(rec.hands):4d}  joint states {len(rec.joint_states):4d}",
                    flush=True,
                )
        drain = time.monotonic()
        while time.monotonic() - drain < 1.5:  # the last frames' outputs are still in flight
            executor.spin_once(timeout_sec=0.05)
    finally:
        wall = time.monotonic() - start
        cpu_end.update({**graph.cpu_seconds(), "demo_recorder": _own_cpu_seconds()})
        span = max(time.monotonic() - cpu_wall, 1e-6) if "cpu_wall" in locals() else 0.0
        cpu = {k: (cpu_end[k] - cpu_start[k]) / span for k in cpu_end if span and k in cpu_start}
        codes = graph.stop()
        node.destroy_node()
        rclpy.try_shutdown()
    if failed:
        print(f"demo: a node exited early: {failed}; see {opts.out / 'logs'}", file=sys.stderr)
        return 1
    if not rec.stamps:
        print("demo: no camera frame arrived", file=sys.stderr)
        return 1
    summary = _summary(rec, wall, _frames_published(opts.out / "logs" / "video_source.log"), cpu)
    summary["exit_codes"] = codes
    summary["robot"], summary["hands"], summary["pace"] = ("none" if not sim else opts.robot), opts.hands, opts.pace
    summary["engaged"] = engaged if sim else {side: True for side in sides}
    summary["nodes"] = opts.nodes
    summary.update(limits_check(rec, side_configs))
    if opts.no_video:
        (opts.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(json.dumps(summary, indent=2))
        print(f"demo: wrote {opts.out / 'summary.json'} (no video: --no-video)")
        return 0
    print("demo: rendering out video ...", flush=True)
    fps = opts.rate or 30.0
    hfov = float(np.degrees(2 * np.arctan(rec.image_size[0] / (2 * rec.K[0, 0])))) if rec.K is not None else None
    video = Path(video_file or demo_video_path())
    urdf = None
    if sim:
        from scalehp_ros.retargeting.robot_config import load_robot_config

        urdf = load_robot_config(robot_config).arm.urdf
    summary["video_frames"] = _render(rec, video, opts.out / "demo.mp4", robot_config, fps, hfov, urdf)
    (opts.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"demo: wrote {opts.out / 'demo.mp4'} and {opts.out / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
