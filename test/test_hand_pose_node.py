"""hand_pose_node over real DDS as a separate process, fed frames of the bundled clip from this process."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from ros_harness import REPO, NodeProcess, spin_until, subscribe

from scalehp_ros.common.joints import JOINT_NAMES, NUM_JOINTS, frame_name
from scalehp_ros.perception.camera import intrinsics_from_hfov
from scalehp_ros.perception.frame_source import CameraModel, FrameSource
from scalehp_ros.ros.conversions.image import rgb_to_image_msg
from scalehp_ros.ros.video_source import camera_info_msg, demo_video_path

pytestmark = pytest.mark.ros
W, H = 640, 360
FRAME_ID = "camera_color_optical_frame"


@pytest.fixture(scope="module")
def clip_frames():
    src = FrameSource(demo_video_path(), max_width=W)
    frames = [src.read() for _ in range(60)]
    src.close()
    return frames[::3]  # 20 frames spread over the first two seconds


class Harness:
    """Publishes frames / CameraInfo to the node and collects everything it sends back."""

    def __init__(self, node):
        from diagnostic_msgs.msg import DiagnosticArray
        from geometry_msgs.msg import PoseArray
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, Image
        from tf2_msgs.msg import TFMessage
        from visualization_msgs.msg import MarkerArray

        self.node = node
        self.image_pub = node.create_publisher(Image, "image", qos_profile_sensor_data)
        self.info_pub = node.create_publisher(CameraInfo, "camera_info", qos_profile_sensor_data)
        self.tf, self.markers, self.poses, self.diagnostics = [], [], [], []
        subscribe(node, TFMessage, "/tf", lambda m: self.tf.extend(m.transforms))
        subscribe(node, MarkerArray, "/hand_pose_node/markers", self.markers.append)
        subscribe(node, PoseArray, "/hand_pose_node/right/joints", self.poses.append)
        subscribe(node, DiagnosticArray, "/diagnostics", self.diagnostics.append)
        self.model = CameraModel(W, H, intrinsics_from_hfov(W, H, 60.0))
        self.k = 0

    def stamp(self):
        from builtin_interfaces.msg import Time

        self.k += 1
        t = 1000.0 + self.k / 30.0  # a known grid: outputs must carry exactly these stamps
        return Time(sec=int(t), nanosec=round((t % 1) * 1e9) % 1_000_000_000)

    def send(self, rgb=None, image=None, info=True):
        from std_msgs.msg import Header

        header = Header(stamp=self.stamp(), frame_id=FRAME_ID)
        if info:
            self.info_pub.publish(camera_info_msg(self.model, header))
        msg = image if image is not None else rgb_to_image_msg(rgb)
        msg.header = header
        self.image_pub.publish(msg)
        return header.stamp

    def tf_at(self, stamp):
        return [t for t in self.tf if t.header.stamp == stamp]

    def pump(self, seconds):
        spin_until(self.node, lambda: False, timeout=seconds)

    def wait_ready(self, proc, timeout=20.0):
        """Until the node (a separate process that first loads MediaPipe) subscribes to our topics."""
        ok = spin_until(
            self.node,
            lambda: self.image_pub.get_subscription_count() > 0 and self.info_pub.get_subscription_count() > 0,
            timeout=timeout,
        )
        assert ok, f"hand_pose_node did not subscribe within {timeout} s\n{proc.output()[-3000:]}"


@pytest.fixture
def running_node(ros):
    from rclpy.node import Node

    args = ["--ros-args", "--params-file", str(REPO / "config/hand_pose.yaml"), "-p", "max_image_pixels:=240000"]
    with NodeProcess("scalehp_ros.ros.hand_pose_node", *args) as proc:
        node = Node("hand_pose_probe")
        harness = Harness(node)
        yield proc, harness
        node.destroy_node()


def good_frame_is_served(h: Harness, proc, rgb, info=True, timeout=15.0):
    """Send `rgb` until one of these frames comes back as the 21 right-hand TFs, stamped with its stamp."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stamp = h.send(rgb, info=info)
        if spin_until(h.node, lambda s=stamp: len(h.tf_at(s)) >= NUM_JOINTS, timeout=0.5):
            return
    raise AssertionError(f"no good frame was served after the bad input\n{proc.output()[-3000:]}")


