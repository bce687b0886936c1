"""Vector retargeting: the robot's wrist -> fingertip vectors match the human ones times `scaling`.

Vectors in the palm frame, metres; the solver works in the hand model's root frame (see base.HandRetargeting).
"""

from __future__ import annotations

from collections.abc import Sequence

from scalehp_ros.retargeting.hand.base import HandRetargeting, VectorPair


class VectorRetargeting(HandRetargeting):
    method = "vector"

    def _vector_pairs(self, tips: Sequence[tuple[int, str]]) -> list[VectorPair]:
        return self._wrist_pairs(tips)
