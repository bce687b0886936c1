"""Position retargeting: wrist -> keypoint vectors for the fingertips plus `hand.keypoints` (e.g. PIP joints).

Matching every keypoint's position relative to the wrist (palm frame, metres, times `scaling`) also fixes the
finger postures, not just the fingertips (see base.HandRetargeting for the shared solver and frames).
"""

from __future__ import annotations

from collections.abc import Sequence

from scalehp_ros.retargeting.hand.base import HandRetargeting, VectorPair


class PositionRetargeting(HandRetargeting):
    method = "position"

    def _vector_pairs(self, tips: Sequence[tuple[int, str]]) -> list[VectorPair]:
        return self._wrist_pairs([*tips, *self.config.keypoints])