def test_clip_frames_give_right_hand_tf_markers_poses_and_diagnostics(running_node, clip_frames):
    proc, h = running_node
    h.wait_ready(proc)
    stamps = []
    deadline = time.monotonic() + 40.0
    while (len(h.poses) < 10 or not h.diagnostics) and time.monotonic() < deadline:
        stamps.append(h.send(clip_frames[len(stamps) % len(clip_frames)]))
        h.pump(1 / 15)
    h.pump(0.5)
    assert len(h.poses) >= 10 and h.diagnostics, f"{len(h.poses)} PoseArrays\n{proc.output()[-3000:]}"
    sent = {(s.sec, s.nanosec) for s in stamps}
    right = [t for t in h.tf if t.child_frame_id.startswith("right_hand_")]
    assert {t.child_frame_id for t in right} == {frame_name("right", j) for j in JOINT_NAMES}
    assert all(t.header.frame_id == FRAME_ID for t in right)
    assert {(t.header.stamp.sec, t.header.stamp.nanosec) for t in right} <= sent  # image stamps, never now()
    pose = h.poses[-1]
    assert len(pose.poses) == NUM_JOINTS and (pose.header.stamp.sec, pose.header.stamp.nanosec) in sent
    wrist = np.array([pose.poses[0].position.x, pose.poses[0].position.y, pose.poses[0].position.z])
    assert 0.1 < wrist[2] < 2.0, wrist  # metric depth in front of the camera
    from visualization_msgs.msg import Marker

    kinds = {m.type for arr in h.markers for m in arr.markers}
    assert {Marker.SPHERE_LIST, Marker.LINE_LIST, Marker.TEXT_VIEW_FACING} <= kinds
    status = [s for d in h.diagnostics for s in d.status if s.name.lstrip("/").startswith("hand_pose_node")]
    assert status and {"latency_p95_ms", "frames_dropped", "processed_fps"} <= {kv.key for kv in status[-1].values}


def test_bad_inputs_warn_and_the_next_good_frame_is_served(running_node, clip_frames):
    from sensor_msgs.msg import CameraInfo, Image

    proc, h = running_node
    h.wait_ready(proc)
    good = clip_frames[5]

    # no CameraInfo yet: skipped with a warning
    # Large best-effort messages can be lost on the way (sensor-data QoS): repeat each bad input until the
    # node has seen it, i.e. until its warning appears.
    def until_warned(text, send, timeout=10.0):
        deadline = time.monotonic() + timeout
        while text not in proc.output() and time.monotonic() < deadline:
            send()
            h.pump(0.3)
        assert proc.alive(), proc.output()[-3000:]
        assert text in proc.output(), f"missing warning {text!r}\n{proc.output()[-3000:]}"

    until_warned("no valid CameraInfo", lambda: h.send(good, info=False))
    good_frame_is_served(h, proc, good)

    bad_images = {
        "unsupported encoding": Image(height=H, width=W, encoding="bayer_rggb8", step=W, data=bytes(W * H)),
        "data length": Image(height=H, width=W, encoding="rgb8", step=W * 3, data=bytes(W * H * 3 - 7)),
        "exceeds the limit": rgb_to_image_msg(cv2.resize(good, (800, 600))),
    }
    for text, msg in bad_images.items():
        until_warned(text, lambda m=msg: h.send(image=m))
        good_frame_is_served(h, proc, good)
    # a CameraInfo with zero focal length is rejected; the last valid one stays in use
    from std_msgs.msg import Header

    until_warned(
        "CameraInfo rejected",
        lambda: h.info_pub.publish(CameraInfo(header=Header(frame_id=FRAME_ID), width=W, height=H, k=[0.0] * 9)),
    )
    good_frame_is_served(h, proc, good, info=False)
    # an image whose size does not match CameraInfo: same aspect is rescaled, another aspect is rejected
    good_frame_is_served(h, proc, cv2.resize(good, (320, 180)), info=False)
    until_warned("aspect ratio", lambda: h.send(cv2.resize(good, (320, 320)), info=False))
    good_frame_is_served(h, proc, good)

    time.sleep(1.2)
    assert spin_until(
        h.node,
        lambda: any(kv.key.startswith("problem_") for d in h.diagnostics for s in d.status for kv in s.values),
        timeout=3.0,
    )
    out = proc.output()
    for text in (
        "no valid CameraInfo",
        "unsupported encoding",
        "data length",
        "exceeds the limit",
        "CameraInfo rejected",
        "aspect ratio",
    ):
        assert text in out, f"missing warning {text!r}\n{out[-3000:]}"
    assert proc.alive()


def test_parameters_are_validated_at_run_time(running_node):
    from rclpy.parameter import Parameter
    from rclpy.parameter_client import AsyncParameterClient

    proc, h = running_node
    client = AsyncParameterClient(h.node, "hand_pose_node")
    assert client.wait_for_services(timeout_sec=10.0)

    def set_one(name, value):
        future = client.set_parameters([Parameter(name, value=value)])
        assert spin_until(h.node, future.done, timeout=5.0)
        return future.result().results[0]

    for name, value in (
        ("frontend.max_hands", 0),
        ("scale.mode", "guess"),
        ("frontend.min_detection_confidence", 1.5),
        ("scale.hand_length_m", -0.2),
        ("frontend.max_hands", "two"),
    ):
        result = set_one(name, value)
        assert not result.successful and result.reason, (name, value)
    assert set_one("frontend.max_hands", 1).successful
    assert set_one("scale.mode", "fixed").successful
    future = client.get_parameters(["frontend.max_hands", "scale.mode"])
    assert spin_until(h.node, future.done, timeout=5.0)
    assert [v.integer_value for v in future.result().values][:1] == [1]
    assert future.result().values[1].string_value == "fixed"
    assert proc.alive()


