"""`scalehp-export --format lerobot`: the LeRobot v3.0 layout, its schema and its values against the bag they came from.

The bag is written here, ROS-free, by the recorder core (EpisodeRecorder: raw camera images in, JPEG on
/camera/image_raw/compressed in the bag, as recorder_node records) with what a recording holds: images at 30 Hz
with stamp jitter and one frame lost, /joint_states at 100 Hz that start late and name the joints in another
order, /retarget_node/joint_command at 50 Hz with a 0.3 s outage. The expected frames are worked out below by
brute force from the messages read back from the bag (not with the exporter's functions). Opening the result
with the real `lerobot` package needs its own environment: bench/lerobot_check.py (docs/recording.md).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from scalehp_ros.recording.bag import typestore
from scalehp_ros.recording.lerobot import CAMERA_KEY, CODEBASE_VERSION

FPS = 30
T0 = 1_700_000_000 * 10**9  # the header stamps' clock: a wall-clock time, ns
COMMAND_NAMES = [f"arm_{j}" for j in range(3)] + [f"finger_{j}" for j in range(4)]
STATE_NAMES = sorted(COMMAND_NAMES, reverse=True)  # a driver publishing in its own order
W, H = 128, 96
MAX_AGE_NS = 100_000_000
DATASET_FILES = {
    "meta/info.json",
    "meta/stats.json",
    "meta/tasks.parquet",
    "meta/scalehp_export.json",
    "meta/episodes/chunk-000/file-000.parquet",
    "data/chunk-000/file-000.parquet",
    f"videos/{CAMERA_KEY}/chunk-000/file-000.mp4",
}


def _picture(i: int, w: int = W, h: int = H) -> np.ndarray:
    """A smooth RGB picture (little codec loss) that tells frame i from its neighbours: a square moving 3 px."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // w, y * 255 // h, np.full_like(x, (i * 7) % 200 + 30)], axis=2).astype(np.uint8)
    cx = 10 + 3 * (i % 35)
    img[30:60, cx : cx + 16] = (250, 250, 250)
    return img


def _header(stamp_ns: int, frame: str = ""):
    ts = typestore()
    stamp = ts.types["builtin_interfaces/msg/Time"](sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
    return ts.types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame)


def _state(t: float) -> np.ndarray:
    return np.array([np.sin(t + j) for j in range(len(COMMAND_NAMES))])


def _command(t: float) -> np.ndarray:
    return np.array([0.5 * np.cos(2 * t + j) for j in range(len(COMMAND_NAMES))])


def write_bag(path, *, with_command: bool = True, task: str = "pick up the cube", size: tuple = (W, H)) -> dict:
    """An episode bag written by the recorder core (raw rgb8 images in, JPEG CompressedImage in the bag, as
    recorder_node records); returns what the bag holds, read back from it: {stream: [(stamp_ns, value)]}."""
    from scalehp_ros.recording.episode import EpisodeRecorder, RecorderSettings

    ts = typestore()
    rng = np.random.default_rng(3)
    settings = RecorderSettings(
        output_dir=str(path.parent), min_free_bytes=0, queue_size=100_000, jpeg_quality=95, task=task
    )
    messages = []
    for i in range(90):
        if i == 40:
            continue  # a frame the camera lost
        stamp = T0 + round(i * 1e9 / FPS) + int(rng.integers(-3_000_000, 3_000_000))
        rgb = _picture(i, *size)
        h, w = rgb.shape[:2]
        msg = ts.types["sensor_msgs/msg/Image"](
            header=_header(stamp, "camera_optical"),
            height=h,
            width=w,
            encoding="rgb8",
            is_bigendian=0,
            step=w * 3,
            data=rgb.reshape(-1),
        )
        # received ~15 ms after the stamp, as a camera's frames are
        messages.append((stamp + 15_000_000, "/camera/image_raw", "sensor_msgs/msg/Image", msg))
    for k in range(20, 300):  # 100 Hz from 0.2 s, with jitter as a driver's stamps have
        stamp = T0 + k * 10_000_000 + int(rng.integers(-4_000_000, 4_000_000))
        by_name = dict(zip(COMMAND_NAMES, _state(k * 0.01), strict=True))
        msg = ts.types["sensor_msgs/msg/JointState"](
            header=_header(stamp),
            name=list(STATE_NAMES),
            position=np.array([by_name[n] for n in STATE_NAMES]),
            velocity=np.zeros(0),
            effort=np.zeros(0),
        )
        messages.append((stamp + 1_000_000, "/joint_states", "sensor_msgs/msg/JointState", msg))
    if with_command:
        for k in range(15, 150):  # 50 Hz from 0.3 s, nothing between 1.5 s and 1.8 s
            if 75 <= k < 90:
                continue
            stamp = T0 + k * 20_000_000 + int(rng.integers(0, 9_000_000))
            value = _command(k * 0.02)
            msg = ts.types["sensor_msgs/msg/JointState"](
                header=_header(stamp),
                name=list(COMMAND_NAMES),
                position=value,
                velocity=np.zeros(len(value)),
                effort=np.zeros(0),
            )
            messages.append((stamp, "/retarget_node/joint_command", "sensor_msgs/msg/JointState", msg))
    recorder = EpisodeRecorder(settings)
    recorder.start(path.name)
    for log_time, topic, msgtype, msg in sorted(messages, key=lambda m: m[0]):
        assert recorder.submit(topic, msgtype, bytes(ts.serialize_cdr(msg, msgtype)), log_time)
    recorder.set_metadata(robot_name="test_arm_hand")
    assert recorder.stop(success=True) == path
    return read_back(path)


