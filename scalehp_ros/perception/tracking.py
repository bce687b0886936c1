"""Tracking (pipeline stage 5, video streams only): stable track ids for hands across frames.

Each frame's hands are matched to the live tracks by the distance between 2D keypoint centroids (pixels;
Hungarian assignment, scipy), gated by `tracking.max_jump`, a fraction of the image diagonal; unmatched hands
open new tracks (ids count up from 0 and are never reused), tracks unseen for `tracking.timeout_s` seconds
(stream time) are dropped. Both are fields of `TrackingSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from scalehp_ros.common.params import Settings, param


@dataclass(frozen=True)
class TrackingSettings(Settings):
    """Settings of the hand tracker (`HandTracker`)."""

    max_jump: float = param(
        0.2,
        "largest frame-to-frame move of a hand still matched to its track (fraction of the image diagonal)",
        0.01,
        1.0,
    )
    timeout_s: float = param(0.5, "a track not seen for this long is dropped (s)", 0.0, 60.0)


@dataclass
class Track:
    """One hand followed over time; `state` holds the per-track filters owned by the caller."""

    track_id: int
    centroid: np.ndarray
    last_seen: float
    state: dict[str, Any] = field(default_factory=dict)


class HandTracker:
    """Assigns track ids to per-frame hand detections. `settings` may be replaced between frames."""

    def __init__(self, settings: TrackingSettings | None = None) -> None:
        self.settings = TrackingSettings() if settings is None else settings
        self.tracks: list[Track] = []
        self._next_id = 0

    def reset(self) -> None:
        self.tracks = []

    def update(self, centroids: np.ndarray, stamp: float, image_diagonal: float) -> list[Track]:
        """Tracks for the (N, 2) pixel centroids of this frame's hands, in input order."""
        self.tracks = [t for t in self.tracks if stamp - t.last_seen <= self.settings.timeout_s]
        n = len(centroids)
        assigned: list[Track | None] = [None] * n
        if n and self.tracks:
            old = np.array([t.centroid for t in self.tracks])
            cost = np.linalg.norm(centroids[:, None, :] - old[None, :, :], axis=-1) / image_diagonal
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols, strict=True):
                if cost[r, c] <= self.settings.max_jump:
                    assigned[r] = self.tracks[c]
        for i in range(n):
            track = assigned[i]
            if track is None:
                track = Track(self._next_id, centroids[i].copy(), stamp)
                self._next_id += 1
                self.tracks.append(track)
            track.centroid = centroids[i].copy()
            track.last_seen = stamp
            assigned[i] = track
        return assigned  # type: ignore[return-value]
