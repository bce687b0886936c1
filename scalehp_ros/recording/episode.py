"""The episode recorder core (ROS-free): a bounded queue, a writer thread, JPEG images, episode metadata.

The node hands every received message over as CDR bytes with its receive time (`submit`, non-blocking:
a full queue drops the message and counts it per topic). One writer thread per episode takes them off the
queue, compresses camera images (sensor_msgs/Image -> sensor_msgs/CompressedImage JPEG on `<topic>/compressed`,
the image_transport convention; `image_format: raw` keeps them) and appends them to an EpisodeBag. A write
error or a size limit ends the episode: the bag is closed with what was written and the error kept for the
node's diagnostics; the rest of the graph never waits for the disk.

Episode metadata goes into the bag's `metadata.yaml` `custom_data` (string values; see `EPISODE_KEYS`).
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from scalehp_ros.common.params import Settings, param
from scalehp_ros.recording.bag import BagFull, BagWriteError, EpisodeBag, raw_image_pixels, typestore

IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_TYPE = "sensor_msgs/msg/CompressedImage"
# The topics of the project's graph, with their types so the recorder subscribes before the publishers appear.
# Issue 11 moves retarget_node's command onto ~/joint_command: it is listed without a type (found from the
# graph when it appears); a topic that never appears is simply absent from the bag.
DEFAULT_TOPICS = ",".join(
    (
        "/camera/image_raw:sensor_msgs/msg/Image",
        "/camera/camera_info:sensor_msgs/msg/CameraInfo",
        "/hand_pose_node/left/joints:geometry_msgs/msg/PoseArray",
        "/hand_pose_node/right/joints:geometry_msgs/msg/PoseArray",
        "/hand_pose_node/left/tracking:diagnostic_msgs/msg/DiagnosticArray",  # tracked / held / lost, age
        "/hand_pose_node/right/tracking:diagnostic_msgs/msg/DiagnosticArray",
        "/tf:tf2_msgs/msg/TFMessage",
        "/tf_static:tf2_msgs/msg/TFMessage",
        "/joint_states:sensor_msgs/msg/JointState",
        "/retarget_node/arm/joint_trajectory:trajectory_msgs/msg/JointTrajectory",
        "/retarget_node/hand/commands:std_msgs/msg/Float64MultiArray",
        "/retarget_node/ee_target:geometry_msgs/msg/PoseStamped",
        "/retarget_node/joint_command",
    )
)
EPISODE_KEYS = (
    "episode",  # the bag folder's name
    "operator",
    "task",
    "hand_length_m",  # the operator's measured hand length given to the recorder ("" = none)
    "hand_scale",  # hand_pose_node's scale at the end of the episode (its diagnostics: mode and mean bone)
    "robot_config",
    "robot_name",
    "robot_config_sha256",
    "camera_calibration",  # JSON: width, height, distortion_model, K, D, P of the last CameraInfo
    "package_version",
    "start_time_ns",
    "stop_time_ns",
    "success",  # "true" / "false"
    "stop_reason",
    "image_format",
    "received",  # JSON {topic: messages handed to the recorder during the episode}
    "dropped",  # JSON {topic: messages dropped because the writer queue was full}
)


@dataclass(frozen=True)
class RecorderSettings(Settings):
    """Parameters of the episode recorder (recorder_node). Sizes in bytes."""

    output_dir: str = param(
        "episodes", "Folder for the episode bags (one rosbag2 folder per episode); relative to the working directory."
    )
    topics: str = param(
        DEFAULT_TOPICS,
        "Comma-separated topics to record, each 'name' (type found from the graph) or 'name:pkg/msg/Type'.",
        dynamic=False,
    )
    image_format: str = param(
        "jpeg",
        "Camera images (sensor_msgs/Image) as 'jpeg' (CompressedImage on <topic>/compressed) or 'raw'.",
        choices=("jpeg", "raw"),
    )
    jpeg_quality: int = param(90, "JPEG quality of recorded camera images.", 1, 100)
    queue_size: int = param(
        300, "Messages waiting for the writer thread at most; more are dropped and counted.", 1, 100_000, dynamic=False
    )
    max_bytes: int = param(0, "End the episode when its bag reaches this size; 0 = no limit.", 0, 2**62)
    min_free_bytes: int = param(
        64 << 20, "End the episode when the filesystem's free space falls below this; 0 = no check.", 0, 2**62
    )
    reserve_bytes: int = param(
        1 << 20,
        "Space reserved in each bag folder to close the bag after a write fails for lack of space.",
        0,
        256 << 20,
    )
    operator: str = param("", "Operator name or id (episode metadata).")
    task: str = param("", "Task being demonstrated (episode metadata).")
    hand_length_m: float = param(
        0.0, "Operator's measured hand length in metres (episode metadata); 0 = not given.", 0.0, 0.4
    )
    robot_config: str = param(
        "config/robots/scalehp_ur5e_allegro.yaml",
        "Robot YAML the graph runs (its name and SHA-256 go into the metadata); relative to the package share.",
    )


@dataclass
class EpisodeState:
    """What the node reports: the episode in progress or the last one, counts, the last error."""

    recording: bool = False
    path: Path | None = None
    received: dict[str, int] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    error: str = ""
    stop_reason: str = ""
    episodes: int = 0


def parse_topics(text: str) -> list[tuple[str, str | None]]:
    """[(topic, type or None)] from 'name[:pkg/msg/Type], ...'; ValueError on a malformed entry."""
    out = []
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        name, _, msgtype = item.partition(":")
        if not name.startswith("/"):
            raise ValueError(f"recorded topics must be absolute names, got {name!r}")
        if msgtype and msgtype.count("/") != 2:
            raise ValueError(f"message type of {name} must look like pkg/msg/Type, got {msgtype!r}")
        out.append((name, msgtype or None))
    return out


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("scalehp_ros")
    except PackageNotFoundError:
        return "unknown"


def camera_calibration_json(info) -> str:
    """JSON of a CameraInfo's calibration (rosbags or rclpy message: the same field names)."""
    return json.dumps(
        {
            "width": int(info.width),
            "height": int(info.height),
            "distortion_model": str(info.distortion_model),
            "K": [float(v) for v in info.k],
            "D": [float(v) for v in info.d],
            "P": [float(v) for v in info.p],
            "frame_id": str(info.header.frame_id),
        }
    )


