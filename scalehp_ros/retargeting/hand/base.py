"""Base of the hand retargeting methods: human keypoint vectors (palm frame, metres) -> hand joints (rad).

A method is a set of (human origin, robot origin link, human task, robot task link) vector pairs and the
reference vectors and weights it derives from the human keypoints each frame (`HandRetargeting.targets`).
Everything else is shared: the hand's pinocchio model, the rotation from the palm frame
(scalehp_ros.common.hand_frames.palm_frame) to the hand model's root frame, the bounded least-squares solver
(vector_solver.VectorLeastSquares) warm-started from the previous solution, and the low-pass filter.
Joint order: the configuration's `hand.joints`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from scalehp_ros.common.joints import WRIST
from scalehp_ros.retargeting.low_pass import LowPassFilter
from scalehp_ros.retargeting.robot_model import RobotModel
from scalehp_ros.retargeting.transforms import rpy_matrix
from scalehp_ros.retargeting.vector_solver import VectorLeastSquares

if TYPE_CHECKING:  # robot_config imports this package (its registry of methods) at run time
    from scalehp_ros.retargeting.robot_config import HandConfig, RetargetingParams

# (human origin keypoint, robot origin link, human task keypoint, robot task link): one retargeted vector
VectorPair = tuple[int, str, int, str]


class HandRetargeting:
    """Stateful per-frame retargeting for one robot hand (warm start, filter); subclasses define the vectors."""

    method: ClassVar[str]  # the `hand.retargeting.type` of the robot YAML that selects the subclass

    def __init__(self, hand: HandConfig, params: RetargetingParams | None = None):
        """`params` defaults to hand.retargeting; its `type` is set to this class's method."""
        self.config = hand
        self.params = replace(params or hand.retargeting, type=self.method)
        self.robot = RobotModel(hand.urdf, hand.joints)
        self.joint_names = self.robot.joint_names
        neutral = self.robot.clip(np.zeros(self.robot.nq))
        wrist_pose = self.robot.placement(neutral, hand.wrist_link)
        # Rotation from the palm convention to the hand model's root frame (the wrist link is fixed in it).
        self.root_from_palm = wrist_pose.rotation @ rpy_matrix(hand.wrist_link_rpy)
        # The operator's wrist may sit off the wrist link's origin (hand.wrist_link_xyz, in the wrist link).
        wrist_shift = wrist_pose.rotation @ np.asarray(hand.wrist_link_xyz, dtype=float)
        tips = self._order_fingertips(list(hand.fingertips))
        self.tip_links = [link for _, link in tips]
        self.tip_human = np.array([h for h, _ in tips])
        pairs = self._vector_pairs(tips)
        self.human_origin = np.array([p[0] for p in pairs])
        self.human_task = np.array([p[2] for p in pairs])
        wrist = hand.wrist_link
        self.solver = VectorLeastSquares(self.robot, [p[1] for p in pairs], [p[3] for p in pairs])
        self.tip_solver = VectorLeastSquares(self.robot, [wrist] * len(tips), self.tip_links)
        # vectors measured from the wrist link get the wrist offset added to their targets (root frame)
        self.shift = np.array([wrist_shift if p[1] == wrist else np.zeros(3) for p in pairs])
        self.tip_shift = wrist_shift
        self.filter = LowPassFilter(self.params.low_pass_alpha)
        self.reset()

    # --- what a method defines -------------------------------------------------------------------------------

    def _order_fingertips(self, tips: list[tuple[int, str]]) -> list[tuple[int, str]]:
        """The (human keypoint, robot link) fingertips in the order the method uses (default: as configured)."""
        return tips

    def _vector_pairs(self, tips: Sequence[tuple[int, str]]) -> list[VectorPair]:
        """The retargeted vectors, given the ordered fingertips."""
        raise NotImplementedError

    def targets(self, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Reference vectors (palm frame, metres) and their weights for (21, 3) palm-frame keypoints.

        Default: the human vectors times `scaling`, all of weight 1.
        """
        human = keypoints[self.human_task] - keypoints[self.human_origin]
        return self.config.scaling * human, np.ones(len(human))

    # --- shared ----------------------------------------------------------------------------------------------

    def _wrist_pairs(self, links: Sequence[tuple[int, str]]) -> list[VectorPair]:
        """Wrist -> keypoint vectors on the human side, wrist link -> link on the robot side."""
        return [(WRIST, self.config.wrist_link, h, link) for h, link in links]

    @property
    def lower(self) -> np.ndarray:
        return self.robot.lower

    @property
    def upper(self) -> np.ndarray:
        return self.robot.upper

    def reset(self) -> None:
        """Forget the warm start and the filter (e.g. after tracking was lost)."""
        self.q = 0.5 * (self.robot.lower + self.robot.upper)
        self.filter.reset()

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
