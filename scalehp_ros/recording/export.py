"""scalehp-export BAG... --out DIR [--format parquet|lerobot]: episode bags -> a dataset for learning.

`--format lerobot` writes a LeRobot dataset, format v3.0, that `lerobot.datasets.lerobot_dataset.LeRobotDataset`
opens (observation.state, action, the camera as mp4 video; see scalehp_ros/recording/lerobot.py and
docs/recording.md). The default `--format parquet` is this project's own per-episode layout, below.

The `lerobot` package's own dataset writer is not used: every lerobot release that supports Python 3.11
(0.4.x; 0.5+ need 3.12) requires torch < 2.11 and torchvision (this environment pins torch 2.13.0 CPU and
no CPU torchvision exists), opencv-python-headless < 4.13 and packaging < 26 (pinned 5.0 and 26.3 here), so
it cannot install beside the project without a second torch. The layout below follows LeRobot's idea
(one row per frame, `observation.*` / `action.*` columns, `meta/` JSON) so a converter is short, but it is
not a LeRobot dataset.

    DIR/data/episode_000000.parquet   one row per camera frame, columns:
        episode_index (int64), frame_index (int64), timestamp (float64, s since the episode's first frame),
        stamp_ns (int64, the image header stamp),
        observation.image (binary: JPEG; raw-recorded frames are JPEG-encoded at quality 90),
        observation.hand.right / observation.hand.left (list<float64>[63]: 21 joints x y z in the camera
            optical frame, metres; null when that hand was not seen in this frame),
        observation.state (list<float64>: the last /joint_states (the robot's measured state) stamped at or
            before the image; null before the first),
        action.arm (list<float64>: the arm trajectory's first point), action.hand (list<float64>: the hand
            command), action.ee_target (list<float64>[7]: x y z qx qy qz qw in the arm base frame) -- each the
            last one recorded before the next frame (retarget_node streams commands at its own rate, with no
            image stamp), null before the first,
        next.done (bool: the last frame of the episode)
    DIR/meta/info.json                fps, features, joint names, episode count
    DIR/meta/episodes.jsonl           one line per episode: index, bag name, frames, and the bag's metadata
    DIR/mcap/<bag name>/              the bags themselves (rosbag2 MCAP), copied unchanged

States are paired with frames by header stamp, commands by the time they were recorded (sample and hold).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from scalehp_ros.recording.bag import BagReader

IMAGE_TOPIC = "/camera/image_raw"
HANDS = {
    "/hand_pose_node/right/joints": "observation.hand.right",
    "/hand_pose_node/left/joints": "observation.hand.left",
}
JOINT_STATES = "/joint_states"
ARM = "/retarget_node/arm/joint_trajectory"
HAND_CMD = "/retarget_node/hand/commands"
EE = "/retarget_node/ee_target"


def _key(stamp) -> int:
    return int(stamp.sec) * 10**9 + int(stamp.nanosec)


def _jpeg(msg, msgtype: str) -> bytes:
    if msgtype.endswith("CompressedImage"):
        return bytes(np.asarray(msg.data, dtype=np.uint8))
    import cv2

    h, w = int(msg.height), int(msg.width)
    c = 1 if msg.encoding == "mono8" else 3
    pixels = np.asarray(msg.data, dtype=np.uint8).reshape(h, int(msg.step))[:, : w * c].reshape(h, w, c)
    if msg.encoding == "rgb8":
        pixels = pixels[:, :, ::-1]
    return cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def _held(times: list[int], values: list, at: list[int]) -> list:
    """For each time in `at`, the last value whose time is <= it (sample and hold); None before the first."""
    order = np.argsort(times, kind="stable")
    times_sorted = np.asarray(times, dtype=np.int64)[order]
    idx = np.searchsorted(times_sorted, np.asarray(at, dtype=np.int64), side="right") - 1
    return [values[order[i]] if i >= 0 else None for i in idx]


def episode_rows(bag: BagReader, index: int) -> tuple[dict[str, list], dict]:
    """Columns of one episode's table and its extra info (joint names)."""
    frames: list[tuple[int, int, bytes]] = []  # (image stamp, log time, jpeg)
    hands: dict[str, dict[int, list[float]]] = {c: {} for c in HANDS.values()}
    by_stamp: dict[str, tuple[list[int], list]] = {"observation.state": ([], [])}
    by_log: dict[str, tuple[list[int], list]] = {c: ([], []) for c in ("action.arm", "action.hand", "action.ee_target")}
    names: list[str] = []
    image_topics = {IMAGE_TOPIC, f"{IMAGE_TOPIC}/compressed"}
    for m in bag.messages():
        if m.topic not in image_topics | set(HANDS) | {JOINT_STATES, ARM, HAND_CMD, EE}:
            continue
        msg = BagReader.decode(m)
        if m.topic in image_topics:
            frames.append((_key(msg.header.stamp), m.log_time_ns, _jpeg(msg, m.msgtype)))
        elif m.topic in HANDS:
            hands[HANDS[m.topic]][_key(msg.header.stamp)] = [
                v for p in msg.poses for v in (p.position.x, p.position.y, p.position.z)
            ]
        elif m.topic == JOINT_STATES:
            by_stamp["observation.state"][0].append(_key(msg.header.stamp))
            by_stamp["observation.state"][1].append([float(v) for v in msg.position])
            names = list(msg.name)
        elif m.topic == ARM and len(msg.points):
            by_log["action.arm"][0].append(m.log_time_ns)
            by_log["action.arm"][1].append([float(v) for v in msg.points[0].positions])
        elif m.topic == HAND_CMD:
            by_log["action.hand"][0].append(m.log_time_ns)
            by_log["action.hand"][1].append([float(v) for v in msg.data])
        elif m.topic == EE:
            p, q = msg.pose.position, msg.pose.orientation
            by_log["action.ee_target"][0].append(m.log_time_ns)
            by_log["action.ee_target"][1].append([p.x, p.y, p.z, q.x, q.y, q.z, q.w])
    frames.sort(key=lambda f: f[0])
    t0 = frames[0][0] if frames else 0
    stamps = [k for k, _, _ in frames]
    logs = [log for _, log, _ in frames]
    # the action of frame i: what was commanded up to the next frame (the last frame: up to the episode's end)
    until = [*logs[1:], max([logs[-1], *[t for ts, _ in by_log.values() for t in ts]])] if frames else []
    cols: dict[str, list] = {
        "episode_index": [index] * len(frames),
        "frame_index": list(range(len(frames))),
        "timestamp": [(k - t0) * 1e-9 for k in stamps],
        "stamp_ns": stamps,
        "observation.image": [jpeg for _, _, jpeg in frames],
    }
    for col, by_key in hands.items():
        cols[col] = [by_key.get(k) for k in stamps]
    for col, (times, values) in by_stamp.items():
        cols[col] = _held(times, values, stamps)
    for col, (times, values) in by_log.items():
        cols[col] = _held(times, values, until)
    cols["next.done"] = [i == len(frames) - 1 for i in range(len(frames))]
    return cols, {"joint_names": names}