def _served(h: Harness, proc, rgb, timeout=15.0):
    """Send `rgb` until a right-hand PoseArray comes back for one of the sent stamps; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stamp = h.send(rgb)
        if spin_until(h.node, lambda s=stamp: any(p.header.stamp == s for p in h.poses), timeout=0.5):
            return next(p for p in h.poses if p.header.stamp == stamp)
    raise AssertionError(f"no frame was served\n{proc.output()[-3000:]}")


def test_a_replayed_stream_starts_afresh_instead_of_freezing(running_node, clip_frames):
    """A second `ros2 bag play` (or --loop, a simulator reset) sends the same stamps again: served, not dropped."""
    proc, h = running_node
    h.wait_ready(proc)
    h.k = 60  # the first play: 1002 s on
    _served(h, proc, clip_frames[5])
    h.k = 0  # the second play: the stamps start over from 1000 s
    h.poses.clear()
    _served(h, proc, clip_frames[5])
    assert "a new stream" in proc.output(), proc.output()[-3000:]


def test_camera_info_distortion_is_applied_and_an_uncalibrated_camera_is_explained(ros, clip_frames):
    from rclpy.node import Node

    def wrist(pose):
        return np.array([pose.poses[0].position.x, pose.poses[0].position.y, pose.poses[0].position.z])

    args = ["--ros-args", "-p", "max_image_pixels:=240000"]
    with NodeProcess("scalehp_ros.ros.hand_pose_node", *args) as proc:
        node = Node("distortion_probe")
        h = Harness(node)
        h.wait_ready(proc)
        plain = wrist(_served(h, proc, clip_frames[5]))
        h.model.D = [-0.4, 0.2, 0.0, 0.0, 0.0]  # strong barrel distortion (plumb_bob)
        h.k += 100  # a later stream time, so the filters pass the new pose through
        distorted = wrist(_served(h, proc, clip_frames[5]))
        # the keypoints are undistorted before the solve: the same pixels mean other rays, another position
        assert np.linalg.norm(distorted - plain) > 0.005, (plain, distorted)
        # usb_cam without a calibration file publishes K = 0: refused with what to do about it
        h.model.K = np.zeros((3, 3))
        deadline = time.monotonic() + 10.0
        while "uncalibrated" not in proc.output() and time.monotonic() < deadline:
            h.send(clip_frames[5])
            h.pump(0.3)
        assert "uncalibrated_hfov_deg" in proc.output(), proc.output()[-3000:]
        node.destroy_node()
    with NodeProcess("scalehp_ros.ros.hand_pose_node", *args, "-p", "uncalibrated_hfov_deg:=60.0") as proc:
        node = Node("uncalibrated_probe")
        h = Harness(node)
        h.model.K = np.zeros((3, 3))
        h.wait_ready(proc)
        assert 0.1 < wrist(_served(h, proc, clip_frames[5]))[2] < 2.0  # an ideal 60-degree pinhole stands in
        node.destroy_node()


def test_a_default_constructed_camera_info_from_a_driver_gives_all_21_joints(ros, clip_frames):
    """CameraInfo as many drivers and simulators send it: only size, K, P and frame_id set (distortion_model
    "", d empty, r zero, binning 0, roi zero), the frame_id with a ROS 1 leading slash. Every joint comes
    back, in the frame tf2 names (no slash), at the image stamp."""
    from rclpy.node import Node
    from sensor_msgs.msg import CameraInfo
    from std_msgs.msg import Header

    K = intrinsics_from_hfov(W, H, 60.0)
    P = np.hstack((K, np.zeros((3, 1))))
    with NodeProcess("scalehp_ros.ros.hand_pose_node", "--ros-args", "-p", "max_image_pixels:=240000") as proc:
        node = Node("driver_info_probe")
        h = Harness(node)
        h.wait_ready(proc)
        deadline, stamp = time.monotonic() + 30.0, None
        while time.monotonic() < deadline:
            header = Header(stamp=h.stamp(), frame_id="/" + FRAME_ID)
            info = CameraInfo(header=header, width=W, height=H, k=K.ravel().tolist(), p=P.ravel().tolist())
            assert info.distortion_model == "" and len(info.d) == 0 and info.binning_x == 0 and not any(info.r)
            h.info_pub.publish(info)
            image = rgb_to_image_msg(clip_frames[5])
            image.header = header
            h.image_pub.publish(image)
            if spin_until(node, lambda s=header.stamp: len(h.tf_at(s)) >= NUM_JOINTS, timeout=0.5):
                stamp = header.stamp
                break
        assert stamp is not None, f"no hand from a default CameraInfo\n{proc.output()[-3000:]}"
        right = h.tf_at(stamp)
        assert {t.child_frame_id for t in right} == {frame_name("right", j) for j in JOINT_NAMES}
        assert {t.header.frame_id for t in right} == {FRAME_ID}
        assert spin_until(node, lambda: any(p.header.stamp == stamp for p in h.poses), timeout=5.0)
        pose = next(p for p in h.poses if p.header.stamp == stamp)
        assert len(pose.poses) == NUM_JOINTS and pose.header.frame_id == FRAME_ID
        assert 0.1 < pose.poses[0].position.z < 2.0
        assert "CameraInfo rejected" not in proc.output() and "no valid CameraInfo" not in proc.output()
        node.destroy_node()
