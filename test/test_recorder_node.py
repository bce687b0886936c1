"""recorder_node in the running graph over real DDS: an episode of the demo clip, its replay, and the faults.

The graph (video_source, hand_pose_node, retarget_node, recorder_node) comes from config/teleop_graph.yaml with
`record:=true`, each node a real process; this test process counts what the graph publishes and compares
the bag (reopened with rosbags) to it. Then a fresh hand_pose_node is fed the bag by scalehp-replay and
must give the same hand joints. The faults are in test_recorder_faults.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ros_harness import REPO, NodeProcess, ros_env, spin_until

from scalehp_ros.bringup.graph import resolve
from scalehp_ros.common.share import package_share
from scalehp_ros.recording.bag import BagReader
from scalehp_ros.recording.episode import file_sha256

pytestmark = [pytest.mark.ros, pytest.mark.slow]
FRAMES = 60
HEADERLESS = {"std_msgs/msg/Float64MultiArray"}


class Counter:
    """Counts every message of the graph's topics in this process (reliable where the publisher is).

    Not the images: deserialising 30 Hz raw frames in Python would load the 2 cores the graph runs on; their
    count is video_source's own ("end of video after N frames")."""

    def __init__(self, node):
        from diagnostic_msgs.msg import DiagnosticArray
        from geometry_msgs.msg import PoseArray, PoseStamped
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CameraInfo, JointState
        from std_msgs.msg import Float64MultiArray
        from tf2_msgs.msg import TFMessage
        from trajectory_msgs.msg import JointTrajectory

        self.counts: dict[str, int] = {}
        self.hands: dict[int, np.ndarray] = {}
        self.diag: dict[str, dict] = {}
        reliable = QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE)
        static = QoSProfile(
            depth=10, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
        )
        topics = {
            # reliable with a deep queue, not the sensor-data profile: a best-effort reader drops frames whenever
            # this process is descheduled on the 2 cores, and the count must be the publisher's
            "/camera/camera_info": (CameraInfo, reliable),
            "/hand_pose_node/left/joints": (PoseArray, reliable),
            "/hand_pose_node/right/joints": (PoseArray, reliable),
            "/tf": (TFMessage, reliable),
            "/tf_static": (TFMessage, static),
            "/joint_states": (JointState, reliable),
            "/retarget_node/arm/joint_trajectory": (JointTrajectory, reliable),
            "/retarget_node/hand/commands": (Float64MultiArray, reliable),
            "/retarget_node/ee_target": (PoseStamped, reliable),
        }
        for topic, (cls, qos) in topics.items():
            node.create_subscription(cls, topic, lambda m, t=topic: self._on(t, m), qos)
        node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 50)

    def _on(self, topic, msg) -> None:
        self.counts[topic] = self.counts.get(topic, 0) + 1
        if topic == "/hand_pose_node/right/joints":
            key = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
            self.hands[key] = np.array([[p.position.x, p.position.y, p.position.z] for p in msg.poses])

    def _on_diag(self, msg) -> None:
        for s in msg.status:
            self.diag[s.name] = {
                "level": int.from_bytes(s.level, "little") if isinstance(s.level, bytes) else int(s.level),
                "message": s.message,
                **{kv.key: kv.value for kv in s.values},
            }

    def recorder(self, name="recorder_node"):
        return self.diag.get(f"{name}: episode", {})


def _specs(out: Path, **extra):
    # no robot here: the visualisation-only run, whose commanded state stands in for the measured /joint_states
    args = {
        "rviz": "false",
        "record": "true",
        "record_dir": str(out),
        "simulate_robot": "true",
        "joint_command_topic": "/joint_states",
    }
    specs = {s.name: s for s in resolve(args) if s.module}
    specs["recorder_node"].parameters.update({"min_free_bytes": 0, **extra})
    return specs


# retarget_node's command loop streams these at its command_rate whether or not frames arrive (issue 11), so
# their count in an episode depends on when the start and stop requests land, to within a few periods.
STREAMED = {
    "/joint_states",
    "/retarget_node/arm/joint_trajectory",
    "/retarget_node/hand/commands",
    "/retarget_node/ee_target",
}


def _start(spec) -> NodeProcess:
    return NodeProcess(spec.module, *spec.ros_args(), env=ros_env())


def _call(node, client, timeout=20.0):
    from std_srvs.srv import Trigger

    assert client.wait_for_service(timeout_sec=timeout), f"{client.srv_name} not available"
    future = client.call_async(Trigger.Request())
    assert spin_until(node, future.done, timeout=timeout)
    return future.result()


def _subscribed(node, topic: str, who: str) -> bool:
    return any(i.node_name == who for i in node.get_subscriptions_info_by_topic(topic))


