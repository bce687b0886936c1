"""Episode bags -> a LeRobot dataset (format v3.0), written with pyarrow and OpenCV's mp4 writer, no `lerobot`.

The `lerobot` package itself cannot install beside this project (see export.py), so this module writes the
files its `LeRobotDataset` reads (lerobot 0.4.x, `CODEBASE_VERSION = "v3.0"`):

    meta/info.json                             codebase_version, fps, features (dtype, shape, names, video info),
                                               totals, chunks_size, data_path / video_path templates, splits
    meta/stats.json                            per feature: min max mean std count q01 q10 q50 q90 q99
    meta/tasks.parquet                         the task strings (pandas index) -> task_index
    meta/episodes/chunk-000/file-000.parquet   one row per episode: tasks, length, data/* and videos/<key>/*
                                               locations, dataset_from/to_index, from/to_timestamp, stats/*
    data/chunk-000/file-000.parquet            one row per frame: observation.state, action, timestamp,
                                               frame_index, episode_index, index, task_index
    videos/observation.images.camera/chunk-000/file-000.mp4
                                               every episode's frames one after another, constant frame rate
    meta/scalehp_export.json                   this exporter's own report (ignored by LeRobot): bags, counts

What goes in each frame:
- observation.state (float32[n]): the robot's measured joint positions (/joint_states, rad or m), reordered
  to the commanded joints' order (the robot config's, arm then hand) so state and action line up by index;
- action (float32[n]): the commanded joint positions (/retarget_node/joint_command, sensor_msgs/JointState);
- observation.images.camera (video): the camera image (/camera/image_raw/compressed or /camera/image_raw).
Other topics can be named (`--state-topic`, `--action-topic`, `--image-topic`); state and action may be one
topic (a run without a robot publishes its commanded state as /joint_states).

Time. LeRobot finds a frame's picture by its timestamp in a constant-rate video (within `tolerance_s`,
1e-4 s by default), so the frames of an episode are a fixed grid at `fps` (integer, as info.json requires;
default: the camera's median rate rounded): frame k's time is t_k = t_0 + (k + 1/2) / fps on the clock of
the header stamps, t_0 the bag's first image stamp. The half period puts each grid time between two
camera frames, so camera stamps jittering by less than half a period still give every image once. Each
stream is taken **as of** t_k: its latest message stamped at or before t_k. A message older than `max_age_s`
at t_k is stale: that frame is dropped, and where frames are dropped inside a bag the bag's frames are split
into separate LeRobot episodes, so that every episode keeps a constant rate. Frames before a stream's first
message are dropped too (a recording starts before the robot streams). Each dropped frame is counted once,
under the first of image, state, command that failed, in meta/scalehp_export.json and on stdout. The dataset
timestamp is k / fps from the episode's first kept frame.

The video is MPEG-4 Part 2 ('mp4v', yuv420p; OpenCV's FFmpeg has no H.264/AV1 encoder); FFmpeg-based readers
(torchcodec, PyAV: what LeRobot decodes with) read it. It is lossy: bench/lerobot_check.py measures how far
the decoded frames are from the recorded images.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scalehp_ros.recording.bag import BagReader, raw_image_pixels

CODEBASE_VERSION = "v3.0"
CAMERA_KEY = "observation.images.camera"
IMAGE_TOPICS = ("/camera/image_raw/compressed", "/camera/image_raw")
STATE_TOPIC = "/joint_states"
COMMAND_TOPIC = "/retarget_node/joint_command"
DEFAULT_MAX_AGE_S = 0.1
DEFAULT_TASK = "teleoperated demonstration"
QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
# what LeRobot's create_empty_dataset_info writes (lerobot/datasets/utils.py); the reader only follows the paths
CHUNKS_SIZE = 1000
DATA_FILES_SIZE_IN_MB = 100
VIDEO_FILES_SIZE_IN_MB = 200
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-000/file-000.parquet"
VIDEO_FOURCC = "mp4v"


@dataclass
class JointStream:
    """A JointState topic of one bag, sorted by header stamp: stamps (ns) and positions in `names` order."""

    names: list[str]
    stamps: np.ndarray  # int64 ns
    positions: np.ndarray  # float64 (messages, joints)


@dataclass
class BagStreams:
    """What one bag contributes: image stamps (ns, sorted) with their message ordinals, state and command."""

    path: Path
    image_topic: str
    image_stamps: np.ndarray
    image_ordinals: np.ndarray  # position of each (sorted) image among the topic's messages in the bag
    state: JointStream
    command: JointStream
    metadata: dict[str, str]


@dataclass
class Segment:
    """One LeRobot episode: consecutive grid frames of one bag, each with the message it takes per stream."""

    bag: int
    first_grid_index: int
    grid_times: np.ndarray  # int64 ns, on the header-stamp clock
    image: np.ndarray  # indices into BagStreams.image_stamps
    state: np.ndarray  # indices into the state stream
    command: np.ndarray


@dataclass
class Alignment:
    """The as-of alignment of one bag on its frame grid: the kept segments and what was dropped, per reason."""

    segments: list[Segment]
    grid_frames: int
    dropped_stale: dict[str, int] = field(default_factory=dict)
    dropped_before_first: dict[str, int] = field(default_factory=dict)
    images_unused: int = 0
    images_repeated: int = 0


def _key(stamp) -> int:
    return int(stamp.sec) * 10**9 + int(stamp.nanosec)


def asof(stamps: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Per time, the index of the last stamp <= it in sorted `stamps` (-1 where none is)."""
    return np.searchsorted(stamps, times, side="right") - 1


