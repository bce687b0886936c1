"""`make demo` on a short excerpt: the whole graph from the one description, over real DDS, to out/ files."""

import json
import subprocess
import sys

import cv2
import pytest
from ros_harness import REPO, ros_env

pytestmark = [pytest.mark.ros, pytest.mark.slow]
TWO_LOCKSTEP = ("--hands", "two", "--pace", "lockstep")
PERCEPTION = ("--nodes", "perception", "--no-video")


def test_demo_on_an_excerpt_writes_video_and_summary(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "scalehp_ros.bringup.demo", "--out", str(out), "--max-frames", "45"],
        env=ros_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "skipping robot_state_publisher" in result.stdout  # ROS-only nodes are named, not silently dropped
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == 45
    # every node of the graph started and connected: frames in, hand joints out, robot commands out. The
    # perception subscription keeps only the newest frame (by design: no latency backlog), so on a loaded
    # 2-core machine it skips frames; detection accuracy itself is checked offline (test_estimator).
    assert summary["frames_with_hand"] >= 10
    assert summary["joint_state_messages"] >= 10
    assert 30 < summary["hand_size_mean_bone_mm"] < 60  # an adult hand's mean bone length, mm
    assert summary["latency_p50_ms"] > 0 and summary["retarget_ms_per_frame_p50"] > 0
    assert set(summary["exit_codes"]) == {"video_source", "hand_pose_node", "retarget_node", "sim_node"}
    # the real-time keys bench/realtime.py reads: frames processed (counted from hand_pose_node's reliable
    # ~/processed), MediaPipe's own time from the node's diagnostics, each process's CPU while the clip played
    assert summary["frames_with_hand"] <= summary["frames_processed"] <= 45
    assert summary["frames_processed_ratio"] == summary["frames_processed"] / 45
    assert 0 < summary["mediapipe_ms_p50"] <= summary["mediapipe_ms_p95"]
    assert summary["command_latency_p95_ms"] > 0
    assert set(summary["cpu_share"]) == {*summary["exit_codes"], "demo_recorder"}
    assert 0 < summary["cpu_share"]["hand_pose_node"] < 2.0  # a share of one core, of two on the machine
    # robot:=sim (the default): MuJoCo executed the commands in real time; every command inside the limits
    assert summary["robot"] == "sim" and summary["engaged"] == {"robot": True}
    assert summary["robot_commands_within_limits"] and summary["robot_arm_commands"] > 0
    assert summary["sim_real_time_factor"] >= 0.95
    video = cv2.VideoCapture(str(out / "demo.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == summary["video_frames"] == 45
    ok, frame = video.read()
    assert ok and frame.shape[1] > frame.shape[0]


def test_two_hand_demo_on_an_excerpt_drives_both_sides_of_the_simulated_robot(tmp_path):
    out = tmp_path / "two"
    result = subprocess.run(
        [sys.executable, "-m", "scalehp_ros.bringup.demo", "--out", str(out), "--max-frames", "60", *TWO_LOCKSTEP],
        env=ros_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["exit_codes"]) == {
        "video_source", "hand_pose_node", "left_retarget_node", "right_retarget_node", "sim_node"
    }  # fmt: skip
    # lockstep: every frame of the excerpt went through perception, and both hands were found on their sides
    # in (nearly) every one (issue 14's target: 95 %; at the clip's 30 fps a 2-core machine processes ~36 %)
    assert summary["frames"] == 60 and summary["pace"] == "lockstep"
    assert summary["both_hands_right_sides_rate"] >= 0.95
    assert summary["engaged"] == {"left": True, "right": True}
    for side in ("left", "right"):
        assert summary[f"{side}_arm_commands"] > 0 and summary[f"{side}_hand_commands"] > 0
        assert summary[f"{side}_commands_within_limits"]
    assert summary["video_frames"] == 60


def test_perception_only_run_for_the_real_time_benchmark(tmp_path):
    """--nodes perception: the camera and hand_pose_node alone (what perception sustains), summary only."""
    out = tmp_path / "perception"
    result = subprocess.run(
        [sys.executable, "-m", "scalehp_ros.bringup.demo", "--out", str(out), "--max-frames", "30", *PERCEPTION],
        env=ros_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["exit_codes"]) == {"video_source", "hand_pose_node"}
    assert summary["frames"] == 30 and summary["frames_processed"] > 0 and summary["mediapipe_ms_p50"] > 0
    assert summary["nodes"] == "perception" and not (out / "demo.mp4").exists()