def compress_image(data: bytes, quality: int) -> bytes:
    """CDR of a sensor_msgs/Image (rgb8, bgr8, mono8) -> CDR of a JPEG sensor_msgs/CompressedImage, same header."""
    import cv2

    store = typestore()
    img = store.deserialize_cdr(data, IMAGE_TYPE)
    enc = img.encoding.lower()
    pixels = raw_image_pixels(img, "JPEG-compress")
    if enc == "rgb8":
        pixels = pixels[:, :, ::-1]
    ok, jpeg = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    fmt = f"{enc}; jpeg compressed {'mono8' if pixels.shape[2] == 1 else 'bgr8'}"
    msg = store.types[COMPRESSED_TYPE](header=img.header, format=fmt, data=jpeg.reshape(-1))
    return bytes(store.serialize_cdr(msg, COMPRESSED_TYPE))


_STOP = object()


class EpisodeRecorder:
    """Episodes as bags: start/stop from the node's thread, messages written by one writer thread each."""

    def __init__(self, settings: RecorderSettings | None = None) -> None:
        self.settings = settings or RecorderSettings()
        self.state = EpisodeState()
        self._lock = threading.Lock()
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._bag: EpisodeBag | None = None
        self._meta: dict[str, str] = {}

    @property
    def recording(self) -> bool:
        """Accepting messages (False again once a write error or a limit ended the episode)."""
        return self.state.recording

    @property
    def open(self) -> bool:
        """An episode was started and not yet collected with stop() (its writer may have ended it already)."""
        return self._thread is not None

    def configure(self, settings: RecorderSettings) -> None:
        """New settings; they apply from the next episode on."""
        self.settings = settings

    # -- the node's thread -----------------------------------------------------------------------------------
    def start(self, name: str | None = None, now_ns: int | None = None) -> Path:
        """Open a new episode bag in output_dir (OSError / BagWriteError when impossible) and start writing."""
        if self.state.recording:
            raise RuntimeError(f"an episode is already being recorded: {self.state.path}")
        s = self.settings
        now_ns = time.time_ns() if now_ns is None else now_ns
        name = name or time.strftime("episode_%Y%m%d_%H%M%S", time.localtime(now_ns * 1e-9)) + f"_{now_ns % 10**9:09d}"
        out = Path(s.output_dir).expanduser()
        out.mkdir(parents=True, exist_ok=True)
        bag = EpisodeBag(
            out / name, reserve_bytes=s.reserve_bytes, max_bytes=s.max_bytes, min_free_bytes=s.min_free_bytes
        )
        with self._lock:
            self._bag = bag
            self._queue = queue.Queue(maxsize=s.queue_size)
            self._meta = {
                "episode": name,
                "operator": s.operator,
                "task": s.task,
                "hand_length_m": f"{s.hand_length_m}" if s.hand_length_m else "",
                "start_time_ns": str(now_ns),
                "image_format": s.image_format,
                "package_version": package_version(),
            }
            self.state = EpisodeState(recording=True, path=bag.path, episodes=self.state.episodes + 1)
        self._thread = threading.Thread(
            target=self._run, args=(bag, self._queue, s), name="episode-writer", daemon=True
        )
        self._thread.start()
        return bag.path

    def submit(self, topic: str, msgtype: str, data: bytes, log_time_ns: int) -> bool:
        """Queue one message (CDR bytes) for the episode; False when not recording or dropped (queue full)."""
        state = self.state
        if not state.recording or self._queue is None:
            return False
        state.received[topic] = state.received.get(topic, 0) + 1
        try:
            self._queue.put_nowait((topic, msgtype, data, log_time_ns))
        except queue.Full:
            state.dropped[topic] = state.dropped.get(topic, 0) + 1
            return False
        return True

    def set_metadata(self, **values: str) -> None:
        """Metadata known only later (camera calibration, hand scale, robot): kept for the close."""
        self._meta.update({k: str(v) for k, v in values.items()})

    def stop(self, success: bool, reason: str = "stopped", now_ns: int | None = None) -> Path | None:
        """Finish the episode: drain the queue, close the bag with its metadata; the bag's path (None: none)."""
        thread, q = self._thread, self._queue
        if thread is None or q is None:
            return None
        if self.state.recording:
            self._meta.update(
                stop_time_ns=str(time.time_ns() if now_ns is None else now_ns),
                success="true" if success else "false",
                stop_reason=reason,
            )
            self.state.recording = False
            self.state.stop_reason = reason
        q.put(_STOP)  # blocks only while the queue is full: the writer thread is draining it
        thread.join()
        self._thread = self._queue = None
        return self.state.path

    # -- the writer thread -----------------------------------------------------------------------------------
    def _run(self, bag: EpisodeBag, q: queue.Queue, s: RecorderSettings) -> None:
        state = self.state
        try:
            while True:
                item = q.get()
                if item is _STOP:
                    break
                topic, msgtype, data, t = item
                if msgtype == IMAGE_TYPE and s.image_format == "jpeg":
                    try:
                        data = compress_image(data, s.jpeg_quality)
                    except ValueError as exc:
                        state.error = f"{topic}: {exc}"
                        continue
                    topic, msgtype = f"{topic}/compressed", COMPRESSED_TYPE
                try:
                    bag.write(topic, msgtype, t, data)
                except BagFull:  # raised after this message was written
                    state.written[topic] = state.written.get(topic, 0) + 1
                    raise
                state.written[topic] = state.written.get(topic, 0) + 1
                state.bytes = bag.size_bytes
        except BagWriteError as exc:
            self._fail(bag, q, exc)
            return
        except Exception as exc:  # never let the thread die silently: the node reports it
            self._fail(bag, q, BagWriteError(f"{type(exc).__name__}: {exc}"))
            return
        self._close(bag)

    def _metadata(self) -> dict[str, str]:
        state = self.state
        meta = dict(self._meta)
        meta.setdefault("stop_time_ns", str(time.time_ns()))
        meta.setdefault("success", "false")
        meta.setdefault("stop_reason", state.stop_reason or "error")
        meta["received"] = json.dumps(dict(state.received), sort_keys=True)
        meta["dropped"] = json.dumps(dict(state.dropped), sort_keys=True)
        return {k: meta.get(k, "") for k in EPISODE_KEYS}

    def _close(self, bag: EpisodeBag) -> None:
        try:
            bag.close(self._metadata())
        except Exception as exc:  # closing itself failed after recovery: say so
            self.state.error = f"closing {bag.path.name} failed: {exc}"
        self.state.bytes = sum(p.stat().st_size for p in bag.path.glob("*") if p.is_file())

    def _fail(self, bag: EpisodeBag, q: queue.Queue, exc: BagWriteError) -> None:
        """A write failed or a limit was hit: stop accepting, close what was written, keep the error."""
        state = self.state
        full = isinstance(exc, BagFull)
        state.error = "" if full else str(exc)
        reason = f"limit: {exc}" if full else f"error: {exc}"
        if state.recording:
            state.recording = False
            state.stop_reason = reason
            self._meta.update(stop_reason=reason, success="false", stop_time_ns=str(time.time_ns()))
        self._close(bag)
        if full:
            state.error = f"episode ended: {exc}"
        # unblock a stop() waiting on a full queue
        while True:
            try:
                if q.get_nowait() is _STOP:
                    break
            except queue.Empty:
                break