def _joint_stream(msgs: list[tuple[int, list[str], list[float]]], topic: str, order: list[str] | None) -> JointStream:
    """Sorted stream of (stamp, names, positions) messages, positions reordered into `order` (default: the first
    message's names). A message that lacks one of the joints is a ValueError: a frame cannot be half known."""
    if not msgs:
        raise ValueError(f"the bag has no {topic} messages")
    msgs = sorted(msgs, key=lambda m: m[0])
    names = list(order if order is not None else msgs[0][1])
    rows = []
    for stamp, msg_names, positions in msgs:
        if msg_names == names:
            rows.append(positions)
            continue
        by_name = dict(zip(msg_names, positions, strict=False))
        missing = [n for n in names if n not in by_name]
        if missing:
            raise ValueError(f"{topic} at stamp {stamp} ns lacks joints {missing}")
        rows.append([by_name[n] for n in names])
    return JointStream(names, np.array([m[0] for m in msgs], dtype=np.int64), np.asarray(rows, dtype=np.float64))


def read_streams(
    path: Path, *, image_topic: str | None = None, state_topic: str = STATE_TOPIC, action_topic: str = COMMAND_TOPIC
) -> BagStreams:
    """Stamps of the camera images and the two JointState streams of one bag (images are not decoded here).
    `image_topic` None: the first of IMAGE_TOPICS the bag has. `state_topic` may equal `action_topic` (a run
    without a robot, whose commanded state is published as /joint_states: then state and action are the same)."""
    with BagReader(path) as bag:
        topics = bag.topics
        candidates = (image_topic,) if image_topic else IMAGE_TOPICS
        image_topic = next((t for t in candidates if topics.get(t, (None, 0))[1] > 0), None)
        if image_topic is None:
            raise ValueError(f"{path}: no camera images on {' or '.join(candidates)}")
        if topics[image_topic][0] not in ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage"):
            raise ValueError(f"{path}: {image_topic} is {topics[image_topic][0]}, not a sensor_msgs image")
        for topic, what in ((action_topic, "the commanded joints"), (state_topic, "the measured joints")):
            msgtype, count = topics.get(topic, (None, 0))
            if not count:
                raise ValueError(
                    f"{path}: no {topic} messages ({what}, sensor_msgs/JointState); see --state-topic/--action-topic"
                )
            if msgtype != "sensor_msgs/msg/JointState":
                raise ValueError(f"{path}: {topic} is {msgtype}, not sensor_msgs/msg/JointState")
        stamps: list[int] = []
        state: list[tuple[int, list[str], list[float]]] = []
        command: list[tuple[int, list[str], list[float]]] = []
        for m in bag.messages({image_topic, state_topic, action_topic}):
            msg = BagReader.decode(m)
            if m.topic == image_topic:
                stamps.append(_key(msg.header.stamp))
                continue
            names, positions = list(msg.name), [float(v) for v in msg.position]
            if len(names) != len(positions):
                raise ValueError(f"{path}: {m.topic} with {len(names)} names and {len(positions)} positions")
            if m.topic == state_topic:
                state.append((_key(msg.header.stamp), names, positions))
            if m.topic == action_topic:
                command.append((_key(msg.header.stamp), names, positions))
        metadata = bag.custom_data
    cmd = _joint_stream(command, action_topic, None)
    st = _joint_stream(state, state_topic, cmd.names)
    order = np.argsort(np.asarray(stamps, dtype=np.int64), kind="stable")
    return BagStreams(Path(path), image_topic, np.asarray(stamps, dtype=np.int64)[order], order, st, cmd, metadata)


