"""video_source: publishes frames of a video file or a webcam as sensor_msgs/Image + CameraInfo.

Frames go out at the source's native rate (or `rate`), stamped with the node clock at capture, as rgb8 on
`image` (reliable, keep-last 1, as REP 2003 asks of sensor drivers); CameraInfo on `camera_info` with the
same header. Intrinsics come from `camera_info_file` (camera_calibration YAML) or, without one, from
`hfov_deg`.

`pace: lockstep` (video files only) plays a clip as fast as the graph processes it, never faster than the
rate: the next frame goes out once the previous one's header comes back on `processed` (std_msgs/Header;
remap it to hand_pose_node's `~/processed`) or after `pace_timeout_s`. Offline evaluation of a clip on a
machine too slow for its frame rate then processes every frame instead of the newest one.

/diagnostics, 1 Hz: `video_source: stream` with the frames published, the rate, the pace, lockstep frames sent
after `pace_timeout_s` without an echo, and whether the source ended.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from scalehp_ros.common.params import Settings, param
from scalehp_ros.common.share import share_file
from scalehp_ros.perception.frame_source import CameraModel, FrameSource, camera_model_for, load_calibration
from scalehp_ros.ros.conversions.image import rgb_to_image_msg
from scalehp_ros.ros.diagnostics import OK, Diagnostics
from scalehp_ros.ros.node_main import run_node
from scalehp_ros.ros.parameters import ParameterBinding

DEMO_VIDEO = "human_hand_video.mp4"
DIAGNOSTICS_PERIOD_S = 1.0
SENSOR_PUBLISHER_QOS = QoSProfile(depth=1)  # reliable, volatile, keep last 1


@dataclass(frozen=True)
class VideoSourceSettings(Settings):
    """Parameters of video_source. Units: rate Hz, hfov_deg degrees, widths pixels."""

    video_file: str = param(
        "", "Video file to play; empty = the bundled demo clip (unless device >= 0).", dynamic=False
    )
    device: int = param(-1, "Webcam device index (V4L2 /dev/videoN); -1 = play video_file.", -1, 64, dynamic=False)
    rate: float = param(0.0, "Publish rate in Hz; 0 = the source's native frame rate.", 0.0, 240.0, dynamic=False)
    loop: bool = param(False, "Restart the video file at its end.")
    max_frames: int = param(0, "Stop after this many frames; 0 = no limit.", 0, 10_000_000)
    max_width: int = param(
        0, "Downscale wider frames to this width (pixels, aspect kept); 0 = keep.", 0, 8192, dynamic=False
    )
    frame_id: str = param(
        "camera_color_optical_frame", "header.frame_id: the camera optical frame (REP 103).", dynamic=False
    )
    camera_info_file: str = param(
        "", "camera_calibration YAML with the intrinsics; empty = use hfov_deg.", dynamic=False
    )
    hfov_deg: float = param(
        60.0,
        "Horizontal field of view (degrees) of the ideal pinhole used without camera_info_file.",
        1.0,
        179.0,
        dynamic=False,
    )
    wait_for_subscribers: int = param(
        0, "Hold the first frame until camera_info has this many subscribers.", 0, 100, dynamic=False
    )
    shutdown_at_end: bool = param(False, "Exit the process when the video ends (used by the demo).", dynamic=False)
    pace: str = param(
        "rate",
        "rate: publish at `rate`; lockstep (video files only): the next frame once the previous one's header "
        "came back on `processed`, or after pace_timeout_s, never faster than `rate`.",
        choices=("rate", "lockstep"),
        dynamic=False,
    )
    pace_timeout_s: float = param(
        1.0, "lockstep: publish the next frame after this long (s) without the previous one's echo.", 0.01, 60.0
    )


PARAMS = VideoSourceSettings.parameters()


def demo_video_path() -> Path:
    """The bundled demo clip (data/ of the package share folder)."""
    return share_file("data", DEMO_VIDEO)


def camera_info_msg(model: CameraModel, header) -> CameraInfo:
    info = CameraInfo()
    info.header = header
    info.width, info.height = model.width, model.height
    info.distortion_model = model.distortion_model
    info.d = [float(v) for v in model.D]
    info.k = [float(v) for v in model.K.ravel()]
    info.r = [float(v) for v in model.R.ravel()]
    info.p = [float(v) for v in model.projection().ravel()]
    return info


class VideoSource(Node):
    def __init__(self) -> None:
        super().__init__("video_source")
        self.params = ParameterBinding(self, PARAMS).values
        p = self.params
        if p["pace"] == "lockstep" and p["device"] >= 0:
            raise ValueError("pace: lockstep needs a video file; a webcam cannot wait for the graph")
        video = p["device"] if p["device"] >= 0 else (p["video_file"] or str(demo_video_path()))
        self.source = FrameSource(video, loop=p["loop"], max_width=p["max_width"])
        self.calibration = load_calibration(p["camera_info_file"]) if p["camera_info_file"] else None
        self.model: CameraModel | None = None
        # REP 2003: sensor drivers publish reliable (so reliable and best-effort subscribers both receive),
        # keeping only the newest frame; subscribers use the best-effort sensor-data profile.
        self.image_pub = self.create_publisher(Image, "image", SENSOR_PUBLISHER_QOS)
        self.info_pub = self.create_publisher(CameraInfo, "camera_info", SENSOR_PUBLISHER_QOS)
        rate = p["rate"] or self.source.fps
        self.video = video
        self.rate_hz = rate
        self.published = 0
        self.pace_timeouts = 0  # lockstep frames sent because the previous one's echo did not come back in time
        self.finished = False
        self.lockstep = p["pace"] == "lockstep"
        self.period_s = 1.0 / rate
        self.last_stamp = None  # header.stamp of the frame whose echo lockstep waits for
        self.last_publish = -float("inf")  # time.monotonic() of the last frame
        if self.lockstep:
            self.create_subscription(Header, "processed", self._on_processed, 10)
        self.timer = self.create_timer(self.period_s, self._tick)
        self.diagnostics = Diagnostics(self, "stream")
        self.create_timer(DIAGNOSTICS_PERIOD_S, self._publish_diagnostics)
        self.get_logger().info(f"publishing {video} at {rate:.1f} Hz as {p['frame_id']}")

    def _on_processed(self, msg: Header) -> None:
        if self.last_stamp is not None and msg.stamp == self.last_stamp:
            self.last_stamp = None
            if time.monotonic() - self.last_publish >= self.period_s:
                self._tick()

    def _tick(self) -> None:
        if self.finished:
            return
        if self.published == 0 and self.info_pub.get_subscription_count() < self.params["wait_for_subscribers"]:
            return
        if self.lockstep:
            waited = time.monotonic() - self.last_publish
            # half a period: the timer's phase is not the echo's, and a full one would skip a whole tick
            if waited < 0.5 * self.period_s or (self.last_stamp is not None and waited < self.params["pace_timeout_s"]):
                return
            if self.last_stamp is not None:
                self.pace_timeouts += 1
        max_frames = self.params["max_frames"]
        rgb = None if (max_frames and self.published >= max_frames) else self.source.read()
        if rgb is None:
            self.timer.cancel()
            self.finished = True
            self.get_logger().info(f"end of video after {self.published} frames")
            self._publish_diagnostics()
            return
        h, w = rgb.shape[:2]
        if self.model is None or (self.model.width, self.model.height) != (w, h):
            self.model = camera_model_for(w, h, self.calibration, self.params["hfov_deg"])
        msg = rgb_to_image_msg(rgb)
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.params["frame_id"]
        self.info_pub.publish(camera_info_msg(self.model, msg.header))
        self.image_pub.publish(msg)
        self.published += 1
        self.last_publish = time.monotonic()
        if self.lockstep:
            self.last_stamp = msg.header.stamp

    def _publish_diagnostics(self) -> None:
        values = {
            "source": self.video,
            "frames_published": self.published,
            "rate_hz": f"{self.rate_hz:.2f}",
            "pace": self.params["pace"],
            "pace_timeouts": self.pace_timeouts,
            "finished": self.finished,
        }
        self.diagnostics.publish(OK, "end of video" if self.finished else "publishing", values)

    def spin_until_done(self) -> None:
        """Spin until shutdown, or until the video ends when shutdown_at_end is set."""
        while rclpy.ok() and not (self.finished and self.params["shutdown_at_end"]):
            rclpy.spin_once(self, timeout_sec=0.1)

    def close(self) -> None:
        self.source.close()


def main(args: list[str] | None = None) -> int:
    return run_node(VideoSource, args, "video_source")


if __name__ == "__main__":
    raise SystemExit(main())