def export(bags: list[Path], out: Path) -> dict:
    """Write the dataset of `bags` into `out` (see the module docstring); returns meta/info.json's content."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    floats = pa.list_(pa.float64())
    schema = pa.schema(
        [
            ("episode_index", pa.int64()),
            ("frame_index", pa.int64()),
            ("timestamp", pa.float64()),
            ("stamp_ns", pa.int64()),
            ("observation.image", pa.binary()),
            ("observation.hand.right", floats),
            ("observation.hand.left", floats),
            ("observation.state", floats),
            ("action.arm", floats),
            ("action.hand", floats),
            ("action.ee_target", floats),
            ("next.done", pa.bool_()),
        ]
    )
    (out / "data").mkdir(parents=True, exist_ok=True)
    (out / "meta").mkdir(parents=True, exist_ok=True)
    episodes, total, names, fps = [], 0, [], None
    for index, path in enumerate(bags):
        with BagReader(path) as bag:
            cols, extra = episode_rows(bag, index)
            meta = bag.custom_data
        table = pa.table(cols, schema=schema)
        pq.write_table(table, out / "data" / f"episode_{index:06d}.parquet")
        shutil.copytree(path, out / "mcap" / Path(path).name, dirs_exist_ok=True)
        frames = table.num_rows
        stamps = cols["stamp_ns"]
        if fps is None and frames > 1:
            fps = (frames - 1) / ((stamps[-1] - stamps[0]) * 1e-9)
        names = names or extra["joint_names"]
        episodes.append({"episode_index": index, "bag": Path(path).name, "frames": frames, "metadata": meta})
        total += frames
    info = {
        "format": "scalehp_ros episodes v1 (per-episode Parquet, see scalehp_ros/recording/export.py)",
        "fps": fps,
        "episodes": len(episodes),
        "frames": total,
        "joint_names": names,
        "features": {f.name: str(f.type) for f in schema},
    }
    (out / "meta" / "info.json").write_text(json.dumps(info, indent=2) + "\n")
    (out / "meta" / "episodes.jsonl").write_text("".join(json.dumps(e) + "\n" for e in episodes))
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bags", nargs="+", type=Path, help="episode bag folders")
    parser.add_argument("--out", type=Path, required=True, help="dataset folder")
    parser.add_argument(
        "--format",
        choices=("parquet", "lerobot"),
        default="parquet",
        help="parquet: this project's per-episode tables (default); lerobot: a LeRobot v3.0 dataset",
    )
    parser.add_argument(
        "--fps", type=int, default=None, help="lerobot: frame rate of the dataset (default: the camera's, rounded)"
    )
    parser.add_argument(
        "--max-age",
        type=float,
        default=None,
        help="lerobot: seconds a message may be older than its frame before the frame is dropped as stale "
        "(default 0.1)",
    )
    parser.add_argument(
        "--task", default=None, help="lerobot: the task of bags whose metadata names none (default: a generic one)"
    )
    parser.add_argument(
        "--state-topic", default=None, help="lerobot: measured joints, sensor_msgs/JointState (default /joint_states)"
    )
    parser.add_argument(
        "--action-topic",
        default=None,
        help="lerobot: commanded joints, sensor_msgs/JointState (default /retarget_node/joint_command)",
    )
    parser.add_argument(
        "--image-topic",
        default=None,
        help="lerobot: camera images (default /camera/image_raw/compressed, else /camera/image_raw)",
    )
    opts = parser.parse_args(argv)
    lerobot_only = (opts.fps, opts.max_age, opts.task, opts.state_topic, opts.action_topic, opts.image_topic)
    if opts.format == "parquet" and any(v is not None for v in lerobot_only):
        parser.error("--fps, --max-age, --task and the --*-topic options apply to --format lerobot")
    try:
        if opts.format == "lerobot":
            from scalehp_ros.recording.lerobot import (
                COMMAND_TOPIC,
                DEFAULT_MAX_AGE_S,
                DEFAULT_TASK,
                STATE_TOPIC,
                export_lerobot,
            )

            info = export_lerobot(
                opts.bags,
                opts.out,
                fps=opts.fps,
                max_age_s=DEFAULT_MAX_AGE_S if opts.max_age is None else opts.max_age,
                task=opts.task or DEFAULT_TASK,
                image_topic=opts.image_topic,
                state_topic=opts.state_topic or STATE_TOPIC,
                action_topic=opts.action_topic or COMMAND_TOPIC,
            )
            for b in info["bags"]:
                print(
                    f"scalehp-export: {b['bag']}: {b['frames']} of {b['grid_frames']} frames at {info['fps']} fps "
                    f"in {len(b['episodes'])} episode(s); dropped: before a first message "
                    f"{b['dropped_before_first']}, stale {b['dropped_stale']}; images unused {b['images_unused']}, "
                    f"repeated {b['images_repeated']}"
                )
        else:
            info = export(opts.bags, opts.out)
    except (OSError, ValueError, KeyError) as exc:
        print(f"scalehp-export: error: {exc}", file=sys.stderr)
        return 2
    print(f"scalehp-export: {info['episodes']} episodes, {info['frames']} frames -> {opts.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