def read_back(path) -> dict:
    """{stream: [(header stamp ns, value)]} of the bag: images decoded to RGB, joints in COMMAND_NAMES order."""
    import cv2

    from scalehp_ros.recording.bag import BagReader

    streams = {
        "/camera/image_raw/compressed": "image",
        "/joint_states": "state",
        "/retarget_node/joint_command": "command",
    }
    out: dict[str, list] = {"image": [], "state": [], "command": []}
    with BagReader(path) as bag:
        for m in bag.messages(set(streams)):
            msg = BagReader.decode(m)
            stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
            if streams[m.topic] == "image":
                bgr = cv2.imdecode(np.asarray(msg.data, dtype=np.uint8), cv2.IMREAD_COLOR)
                out["image"].append((stamp, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
            else:
                by_name = dict(zip(msg.name, msg.position, strict=True))
                out[streams[m.topic]].append((stamp, np.array([by_name[n] for n in COMMAND_NAMES])))
    return out


def expected_episodes(written: dict, fps: int = FPS) -> tuple[list[list[dict]], dict]:
    """The frames the format asks for, by brute force: grid t_k = first image stamp + (k + 1/2) / fps, each stream's
    newest message stamped at or before t_k, a frame dropped when one is missing or older than 0.1 s, runs of kept
    frames = episodes. Also the drop counts (each frame under the first stream, image/state/command, that fails)."""
    first = min(s for s, _ in written["image"])
    last = max(s for s, _ in written["image"])
    episodes, run = [], []
    before = {"image": 0, "state": 0, "command": 0}
    stale = dict(before)
    k = 0
    while first + (k + 0.5) * 1e9 / fps <= last:
        t = first + round((k + 0.5) * 1e9 / fps)
        frame, ok = {"t": t}, True
        for stream in ("image", "state", "command"):
            older = [(s, v) for s, v in written[stream] if s <= t]
            if not older:
                before[stream] += 1
                ok = False
                break
            s, v = max(older, key=lambda m: m[0])
            if t - s > MAX_AGE_NS:
                stale[stream] += 1
                ok = False
                break
            frame[stream] = v
        if ok:
            run.append(frame)
        elif run:
            episodes.append(run)
            run = []
        k += 1
    if run:
        episodes.append(run)
    return episodes, {"before": before, "stale": stale, "grid": k}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from scalehp_ros.recording.export import main

    tmp = tmp_path_factory.mktemp("lerobot")
    written = write_bag(tmp / "episode_a")
    out = tmp / "dataset"
    assert main([str(tmp / "episode_a"), "--out", str(out), "--format", "lerobot"]) == 0
    return {"out": out, "written": written, "expected": expected_episodes(written)}


def test_layout_and_info_json(dataset):
    out = dataset["out"]
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert files == DATASET_FILES
    info = json.loads((out / "meta/info.json").read_text())
    episodes, _ = dataset["expected"]
    assert list(info) == [  # the keys of lerobot's create_empty_dataset_info, in its order
        "codebase_version",
        "robot_type",
        "total_episodes",
        "total_frames",
        "total_tasks",
        "chunks_size",
        "data_files_size_in_mb",
        "video_files_size_in_mb",
        "fps",
        "splits",
        "data_path",
        "video_path",
        "features",
    ]
    assert info["codebase_version"] == CODEBASE_VERSION == "v3.0" and info["robot_type"] == "test_arm_hand"
    assert info["fps"] == FPS and isinstance(info["fps"], int)
    assert info["total_episodes"] == len(episodes) == 2  # the command outage splits the bag
    assert info["total_frames"] == sum(len(e) for e in episodes) and info["total_tasks"] == 1
    assert info["splits"] == {"train": "0:2"}
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert info["video_path"] == "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    f = info["features"]
    assert f["observation.state"] == {"dtype": "float32", "shape": [7], "names": COMMAND_NAMES}
    assert f["action"] == {"dtype": "float32", "shape": [7], "names": COMMAND_NAMES}
    cam = f[CAMERA_KEY]
    assert cam["dtype"] == "video" and cam["shape"] == [H, W, 3] and cam["names"] == ["height", "width", "channels"]
    assert cam["info"]["video.fps"] == FPS and cam["info"]["video.codec"] == "mpeg4"
    assert (cam["info"]["video.height"], cam["info"]["video.width"]) == (H, W) and not cam["info"]["has_audio"]
    for key in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
        assert f[key]["shape"] == [1] and f[key]["names"] is None
    assert f["timestamp"]["dtype"] == "float32" and f["index"]["dtype"] == "int64"


def test_data_parquet_schema_and_values_against_the_bag(dataset):
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = dataset["out"]
    table = pq.read_table(out / "data/chunk-000/file-000.parquet")
    assert table.schema.field("observation.state").type == pa.list_(pa.float32(), 7)
    assert table.schema.field("action").type == pa.list_(pa.float32(), 7)
    assert table.schema.field("timestamp").type == pa.float32()
    for key in ("frame_index", "episode_index", "index", "task_index"):
        assert table.schema.field(key).type == pa.int64()
    hf = json.loads(table.schema.metadata[b"huggingface"])["info"]["features"]
    assert hf["action"] == {"feature": {"dtype": "float32", "_type": "Value"}, "length": 7, "_type": "List"}
    rows = table.to_pydict()
    episodes, _ = dataset["expected"]
    frames = [(e, k, frame) for e, ep in enumerate(episodes) for k, frame in enumerate(ep)]
    assert len(rows["index"]) == len(frames)
    assert rows["index"] == list(range(len(frames)))
    for i, (e, k, frame) in enumerate(frames):
        assert rows["episode_index"][i] == e and rows["frame_index"][i] == k and rows["task_index"][i] == 0
        assert rows["timestamp"][i] == np.float32(k / FPS)
        np.testing.assert_array_equal(rows["observation.state"][i], frame["state"].astype(np.float32))
        np.testing.assert_array_equal(rows["action"][i], frame["command"].astype(np.float32))


def test_episodes_tasks_and_report(dataset):
    import pyarrow.parquet as pq

    out = dataset["out"]
    episodes, counts = dataset["expected"]
    ep = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert [e["episode_index"] for e in ep] == [0, 1]
    start = 0
    for e, frames in zip(ep, episodes, strict=True):
        n = len(frames)
        assert e["tasks"] == ["pick up the cube"] and e["length"] == n
        assert (e["dataset_from_index"], e["dataset_to_index"]) == (start, start + n)
        assert (e["data/chunk_index"], e["data/file_index"]) == (0, 0)
        assert (e["meta/episodes/chunk_index"], e["meta/episodes/file_index"]) == (0, 0)
        assert (e[f"videos/{CAMERA_KEY}/chunk_index"], e[f"videos/{CAMERA_KEY}/file_index"]) == (0, 0)
        assert e[f"videos/{CAMERA_KEY}/from_timestamp"] == pytest.approx(start / FPS)
        assert e[f"videos/{CAMERA_KEY}/to_timestamp"] == pytest.approx((start + n) / FPS)
        state = np.array([f["state"] for f in frames], dtype=np.float32)
        np.testing.assert_allclose(e["stats/observation.state/mean"], state.mean(axis=0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(e["stats/observation.state/min"], state.min(axis=0))
        assert e["stats/observation.state/count"] == [n] and e["stats/frame_index/max"] == [n - 1]
        assert np.asarray(e[f"stats/{CAMERA_KEY}/mean"]).shape == (3, 1, 1)
        for stat in ("min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99"):
            assert f"stats/action/{stat}" in e
        start += n
    tasks = pq.read_table(out / "meta/tasks.parquet")
    assert tasks.to_pydict() == {"task_index": [0], "__index_level_0__": ["pick up the cube"]}
    assert json.loads(tasks.schema.metadata[b"pandas"])["index_columns"] == ["__index_level_0__"]
    report = json.loads((out / "meta/scalehp_export.json").read_text())["bags"][0]
    assert report["grid_frames"] == counts["grid"] and report["frames"] == start
    assert report["dropped_before_first"] == counts["before"] and report["dropped_stale"] == counts["stale"]
    assert counts["before"]["state"] > 0 and counts["before"]["command"] > 0 and counts["stale"]["command"] > 0
    assert report["images_repeated"] >= 1  # the lost camera frame: its grid time holds the previous image


def test_stats_json(dataset):
    import pyarrow.parquet as pq

    out = dataset["out"]
    stats = json.loads((out / "meta/stats.json").read_text())
    assert set(stats) == {
        "observation.state",
        "action",
        CAMERA_KEY,
        "timestamp",
        "frame_index",
        "episode_index",
        "index",
        "task_index",
    }
    rows = pq.read_table(out / "data/chunk-000/file-000.parquet").to_pydict()
    action = np.array(rows["action"], dtype=np.float64)
    np.testing.assert_allclose(stats["action"]["mean"], action.mean(axis=0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(stats["action"]["std"], action.std(axis=0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(stats["action"]["max"], action.max(axis=0))
    assert stats["action"]["count"] == [len(action)] and stats["index"]["max"] == [len(action) - 1]
    cam = np.asarray(stats[CAMERA_KEY]["mean"])
    assert cam.shape == (3, 1, 1) and (0 <= cam).all() and (cam <= 1).all()


def test_video_frames_are_the_as_of_images(dataset):
    import cv2

    out = dataset["out"]
    episodes, _ = dataset["expected"]
    expected = [f["image"] for ep in episodes for f in ep]
    cap = cv2.VideoCapture(str(out / f"videos/{CAMERA_KEY}/chunk-000/file-000.mp4"))
    assert cap.get(cv2.CAP_PROP_FPS) == FPS
    decoded = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        decoded.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.int16))
    assert len(decoded) == len(expected)
    sources = [img.astype(np.int16) for _, img in dataset["written"]["image"]]
    errors = []
    for got, want in zip(decoded, expected, strict=True):
        diffs = [np.abs(got - s).mean() for s in sources]
        assert np.abs(got - want).mean() == min(diffs)  # the nearest recorded image is the as-of one
        errors.append(min(diffs))
    assert max(errors) < 4.0, max(errors)  # mp4v loss on these smooth pictures: measured ~1-2 levels of 255


def test_errors_are_reported_not_raised(tmp_path, capsys):
    from scalehp_ros.recording.export import main

    write_bag(tmp_path / "no_command", with_command=False)
    assert main([str(tmp_path / "no_command"), "--out", str(tmp_path / "a"), "--format", "lerobot"]) == 2
    assert "/retarget_node/joint_command" in capsys.readouterr().err
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("")
    write_bag(tmp_path / "ok")
    assert main([str(tmp_path / "ok"), "--out", str(busy), "--format", "lerobot"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main([str(tmp_path / "ok"), "--out", str(tmp_path / "b"), "--format", "lerobot", "--max-age", "0.001"]) == 2
    assert "nothing to export" in capsys.readouterr().err


def test_several_bags_follow_each_other(tmp_path):
    from scalehp_ros.recording.lerobot import export_lerobot

    first = expected_episodes(write_bag(tmp_path / "a"))[0]
    second = expected_episodes(write_bag(tmp_path / "b", task="stack the cups"))[0]
    report = export_lerobot([tmp_path / "a", tmp_path / "b"], tmp_path / "ds")
    assert report["episodes"] == len(first) + len(second) == 4
    import pyarrow.parquet as pq

    ep = pq.read_table(tmp_path / "ds/meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert [e["tasks"] for e in ep] == [["pick up the cube"]] * 2 + [["stack the cups"]] * 2
    assert [e["dataset_from_index"] for e in ep[1:]] == [e["dataset_to_index"] for e in ep[:-1]]
    assert pq.read_table(tmp_path / "ds/meta/tasks.parquet").to_pydict()["task_index"] == [0, 1]
    rows = pq.read_table(tmp_path / "ds/data/chunk-000/file-000.parquet").to_pydict()
    assert sorted(set(rows["task_index"][ep[2]["dataset_from_index"] :])) == [1]


def test_a_run_without_a_robot_exports_its_commanded_state_as_both(tmp_path):
    """retarget_node with simulate_robot publishes the commanded state as /joint_states: that one topic is then
    both the state and the action (--action-topic /joint_states); a non-JointState topic is refused."""
    import pyarrow.parquet as pq

    from scalehp_ros.recording.export import main

    written = write_bag(tmp_path / "sim", with_command=False)
    out = tmp_path / "ds"
    assert (
        main([str(tmp_path / "sim"), "--out", str(out), "--format", "lerobot", "--action-topic", "/joint_states"]) == 0
    )
    rows = pq.read_table(out / "data/chunk-000/file-000.parquet").to_pydict()
    assert rows["observation.state"] == rows["action"]
    names = json.loads((out / "meta/info.json").read_text())["features"]["action"]["names"]
    assert names == STATE_NAMES  # the topic's own order when it is the action
    assert len(rows["index"]) == len(expected_episodes({**written, "command": written["state"]})[0][0])
    sim = [str(tmp_path / "sim"), "--format", "lerobot", "--action-topic", "/joint_states"]
    assert main([*sim, "--out", str(tmp_path / "x"), "--image-topic", "/joint_states"]) == 2
    assert main([*sim, "--out", str(tmp_path / "y"), "--state-topic", "/camera/image_raw/compressed"]) == 2
    with pytest.raises(SystemExit):  # lerobot options without --format lerobot: a usage error
        main([str(tmp_path / "sim"), "--out", str(tmp_path / "z"), "--fps", "30"])


def test_odd_image_sizes_lose_a_row_and_a_column_and_a_failed_export_leaves_nothing(tmp_path):
    """yuv420p needs even sizes; bags whose (cropped) sizes differ cannot share the video: the error comes while
    the video is being written, and the output folder is left empty."""
    import cv2

    from scalehp_ros.recording.lerobot import export_lerobot

    written = write_bag(tmp_path / "odd", size=(W - 1, H - 1))
    export_lerobot([tmp_path / "odd"], tmp_path / "ds")
    info = json.loads((tmp_path / "ds/meta/info.json").read_text())
    assert info["features"][CAMERA_KEY]["shape"] == [H - 2, W - 2, 3]
    cap = cv2.VideoCapture(str(tmp_path / f"ds/videos/{CAMERA_KEY}/chunk-000/file-000.mp4"))
    ok, first = cap.read()
    assert ok and first.shape == (H - 2, W - 2, 3)
    want = expected_episodes(written)[0][0][0]["image"][: H - 2, : W - 2]
    assert np.abs(cv2.cvtColor(first, cv2.COLOR_BGR2RGB).astype(int) - want).mean() < 4.0
    write_bag(tmp_path / "even")
    (tmp_path / "mixed").mkdir()
    with pytest.raises(ValueError, match="size"):
        export_lerobot([tmp_path / "even", tmp_path / "odd"], tmp_path / "mixed")
    assert list((tmp_path / "mixed").iterdir()) == []


def test_as_of_means_at_or_before_and_stale_means_older_than_max_age():
    """The boundaries, exactly: a message stamped at the frame time is taken; one exactly max_age old is fresh."""
    from scalehp_ros.recording.lerobot import BagStreams, JointStream, align, asof

    np.testing.assert_array_equal(asof(np.array([10, 20]), np.array([5, 10, 19, 20, 25])), [-1, 0, 0, 1, 1])
    period = 1e9 / FPS
    images = np.array([0, 33_333_333, 66_666_667, 100_000_000, 133_333_333])
    grid = np.round((np.arange(4) + 0.5) * period).astype(np.int64)  # 16.7, 50, 83.3, 116.7 ms
    # state: one stamped exactly at grid[0]; then nothing until 116.7 - 100 ms = 16.7 ms old at grid[3]: fresh
    state = JointStream(["a"], np.array([grid[0]]), np.array([[1.0]]))
    command = JointStream(["a"], np.array([0, grid[2]]), np.array([[2.0], [3.0]]))
    streams = BagStreams(None, "/img", images, np.arange(5), state, command, {})
    a = align(streams, 0, FPS, max_age_s=(grid[3] - grid[0]) * 1e-9)
    assert [len(s.grid_times) for s in a.segments] == [4] and a.dropped_stale == {"image": 0, "state": 0, "command": 0}
    np.testing.assert_array_equal(a.segments[0].image, [0, 1, 2, 3])
    np.testing.assert_array_equal(a.segments[0].command, [0, 0, 1, 1])
    b = align(streams, 0, FPS, max_age_s=(grid[3] - grid[0] - 1) * 1e-9)  # 1 ns less: the last frame is stale
    assert [len(s.grid_times) for s in b.segments] == [3] and b.dropped_stale["state"] == 1