def camera_fps(streams: list[BagStreams]) -> int:
    """The camera's rate: 1 / the median interval between image stamps over all bags, rounded to an integer."""
    gaps = np.concatenate([np.diff(s.image_stamps) for s in streams])
    gaps = gaps[gaps > 0]
    if not len(gaps):
        raise ValueError("fewer than two camera images: the frame rate is unknown (give --fps)")
    return max(1, round(1e9 / float(np.median(gaps))))


def align(streams: BagStreams, bag_index: int, fps: int, max_age_s: float) -> Alignment:
    """Frames of one bag on the grid t_k = t_0 + (k + 1/2) / fps, each stream taken as of t_k (module docstring)."""
    t0, t_end = int(streams.image_stamps[0]), int(streams.image_stamps[-1])
    period = 1e9 / fps
    n = max(0, math.floor((t_end - t0) / period - 0.5) + 1)  # grid times up to the last image
    grid = t0 + np.round((np.arange(n) + 0.5) * period).astype(np.int64)
    max_age = round(max_age_s * 1e9)
    keep = np.ones(n, dtype=bool)
    picked, stale, before = {}, {}, {}
    for name, stamps in (
        ("image", streams.image_stamps),
        ("state", streams.state.stamps),
        ("command", streams.command.stamps),
    ):
        idx = asof(stamps, grid)
        none = idx < 0
        too_old = ~none & (grid - stamps[np.maximum(idx, 0)] > max_age)
        before[name] = int(np.count_nonzero(none & keep))
        keep &= ~none
        stale[name] = int(np.count_nonzero(too_old & keep))
        keep &= ~too_old
        picked[name] = idx
    segments = []
    k = 0
    while k < n:
        if not keep[k]:
            k += 1
            continue
        end = k
        while end < n and keep[end]:
            end += 1
        segments.append(
            Segment(bag_index, k, grid[k:end], picked["image"][k:end], picked["state"][k:end], picked["command"][k:end])
        )
        k = end
    used = np.concatenate([s.image for s in segments]) if segments else np.zeros(0, dtype=np.int64)
    distinct = len(np.unique(used))
    return Alignment(
        segments,
        n,
        dropped_stale=stale,
        dropped_before_first=before,
        images_unused=len(streams.image_stamps) - distinct,
        images_repeated=len(used) - distinct,
    )


