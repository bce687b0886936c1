"""`scalehp-export --format lerobot` checked with the real reader: lerobot's LeRobotDataset, frame by frame.

Not part of CI: lerobot cannot install into the project's environment (its releases for Python 3.11 pin
torch < 2.11, torchvision < 0.26, torchcodec < 0.11; see scalehp_ros/recording/export.py). This script builds a
separate virtual environment OUTSIDE the repository (default /tmp/lerobot-venv; never the project's .venv):

    torch==2.13.0 (the CPU build this project pins), then lerobot==0.4.4 --no-deps, torchvision==0.28.0 and
    torchcodec==0.13.0 --no-deps (the releases that match torch 2.13), and the packages lerobot's dataset code
    imports (datasets, huggingface-hub, av, accelerate, draccus, pandas, ...).

Two things in that environment differ from a plain `pip install lerobot`, both outside what is checked here:
- PyPI's torchvision wheel is a CUDA build; with the CPU torch its C++ ops (nms, roi_align ...) cannot load,
  and torchvision 0.28's `_meta_registrations` then fails at import. The reader process puts an empty module in
  its place before importing lerobot; lerobot's dataset reading uses torchvision only for `transforms` (PIL
  images; this dataset has none) and its pyav backend (not used: torchcodec is the default when installed).
- torchcodec uses the system FFmpeg libraries (4 to 8): on Debian 12,
  `apt-get install libavdevice59 libavfilter8 libavformat59 libavcodec59 libavutil57 libswscale6 libswresample4`.

Then:
1. A bag like a recording (or the bags given with --bag, or recorded by the real graph with --record): the
   bundled clip's first frames (640x360 with a white square moving 16 px a frame, so that each frame can be told
   from its neighbours; JPEG q90 on /camera/image_raw/compressed, 30 Hz with stamp jitter and one frame lost),
   /joint_states at 100 Hz (the joints in another order), /retarget_node/joint_command at 50 Hz with a 0.3 s
   outage.
2. `python -m scalehp_ros.recording.export BAG --out DIR --format lerobot` (what `scalehp-export` runs).
3. In the lerobot environment: `LeRobotDataset(repo_id, root=DIR)`, every frame read (state, action,
   timestamp, indices, task, the image decoded by torchcodec), and once more with `delta_timestamps` (an action
   chunk and the previous image). Then the same frames written by lerobot's own writer
   (`LeRobotDataset.create` + `add_frame` + `save_episode`) to compare the layout and the schemas.
4. Here: every frame against the bag (as-of, worked out again from the messages), the images within codec
   tolerance, the layout and schemas against lerobot's own.

    .venv/bin/python bench/lerobot_check.py [--bag BAG ...] [--venv /tmp/lerobot-venv] [--json]
"""

from __future__ import annotations

import argparse
import ctypes.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = Path("/tmp/lerobot-venv")
CAMERA_KEY = "observation.images.camera"
VIDEO = f"videos/{CAMERA_KEY}/chunk-000/file-000.mp4"
LEROBOT = "lerobot==0.4.4"
PINNED = ["torchvision==0.28.0", "torchcodec==0.13.0"]
DEPS = [
    "datasets>=4.0.0,<5.0.0",
    "huggingface-hub>=0.34.2,<0.36.0",
    "av>=15.0.0,<16.0.0",
    "accelerate>=1.10.0,<2.0.0",
    "draccus==0.10.0",
    "jsonlines>=4.0.0,<5.0.0",
    "termcolor>=2.4.0,<4.0.0",
    "deepdiff>=7.0.1",
    "einops>=0.8.0,<0.9.0",
    "packaging>=24.2,<26.0",
    "pandas",
    "pyarrow",
    "pillow",
]
FFMPEG_LIBS = ("avutil", "avcodec", "avformat", "avfilter", "avdevice", "swscale", "swresample")
FFMPEG_APT = (
    "apt-get install libavdevice59 libavfilter8 libavformat59 libavcodec59 libavutil57 libswscale6 libswresample4"
)