def _header_key(msg) -> int | None:
    header = getattr(msg, "header", None)
    if header is None and getattr(msg, "transforms", None) is not None and len(msg.transforms):
        header = msg.transforms[0].header
    return None if header is None else header.stamp.sec * 10**9 + header.stamp.nanosec


@pytest.fixture(scope="module")
def episode(tmp_path_factory):
    """The clip's first FRAMES frames recorded through the running graph; the live traffic counted here."""
    import rclpy
    from rclpy.node import Node
    from std_srvs.srv import Trigger

    out = tmp_path_factory.mktemp("episodes")
    specs = _specs(out, operator="tester")
    video = specs["video_source"]
    video.parameters.update(
        {"max_frames": FRAMES, "max_width": 640, "shutdown_at_end": True, "wait_for_subscribers": 3}
    )
    rclpy.init()
    node = Node("episode_test")
    counter = Counter(node)
    procs = {name: _start(specs[name]) for name in ("hand_pose_node", "retarget_node", "recorder_node")}
    try:
        ready = spin_until(
            node,
            lambda: (
                _subscribed(node, "/camera/image_raw", "hand_pose_node")
                and _subscribed(node, "/hand_pose_node/right/joints", "retarget_node")
                and _subscribed(node, "/camera/image_raw", "recorder_node")
            ),
            timeout=60,
        )
        assert ready, {n: p.output()[-2000:] for n, p in procs.items()}
        started = _call(node, node.create_client(Trigger, "/recorder_node/start_episode"))
        assert started.success, started.message
        counter.counts = {t: n for t, n in counter.counts.items() if t == "/tf_static"}  # count the episode only
        with _start(video) as source:
            spin_until(node, lambda: not source.alive(), timeout=60)
            spin_until(node, lambda: False, timeout=2.0)  # the last frames' outputs are in flight
            video_log = source.output()
        counts = dict(counter.counts)  # streamed topics keep flowing: snapshot before the stop request
        stopped = _call(node, node.create_client(Trigger, "/recorder_node/stop_episode"))
        assert stopped.success, stopped.message
        spin_until(node, lambda: counter.recorder().get("recording") == "false", timeout=5)
        live = {k: v.copy() for k, v in counter.hands.items()}
        for name in ("hand_pose_node", "retarget_node"):  # the replay runs on a fresh graph
            procs.pop(name).stop()
        yield {
            "bag": Path(stopped.message),
            "counts": counts,
            "live": live,
            "video_log": video_log,
            "node": node,
            "counter": counter,
            "recorder_log": procs["recorder_node"].output(),
        }
    finally:
        for p in procs.values():
            p.stop()
        node.destroy_node()
        rclpy.try_shutdown()


def test_the_bag_holds_every_topic_with_the_published_counts(episode):
    published = int(re.search(r"end of video after (\d+) frames", episode["video_log"]).group(1))
    assert published == FRAMES
    counts = episode["counts"]
    with BagReader(episode["bag"]) as bag:
        assert bag.storage == "mcap"
        topics = bag.topics
        meta = bag.custom_data
        dropped = json.loads(meta["dropped"])
        # images: every sent frame is in the bag (JPEG) or counted as dropped by the recorder
        assert topics["/camera/image_raw/compressed"] == (
            "sensor_msgs/msg/CompressedImage",
            published - dropped.get("/camera/image_raw", 0),
        )
        assert topics["/camera/camera_info"][1] == published - dropped.get("/camera/camera_info", 0)
        assert sum(dropped.values()) == 0, dropped  # none at 30 Hz here; the bench measures the margin
        for topic, n in counts.items():
            if topic in STREAMED:  # 50 Hz command stream: the episode's edges are a service call apart
                assert abs(topics[topic][1] - n) <= 0.1 * n + 10, (topic, topics[topic], n)
            else:  # one message per camera frame (or latched): exactly what the graph published
                assert topics[topic][1] == n, (topic, topics[topic], n)
        # the graph really ran (how many frames perception keeps up with on 2 loaded cores varies)
        assert counts["/hand_pose_node/right/joints"] >= 5 and counts["/joint_states"] >= 5
        for topic, (msgtype, _) in topics.items():
            if msgtype in HEADERLESS:
                continue
            keys = [_header_key(BagReader.decode(m)) for m in bag.messages({topic})]
            assert keys == sorted(keys), f"{topic}: header stamps out of order"
        logs = [m.log_time_ns for m in bag.messages()]
        assert logs == sorted(logs)
    robot = package_share() / "config/robots/scalehp_ur5e_allegro.yaml"
    assert meta["success"] == "true" and meta["operator"] == "tester"
    assert meta["robot_config_sha256"] == file_sha256(robot) and meta["robot_name"]
    calib = json.loads(meta["camera_calibration"])
    assert calib["width"] == 640 and calib["K"][0] > 0
    assert "right_scale_m" in meta["hand_scale"] and int(meta["stop_time_ns"]) > int(meta["start_time_ns"])


