"""hand_pose_node's ~/calibrate service over real DDS, the node a separate process.

The done path: test/nodes/sheet_hand_pose_node.py is the real node with a detector that knows the synthetic
sheet renders' projected keypoints (MediaPipe does not see their line-drawn hand); the renders cross DDS as
Images, the session measures them, and the profile comes back through /diagnostics, the profile file and
the hand scale of the next frames. The refusal path with the real MediaPipe: the bundled clip (a real hand,
no sheet) is refused because the markers are missing.
"""

from __future__ import annotations

import time

import pytest
from ros_harness import REPO, NodeProcess, spin_until, subscribe

from scalehp_ros.evaluation.sheet_renders import HEIGHT, TRUE_LENGTHS, WIDTH, K, random_frames
from scalehp_ros.perception.camera import intrinsics_from_hfov
from scalehp_ros.perception.frame_source import CameraModel, FrameSource
from scalehp_ros.perception.profile import load_profile
from scalehp_ros.ros.conversions.image import rgb_to_image_msg
from scalehp_ros.ros.video_source import camera_info_msg, demo_video_path

pytestmark = pytest.mark.ros
N_FRAMES, SEED = 12, 0


class Probe:
    """Publishes frames and CameraInfo, calls ~/calibrate, keeps the node's latest diagnostics."""

    def __init__(self, model: CameraModel):
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.node import Node
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, Image
        from std_srvs.srv import Trigger

        self.node = Node("calibrate_probe")
        self.model = model
        self.image_pub = self.node.create_publisher(Image, "image", qos_profile_sensor_data)
        self.info_pub = self.node.create_publisher(CameraInfo, "camera_info", qos_profile_sensor_data)
        self.client = self.node.create_client(Trigger, "/hand_pose_node/calibrate")
        self.diag: dict[str, str] = {}
        subscribe(self.node, DiagnosticArray, "/diagnostics", self._on_diag)
        self.k = 0

    def _on_diag(self, msg) -> None:
        for status in msg.status:
            if status.name.lstrip("/").startswith("hand_pose_node"):
                self.diag = {kv.key: kv.value for kv in status.values}

    def send(self, rgb, info: bool = True) -> None:
        from builtin_interfaces.msg import Time
        from std_msgs.msg import Header

        self.k += 1
        t = 1000.0 + self.k / 30.0
        header = Header(stamp=Time(sec=int(t), nanosec=round((t % 1) * 1e9) % 1_000_000_000), frame_id="cam")
        if info:
            self.info_pub.publish(camera_info_msg(self.model, header))
        msg = rgb_to_image_msg(rgb)
        msg.header = header
        self.image_pub.publish(msg)

    def calibrate(self):
        from std_srvs.srv import Trigger

        assert self.client.wait_for_service(timeout_sec=20.0), "~/calibrate not offered"
        future = self.client.call_async(Trigger.Request())
        assert spin_until(self.node, future.done, 10.0)
        return future.result()

    def wait_ready(self, proc, timeout: float = 30.0) -> None:
        ok = spin_until(
            self.node,
            lambda: self.image_pub.get_subscription_count() > 0 and self.client.service_is_ready(),
            timeout,
        )
        assert ok, f"hand_pose_node not ready within {timeout} s\n{proc.output()[-3000:]}"

    def stream_until(self, frames, done, proc, timeout: float = 60.0) -> None:
        """Send `frames` round and round (10 Hz) until done(diag) holds."""
        deadline, i = time.monotonic() + timeout, 0
        while time.monotonic() < deadline:
            self.send(frames[i % len(frames)])
            i += 1
            if spin_until(self.node, lambda: done(self.diag), 0.1):
                return
        raise AssertionError(f"no such diagnostics within {timeout} s: {self.diag}\n{proc.output()[-3000:]}")


def test_calibrate_measures_the_sheet_renders_and_puts_the_profile_in_force(ros, tmp_path):
    out = tmp_path / "op" / "alice.yaml"
    args = [
        "-p",
        f"sheet_calibration.max_frames:={N_FRAMES}",
        "-p",
        "sheet_calibration.seconds:=60.0",
        "-p",
        f"sheet_calibration.profile_out:={out}",
    ]
    args += ["-p", "sheet_calibration.operator_name:=alice"]
    renders = [image for image, _, _ in random_frames(N_FRAMES, SEED)]
    probe = Probe(CameraModel(WIDTH, HEIGHT, K))
    with NodeProcess(
        str(REPO / "test/nodes/sheet_hand_pose_node.py"), str(N_FRAMES), str(SEED), "--ros-args", *args
    ) as proc:
        probe.wait_ready(proc)
        answer = probe.calibrate()
        assert not answer.success and "CameraInfo" in answer.message
        probe.stream_until(renders[:1], lambda d: d.get("hands_detected") == "1", proc)  # CameraInfo is in
        answer = probe.calibrate()
        assert answer.success and "collecting" in answer.message, answer.message
        again = probe.calibrate()
        assert not again.success and "already collecting" in again.message
        probe.stream_until(renders, lambda d: d.get("sheet_calibration_state") in ("done", "refused"), proc)
        diag = probe.diag
        assert diag["sheet_calibration_state"] == "done", diag
        scale = float(diag["sheet_calibration_right_scale_m"])
        error = abs(scale - TRUE_LENGTHS.mean()) / TRUE_LENGTHS.mean()
        assert error < 0.02, f"scale off by {100 * error:.2f} %"
        assert 0.0 < float(diag["sheet_calibration_right_spread"]) < 0.05
        assert diag["sheet_calibration_profile_written"] == str(out)
        profile = load_profile(out)
        assert profile.name == "alice" and profile.method == "aruco"
        # in force: the next frames' hands have the profile's scale
        probe.stream_until(renders, lambda d: abs(float(d.get("right_scale_m", 0)) - scale) < 2e-4, proc)
        # a new session on a sheet without markers is refused, saying why
        assert probe.calibrate().success
        blank = [image for image, _, _ in random_frames(3, SEED + 1, markers=False)]
        probe.stream_until(blank, lambda d: d.get("sheet_calibration_state") == "refused", proc, timeout=30.0)
        assert "markers not found" in probe.diag["sheet_calibration_reason"]
        assert "sheet_calibration_right_scale_m" not in probe.diag
    assert "sheet calibration refused: too few frames" in proc.output()
    probe.node.destroy_node()


def test_calibrate_with_mediapipe_on_a_hand_without_a_sheet_is_refused(ros):
    w, h = 640, 360
    source = FrameSource(demo_video_path(), max_width=w)
    clip = [source.read() for _ in range(30)][::3]
    source.close()
    probe = Probe(CameraModel(w, h, intrinsics_from_hfov(w, h, 60.0)))
    args = ["--ros-args", "-p", "sheet_calibration.max_frames:=8", "-p", "max_image_pixels:=240000"]
    with NodeProcess("scalehp_ros.ros.hand_pose_node", *args) as proc:
        probe.wait_ready(proc)
        probe.stream_until(clip[:1], lambda d: d.get("hands_detected") == "1", proc)
        assert probe.calibrate().success
        probe.stream_until(clip, lambda d: d.get("sheet_calibration_state") in ("done", "refused"), proc)
        assert probe.diag["sheet_calibration_state"] == "refused", probe.diag
        reason = probe.diag["sheet_calibration_reason"]
        assert reason.startswith("too few frames: 0 of 8 usable") and "markers not found" in reason
    probe.node.destroy_node()
