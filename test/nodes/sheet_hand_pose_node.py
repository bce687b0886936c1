"""Test fixture process: hand_pose_node whose detector knows the synthetic sheet renders' keypoints.

The renders of scalehp_ros/evaluation/sheet_renders.py draw the hand as lines, which MediaPipe does not
detect. This process renders the same frames (`random_frames(N, SEED)`, deterministic) and gives the node a
front end that returns, for an image identical to one of them, that render's projected keypoints as a
right-hand Detection (score 0.95), and no hand for any other image. Everything else is the real node: DDS,
parameters, the estimator after the detector, the ~/calibrate service.

Usage: python test/nodes/sheet_hand_pose_node.py N SEED [--ros-args ...]
"""

import functools
import hashlib
import sys

import numpy as np

from scalehp_ros.evaluation.sheet_renders import random_frames
from scalehp_ros.perception.estimator import HandPoseEstimator
from scalehp_ros.perception.frontend import Detection
from scalehp_ros.ros import hand_pose_node


def _digest(image: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()


class RenderFrontend:
    """MediaPipeFrontend's interface over a lookup of known images."""

    def __init__(self, frames) -> None:
        self.known = {_digest(image): Detection(uv, rel3d, "right", 0.95) for image, uv, rel3d in frames}

    def detect(self, image_rgb: np.ndarray, timestamp_ms: int | None = None) -> list[Detection]:
        det = self.known.get(_digest(image_rgb))
        return [] if det is None else [det]

    def prepare(self, video: bool = True) -> None:
        pass

    def reset_video(self) -> None:
        pass

    def close(self) -> None:
        pass


def main() -> int:
    count, seed = int(sys.argv[1]), int(sys.argv[2])
    frontend = RenderFrontend(random_frames(count, seed))
    hand_pose_node.HandPoseEstimator = functools.partial(HandPoseEstimator, frontend=frontend)
    return hand_pose_node.main([sys.argv[0], *sys.argv[3:]])


if __name__ == "__main__":
    raise SystemExit(main())