# -- images --------------------------------------------------------------------------------------------------
def decode_rgb(msg, msgtype: str) -> np.ndarray:
    """(h, w, 3) uint8 RGB of a sensor_msgs CompressedImage (JPEG/PNG) or Image (rgb8, bgr8, mono8)."""
    import cv2

    if msgtype.endswith("CompressedImage"):
        bgr = cv2.imdecode(np.asarray(msg.data, dtype=np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"cannot decode a compressed image of format {msg.format!r}")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    enc = str(msg.encoding).lower()
    pixels = raw_image_pixels(msg, "export camera images of")
    if enc == "mono8":
        return np.repeat(pixels, 3, axis=2)
    return np.ascontiguousarray(pixels[:, :, ::-1] if enc == "bgr8" else pixels)


def sample_indices(n: int) -> list[int]:
    """Frames LeRobot samples for image statistics (compute_stats.sample_indices: n**0.75 of them, 100..10000)."""
    num = n if n < 100 else max(100, min(int(n**0.75), 10_000))
    return np.round(np.linspace(0, n - 1, num)).astype(int).tolist()


def _downsample(img_chw: np.ndarray) -> np.ndarray:
    """LeRobot's auto_downsample_height_width: images of 300 px or more strided down to about 150 px."""
    _, h, w = img_chw.shape
    if max(w, h) < 300:
        return img_chw
    factor = int(w / 150) if w > h else int(h / 150)
    return img_chw[:, ::factor, ::factor]


class _Mp4:
    """Constant-rate mp4 (OpenCV's FFmpeg, fourcc mp4v) of RGB frames, as visualization.demo_view.VideoWriter."""

    def __init__(self, path: Path, fps: int) -> None:
        self.path, self.fps, self.size, self.frames = path, fps, None, 0
        self._writer = None

    def write(self, rgb: np.ndarray) -> None:
        import cv2

        size = (rgb.shape[1], rgb.shape[0])
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*VIDEO_FOURCC), float(self.fps), size)
            if not self._writer.isOpened():
                raise OSError(f"OpenCV cannot write {self.path} (fourcc {VIDEO_FOURCC}, {size})")
            self.size = size
        elif size != self.size:
            raise ValueError(f"camera image size {size} differs from the video's {self.size}: one size per dataset")
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None


