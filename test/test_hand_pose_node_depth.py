"""hand_pose_node with a colour and a registered depth stream over real DDS (separate node process).

The clip has no depth, so the depth images are a flat surface at 0.5 m and the node runs with the widest
plausibility band (depth.band_frac 1.0): what is checked is the plumbing (pairing, refusal, staleness,
diagnostics, marker label), not accuracy (scalehp-eval rgbd, test_depth.py)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from ros_harness import REPO, NodeProcess, spin_until
from test_hand_pose_node import Harness, clip_frames  # noqa: F401  (the fixture, by name)

from scalehp_ros.ros.conversions.depth import metres_to_depth_msg
from scalehp_ros.ros.conversions.image import rgb_to_image_msg

pytestmark = pytest.mark.ros


class DepthHarness(Harness):
    def __init__(self, node):
        super().__init__(node)
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import Image

        self.depth_pub = node.create_publisher(Image, "depth", qos_profile_sensor_data)

    def send_pair(self, rgb, depth_msg=None, depth_dt=0.0):
        """Colour (+ depth with the same stamp shifted by depth_dt seconds, sent after it)."""
        from builtin_interfaces.msg import Time
        from std_msgs.msg import Header

        from scalehp_ros.ros.video_source import camera_info_msg

        header = Header(stamp=self.stamp(), frame_id="camera_color_optical_frame")
        self.info_pub.publish(camera_info_msg(self.model, header))
        msg = rgb_to_image_msg(rgb)
        msg.header = header
        self.image_pub.publish(msg)
        if depth_msg is not None:
            t = header.stamp.sec + header.stamp.nanosec * 1e-9 + depth_dt
            depth_msg.header = Header(
                stamp=Time(sec=int(t), nanosec=round((t % 1) * 1e9) % 1_000_000_000), frame_id=header.frame_id
            )
            self.depth_pub.publish(depth_msg)
        return header.stamp

    def last_values(self):
        status = [s for d in self.diagnostics for s in d.status if s.name.lstrip("/").startswith("hand_pose_node")]
        return {kv.key: kv.value for kv in status[-1].values} if status else {}


def _flat(h=360, w=640, z=0.5):
    return metres_to_depth_msg(np.full((h, w), z))


def test_depth_is_used_refused_when_bad_and_dropped_when_stale(ros, clip_frames):  # noqa: F811
    from rclpy.node import Node

    args = ["--ros-args", "--params-file", str(REPO / "config/hand_pose.yaml"), "-p", "max_image_pixels:=240000"]
    args += ["-p", "depth.band_frac:=1.0", "-p", "diagnostics_period:=0.5"]
    with NodeProcess("scalehp_ros.ros.hand_pose_node", *args) as proc:
        node = Node("hand_pose_depth_probe")
        h = DepthHarness(node)
        h.wait_ready(proc)
        assert spin_until(node, lambda: h.depth_pub.get_subscription_count() > 0, timeout=10.0)

        def run(seconds, depth=None, depth_dt=0.0, until=None):
            deadline = time.monotonic() + seconds
            k = 0
            while time.monotonic() < deadline:
                h.send_pair(clip_frames[k % len(clip_frames)], depth() if depth else None, depth_dt)
                k += 1
                h.pump(1 / 15)
                if until is not None and until():
                    return True
            return until() if until else True

        # 1. colour + depth: the depth path is used (diagnostics, marker label)
        ok = run(25.0, _flat, until=lambda: h.last_values().get("right_depth_used") == "true")
        assert ok, f"{h.last_values()}\n{proc.output()[-3000:]}"
        v = h.last_values()
        assert v["depth_stream"] == "active" and int(v["depth_frames_used"]) > 0
        assert v["calibration_state"] in ("collecting", "converged") and float(v["calibration_scale_m"]) > 0
        labels = [m.text for arr in h.markers for m in arr.markers if m.text]
        assert any("depth" in t and "calibration" in t for t in labels), labels[-3:]

        # 2. the depth stream stops: RGB only again, one warning, no storm, frames keep being served
        n_poses = len(h.poses)
        ok = run(
            10.0,
            until=lambda: (
                h.last_values().get("depth_stream") == "stale" and h.last_values().get("right_depth_used") == "false"
            ),
        )
        assert ok, f"{h.last_values()}\n{proc.output()[-3000:]}"
        run(1.5)
        assert len(h.poses) > n_poses + 5
        out = proc.output()
        assert out.count("depth stream stale") == 1, out[-3000:]
        assert out.count("depth image not paired") <= 2, out[-3000:]

        # 3. bad depth images are refused with a throttled warning; the colour frames are still served
        bad = {
            "is not the colour image's 640x360": lambda: _flat(180, 320),
            "unsupported depth encoding": lambda: rgb_to_image_msg(clip_frames[0]),
            "depth image not paired": _flat,  # stamped 3 s late
        }
        for text, make in bad.items():
            n_poses, start = len(h.poses), len(proc.output())
            t0 = time.monotonic()
            dt = 3.0 if text == "depth image not paired" else 0.0
            ok = run(15.0, make, dt, until=lambda t=text: t in proc.output())
            assert ok, f"missing warning {text!r}\n{proc.output()[-3000:]}"
            run(3.0, make, dt)
            elapsed = time.monotonic() - t0
            assert len(h.poses) > n_poses + 5, f"frames not served with bad depth ({text})"
            assert proc.output()[start:].count(text) <= elapsed / 2.0 + 1, f"warning {text!r} not throttled"
        assert proc.alive()
        node.destroy_node()


def test_depth_message_conversion_rep118():
    from sensor_msgs.msg import Image

    from scalehp_ros.ros.conversions.depth import depth_msg_to_metres

    d = np.array([[0.0, 0.5], [1.234, np.nan]])
    for enc in ("16UC1", "32FC1"):
        out = depth_msg_to_metres(metres_to_depth_msg(d, enc))
        assert out.dtype == np.float32 and out.shape == (2, 2)
        np.testing.assert_allclose(out, [[0.0, 0.5], [1.234, 0.0]], atol=1e-6)
    big = Image(height=1, width=2, encoding="16UC1", is_bigendian=1, step=4, data=bytes([0x01, 0xF4, 0, 0]))
    assert depth_msg_to_metres(big)[0, 0] == pytest.approx(0.5)  # 500 mm, big-endian
    padded = Image(height=1, width=1, encoding="16UC1", step=4, data=bytes([0xF4, 0x01, 9, 9]))
    assert depth_msg_to_metres(padded)[0, 0] == pytest.approx(0.5)
    for bad, text in (
        (Image(height=1, width=1, encoding="mono8", step=1, data=b"\x01"), "unsupported depth encoding"),
        (Image(height=1, width=2, encoding="16UC1", step=4, data=b"\x00"), "data length"),
    ):
        with pytest.raises(ValueError, match=text):
            depth_msg_to_metres(bad)
