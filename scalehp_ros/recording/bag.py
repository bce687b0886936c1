"""One rosbag2 bag in MCAP storage, written with the `rosbags` library, that stays readable when the disk fills.

`rosbags.rosbag2.Writer` (MCAP storage plugin) does the format: the MCAP file with ros2msg schemas,
channels with their offered QoS, chunk indexes and summary, and the bag's `metadata.yaml` with
`custom_data` (where the episode metadata goes). `ros2 bag info/play` (rosbag2_storage_mcap) and Foxglove
read it. Messages are CDR bytes as they came off the wire (or re-encoded by the caller), never re-serialised here.

What this module adds is fault handling, because an MCAP file is only readable once its summary and footer
are written at close:

- a **space reserve**: `reserve_bytes` of a hidden file in the bag folder, allocated at open and released
  only to close the bag after a write failed (ENOSPC, EFBIG, EIO ...), so the summary, footer and
  metadata.yaml still fit on a full disk;
- **chunk-level recovery**: the library keeps the chunk being filled in memory and appends whole chunks;
  after each complete chunk the file is flushed and its length and counts remembered. When a write fails
  the file is truncated back to that point, the unfinished chunk dropped, and the bag closed normally. The
  bag then holds every message up to the last complete chunk (`chunk_bytes`, 256 KiB by default: well under a
  second of 640x480 JPEG at 30 Hz);
- **limits** checked at each chunk: `max_bytes` (the bag's size) and `min_free_bytes` (free space on the
  filesystem); reaching one raises BagFull and the caller closes the bag with nothing lost.

The recovery touches the MCAP storage writer's bookkeeping (its file handle, chunk list and counters),
which is why `rosbags` is pinned to one exact version in constraints.txt; test_recording checks it.
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.rosbag2.errors import WriterError
from rosbags.rosbag2.storage_mcap import PendingChunk
from rosbags.typesys import Stores, get_typestore

RESERVE_NAME = ".space_reserve"
_TYPESTORE = None


def typestore():
    """The ROS 2 Kilted message definitions of `rosbags` (schemas, CDR (de)serialisation), built once."""
    global _TYPESTORE
    if _TYPESTORE is None:
        _TYPESTORE = get_typestore(Stores.ROS2_KILTED)
    return _TYPESTORE


class BagWriteError(RuntimeError):
    """Writing the bag failed; close() still leaves a readable bag with what was written before."""


class BagFull(BagWriteError):
    """A size limit was reached (max_bytes or min_free_bytes); nothing written was lost."""


@dataclass
class _GoodPoint:
    """The writer's state after the last complete chunk reached the file."""

    offset: int
    chunks: int
    storage_stats: dict[int, int]
    storage_times: tuple[int, int]
    counts: dict[int, int]
    times: tuple[int, int]


class EpisodeBag:
    """A rosbag2 bag (MCAP) being written: topics added on first use, limits, space reserve, recovery."""

    def __init__(
        self,
        path: Path | str,
        *,
        reserve_bytes: int = 1 << 20,
        chunk_bytes: int = 256 << 10,
        max_bytes: int = 0,
        min_free_bytes: int = 0,
    ) -> None:
        """Create the bag folder and its MCAP file (OSError or BagWriteError when that is impossible)."""
        self.path = Path(path)
        self.chunk_bytes = chunk_bytes
        self.max_bytes = max_bytes
        self.min_free_bytes = min_free_bytes
        self._writer = Writer(self.path, version=9, storage_plugin=StoragePlugin.MCAP)
        try:
            self._writer.open()
        except WriterError as exc:
            raise BagWriteError(str(exc)) from exc
        self._connections: dict[str, object] = {}
        self._reserve = self.path / RESERVE_NAME
        try:
            if reserve_bytes:
                with open(self._reserve, "wb") as f:
                    if hasattr(os, "posix_fallocate"):
                        os.posix_fallocate(f.fileno(), 0, reserve_bytes)
                    else:  # pragma: no cover - every Linux has it
                        f.write(bytes(reserve_bytes))
            self._storage.bio.flush()
        except OSError:
            self._writer.abort()
            shutil.rmtree(self.path, ignore_errors=True)
            raise
        self._good = self._snapshot()
        self._failed = False
        self.closed = False

    # -- writing ---------------------------------------------------------------------------------------------
    @property
    def _storage(self):
        return self._writer.storage

    @property
    def size_bytes(self) -> int:
        """Bytes of the MCAP file so far, including the chunk still in memory."""
        storage = self._storage
        return storage.bio.tell() + storage.chunk.bio.tell() if storage is not None else 0

    def add_topic(self, topic: str, msgtype: str, offered_qos: tuple = ()) -> None:
        """Declare a topic (msgtype as 'pkg/msg/Type', known to the Kilted typestore)."""
        if topic not in self._connections:
            self._connections[topic] = self._writer.add_connection(
                topic, msgtype, typestore=typestore(), offered_qos_profiles=list(offered_qos)
            )

    def write(self, topic: str, msgtype: str, log_time_ns: int, data: bytes) -> None:
        """Append one CDR-serialised message; BagFull at a limit, BagWriteError (bag closed) on an I/O error."""
        if self.closed or self._failed:
            raise BagWriteError(f"{self.path} is closed or failed")
        try:
            self.add_topic(topic, msgtype)
            storage = self._storage
            self._writer.write(self._connections[topic], log_time_ns, data)
            if storage.chunk.bio.tell() >= self.chunk_bytes:
                storage.close_chunk()
            if len(storage.chunks) != self._good.chunks:
                storage.bio.flush()
                self._good = self._snapshot()
                self._check_limits()
        except OSError as exc:
            self._failed = True  # close() truncates back to the last complete chunk
            raise BagWriteError(f"writing {self.path.name} failed: {exc.strerror or exc}") from exc

    def _check_limits(self) -> None:
        if self.max_bytes and self.size_bytes >= self.max_bytes:
            raise BagFull(f"the bag reached max_bytes ({self.size_bytes} >= {self.max_bytes} bytes)")
        if self.min_free_bytes:
            stat = os.statvfs(self.path)
            free = stat.f_bavail * stat.f_frsize
            if free < self.min_free_bytes:
                raise BagFull(f"free space {free} bytes is below min_free_bytes ({self.min_free_bytes})")

    # -- closing ---------------------------------------------------------------------------------------------
    def close(self, custom_data: dict[str, str] | None = None) -> None:
        """Write the summary and metadata.yaml (with `custom_data`), release the reserve. Idempotent."""
        if self.closed:
            return
        for key, value in (custom_data or {}).items():
            self._writer.set_custom_data(key, str(value))
        if self._failed:
            self._recover_and_close()
            return
        try:
            self._storage.bio.flush()
            self._good = self._snapshot()  # the pending chunk is written by close() itself
            self._release_reserve()
            self._writer.close()
        except OSError:
            self._recover_and_close()
            return
        self.closed = True

    def abort(self) -> None:
        """Close the file without summary (unreadable by rosbags); only for errors in error handling."""
        self._writer.abort()
        self._release_reserve()
        self.closed = True

    def _release_reserve(self) -> None:
        self._reserve.unlink(missing_ok=True)

    def _snapshot(self) -> _GoodPoint:
        s, w = self._storage, self._writer
        return _GoodPoint(
            offset=s.bio.tell(),
            chunks=len(s.chunks),
            storage_stats=dict(s.channel_stats),
            storage_times=(s.message_start_time, s.message_end_time),
            counts=dict(w.counts),
            times=(w.min_timestamp, w.max_timestamp),
        )

    def _recover_and_close(self) -> None:
        """Truncate the file to the last complete chunk, forget the rest, close with the reserve's space."""
        self._release_reserve()
        s, w, good = self._storage, self._writer, self._good
        if s is None:
            self.closed = True
            return
        try:
            s.bio.close()  # its buffer may fail to flush again: whatever it holds is cut off below
        except OSError:
            pass
        s.bio = open(s.path, "r+b")
        s.bio.truncate(good.offset)
        s.bio.seek(good.offset)
        del s.chunks[good.chunks :]
        s.chunk = PendingChunk(2**63 - 1, 0, BytesIO(), defaultdict(list))
        s.channel_stats = {cid: good.storage_stats.get(cid, 0) for cid in s.channel_stats}
        s.message_start_time, s.message_end_time = good.storage_times
        w.counts = {cid: good.counts.get(cid, 0) for cid in w.counts}
        w.min_timestamp, w.max_timestamp = good.times
        try:
            w.close()
        finally:
            self.closed = True


