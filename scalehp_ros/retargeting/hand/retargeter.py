"""Human hand keypoints (palm frame, metres) -> dexterous-hand joint targets: vector, DexPilot, position.

- vector: wrist -> fingertip vectors of the robot match the human ones times `scaling`.
- dexpilot (Handa et al., "DexPilot", ICRA 2020, arXiv:1910.03135): fingertip-to-fingertip vectors plus
  wrist -> fingertip vectors; when the operator pinches (thumb-finger distance below `project_dist`, released
  above `escape_dist`), that pair's target is projected to a short vector of length eta1 (eta2 between two
  fingers that both pinch the thumb) with a high weight, so the robot's fingertips really close.
- position: wrist -> keypoint vectors for the fingertips plus `hand.keypoints` (e.g. PIP joints).

All three run on the same bounded least-squares solver (optimizer.VectorLeastSquares), warm-started from the
previous solution and followed by a low-pass filter. Joint order: the configuration's `hand.joints`.
"""

from __future__ import annotations

import numpy as np

from scalehp_ros.common.joints import JOINT_INDEX, WRIST
from scalehp_ros.retargeting.low_pass import LowPassFilter
from scalehp_ros.retargeting.robot_config import HandConfig, RetargetingParams
from scalehp_ros.retargeting.robot_model import RobotModel
from scalehp_ros.retargeting.transforms import rpy_matrix
from scalehp_ros.retargeting.vector_solver import VectorLeastSquares

_PINCH_WEIGHT, _PAIR_WEIGHT = 200.0, 400.0  # DexPilot weights of projected thumb-finger / finger-finger pairs


class HandRetargeter:
    """Stateful per-frame retargeting for one robot hand (warm start, pinch hysteresis, filter)."""

    def __init__(self, hand: HandConfig, params: RetargetingParams | None = None):
        self.config = hand
        self.params = params or hand.retargeting
        self.robot = RobotModel(hand.urdf, hand.joints)
        self.joint_names = self.robot.joint_names
        neutral = self.robot.clip(np.zeros(self.robot.nq))
        wrist_pose = self.robot.placement(neutral, hand.wrist_link)
        # Rotation from the palm convention to the hand model's root frame (the wrist link is fixed in it).
        self.root_from_palm = wrist_pose.rotation @ rpy_matrix(hand.wrist_link_rpy)
        # The operator's wrist may sit off the wrist link's origin (hand.wrist_link_xyz, in the wrist link).
        wrist_shift = wrist_pose.rotation @ np.asarray(hand.wrist_link_xyz, dtype=float)
        tips = list(hand.fingertips)
        thumb = JOINT_INDEX["thumb_tip"]
        kind = self.params.type
        if kind == "dexpilot":
            if thumb not in [h for h, _ in tips]:
                raise ValueError("DexPilot retargeting needs the thumb tip (thumb_tip) in hand.fingertips")
            tips.sort(key=lambda pair: pair[0] != thumb)  # thumb first, the others in their given order
        self.tip_links = [link for _, link in tips]
        self.tip_human = np.array([h for h, _ in tips])
        wrist = hand.wrist_link
        if kind == "vector":
            pairs = [(WRIST, wrist, h, link) for h, link in tips]
        elif kind == "position":
            pairs = [(WRIST, wrist, h, link) for h, link in (*tips, *hand.keypoints)]
        else:
            n = len(tips)
            self.pinch_pairs = [(0, j) for j in range(1, n)]
            self.finger_pairs = [(i, j) for i in range(1, n) for j in range(i + 1, n)]
            pairs = [(tips[j][0], tips[j][1], tips[i][0], tips[i][1]) for i, j in self.pinch_pairs + self.finger_pairs]
            pairs += [(WRIST, wrist, h, link) for h, link in tips]
            self.projected = np.zeros(len(self.pinch_pairs), dtype=bool)
        self.human_origin = np.array([p[0] for p in pairs])
        self.human_task = np.array([p[2] for p in pairs])
        self.solver = VectorLeastSquares(self.robot, [p[1] for p in pairs], [p[3] for p in pairs])
        self.tip_solver = VectorLeastSquares(self.robot, [wrist] * len(tips), self.tip_links)
        # vectors measured from the wrist link get the wrist offset added to their targets (root frame)
        self.shift = np.array([wrist_shift if p[1] == wrist else np.zeros(3) for p in pairs])
        self.tip_shift = wrist_shift
        self.filter = LowPassFilter(self.params.low_pass_alpha)
        self.reset()

    @property
    def lower(self) -> np.ndarray:
        return self.robot.lower

    @property
    def upper(self) -> np.ndarray:
        return self.robot.upper

    def reset(self) -> None:
        """Forget the warm start, the pinch state and the filter (e.g. after tracking was lost)."""
        self.q = 0.5 * (self.robot.lower + self.robot.upper)
        self.filter.reset()
        if self.params.type == "dexpilot":
            self.projected[:] = False

    def targets(self, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Reference vectors (palm frame, metres) and their weights for (21, 3) palm-frame keypoints."""
        human = keypoints[self.human_task] - keypoints[self.human_origin]
        scaled = self.config.scaling * human
        if self.params.type != "dexpilot":
            return scaled, np.ones(len(human))
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
        weights = np.concatenate([weights, np.full(len(self.tip_links), float(n_pinch + n_pair + len(self.tip_links)))])
        return scaled, weights

    def retarget(self, keypoints: np.ndarray) -> np.ndarray:
        """Hand joint targets (rad, `joint_names` order, within limits) for (21, 3) palm-frame keypoints (m)."""
        keypoints = np.asarray(keypoints, dtype=float)
        if keypoints.shape != (21, 3) or not np.all(np.isfinite(keypoints)):
            raise ValueError(f"keypoints must be finite with shape (21, 3), got {keypoints.shape}")
        reference, weights = self.targets(keypoints)
        p = self.params
        self.q = self.solver.solve(
            reference @ self.root_from_palm.T + self.shift,
            self.q,
            self.q,
            weights,
            huber_delta=p.huber_delta,
            norm_delta=p.norm_delta,
            max_iterations=p.max_iterations,
            tolerance=p.tolerance,
        )
        return np.clip(self.filter(self.q), self.robot.lower, self.robot.upper)

    def fingertip_vectors(self, q: np.ndarray) -> np.ndarray:
        """(F, 3) robot wrist -> fingertip vectors at q, in the palm convention frame, metres."""
        return (self.tip_solver.vectors(q) - self.tip_shift) @ self.root_from_palm

    def fingertip_error(self, q: np.ndarray, keypoints: np.ndarray) -> float:
        """Mean |robot wrist->tip vector - scaling * human wrist->tip vector| (m): the keypoint-vector error."""
        human = (keypoints[self.tip_human] - keypoints[WRIST]) * self.config.scaling
        return float(np.linalg.norm(self.fingertip_vectors(q) - human, axis=1).mean())