def write_segment_video(streams: BagStreams, segments: list[Segment], video: _Mp4) -> list[np.ndarray]:
    """Append the frames of `segments` (all from this bag, in order) to `video`, decoding each needed image once;
    returns per segment the sampled frames (n, 3, h, w) uint8 for the image statistics."""
    need = [(si, fi, int(streams.image_ordinals[i])) for si, s in enumerate(segments) for fi, i in enumerate(s.image)]
    uses: dict[int, int] = {}
    for _, _, o in need:
        uses[o] = uses.get(o, 0) + 1
    samples = [set(sample_indices(len(s.image))) for s in segments]
    sampled: list[list[np.ndarray]] = [[] for _ in segments]
    cache: dict[int, np.ndarray] = {}
    pos = 0
    with BagReader(streams.path) as bag:
        for ordinal, m in enumerate(bag.messages({streams.image_topic})):
            if ordinal in uses:
                rgb = decode_rgb(BagReader.decode(m), m.msgtype)
                # yuv420p video needs even sizes: an odd one loses its last row or column
                cache[ordinal] = rgb[: rgb.shape[0] // 2 * 2, : rgb.shape[1] // 2 * 2]
            while pos < len(need) and need[pos][2] in cache:
                si, fi, o = need[pos]
                rgb = cache[o]
                video.write(rgb)
                if fi in samples[si]:
                    sampled[si].append(_downsample(rgb.transpose(2, 0, 1)))
                uses[o] -= 1
                if not uses[o]:
                    del cache[o]
                pos += 1
    if pos != len(need):
        raise ValueError(f"{streams.path}: {len(need) - pos} camera images could not be read back")
    return [np.stack(s) for s in sampled]


# -- statistics (as lerobot/datasets/compute_stats.py) ---------------------------------------------------------
def feature_stats(values: np.ndarray) -> dict[str, np.ndarray]:
    """min max mean std count and quantiles over axis 0 of (frames, dims) values (exact quantiles); min and max
    keep the values' type (integers stay integers, as in lerobot's stats)."""
    values = np.asarray(values)
    as_float = values.astype(np.float64)
    stats = {
        "min": values.min(axis=0),
        "max": values.max(axis=0),
        "mean": as_float.mean(axis=0),
        "std": as_float.std(axis=0),
        "count": np.array([len(values)]),
    }
    for q in QUANTILES:
        stats[f"q{int(q * 100):02d}"] = np.quantile(as_float, q, axis=0)
    return stats


def image_stats(frames_nchw: np.ndarray) -> dict[str, np.ndarray]:
    """Per-channel statistics of uint8 frames in [0, 1], shaped (3, 1, 1); count = the frames sampled."""
    pixels = frames_nchw.transpose(0, 2, 3, 1).reshape(-1, frames_nchw.shape[1])
    stats = feature_stats(pixels)
    stats = {k: (v / 255.0).reshape(-1, 1, 1) for k, v in stats.items() if k != "count"}
    stats["count"] = np.array([len(frames_nchw)])
    return stats


def aggregate_stats(stats_list: list[dict[str, dict[str, np.ndarray]]]) -> dict[str, dict[str, np.ndarray]]:
    """Dataset statistics from the episodes' (lerobot's aggregate_stats: count-weighted means and quantiles,
    pooled variance, overall min and max)."""
    out = {}
    for key in stats_list[0]:
        parts = [s[key] for s in stats_list]
        counts = np.array([p["count"][0] for p in parts], dtype=np.float64)
        weights = counts.reshape(-1, *[1] * parts[0]["mean"].ndim) / counts.sum()
        means = np.stack([p["mean"] for p in parts])
        mean = (means * weights).sum(axis=0)
        var = ((np.stack([p["std"] for p in parts]) ** 2 + (means - mean) ** 2) * weights).sum(axis=0)
        agg = {
            "min": np.min(np.stack([p["min"] for p in parts]), axis=0),
            "max": np.max(np.stack([p["max"] for p in parts]), axis=0),
            "mean": mean,
            "std": np.sqrt(var),
            "count": np.array([int(counts.sum())]),
        }
        for q in QUANTILES:
            name = f"q{int(q * 100):02d}"
            agg[name] = (np.stack([p[name] for p in parts]) * weights).sum(axis=0)
        out[key] = agg
    return out


def _jsonable(stats: dict[str, dict[str, np.ndarray]]) -> dict:
    return {k: {s: np.asarray(v).tolist() for s, v in d.items()} for k, d in stats.items()}


# -- writing -------------------------------------------------------------------------------------------------
def _tasks_table(tasks: list[str]):
    """meta/tasks.parquet as pandas writes `DataFrame({"task_index": ...}, index=tasks)` (what LeRobot reads
    back with pandas.read_parquet: the task strings as the index)."""
    import pyarrow as pa

    pandas_meta = {
        "index_columns": ["__index_level_0__"],
        "column_indexes": [
            {
                "name": None,
                "field_name": None,
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": {"encoding": "UTF-8"},
            }
        ],
        "columns": [
            {
                "name": "task_index",
                "field_name": "task_index",
                "pandas_type": "int64",
                "numpy_type": "int64",
                "metadata": None,
            },
            {
                "name": None,
                "field_name": "__index_level_0__",
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": None,
            },
        ],
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": "2.2.3",
    }
    schema = pa.schema(
        [("task_index", pa.int64()), ("__index_level_0__", pa.string())],
        metadata={b"pandas": json.dumps(pandas_meta).encode()},
    )
    return pa.table({"task_index": list(range(len(tasks))), "__index_level_0__": tasks}, schema=schema)


def _hf_features_metadata(n_state: int, n_action: int) -> bytes:
    """The `huggingface` schema metadata `datasets` writes for these columns (its Features, as JSON)."""

    def seq(n: int) -> dict:
        return {"feature": {"dtype": "float32", "_type": "Value"}, "length": n, "_type": "List"}

    features = {
        "observation.state": seq(n_state),
        "action": seq(n_action),
        "timestamp": {"dtype": "float32", "_type": "Value"},
        "frame_index": {"dtype": "int64", "_type": "Value"},
        "episode_index": {"dtype": "int64", "_type": "Value"},
        "index": {"dtype": "int64", "_type": "Value"},
        "task_index": {"dtype": "int64", "_type": "Value"},
    }
    return json.dumps({"info": {"features": features}}).encode()


def export_lerobot(
    bags: list[Path],
    out: Path,
    *,
    fps: int | None = None,
    max_age_s: float = DEFAULT_MAX_AGE_S,
    task: str = DEFAULT_TASK,
    image_topic: str | None = None,
    state_topic: str = STATE_TOPIC,
    action_topic: str = COMMAND_TOPIC,
) -> dict:
    """Write the LeRobot v3.0 dataset of `bags` into `out` (an empty or new folder); returns the export report
    (also meta/scalehp_export.json). `task`: the task of bags whose metadata names none. On an error nothing is
    left in `out`."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} is not empty: a LeRobot dataset is written into a new folder")
    try:
        return _export(bags, out, fps, max_age_s, task, image_topic, state_topic, action_topic)
    except BaseException:
        if out.exists():  # no half-written dataset left behind: the folder was new or empty
            for child in out.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise


def _export(
    bags: list[Path],
    out: Path,
    fps: int | None,
    max_age_s: float,
    task: str,
    image_topic: str | None,
    state_topic: str,
    action_topic: str,
) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not max_age_s > 0:
        raise ValueError(f"max_age_s must be > 0, got {max_age_s}")
    topics = {"image_topic": image_topic, "state_topic": state_topic, "action_topic": action_topic}
    streams = [read_streams(Path(p), **topics) for p in bags]
    names = streams[0].command.names
    for s in streams[1:]:
        if s.command.names != names:
            raise ValueError(f"{s.path}: commanded joints {s.command.names} differ from {streams[0].path}'s {names}")
    fps = int(fps) if fps else camera_fps(streams)
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    alignments = [align(s, i, fps, max_age_s) for i, s in enumerate(streams)]
    segments = [seg for a in alignments for seg in a.segments]
    if not segments:
        raise ValueError("no frame has a fresh image, state and command: nothing to export (see --max-age)")

    task_of = [s.metadata.get("task") or task for s in streams]
    tasks = list(dict.fromkeys(task_of[seg.bag] for seg in segments))
    video_rel = VIDEO_PATH.format(video_key=CAMERA_KEY, chunk_index=0, file_index=0)
    video = _Mp4(out / video_rel, fps)
    cols: dict[str, list] = {k: [] for k in ("observation.state", "action", "timestamp", "frame_index")}
    cols.update(episode_index=[], index=[], task_index=[])
    episodes: list[dict] = []
    ep_stats: list[dict] = []
    total = 0
    try:
        for bag_index, s in enumerate(streams):
            segs = [seg for seg in segments if seg.bag == bag_index]
            if not segs:
                continue
            sampled = write_segment_video(s, segs, video)
            for seg, frames in zip(segs, sampled, strict=True):
                ep = len(episodes)
                n = len(seg.grid_times)
                state = s.state.positions[seg.state].astype(np.float32)
                action = s.command.positions[seg.command].astype(np.float32)
                timestamp = (np.arange(n) / fps).astype(np.float32)
                ti = tasks.index(task_of[bag_index])
                cols["observation.state"] += list(state)
                cols["action"] += list(action)
                cols["timestamp"] += timestamp.tolist()
                cols["frame_index"] += list(range(n))
                cols["episode_index"] += [ep] * n
                cols["index"] += list(range(total, total + n))
                cols["task_index"] += [ti] * n
                stats = {
                    "observation.state": feature_stats(state),
                    "action": feature_stats(action),
                    "timestamp": feature_stats(timestamp[:, None]),
                    "frame_index": feature_stats(np.arange(n)[:, None]),
                    "episode_index": feature_stats(np.full((n, 1), ep)),
                    "index": feature_stats(np.arange(total, total + n)[:, None]),
                    "task_index": feature_stats(np.full((n, 1), ti)),
                    CAMERA_KEY: image_stats(frames),
                }
                ep_stats.append(stats)
                from_ts = total / fps  # every episode's frames follow the previous ones in the one video file
                episodes.append(
                    {
                        "episode_index": ep,
                        "tasks": [task_of[bag_index]],
                        "length": n,
                        "data/chunk_index": 0,
                        "data/file_index": 0,
                        "dataset_from_index": total,
                        "dataset_to_index": total + n,
                        f"videos/{CAMERA_KEY}/chunk_index": 0,
                        f"videos/{CAMERA_KEY}/file_index": 0,
                        f"videos/{CAMERA_KEY}/from_timestamp": from_ts,
                        f"videos/{CAMERA_KEY}/to_timestamp": from_ts + n / fps,
                        **{
                            f"stats/{key}/{name}": np.asarray(v).tolist()
                            for key, d in stats.items()
                            for name, v in d.items()
                        },
                        "meta/episodes/chunk_index": 0,
                        "meta/episodes/file_index": 0,
                    }
                )
                total += n
    finally:
        video.close()
    if video.frames != total:
        raise ValueError(f"the video has {video.frames} frames for {total} data rows")

    n_state, n_action = len(names), len(names)
    schema = pa.schema(
        [
            ("observation.state", pa.list_(pa.float32(), n_state)),
            ("action", pa.list_(pa.float32(), n_action)),
            ("timestamp", pa.float32()),
            ("frame_index", pa.int64()),
            ("episode_index", pa.int64()),
            ("index", pa.int64()),
            ("task_index", pa.int64()),
        ],
        metadata={b"huggingface": _hf_features_metadata(n_state, n_action)},
    )
    data = pa.table(
        {
            "observation.state": pa.FixedSizeListArray.from_arrays(
                pa.array(np.concatenate(cols["observation.state"]) if total else [], pa.float32()), n_state
            ),
            "action": pa.FixedSizeListArray.from_arrays(
                pa.array(np.concatenate(cols["action"]) if total else [], pa.float32()), n_action
            ),
            **{k: cols[k] for k in ("timestamp", "frame_index", "episode_index", "index", "task_index")},
        },
        schema=schema,
    )
    data_path = out / DATA_PATH.format(chunk_index=0, file_index=0)
    data_path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(data, data_path, compression="snappy")
    (out / EPISODES_PATH).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(episodes), out / EPISODES_PATH, compression="snappy")
    pq.write_table(_tasks_table(tasks), out / "meta" / "tasks.parquet")
    (out / "meta" / "stats.json").write_text(json.dumps(_jsonable(aggregate_stats(ep_stats)), indent=4) + "\n")

    width, height = video.size
    robot_types = {s.metadata.get("robot_name") or None for s in streams}
    info = {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": robot_types.pop() if len(robot_types) == 1 else None,
        "total_episodes": len(episodes),
        "total_frames": total,
        "total_tasks": len(tasks),
        "chunks_size": CHUNKS_SIZE,
        "data_files_size_in_mb": DATA_FILES_SIZE_IN_MB,
        "video_files_size_in_mb": VIDEO_FILES_SIZE_IN_MB,
        "fps": fps,
        "splits": {"train": f"0:{len(episodes)}"},
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH,
        "features": {
            "observation.state": {"dtype": "float32", "shape": [n_state], "names": list(names)},
            "action": {"dtype": "float32", "shape": [n_action], "names": list(names)},
            CAMERA_KEY: {
                "dtype": "video",
                "shape": [height, width, 3],
                "names": ["height", "width", "channels"],
                "info": {
                    "video.height": height,
                    "video.width": width,
                    "video.codec": "mpeg4",
                    "video.pix_fmt": "yuv420p",
                    "video.is_depth_map": False,
                    "video.fps": fps,
                    "video.channels": 3,
                    "has_audio": False,
                },
            },
            "timestamp": {"dtype": "float32", "shape": [1], "names": None},
            "frame_index": {"dtype": "int64", "shape": [1], "names": None},
            "episode_index": {"dtype": "int64", "shape": [1], "names": None},
            "index": {"dtype": "int64", "shape": [1], "names": None},
            "task_index": {"dtype": "int64", "shape": [1], "names": None},
        },
    }
    (out / "meta" / "info.json").write_text(json.dumps(info, indent=4) + "\n")

    report = {
        "format": f"LeRobot {CODEBASE_VERSION} (scalehp_ros.recording.lerobot)",
        "fps": fps,
        "max_age_s": max_age_s,
        "state_topic": state_topic,
        "action_topic": action_topic,
        "episodes": len(episodes),
        "frames": total,
        "bags": [
            {
                "bag": s.path.name,
                "image_topic": s.image_topic,
                "images": len(s.image_stamps),
                "grid_frames": a.grid_frames,
                "frames": sum(len(seg.grid_times) for seg in a.segments),
                "episodes": [
                    {
                        "episode_index": next(e for e, g in enumerate(segments) if g is seg),
                        "first_grid_index": seg.first_grid_index,
                        "t0_ns": int(seg.grid_times[0]),
                    }
                    for seg in a.segments
                ],
                "dropped_stale": a.dropped_stale,
                "dropped_before_first": a.dropped_before_first,
                "images_unused": a.images_unused,
                "images_repeated": a.images_repeated,
                "metadata": s.metadata,
            }
            for s, a in zip(streams, alignments, strict=True)
        ],
    }
    (out / "meta" / "scalehp_export.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
