"""Approximate time synchronisation of a primary stream with an optional secondary one (ROS-free).

The perception node's colour images (primary) are paired with the depth images registered to them
(secondary, e.g. realsense2_camera's `aligned_depth_to_color/image_raw`) by header stamp, as
message_filters' ApproximateTimeSynchronizer would (message_filters has no pip wheel here): a primary is
paired with the buffered secondary nearest in stamp when that is within `slop_s`. Unlike message_filters,
the primary never waits for a secondary that is not coming, so the colour path keeps its latency:

- no secondary received within `timeout_s` (no depth topic, or the stream stopped): the primary is released
  at once, unpaired ('no_secondary' / 'stale');
- a secondary within the slop is buffered: released, paired ('matched');
- a secondary newer than stamp + slop arrived (stamps increase, so none will match any more): released
  unpaired ('unmatched');
- otherwise it waits for its secondary (an aligned depth image is computed after the colour one and
  arrives later) at most `max_wait_s`, then is released unpaired ('timeout');
- after `OUT_OF_SYNC_AFTER` consecutive timeouts (a secondary stream stamped on another clock) primaries
  stop waiting ('out_of_sync') until a secondary arrives that would have matched a recent primary.

Times in seconds: stamps on the source clock, `now` on the caller's monotonic clock. A stamp going
backwards (a replay, a loop) clears the buffers. Not thread-safe (one executor thread calls it).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

OUT_OF_SYNC_AFTER = 3  # consecutive timeouts after which primaries stop waiting for their secondary
RELEASE_REASONS = ("matched", "no_secondary", "stale", "unmatched", "timeout", "out_of_sync")


@dataclass(frozen=True)
class Pair:
    """A released primary. secondary / secondary_stamp: the paired one, or None. reason: RELEASE_REASONS.
    offset_s: stamp of the nearest buffered secondary minus the primary's (None when none is buffered)."""

    stamp: float
    primary: Any
    secondary: Any
    secondary_stamp: float | None
    reason: str
    offset_s: float | None


class ApproximateSync:
    """Pairs primaries with secondaries by stamp; see the module docstring."""

    def __init__(self, slop_s: float = 0.02, max_wait_s: float = 0.05, timeout_s: float = 0.5, queue_size: int = 4):
        if not (slop_s >= 0 and max_wait_s >= 0 and timeout_s > 0 and queue_size >= 1):
            raise ValueError("slop_s and max_wait_s must be >= 0, timeout_s > 0, queue_size >= 1")
        self.slop_s, self.max_wait_s, self.timeout_s = float(slop_s), float(max_wait_s), float(timeout_s)
        self.queue_size = int(queue_size)
        self._secondary: deque[tuple[float, Any]] = deque(maxlen=queue_size)
        self._pending: list[tuple[float, float, Any]] = []  # (stamp, arrival, item), stamp order
        self._released: deque[float] = deque(maxlen=queue_size)  # stamps of recent unpaired primaries
        self._last_secondary_arrival: float | None = None
        self._timeouts = 0
        self.out_of_sync = False
        self.dropped = 0  # primaries dropped because the waiting queue overflowed

    def reset(self) -> None:
        self._secondary.clear()
        self._pending.clear()
        self._released.clear()
        self._timeouts, self.out_of_sync = 0, False

    def secondary_active(self, now: float) -> bool:
        """A secondary arrived within timeout_s."""
        return self._last_secondary_arrival is not None and now - self._last_secondary_arrival <= self.timeout_s

    @property
    def waiting(self) -> int:
        return len(self._pending)

    def add_primary(self, stamp: float, item: Any, now: float) -> list[Pair]:
        """Queue a primary; returns the primaries released now (possibly this one), in stamp order."""
        if self._pending and stamp <= self._pending[-1][0]:
            self._pending.clear()  # the stream restarted: what waited belongs to the old one
        self._pending.append((float(stamp), now, item))
        if len(self._pending) > self.queue_size:
            self._pending.pop(0)
            self.dropped += 1
        return self.poll(now)

    def add_secondary(self, stamp: float, item: Any, now: float) -> list[Pair]:
        """Buffer a secondary; returns the primaries it releases."""
        stamp = float(stamp)
        if self._secondary and stamp <= self._secondary[-1][0]:
            self._secondary.clear()  # went back (or a duplicate): keep only the newest
        self._secondary.append((stamp, item))
        self._last_secondary_arrival = now
        if self.out_of_sync and any(abs(stamp - s) <= self.slop_s for s in self._released):
            self.out_of_sync, self._timeouts = False, 0  # it would have matched: waiting pays again
        return self.poll(now)

    def poll(self, now: float) -> list[Pair]:
        """Release what can be decided at `now` (call it from a timer while `waiting`)."""
        out: list[Pair] = []
        keep = []
        for stamp, arrival, item in self._pending:
            pair = self._decide(stamp, arrival, item, now)
            if pair is None:
                keep.append((stamp, arrival, item))
            else:
                out.append(pair)
        self._pending = keep
        return out

    def _decide(self, stamp: float, arrival: float, item: Any, now: float) -> Pair | None:
        nearest = min(self._secondary, key=lambda s: abs(s[0] - stamp), default=None)
        offset = None if nearest is None else nearest[0] - stamp

        def release(reason: str, secondary: tuple[float, Any] | None = None) -> Pair:
            if secondary is None:
                self._released.append(stamp)
                return Pair(stamp, item, None, None, reason, offset)
            return Pair(stamp, item, secondary[1], secondary[0], reason, offset)

        if nearest is not None and abs(nearest[0] - stamp) <= self.slop_s:
            self._timeouts = 0
            return release("matched", nearest)
        if not self.secondary_active(now):
            return release("no_secondary" if self._last_secondary_arrival is None else "stale")
        if self._secondary and self._secondary[-1][0] > stamp + self.slop_s:
            return release("unmatched")
        if self.out_of_sync:
            return release("out_of_sync")
        if now - arrival >= self.max_wait_s:
            self._timeouts += 1
            self.out_of_sync = self._timeouts >= OUT_OF_SYNC_AFTER
            return release("timeout")
        return None
