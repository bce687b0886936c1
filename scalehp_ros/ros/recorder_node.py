"""recorder_node: teleoperation episodes as rosbag2 bags (MCAP), a thin rclpy layer over EpisodeRecorder.

Subscribes  the `topics` parameter's topics, as serialized messages (no deserialisation in the callbacks);
            /diagnostics (hand_pose_node's scale for the metadata)
Publishes   /diagnostics (diagnostic_msgs/DiagnosticArray): `recorder_node: episode` status, 1 Hz
Services    ~/start_episode (std_srvs/Trigger): open a new bag in output_dir and record;
            ~/stop_episode (std_srvs/Trigger): close it, marked success=true;
            ~/stop_episode_failed (std_srvs/Trigger): close it, marked success=false.
            The responses' message is the bag's path (or why not).
Parameters  RecorderSettings (scalehp_ros.recording.episode) plus RecorderNodeSettings below; defaults in the
            dataclasses, config/recorder.yaml generated from them.

The callbacks only hand the bytes to a bounded queue; a writer thread compresses images and writes. A write
error, a full disk or a size limit ends the episode with a closed, readable bag and an ERROR (or WARN for a
limit) diagnostic; SIGINT/SIGTERM close an episode in progress (run_node calls close()).
"""

from __future__ import annotations

import importlib
import time
from collections import deque
from dataclasses import dataclass, field

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import CameraInfo
from std_srvs.srv import Trigger

from scalehp_ros.common.params import Settings, param
from scalehp_ros.common.share import package_share
from scalehp_ros.recording.episode import (
    EpisodeRecorder,
    RecorderSettings,
    camera_calibration_json,
    file_sha256,
    parse_topics,
)
from scalehp_ros.ros.diagnostics import ERROR, OK, WARN, Diagnostics
from scalehp_ros.ros.node_main import run_node
from scalehp_ros.ros.parameters import ParameterBinding

NODE_NAME = "recorder_node"
# Best effort receives from reliable and best-effort publishers alike; /tf_static needs transient local.
RECORD_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.BEST_EFFORT)
STATIC_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


@dataclass(frozen=True)
class RecorderNodeSettings(Settings):
    """The node's own parameters (the recording ones are RecorderSettings)."""

    start_on_launch: bool = param(False, "Start an episode as soon as the node is up.", dynamic=False)
    diagnostics_period: float = param(1.0, "Period of /diagnostics messages (s).", 0.1, 10.0, dynamic=False)


@dataclass(frozen=True)
class _AllSettings(Settings):
    node: RecorderNodeSettings = field(default_factory=RecorderNodeSettings)
    recorder: RecorderSettings = field(default_factory=RecorderSettings)


PARAMS = _AllSettings.parameters()
_RECORDER_NAMES = {s.name for s in RecorderSettings.parameters()}


def message_class(msgtype: str):
    """The rclpy message class of 'pkg/msg/Type' (ValueError when the package is not installed)."""
    pkg, _, name = msgtype.split("/")
    try:
        return getattr(importlib.import_module(f"{pkg}.msg"), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"message type {msgtype} is not available here: {exc}") from exc


