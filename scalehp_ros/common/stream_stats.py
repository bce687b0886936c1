"""Rolling statistics of a frame stream for diagnostics: rates, latency percentiles, drops (ROS-free).

Times are seconds. Frame stamps are the source clock (the image header); arrival/publish times the
node's clock. The two clocks agree for live cameras and the project's video_source (both stamp with
the system clock); latency means "publish time minus image stamp".
"""

from __future__ import annotations

from collections import deque

import numpy as np


class RollingPercentiles:
    """Median and 95th percentile of the last `size` samples (e.g. per-frame compute times in ms)."""

    def __init__(self, size: int = 300):
        self._values: deque[float] = deque(maxlen=size)

    def add(self, value: float) -> None:
        self._values.append(float(value))

    def summary(self) -> tuple[float, float] | None:
        """(p50, p95), or None before the first sample."""
        if not self._values:
            return None
        p50, p95 = np.percentile(np.array(self._values), [50, 95])
        return float(p50), float(p95)


class StreamStats:
    """Counts and rolling windows over the last `window` seconds of frames."""

    def __init__(self, window: float = 5.0):
        self.window = window
        self._arrivals: deque[float] = deque()
        self._processed: deque[float] = deque()
        self._latencies: deque[tuple[float, float]] = deque()
        self._last_stamp: float | None = None
        self._period: deque[float] = deque(maxlen=30)
        self.received = 0
        self.processed = 0
        self.dropped = 0
        self.rejected = 0
        self.duplicates = 0  # frames with the stamp of the previous one (dropped)
        self.restarts = 0  # stamps that went back: a new stream began

    def _trim(self, now: float) -> None:
        for q in (self._arrivals, self._processed):
            while q and q[0] < now - self.window:
                q.popleft()
        while self._latencies and self._latencies[0][0] < now - self.window:
            self._latencies.popleft()

    def on_arrival(self, stamp: float, now: float) -> str:
        """Record a frame arrival; returns what it is: 'next', 'duplicate' or 'restart'.

        'duplicate': the same stamp as the last frame (drop it). 'restart': a stamp older than the last one,
        i.e. a new stream (a second `ros2 bag play`, `--loop`, a simulator reset): the caller resets its
        temporal state and processes the frame. Frames lost upstream (depth-1 queues keep only the newest)
        are estimated from stamp gaps larger than the median frame period, and counted in `dropped`.
        """
        self.received += 1
        self._arrivals.append(now)
        kind = "next"
        if self._last_stamp is not None:
            gap = stamp - self._last_stamp
            if gap == 0.0:
                self.duplicates += 1
                return "duplicate"
            if gap < 0.0:
                kind = "restart"
                self.restarts += 1
                self._period.clear()
            else:
                if len(self._period) >= 5:
                    period = float(np.median(self._period))
                    self.dropped += max(0, round(gap / period) - 1)
                self._period.append(gap)
        self._last_stamp = stamp
        self._trim(now)
        return kind

    def on_processed(self, stamp: float, now: float) -> None:
        self.processed += 1
        self._processed.append(now)
        self._latencies.append((now, now - stamp))
        self._trim(now)

    def _rate(self, q: deque[float]) -> float:
        if len(q) < 2 or q[-1] <= q[0]:
            return 0.0
        return (len(q) - 1) / (q[-1] - q[0])

    def summary(self, now: float) -> dict[str, float]:
        """Input and processed fps, latency p50/p95 (ms) over the window, and the counters."""
        self._trim(now)
        lat = np.array([v for _, v in self._latencies]) * 1e3
        return {
            "input_fps": self._rate(self._arrivals),
            "processed_fps": self._rate(self._processed),
            "latency_p50_ms": float(np.percentile(lat, 50)) if lat.size else float("nan"),
            "latency_p95_ms": float(np.percentile(lat, 95)) if lat.size else float("nan"),
            "received": self.received,
            "processed": self.processed,
            "dropped": self.dropped,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "restarts": self.restarts,
        }
