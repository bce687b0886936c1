"""The episode recorder core without ROS: bag round trip, JPEG images, metadata, limits and write failures."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import time
import uuid

import numpy as np
import pytest

from scalehp_ros.recording.bag import RESERVE_NAME, BagReader, EpisodeBag, typestore
from scalehp_ros.recording.episode import (
    COMPRESSED_TYPE,
    IMAGE_TYPE,
    EpisodeRecorder,
    RecorderSettings,
    parse_topics,
)

POSES = "geometry_msgs/msg/PoseArray"


def _stamp(i: int):
    ts = typestore()
    return ts.types["builtin_interfaces/msg/Time"](sec=1000 + i // 30, nanosec=(i % 30) * 33_000_000)


def _header(i: int):
    return typestore().types["std_msgs/msg/Header"](stamp=_stamp(i), frame_id="camera_color_optical_frame")


def image_cdr(i: int, w: int = 64, h: int = 48) -> bytes:
    ts = typestore()
    rng = np.random.default_rng(i)
    data = rng.integers(0, 255, size=h * w * 3, dtype=np.uint8)
    msg = ts.types[IMAGE_TYPE](
        header=_header(i), height=h, width=w, encoding="rgb8", is_bigendian=0, step=w * 3, data=data
    )
    return bytes(ts.serialize_cdr(msg, IMAGE_TYPE))


def poses_cdr(i: int) -> bytes:
    ts = typestore()
    pose = ts.types["geometry_msgs/msg/Pose"](
        position=ts.types["geometry_msgs/msg/Point"](x=float(i), y=0.0, z=0.5),
        orientation=ts.types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
    )
    return bytes(ts.serialize_cdr(ts.types[POSES](header=_header(i), poses=[pose] * 21), POSES))


def _settings(tmp_path, **kw) -> RecorderSettings:
    return RecorderSettings(output_dir=str(tmp_path), min_free_bytes=0, **kw)


def test_topics_parameter_parsing():
    assert parse_topics(" /a:std_msgs/msg/String, /b ,") == [("/a", "std_msgs/msg/String"), ("/b", None)]
    with pytest.raises(ValueError, match="absolute"):
        parse_topics("a")
    with pytest.raises(ValueError, match="pkg/msg/Type"):
        parse_topics("/a:String")


def test_episode_round_trip_with_jpeg_images_and_metadata(tmp_path):
    rec = EpisodeRecorder(_settings(tmp_path, operator="alice", hand_length_m=0.19))
    path = rec.start("ep1")
    for i in range(40):
        assert rec.submit("/camera/image_raw", IMAGE_TYPE, image_cdr(i), 10_000 + i)
        assert rec.submit("/hand/joints", POSES, poses_cdr(i), 10_000 + i)
    rec.set_metadata(camera_calibration='{"K": [1]}')
    assert rec.stop(success=True) == path
    assert not (path / RESERVE_NAME).exists()
    with BagReader(path) as bag:
        assert bag.storage == "mcap"
        assert bag.topics == {"/camera/image_raw/compressed": (COMPRESSED_TYPE, 40), "/hand/joints": (POSES, 40)}
        meta = bag.custom_data
        assert meta["operator"] == "alice" and meta["success"] == "true" and meta["hand_length_m"] == "0.19"
        assert meta["camera_calibration"] == '{"K": [1]}' and meta["package_version"]
        assert json.loads(meta["dropped"]) == {}
        msgs = list(bag.messages({"/camera/image_raw/compressed"}))
        first = BagReader.decode(msgs[0])
        assert first.format.startswith("rgb8; jpeg") and first.header.stamp.sec == 1000
        stamps = [BagReader.decode(m).header.stamp for m in msgs]
        keys = [s.sec * 10**9 + s.nanosec for s in stamps]
        assert keys == sorted(keys)
    import cv2

    decoded = cv2.imdecode(np.asarray(first.data), cv2.IMREAD_COLOR)
    assert decoded.shape == (48, 64, 3)
    assert rec.state.written == {"/camera/image_raw/compressed": 40, "/hand/joints": 40}


def test_full_queue_drops_and_counts(tmp_path):
    rec = EpisodeRecorder(_settings(tmp_path, queue_size=1))
    rec.start("ep")
    sent = 200
    accepted = sum(rec.submit("/hand/joints", POSES, poses_cdr(i), i) for i in range(sent))
    rec.stop(success=False)
    with BagReader(rec.state.path) as bag:
        written = bag.topics["/hand/joints"][1]
        dropped = json.loads(bag.custom_data["dropped"]).get("/hand/joints", 0)
    assert written == accepted and written + dropped == sent and dropped == rec.state.dropped["/hand/joints"]


def test_max_bytes_ends_the_episode_with_nothing_lost(tmp_path):
    rec = EpisodeRecorder(_settings(tmp_path, image_format="raw", max_bytes=600_000))
    path = rec.start("capped")
    i = 0
    while rec.recording and i < 1000:
        rec.submit("/camera/image_raw", IMAGE_TYPE, image_cdr(i, 160, 120), i)
        i += 1
        if i % 5 == 0:
            import time

            time.sleep(0.01)
    rec.stop(success=True)
    assert "limit" in rec.state.stop_reason and "max_bytes" in rec.state.error
    with BagReader(path) as bag:
        assert bag.topics["/camera/image_raw"][1] == rec.state.written["/camera/image_raw"] > 0
        assert bag.custom_data["success"] == "false"


class _FailingFile:
    """A file object that fails with ENOSPC once `budget` more bytes were written (a disk filling up)."""

    def __init__(self, inner, budget: int):
        self.inner, self.budget = inner, budget

    def write(self, data) -> int:
        if len(data) > self.budget:
            self.inner.write(bytes(data[: self.budget]))
            self.budget = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.budget -= len(data)
        return self.inner.write(data)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_write_failure_leaves_a_readable_bag_up_to_the_last_chunk(tmp_path):
    bag = EpisodeBag(tmp_path / "bag", chunk_bytes=20_000)
    storage = bag._writer.storage
    storage.bio = _FailingFile(storage.bio, 150_000)
    written = 0
    with pytest.raises(Exception, match="No space left"):
        for i in range(1000):
            bag.write("/camera/image_raw", IMAGE_TYPE, i, image_cdr(i))
            written += 1
    bag.close({"success": "false"})
    with BagReader(tmp_path / "bag") as reader:
        count = reader.topics["/camera/image_raw"][1]
        msgs = list(reader.messages())
        assert reader.custom_data["success"] == "false"
    assert 0 < count == len(msgs) <= written
    assert written - count < 20_000 // len(image_cdr(0)) + 2  # at most the unfinished chunk is lost
    assert [m.log_time_ns for m in msgs] == list(range(count))


def test_unwritable_output_folder_is_an_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    rec = EpisodeRecorder(_settings(blocker / "episodes"))
    with pytest.raises(OSError):
        rec.start("x")
    assert not rec.recording and not rec.open


def _mount_tmpfs(path, options: str) -> bool:
    if os.geteuid() != 0:
        return False
    return (
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True).returncode == 0
    )


def test_full_disk_on_a_tiny_tmpfs(tmp_path):
    """A real ENOSPC: 3 MiB of tmpfs, raw images until it fills; the bag closes readable with the reserve."""
    mnt = tmp_path / f"tmpfs_{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    if not _mount_tmpfs(mnt, "size=3m"):
        pytest.skip("mounting a tmpfs needs root here")
    try:
        rec = EpisodeRecorder(_settings(mnt, image_format="raw"))
        path = rec.start("full")
        i = 0
        while rec.recording and i < 2000:
            rec.submit("/camera/image_raw", IMAGE_TYPE, image_cdr(i, 160, 120), i)
            i += 1
            if i % 4 == 0:
                time.sleep(0.005)
        rec.stop(success=True)
        assert "No space left" in rec.state.error, rec.state.error
        with BagReader(path) as bag:
            count = bag.topics["/camera/image_raw"][1]
            assert count == len(list(bag.messages())) > 0
            assert bag.custom_data["stop_reason"].startswith("error")
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