# -- reading -------------------------------------------------------------------------------------------------
@dataclass
class BagMessage:
    topic: str
    msgtype: str
    log_time_ns: int
    data: bytes


class BagReader:
    """A recorded bag: topics, counts, custom metadata, messages (raw CDR or deserialised with rosbags)."""

    def __init__(self, path: Path | str) -> None:
        from rosbags.rosbag2 import Reader

        self.path = Path(path)
        self._reader = Reader(self.path)
        self._reader.open()

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> BagReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def storage(self) -> str:
        """The storage plugin named in metadata.yaml ('mcap')."""
        import yaml

        info = yaml.safe_load((self.path / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
        return info["storage_identifier"]

    @property
    def custom_data(self) -> dict[str, str]:
        """metadata.yaml's custom_data: the episode metadata (see recording.episode.EPISODE_KEYS)."""
        return dict(self._reader.storage.metadata.custom or {})

    @property
    def topics(self) -> dict[str, tuple[str, int]]:
        """{topic: (msgtype, message count)}."""
        return {c.topic: (c.msgtype, c.msgcount) for c in self._reader.connections}

    def messages(self, topics: set[str] | None = None) -> Iterator[BagMessage]:
        """Messages in log-time order (of `topics` only, when given)."""
        conns = [c for c in self._reader.connections if topics is None or c.topic in topics]
        for conn, t, data in self._reader.messages(connections=conns):
            yield BagMessage(conn.topic, conn.msgtype, t, bytes(data))

    @staticmethod
    def decode(message: BagMessage):
        """The message as a rosbags dataclass (fields as in the .msg; arrays as numpy)."""
        return typestore().deserialize_cdr(message.data, message.msgtype)


def is_bag(path: Path | str) -> bool:
    """True for a rosbag2 folder (metadata.yaml) or a lone .mcap file's folder."""
    path = Path(path)
    return path.is_dir() and ((path / "metadata.yaml").is_file() or any(path.glob("*.mcap")))


RAW_IMAGE_CHANNELS = {"rgb8": 3, "bgr8": 3, "mono8": 1}  # sensor_msgs/Image encodings episodes handle


def raw_image_pixels(msg, purpose: str) -> np.ndarray:
    """(H, W, C) uint8 view of a sensor_msgs/Image's data (row padding `step` dropped), channels as encoded.

    ValueError naming `purpose` for encodings other than RAW_IMAGE_CHANNELS."""
    channels = RAW_IMAGE_CHANNELS.get(str(msg.encoding).lower())
    if channels is None:
        raise ValueError(f"cannot {purpose} encoding {msg.encoding!r} ({', '.join(RAW_IMAGE_CHANNELS)})")
    h, w = int(msg.height), int(msg.width)
    return np.asarray(msg.data, dtype=np.uint8).reshape(h, int(msg.step))[:, : w * channels].reshape(h, w, channels)
