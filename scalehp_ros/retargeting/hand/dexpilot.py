"""DexPilot retargeting (Handa et al., "DexPilot", ICRA 2020, arXiv:1910.03135), palm frame, metres.

Vectors: fingertip-to-fingertip (thumb to each finger, then between the other fingers) plus wrist -> fingertip.
When the operator pinches (a thumb-finger distance below `project_dist`, released above `escape_dist`: a
hysteresis), that pair's target is projected to a short vector of length eta1 (eta2 between two fingers that
both pinch the thumb) with a high weight, so the robot's fingertips really close.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scalehp_ros.common.joints import JOINT_INDEX
from scalehp_ros.retargeting.hand.base import HandRetargeting, VectorPair

_PINCH_WEIGHT, _PAIR_WEIGHT = 200.0, 400.0  # weights of projected thumb-finger / finger-finger pairs


class DexPilotRetargeting(HandRetargeting):
    """Adds the pinch state (`projected`: one flag per thumb-finger pair) to the shared retargeting state."""

    method = "dexpilot"

    def _order_fingertips(self, tips: list[tuple[int, str]]) -> list[tuple[int, str]]:
        thumb = JOINT_INDEX["thumb_tip"]
        if thumb not in [h for h, _ in tips]:
            raise ValueError("DexPilot retargeting needs the thumb tip (thumb_tip) in hand.fingertips")
        return sorted(tips, key=lambda pair: pair[0] != thumb)  # thumb first, the others in their given order

    def _vector_pairs(self, tips: Sequence[tuple[int, str]]) -> list[VectorPair]:
        n = len(tips)
        self.pinch_pairs = [(0, j) for j in range(1, n)]
        self.finger_pairs = [(i, j) for i in range(1, n) for j in range(i + 1, n)]
        self.projected = np.zeros(len(self.pinch_pairs), dtype=bool)
        pairs = [(tips[j][0], tips[j][1], tips[i][0], tips[i][1]) for i, j in self.pinch_pairs + self.finger_pairs]
        return pairs + self._wrist_pairs(tips)

    def reset(self) -> None:
        """Forget the warm start, the filter and the pinch state."""
        super().reset()
        self.projected[:] = False

    def targets(self, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        human = keypoints[self.human_task] - keypoints[self.human_origin]
        scaled = self.config.scaling * human
        p = self.params
        n_pinch, n_pair = len(self.pinch_pairs), len(self.finger_pairs)
        dist = np.linalg.norm(human[: n_pinch + n_pair], axis=1)
        pinch = dist[:n_pinch]
        self.projected[pinch < p.project_dist] = True
        self.projected[pinch > p.escape_dist] = False
        pair_projected = np.array(
            [self.projected[i - 1] and self.projected[j - 1] for i, j in self.finger_pairs], dtype=bool
        ).reshape(n_pair)
        pair_projected &= dist[n_pinch:] <= p.project_dist
        projected = np.concatenate([self.projected, pair_projected])
        direction = human[: n_pinch + n_pair] / (dist[:, None] + 1e-6)
        short = direction * np.array([p.eta1] * n_pinch + [p.eta2] * n_pair)[:, None]
        scaled[: n_pinch + n_pair] = np.where(projected[:, None], short, scaled[: n_pinch + n_pair])
        weights = np.where(projected, np.array([_PINCH_WEIGHT] * n_pinch + [_PAIR_WEIGHT] * n_pair), 1.0)
        # Wrist -> fingertip vectors weigh as much as all pair vectors together (keeps the mapping intuitive).
        n_tips = len(self.tip_links)
        weights = np.concatenate([weights, np.full(n_tips, float(n_pinch + n_pair + n_tips))])
        return scaled, weights