class RecorderNode(Node):
    def __init__(self) -> None:
        super().__init__(NODE_NAME)
        settings = _AllSettings.from_flat(ParameterBinding(self, PARAMS, apply=self._apply_parameters).values)
        self.settings = settings.node
        self.recorder = EpisodeRecorder(settings.recorder)
        self.topics = parse_topics(settings.recorder.topics)  # ValueError: the node does not start
        self._subs: dict[str, object] = {}
        self._last_info: bytes | None = None
        self._static: deque[bytes] = deque(maxlen=64)  # /tf_static messages received so far (latched)
        self._hand_scale: dict[str, str] = {}
        self._start_error = ""
        self.diagnostics = Diagnostics(self, "episode")
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)
        self.create_service(Trigger, "~/start_episode", self._on_start)
        self.create_service(Trigger, "~/stop_episode", lambda req, res: self._on_stop(res, True))
        self.create_service(Trigger, "~/stop_episode_failed", lambda req, res: self._on_stop(res, False))
        self._subscribe_known()
        self.create_timer(0.5, self._subscribe_discovered)
        self.create_timer(self.settings.diagnostics_period, self._publish_diagnostics)
        self.get_logger().info(
            f"recording {len(self.topics)} topics to {settings.recorder.output_dir} "
            f"(images {settings.recorder.image_format}); services ~/start_episode, ~/stop_episode"
        )
        if self.settings.start_on_launch:
            self._start()

    def _apply_parameters(self, changes: dict) -> None:
        values = {k: v for k, v in changes.items() if k in _RECORDER_NAMES}
        if values:
            self.recorder.configure(self.recorder.settings.replace(**values))

    # subscriptions ----------------------------------------------------------------------------------------
    def _subscribe(self, topic: str, msgtype: str) -> None:
        cls = message_class(msgtype)
        qos = STATIC_QOS if topic == "/tf_static" else RECORD_QOS
        submit = self.recorder.submit
        if topic == "/tf_static":

            def callback(data: bytes, t=topic, m=msgtype) -> None:
                self._static.append(data)  # latched: kept for the next episodes' bags too
                submit(t, m, data, time.time_ns())
        elif msgtype == "sensor_msgs/msg/CameraInfo":

            def callback(data: bytes, t=topic, m=msgtype) -> None:
                self._last_info = data
                submit(t, m, data, time.time_ns())
        else:

            def callback(data: bytes, t=topic, m=msgtype) -> None:
                submit(t, m, data, time.time_ns())

        self._subs[topic] = self.create_subscription(cls, topic, callback, qos, raw=True)

    def _subscribe_known(self) -> None:
        for topic, msgtype in self.topics:
            if msgtype is not None:
                self._subscribe(topic, msgtype)

    def _subscribe_discovered(self) -> None:
        """Topics listed without a type: subscribe once the graph knows their type."""
        pending = {t for t, m in self.topics if m is None and t not in self._subs}
        if not pending:
            return
        for topic, types in self.get_topic_names_and_types():
            if topic in pending and types:
                try:
                    self._subscribe(topic, types[0])
                except ValueError as exc:
                    self.get_logger().warning(str(exc), throttle_duration_sec=10.0)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if "hand pose" in status.name:
                values = {kv.key: kv.value for kv in status.values}
                scale = {k: v for k, v in values.items() if k.endswith("_scale_m") or k == "scale_mode"}
                if any(k.endswith("_scale_m") for k in scale):
                    self._hand_scale = scale
                elif not self._hand_scale:
                    self._hand_scale = scale

    # episodes ---------------------------------------------------------------------------------------------
    def _start(self) -> tuple[bool, str]:
        try:
            path = self.recorder.start()
        except (OSError, RuntimeError, ValueError) as exc:
            self._start_error = f"cannot start an episode: {exc}"
            self.get_logger().error(self._start_error)
            self._publish_diagnostics()
            return False, self._start_error
        self._start_error = ""
        self.recorder.set_metadata(**self._robot_metadata())
        # /tf_static is latched: published once, usually before the episode; every bag needs it to place the
        # camera and the robot, as `ros2 bag record` gets it from transient-local publishers.
        for data in self._static:
            self.recorder.submit("/tf_static", "tf2_msgs/msg/TFMessage", data, time.time_ns())
        self.get_logger().info(f"episode started: {path}")
        self._publish_diagnostics()
        return True, str(path)

    def _robot_metadata(self) -> dict[str, str]:
        config = self.recorder.settings.robot_config
        path = package_share() / config
        meta = {"robot_config": config, "robot_name": "", "robot_config_sha256": ""}
        if path.is_file():
            import yaml

            meta["robot_config_sha256"] = file_sha256(path)
            data = yaml.safe_load(path.read_text()) or {}
            meta["robot_name"] = str(data.get("name", "")) if isinstance(data, dict) else ""
        return meta

    def _stop(self, success: bool, reason: str) -> tuple[bool, str]:
        if not self.recorder.open:
            return False, "no episode is being recorded"
        extra = {}
        if self._last_info is not None:
            extra["camera_calibration"] = camera_calibration_json(deserialize_message(self._last_info, CameraInfo))
        if self._hand_scale:
            extra["hand_scale"] = ", ".join(f"{k}={v}" for k, v in sorted(self._hand_scale.items()))
        self.recorder.set_metadata(**extra)
        path = self.recorder.stop(success, reason)
        state = self.recorder.state
        self.get_logger().info(
            f"episode closed: {path} ({state.bytes} bytes, {sum(state.written.values())} messages, "
            f"{sum(state.dropped.values())} dropped, success={success}, {state.stop_reason})"
        )
        self._publish_diagnostics()
        return True, str(path)

    def _on_start(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        response.success, response.message = self._start()
        return response

    def _on_stop(self, response: Trigger.Response, success: bool) -> Trigger.Response:
        response.success, response.message = self._stop(success, "stopped by service")
        return response

    def close(self) -> None:
        """Called by run_node on exit (SIGINT/SIGTERM): close an episode in progress cleanly."""
        if self.recorder.open:
            self._stop(False, "node shut down")

    # diagnostics ------------------------------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        if not self.context.ok():  # closing after SIGINT/SIGTERM: nothing can be published any more
            return
        state = self.recorder.state
        if self.recorder.open and not self.recorder.recording:
            self._stop(False, state.stop_reason or "error")  # the writer ended the episode: collect it
            return
        error = self._start_error or state.error
        if error:
            level = ERROR if not error.startswith("episode ended") else WARN
            message = error
        else:
            level = OK
            message = f"recording {state.path.name}" if state.recording else "idle"
        values = {
            "recording": state.recording,
            "episode": str(state.path or ""),
            "episodes": str(state.episodes),
            "bytes": str(state.bytes),
            "messages_received": str(sum(state.received.values())),
            "messages_written": str(sum(state.written.values())),
            "messages_dropped": str(sum(state.dropped.values())),
            "stop_reason": state.stop_reason,
            "subscribed": str(len(self._subs)),
        }
        for topic, count in sorted(state.written.items()):
            values[f"written {topic}"] = str(count)
        for topic, count in sorted(state.dropped.items()):
            values[f"dropped {topic}"] = str(count)
        self.diagnostics.publish(level, message, values)


def main(args: list[str] | None = None) -> int:
    return run_node(RecorderNode, args, NODE_NAME)


if __name__ == "__main__":
    raise SystemExit(main())