def test_replay_through_a_fresh_graph_gives_the_same_hand_joints(episode):
    node, counter = episode["node"], episode["counter"]
    counter.hands.clear()
    spec = _specs(episode["bag"].parent)["hand_pose_node"]
    with _start(spec) as hand:
        assert spin_until(node, lambda: _subscribed(node, "/camera/image_raw", "hand_pose_node"), timeout=60)
        replay = subprocess.run(
            [
                sys.executable,
                "-m",
                "scalehp_ros.bringup.replay",
                str(episode["bag"]),
                "--rate",
                "0",
                "--frame-timeout",
                "1.0",
            ],  # a slow CPU still answers every frame before the next is sent
            env=ros_env(),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert replay.returncode == 0, replay.stdout + replay.stderr
        assert f"replayed {FRAMES} frames" in replay.stdout
        spin_until(node, lambda: False, timeout=1.0)
        assert hand.alive()
    live, again = episode["live"], counter.hands
    common = sorted(set(live) & set(again))
    # MediaPipe's VIDEO-mode tracking depends on which frames came before: the live run skipped frames a
    # loaded CPU could not keep up with, the replay skips none, so a few marginal frames find the hand in one
    # run and not the other (seen here: 39 of 47 live frames in common on a slow machine)
    assert len(common) >= 0.75 * len(live), (len(common), len(live), len(again))
    err_mm = np.array([np.linalg.norm(live[k] - again[k], axis=1).mean() * 1e3 for k in common])
    print(
        f"replay vs live: {len(common)} frames, mean joint distance median {np.median(err_mm):.2f} mm, "
        f"p95 {np.percentile(err_mm, 95):.2f} mm, max {err_mm.max():.2f} mm"
    )
    # JPEG (quality 90) instead of raw pixels moves MediaPipe's keypoints by a fraction of a pixel, and the
    # live run skipped frames perception could not keep up with (replay at --rate 0 skips none), so the One
    # Euro filter's history differs: measured here median 1.5-2.3 mm, p95 7-10.5 mm over several runs
    assert np.median(err_mm) < 3.0 and np.percentile(err_mm, 95) < 15.0


def test_export_writes_one_parquet_table_per_episode(episode, tmp_path):
    import pyarrow.parquet as pq

    from scalehp_ros.recording.export import main as export_main

    assert export_main([str(episode["bag"]), "--out", str(tmp_path / "dataset")]) == 0
    table = pq.read_table(tmp_path / "dataset" / "data" / "episode_000000.parquet").to_pydict()
    with BagReader(episode["bag"]) as bag:
        topics = bag.topics
    assert len(table["frame_index"]) == topics["/camera/image_raw/compressed"][1]
    assert table["stamp_ns"] == sorted(table["stamp_ns"]) and table["next.done"][-1]
    hands = [h for h in table["observation.hand.right"] if h is not None]
    assert len(hands) == topics["/hand_pose_node/right/joints"][1] and len(hands[0]) == 63
    # the state and the commands stream at the command rate: each frame holds the last one (sample and hold)
    states = [s for s in table["observation.state"] if s is not None]
    assert len(states) >= len(table["frame_index"]) - 2 and len(states[0]) == 22  # 6 arm + 16 hand joints
    with BagReader(episode["bag"]) as bag:
        first_state = min(_header_key(BagReader.decode(m)) for m in bag.messages({"/joint_states"}))
    assert all(
        s is not None for s, k in zip(table["observation.state"], table["stamp_ns"], strict=True) if k >= first_state
    )
    actions = [a for a in table["action.hand"] if a is not None]
    assert len(actions) >= len(table["frame_index"]) - 2 and len(actions[0]) == 16
    assert table["observation.image"][0][:2] == b"\xff\xd8"  # JPEG
    info = json.loads((tmp_path / "dataset" / "meta" / "info.json").read_text())
    assert info["episodes"] == 1 and 20 < info["fps"] < 40 and len(info["joint_names"]) == 22
    assert (tmp_path / "dataset" / "mcap" / episode["bag"].name / "metadata.yaml").is_file()


def test_scalehp_eval_video_accepts_a_bag(episode):
    result = subprocess.run(
        [sys.executable, "-m", "scalehp_ros.evaluation", "--json", "video", str(episode["bag"])],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["frames"] == FRAMES and out["detection_rate"] > 0.8
