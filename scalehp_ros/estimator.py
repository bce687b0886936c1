"""The stable public entry point of the hand pose estimator: `from scalehp_ros.estimator import HandPoseEstimator`.

`HandPoseEstimator(config).estimate(rgb, K, stamp=None, distortion=None)` returns a list of `HandPose`
(joints_cam in metres, camera optical frame); distortion is CameraInfo's (distortion_model, d) for a raw
image. The implementation lives in `scalehp_ros.perception.estimator` and may move; this module's names stay.
"""

from scalehp_ros.perception.estimator import HandPose, HandPoseEstimator

__all__ = ["HandPose", "HandPoseEstimator"]