# -- the lerobot environment ---------------------------------------------------------------------------------
def setup_venv(venv: Path) -> dict:
    """Create `venv` (outside the repository) with torch 2.13.0 CPU and lerobot; returns the versions in it."""
    inside = (REPO.resolve(), (REPO / ".venv").resolve())  # .venv may be a link to the project's environment
    if Path(venv).absolute().is_relative_to(REPO) or any(Path(venv).resolve().is_relative_to(p) for p in inside):
        raise SystemExit(f"{venv} is in the repository or its .venv: lerobot's environment stays outside them")
    py = venv / "bin" / "python"
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    probe = "import importlib.metadata as m; print(m.version('lerobot'), m.version('torchcodec'))"
    if subprocess.run([str(py), "-c", probe], capture_output=True).returncode != 0:
        subprocess.run([*pip, "torch==2.13.0"], check=True)
        subprocess.run([*pip, "--no-deps", LEROBOT, *PINNED], check=True)
        subprocess.run([*pip, *DEPS], check=True)
    versions = subprocess.run(
        [
            str(py),
            "-c",
            "import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in "
            "('lerobot', 'torch', 'torchvision', 'torchcodec', 'av', 'datasets', 'pyarrow', 'pandas')}))",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(versions.stdout)


# -- the bag -------------------------------------------------------------------------------------------------
def write_bag(path: Path, frames: int = 150) -> None:
    """A recording-like bag from the bundled clip (module docstring, step 1)."""
    import cv2
    import numpy as np

    from scalehp_ros.recording.bag import EpisodeBag, typestore

    ts = typestore()
    rng = np.random.default_rng(7)
    t0 = 1_760_000_000 * 10**9
    names = [f"arm_joint_{j}" for j in range(6)] + [f"hand_joint_{j}" for j in range(16)]

    def header(stamp: int):
        t = ts.types["builtin_interfaces/msg/Time"](sec=stamp // 10**9, nanosec=stamp % 10**9)
        return ts.types["std_msgs/msg/Header"](stamp=t, frame_id="camera_color_optical_frame")

    def joints(stamp: int, order: list[str], values, velocity: bool):
        return ts.types["sensor_msgs/msg/JointState"](
            header=header(stamp),
            name=order,
            position=np.asarray(values, dtype=np.float64),
            velocity=np.zeros(len(order) if velocity else 0),
            effort=np.zeros(0),
        )

    msgs = []
    cap = cv2.VideoCapture(str(REPO / "data" / "human_hand_video.mp4"))
    for i in range(frames):
        ok, bgr = cap.read()
        if not ok:
            break
        if i == 70:
            continue  # a frame the camera lost
        bgr = cv2.resize(bgr, (640, 360), interpolation=cv2.INTER_AREA)
        x = 16 + 16 * (i % 36)  # a marker moving 16 px a frame tells each frame from its neighbours
        cv2.rectangle(bgr, (x, 8), (x + 31, 39), (255, 255, 255), -1)
        stamp = t0 + round(i * 1e9 / 30) + int(rng.integers(-4_000_000, 4_000_000))
        jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])[1]
        msg = ts.types["sensor_msgs/msg/CompressedImage"](
            header=header(stamp), format="rgb8; jpeg compressed bgr8", data=jpeg.reshape(-1)
        )
        msgs.append((stamp + 12_000_000, "/camera/image_raw/compressed", "sensor_msgs/msg/CompressedImage", msg))
    end = t0 + round(frames * 1e9 / 30)
    state_order = sorted(names)  # a driver's own order
    for stamp in range(t0 + 100_000_000, end, 10_000_000):
        t = (stamp - t0) * 1e-9
        by_name = {n: np.sin(0.7 * t + j) for j, n in enumerate(names)}
        msg = joints(stamp, state_order, [by_name[n] for n in state_order], True)
        msgs.append((stamp + 500_000, "/joint_states", "sensor_msgs/msg/JointState", msg))
    for stamp in range(t0 + 250_000_000, end, 20_000_000):
        if 2_000_000_000 <= stamp - t0 < 2_300_000_000:
            continue  # the command stream stalls for 0.3 s
        t = (stamp - t0) * 1e-9
        msg = joints(stamp, names, [0.4 * np.cos(1.3 * t + j) for j in range(len(names))], True)
        msgs.append((stamp, "/retarget_node/joint_command", "sensor_msgs/msg/JointState", msg))
    bag = EpisodeBag(path, reserve_bytes=0)
    for log_time, topic, msgtype, msg in sorted(msgs, key=lambda m: m[0]):
        bag.write(topic, msgtype, log_time, bytes(ts.serialize_cdr(msg, msgtype)))
    bag.close({"task": "show the hand to the camera", "robot_name": "bench_arm_hand", "success": "true"})


def bag_truth(path: Path) -> dict:
    """Stamps and values of the bag's three streams, read again (not with the exporter's code)."""
    import numpy as np

    from scalehp_ros.recording.bag import BagReader

    out = {"image": [], "state": [], "command": []}
    names = None
    with BagReader(path) as bag:
        image_topic = (
            "/camera/image_raw/compressed" if "/camera/image_raw/compressed" in bag.topics else "/camera/image_raw"
        )
        topics = {image_topic: "image", "/joint_states": "state", "/retarget_node/joint_command": "command"}
        for m in bag.messages(set(topics)):
            msg = BagReader.decode(m)
            stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
            if topics[m.topic] == "image":
                out["image"].append((stamp, m))
            else:
                out[topics[m.topic]].append((stamp, list(msg.name), np.asarray(msg.position, dtype=np.float64)))
                if topics[m.topic] == "command" and names is None:
                    names = list(msg.name)
    for key in out:
        out[key].sort(key=lambda x: x[0])
    out["names"] = names
    return out


def decode_image(message) -> object:
    import cv2
    import numpy as np

    from scalehp_ros.recording.bag import BagReader

    msg = BagReader.decode(message)
    if message.msgtype.endswith("CompressedImage"):
        return cv2.cvtColor(cv2.imdecode(np.asarray(msg.data, dtype=np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    h, w = int(msg.height), int(msg.width)
    px = np.asarray(msg.data, dtype=np.uint8).reshape(h, int(msg.step))[:, : w * 3].reshape(h, w, 3)
    return px[:, :, ::-1] if msg.encoding == "bgr8" else px


def record_graph(out_dir: Path, frames: int, log_dir: Path) -> Path:
    """One episode recorded by the real graph (robot:=sim: video_source on the bundled clip -> hand_pose_node ->
    retarget_node, engaged once the hand is seen -> sim_node (MuJoCo) -> /joint_states; recorder_node with its
    default topics, started on launch, closed by SIGINT). Needs tools/run_isolated.sh. Returns the bag."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from std_srvs.srv import SetBool

    from scalehp_ros.bringup.graph import resolve
    from scalehp_ros.bringup.processes import GraphProcesses

    if os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") != "LOCALHOST":
        raise SystemExit("--record runs the graph over DDS: run this script under tools/run_isolated.sh")
    specs = resolve({"rviz": "false", "robot": "sim", "deadman": "none", "record": "true", "record_dir": str(out_dir)})
    for spec in specs:
        if spec.name == "video_source":
            spec.parameters.update(
                {"shutdown_at_end": True, "max_frames": frames, "max_width": 640, "wait_for_subscribers": 2}
            )
        elif spec.name == "retarget_node":
            spec.parameters.update({"autostart": True})
        elif spec.name == "sim_node":
            spec.parameters.update({"render_period": 0.0, "step_period": 0.02})
        elif spec.name == "recorder_node":
            spec.parameters.update({"start_on_launch": True, "task": "show the hand to the camera"})
    rclpy.init()
    node = Node("lerobot_check_record")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    engage = node.create_client(SetBool, "/retarget_node/engage")
    seen = []
    node.create_subscription(
        __import__("geometry_msgs.msg", fromlist=["PoseArray"]).PoseArray,
        "/hand_pose_node/right/joints",
        lambda m: seen.append(1),
        10,
    )
    graph = GraphProcesses(specs, log_dir=log_dir)
    start = time.monotonic()
    graph.start({s.key for s in graph.specs} - {"video_source"})
    try:
        ready = {
            "/camera/image_raw": ("hand_pose_node", "recorder_node"),
            "/hand_pose_node/right/joints": ("retarget_node",),
        }
        while time.monotonic() - start < 90 and not graph.exited():
            executor.spin_once(timeout_sec=0.1)
            subs = {t: {i.node_name for i in node.get_subscriptions_info_by_topic(t)} for t in ready}
            if all(set(who) <= subs[t] for t, who in ready.items()) and node.count_publishers("/joint_states"):
                break
        graph.start({"video_source"})
        engaged, pending = False, None
        while time.monotonic() - start < 240:
            executor.spin_once(timeout_sec=0.05)
            ended = graph.exited()
            if "video_source" in ended:
                break
            if ended:
                raise RuntimeError(f"a node exited early: {ended}; logs in {log_dir}")
            if pending is not None and pending.done():
                engaged, pending = bool(pending.result().success), None
            if not engaged and pending is None and seen and engage.service_is_ready():
                pending = engage.call_async(SetBool.Request(data=True))
        drain = time.monotonic()
        while time.monotonic() - drain < 1.5:
            executor.spin_once(timeout_sec=0.05)
    finally:
        graph.stop()
        node.destroy_node()
        rclpy.try_shutdown()
    bags = sorted(p for p in Path(out_dir).iterdir() if (p / "metadata.yaml").is_file())
    if not bags:
        raise RuntimeError(f"recorder_node wrote no bag; logs in {log_dir}")
    return bags[-1]


# -- the reader (runs in the lerobot environment) ------------------------------------------------------------
def reader(root: Path, out: Path, repo_id: str) -> None:
    import types

    sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq
    from lerobot.datasets.lerobot_dataset import CODEBASE_VERSION, LeRobotDataset

    t = time.perf_counter()
    ds = LeRobotDataset(repo_id, root=root)
    opened_s = time.perf_counter() - t
    cols: dict[str, list] = {k: [] for k in ("state", "action", "timestamp", "episode", "frame", "index", "image")}
    tasks = []
    t = time.perf_counter()
    for i in range(len(ds)):
        item = ds[i]
        cols["state"].append(item["observation.state"].numpy())
        cols["action"].append(item["action"].numpy())
        cols["timestamp"].append(float(item["timestamp"]))
        cols["episode"].append(int(item["episode_index"]))
        cols["frame"].append(int(item["frame_index"]))
        cols["index"].append(int(item["index"]))
        img = item[CAMERA_KEY].numpy()  # (3, h, w) float32 in [0, 1]
        cols["image"].append(np.round(img.transpose(1, 2, 0) * 255).astype(np.uint8))
        tasks.append(item["task"])
    read_s = time.perf_counter() - t
    fps = ds.fps
    # delta_timestamps: an action chunk of 10 and the previous image, at every 7th frame
    chunk = [k / fps for k in range(10)]
    dsd = LeRobotDataset(repo_id, root=root, delta_timestamps={"action": chunk, CAMERA_KEY: [-1 / fps, 0.0]})
    deltas = []
    for i in range(0, len(dsd), 7):
        item = dsd[i]
        deltas.append(
            {
                "i": i,
                "action": item["action"].numpy().tolist(),
                "action_is_pad": item["action_is_pad"].numpy().tolist(),
                "image_shape": list(item[CAMERA_KEY].shape),
                "image_is_pad": item[f"{CAMERA_KEY}_is_pad"].numpy().tolist(),
                "image_prev_mean": float(item[CAMERA_KEY][0].mean()),
                "image_now_mean": float(item[CAMERA_KEY][1].mean()),
            }
        )
    # one episode alone (lerobot filters the Parquet rows by episode_index)
    last = ds.meta.total_episodes - 1
    sub = LeRobotDataset(repo_id, root=root, episodes=[last])
    first = sub[0]
    subset = {
        "episode": last,
        "frames": len(sub),
        "first_index": int(first["index"]),
        "first_state": first["observation.state"].numpy().tolist(),
    }
    # the same frames through lerobot's own writer, for the layout and the schemas
    ref = out.parent / "reference"
    features = {k: dict(v) for k, v in ds.meta.features.items() if k in ("observation.state", "action", CAMERA_KEY)}
    for v in features.values():
        v.pop("info", None)
        v["shape"] = tuple(v["shape"])
    w = LeRobotDataset.create(repo_id + "_ref", fps, features=features, root=ref, robot_type=ds.meta.robot_type)
    for ep in range(min(ds.meta.total_episodes, 2)):
        for i in np.flatnonzero(np.asarray(cols["episode"]) == ep):
            w.add_frame(
                {
                    "observation.state": cols["state"][i],
                    "action": cols["action"][i],
                    CAMERA_KEY: cols["image"][i],
                    "task": tasks[i],
                }
            )
        w.save_episode()
    w.finalize()

    def layout(r: Path) -> dict:
        files = sorted(str(p.relative_to(r)) for p in r.rglob("*") if p.is_file() and ".cache" not in p.parts)
        info = json.loads((r / "meta/info.json").read_text())
        schema = {f.name: str(f.type) for f in pq.read_schema(r / "data/chunk-000/file-000.parquet")}
        episodes = pq.read_schema(r / "meta/episodes/chunk-000/file-000.parquet")
        stats = json.loads((r / "meta/stats.json").read_text())
        return {
            "files": files,
            "info_keys": list(info),
            "info": {k: v for k, v in info.items() if k != "features"},
            "features": info["features"],
            "data_schema": schema,
            "episodes_schema": {f.name: str(f.type) for f in episodes},
            "tasks": pd.read_parquet(r / "meta/tasks.parquet").reset_index().to_dict(orient="list"),
            "stats": {k: {s: list(np.shape(v)) for s, v in d.items()} for k, d in stats.items()},
        }

    from lerobot.datasets.video_utils import get_video_info

    report = {
        "video_info": get_video_info(root / VIDEO),  # what lerobot's writer would put in info.json for this mp4
        "codebase_version": CODEBASE_VERSION,
        "video_backend": ds.video_backend,
        "frames": len(ds),
        "episodes": ds.meta.total_episodes,
        "fps": fps,
        "open_s": opened_s,
        "read_s": read_s,
        "tasks": sorted(set(tasks)),
        "deltas": deltas,
        "subset": subset,
        "ours": layout(root),
        "reference": layout(ref),
    }
    np.savez_compressed(out.with_suffix(".npz"), **{k: np.asarray(v) for k, v in cols.items()})
    out.write_text(json.dumps(report, indent=1, default=str))


# -- the comparison (here) -----------------------------------------------------------------------------------
def expected(truth: dict, fps: int, max_age_ns: int) -> list[list[dict]]:
    """Episodes of frames the format asks for: grid t_k = first image + (k + 1/2)/fps, newest message at or before
    t_k per stream, frames with a missing or stale (> max age) message dropped, runs of kept frames = episodes."""
    import numpy as np

    first, last = truth["image"][0][0], truth["image"][-1][0]
    streams = {k: np.array([m[0] for m in truth[k]], dtype=np.int64) for k in ("image", "state", "command")}
    episodes, run, k = [], [], 0
    while first + (k + 0.5) * 1e9 / fps <= last:
        t = first + round((k + 0.5) * 1e9 / fps)
        frame = {"t": t}
        for name, stamps in streams.items():
            j = int(np.searchsorted(stamps, t, side="right")) - 1
            if j < 0 or t - stamps[j] > max_age_ns:
                frame = None
                break
            frame[name] = j
        if frame:
            run.append(frame)
        elif run:
            episodes.append(run)
            run = []
        k += 1
    if run:
        episodes.append(run)
    return episodes


def compare(bags: list[Path], arrays, video: Path, fps: int, max_age_ns: int) -> dict:
    import numpy as np

    rows = 0
    image_err, psnr, identity_checked, identity_fail = [], [], 0, 0
    state_err = action_err = ts_err = 0.0
    episode_of_bag = []
    for bag in bags:
        truth = bag_truth(bag)
        names = truth["names"]
        decoded_cache: dict[int, np.ndarray] = {}
        for ep in expected(truth, fps, max_age_ns):
            episode_of_bag.append(bag.name)
            for k, f in enumerate(ep):
                i = rows
                if (
                    arrays["episode"][i] != len(episode_of_bag) - 1
                    or arrays["frame"][i] != k
                    or arrays["index"][i] != i
                ):
                    raise AssertionError(f"frame {i}: episode/frame/index differ")
                _, st_names, st_pos = truth["state"][f["state"]]
                state = np.array([dict(zip(st_names, st_pos, strict=True))[n] for n in names], dtype=np.float32)
                action = truth["command"][f["command"]][2].astype(np.float32)
                state_err = max(state_err, float(np.abs(arrays["state"][i] - state).max()))
                action_err = max(action_err, float(np.abs(arrays["action"][i] - action).max()))
                ts_err = max(ts_err, abs(float(arrays["timestamp"][i]) - k / fps))
                j = f["image"]
                for jj in (j - 1, j, j + 1):
                    if 0 <= jj < len(truth["image"]) and jj not in decoded_cache:
                        decoded_cache[jj] = decode_image(truth["image"][jj][1]).astype(np.int16)
                got_img = arrays["image"][i].astype(np.int16)
                diffs = {
                    jj: float(np.abs(got_img - img).mean()) for jj, img in decoded_cache.items() if abs(jj - j) <= 1
                }
                # where a neighbouring camera image differs from the as-of one (pixels more than 40 levels apart:
                # the moving marker, a moving hand), the decoded frame must be nearer to the as-of one there
                for jj in diffs:
                    if jj == j:
                        continue
                    mask = (np.abs(decoded_cache[jj] - decoded_cache[j]) > 40).any(axis=2)
                    if mask.sum() < 100:
                        continue
                    identity_checked += 1
                    near = float(np.abs(got_img[mask] - decoded_cache[j][mask]).mean())
                    identity_fail += int(float(np.abs(got_img[mask] - decoded_cache[jj][mask]).mean()) <= near)
                image_err.append(diffs[j])
                mse = float(((got_img - decoded_cache[j]) ** 2).mean())
                psnr.append(10 * np.log10(255**2 / mse) if mse else float("inf"))
                rows += 1
                for old in [x for x in decoded_cache if x < j - 1]:
                    del decoded_cache[old]
    if rows != len(arrays["index"]):
        raise AssertionError(f"the dataset has {len(arrays['index'])} frames, the bags give {rows}")
    return {
        "frames_compared": rows,
        "episodes": len(episode_of_bag),
        "state_max_abs_err": state_err,
        "action_max_abs_err": action_err,
        "timestamp_max_abs_err_s": ts_err,
        "image_mean_abs_err": {"mean": float(np.mean(image_err)), "max": float(np.max(image_err))},
        "image_psnr_db": {"mean": float(np.mean(psnr)), "min": float(np.min(psnr))},
        "image_nearest_to_its_as_of_image": {"checked": identity_checked, "failed": identity_fail},
        "reader_vs_opencv_decode": same_decode(arrays, video),
    }


def same_decode(arrays, video: Path) -> dict:
    """The reader's frame i against frame i of the mp4 decoded here by OpenCV's FFmpeg: the same picture, so the
    reader fetched each frame by its timestamp from the right place in the file."""
    import cv2
    import numpy as np

    cap = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.int16))
    if len(frames) != len(arrays["image"]):
        raise AssertionError(f"the mp4 has {len(frames)} frames, the reader gave {len(arrays['image'])}")
    err, not_nearest = [], 0
    for i, got in enumerate(arrays["image"].astype(np.int16)):
        d = {j: float(np.abs(got - frames[j]).mean()) for j in (i - 1, i, i + 1) if 0 <= j < len(frames)}
        err.append(d[i])
        not_nearest += int(min(d.values()) < d[i])
    return {"mean_abs_err": {"mean": float(np.mean(err)), "max": float(np.max(err))}, "not_nearest": not_nearest}


def layout_diff(ours: dict, ref: dict) -> dict:
    """What differs between our files and lerobot's own for the same frames (the values may differ)."""
    diff = {}
    if set(ours["files"]) != set(ref["files"]):
        diff["files"] = {
            "ours_only": sorted(set(ours["files"]) - set(ref["files"])),
            "lerobot_only": sorted(set(ref["files"]) - set(ours["files"])),
        }
    if ours["info_keys"] != ref["info_keys"]:
        diff["info_keys"] = {"ours": ours["info_keys"], "lerobot": ref["info_keys"]}
    skip = {"total_episodes", "total_frames", "splits"}
    info = {k: (ours["info"].get(k), ref["info"].get(k)) for k in ref["info"] if k not in skip}
    info = {k: v for k, v in info.items() if v[0] != v[1]}
    if info:
        diff["info"] = info
    feats = {}
    for k in set(ours["features"]) | set(ref["features"]):
        a, b = ours["features"].get(k), ref["features"].get(k)
        if a != b:
            feats[k] = {"ours": a, "lerobot": b}
    if feats:
        diff["features"] = feats
    for key in ("data_schema", "episodes_schema", "stats"):
        a, b = ours[key], ref[key]
        d = {k: {"ours": a.get(k), "lerobot": b.get(k)} for k in set(a) | set(b) if a.get(k) != b.get(k)}
        if d:
            diff[key] = d
    return diff


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bag", type=Path, nargs="*", help="episode bags to export (default: one made from the clip)")
    parser.add_argument(
        "--record",
        type=int,
        default=0,
        metavar="FRAMES",
        help="record the bag with the real graph (robot:=sim) from the clip's first FRAMES frames (run_isolated.sh)",
    )
    parser.add_argument("--venv", type=Path, default=VENV, help="lerobot's environment (created when missing)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the dataset and the reports in this folder")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON line")
    parser.add_argument("--reader", nargs=3, metavar=("ROOT", "OUT", "REPO_ID"), help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.reader:
        reader(Path(opts.reader[0]), Path(opts.reader[1]), opts.reader[2])
        return 0
    missing = [lib for lib in FFMPEG_LIBS if ctypes.util.find_library(lib) is None]
    if missing:
        print(f"lerobot_check: torchcodec needs the FFmpeg libraries ({', '.join(missing)} missing): {FFMPEG_APT}")
        return 2
    versions = setup_venv(opts.venv)
    work = Path(opts.keep or tempfile.mkdtemp(prefix="lerobot_check_"))
    work.mkdir(parents=True, exist_ok=True)
    bags = opts.bag or [work / "bench_episode"]
    if opts.record:
        shutil.rmtree(work / "episodes", ignore_errors=True)
        bags = [record_graph(work / "episodes", opts.record, work / "logs")]
    elif not opts.bag:
        shutil.rmtree(bags[0], ignore_errors=True)
        write_bag(bags[0])
    root = work / "dataset"
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(work / "reference", ignore_errors=True)
    export_cmd = [sys.executable, "-m", "scalehp_ros.recording.export", *map(str, bags), "--out", str(root)]
    export_cmd += ["--format", "lerobot"]
    t = time.perf_counter()
    exported = subprocess.run(export_cmd, cwd=REPO, capture_output=True, text=True)
    export_s = time.perf_counter() - t
    if exported.returncode:
        print(exported.stdout + exported.stderr)
        return 1
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_HOME=str(work / "hf_home"))
    out = work / "reader.json"
    read = subprocess.run(
        [str(opts.venv / "bin" / "python"), __file__, "--reader", str(root), str(out), "scalehp/lerobot_check"],
        env=env,
        capture_output=True,
        text=True,
    )
    if read.returncode:
        print(read.stdout[-4000:] + read.stderr[-8000:])
        return 1
    got = json.loads(out.read_text())
    import numpy as np

    arrays = dict(np.load(out.with_suffix(".npz")))
    info = json.loads((root / "meta/info.json").read_text())
    export_report = json.loads((root / "meta/scalehp_export.json").read_text())
    result = {
        "versions": versions,
        "export_command": " ".join(["scalehp-export", *map(str, bags), "--out", str(root), "--format", "lerobot"]),
        "export_s": round(export_s, 2),
        "export_stdout": exported.stdout.strip().splitlines(),
        "dropped": {
            b["bag"]: {"before_first": b["dropped_before_first"], "stale": b["dropped_stale"]}
            for b in export_report["bags"]
        },
        "reader": {
            k: got[k]
            for k in ("codebase_version", "video_backend", "frames", "episodes", "fps", "open_s", "read_s", "tasks")
        },
        "comparison": compare(bags, arrays, root / VIDEO, info["fps"], round(export_report["max_age_s"] * 1e9)),
        "layout_vs_lerobot_writer": layout_diff(got["ours"], got["reference"]),
        "video_info_vs_lerobot_probe": {
            k: (v, got["video_info"].get(k))
            for k, v in info["features"][CAMERA_KEY]["info"].items()
            if v != got["video_info"].get(k)
        },
    }
    # delta_timestamps: the action chunk is the next rows of this episode, padded (repeating the last) past its end
    ep_end = {}
    for e, i in zip(arrays["episode"], arrays["index"], strict=True):
        ep_end[int(e)] = int(i)
    chunk_err, pad_ok = 0.0, True
    for d in got["deltas"]:
        i = d["i"]
        last = ep_end[int(arrays["episode"][i])]
        for k, (a, pad) in enumerate(zip(d["action"], d["action_is_pad"], strict=True)):
            j = min(i + k, last)
            pad_ok &= pad == (i + k > last)
            chunk_err = max(chunk_err, float(np.abs(np.asarray(a) - arrays["action"][j]).max()))
    sub = got["subset"]
    rows = np.flatnonzero(arrays["episode"] == sub["episode"])
    result["one_episode"] = {
        "episode": sub["episode"],
        "frames": sub["frames"],
        "as_in_the_whole": bool(
            sub["frames"] == len(rows)
            and sub["first_index"] == int(arrays["index"][rows[0]])
            and np.array_equal(np.float32(sub["first_state"]), arrays["state"][rows[0]])
        ),
    }
    result["delta_timestamps"] = {
        "items": len(got["deltas"]),
        "action_chunk_max_abs_err": chunk_err,
        "padding_as_expected": bool(pad_ok),
    }
    c = result["comparison"]
    ok = (
        c["state_max_abs_err"] == 0
        and c["action_max_abs_err"] == 0
        and c["timestamp_max_abs_err_s"] < 1e-6
        and c["image_nearest_to_its_as_of_image"]["failed"] == 0
        and c["reader_vs_opencv_decode"]["not_nearest"] == 0
        and c["reader_vs_opencv_decode"]["mean_abs_err"]["max"] < 1.0
        and c["image_mean_abs_err"]["max"] < 8.0
        and chunk_err == 0
        and not result["video_info_vs_lerobot_probe"]
        and result["one_episode"]["as_in_the_whole"]
        and pad_ok
    )
    result["ok"] = ok
    (work / "result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result) if opts.json else json.dumps(result, indent=2))
    print(f"lerobot_check: {'OK' if ok else 'FAILED'} ({work})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
