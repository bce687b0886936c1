"""HandPose: one hand in one image, the output of `estimator.HandPoseEstimator`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class HandPose:
    """One hand in one image.

    joints_cam: (21, 3) metres, camera optical frame (x right, y down, z forward), joints.JOINT_NAMES order.
    joints_2d: (21, 2) the detector's keypoints, pixels. handedness: 'left'/'right', the subject's own hand;
    handedness_score: its probability [0-1]. scale: mean bone length, metres. translation: (3,) the wrist
    position (= joints_cam[0]), metres. reprojection_error: mean pixel distance between the projected
    joints_cam and joints_2d. confidence: the detector's score for this hand [0-1] (MediaPipe's handedness
    classification score, the only per-hand score its Tasks API returns). track_id: stable over a video
    stream (-1 for still images). depth_used: a registered depth image constrained this hand's solve;
    depth_confidence: the fraction of its palm joints with valid depth [0-1]. placement: what placed it,
    'solve' or 'fit' (perception.placement); placement_fallback: why the placement guard replaced the configured
    placement ('' when it stood; the reason in words, for diagnostics). arm_reference: (3,) metres, camera
    optical frame: the point the arm should follow, the wrist as the hand's palm places it
    (`placement.arm_reference`): it holds still when only the fingers move, where the wrist of joints_cam
    moves with the fingers' depth errors (with registered depth: the depth-fused wrist; with `placement.palm_pnp` and a
    profile: the wrist of the profile's palm placed by PnP). In a stream it is filtered as its viewing ray and
    its depth apart (`filters.RayDepthFilter`).
    """

    joints_cam: np.ndarray
    joints_2d: np.ndarray
    handedness: str
    handedness_score: float
    scale: float
    translation: np.ndarray
    reprojection_error: float
    confidence: float
    track_id: int = -1
    depth_used: bool = False
    depth_confidence: float = 0.0
    placement: str = "solve"
    placement_fallback: str = ""
    arm_reference: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.arm_reference is None:  # a HandPose built by hand: the wrist
            self.arm_reference = np.asarray(self.joints_cam, dtype=np.float64)[0].copy()
