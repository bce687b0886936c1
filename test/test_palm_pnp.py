"""perception.palm_pnp: the operator profile's rigid palm placed by PnP on the 2D palm keypoints (issue 24 item 4),
and what it does about a keypoint convention offset on the synthetic sheet renders."""

from __future__ import annotations

import numpy as np

from scalehp_ros.common.joints import WRIST, bone_lengths
from scalehp_ros.evaluation import synthetic
from scalehp_ros.evaluation.sheet_renders import convention_offset
from scalehp_ros.perception.estimator import HandPoseEstimator
from scalehp_ros.perception.frontend import Detection
from scalehp_ros.perception.palm_pnp import PALM, palm_template, place_palm
from scalehp_ros.perception.profile import profile_from_joints
from scalehp_ros.perception.settings import EstimatorConfig


def test_the_true_palm_is_placed_exactly_from_noise_free_keypoints_left_and_right():
    batch = synthetic.generate(12, synthetic.NoiseModel(px_sigma_frac=0.0, outlier_prob=0.0), seed=4)
    assert batch.is_left.any() and not batch.is_left.all()
    for joints, is_left in zip(batch.joints_cam, batch.is_left, strict=True):
        xy = joints[:, :2] / joints[:, 2:]
        template = palm_template(bone_lengths(joints), bool(is_left))
        assert np.allclose(template[:, 2], 0.0)  # the model's palm is planar
        tilted = joints[list(PALM)] + np.array([0.0, 0.0, 0.2])  # the detector's palm: any placement
        placed = place_palm(template, xy, tilted)
        np.testing.assert_allclose(placed, joints[list(PALM)], atol=1e-9)


def test_no_placement_from_non_finite_keypoints():
    template = palm_template(np.full(20, 0.04), False)
    xy = np.full((21, 2), np.nan)
    assert place_palm(template, xy, template) is None


def test_palm_pnp_needs_a_profile_and_then_places_the_hand_and_the_arm_reference():
    batch = synthetic.generate(6, seed=7)
    plain, pnp = HandPoseEstimator(), HandPoseEstimator(EstimatorConfig().replace({"placement.palm_pnp": True}))
    for i in range(6):
        det = Detection(batch.uv[i], batch.rel_detected[i], "left" if batch.is_left[i] else "right", 1.0)
        a, b = plain.estimate_from_detections([det], batch.K[i])[0], pnp.estimate_from_detections([det], batch.K[i])[0]
        np.testing.assert_array_equal(a.joints_cam, b.joints_cam)  # no profile: no effect
    profile = profile_from_joints("truth", {"left": batch.joints_cam[0], "right": batch.joints_cam[0]}, "ground_truth")
    pnp.set_operator_profile(profile)
    det = Detection(batch.uv[0], batch.rel_detected[0], "left" if batch.is_left[0] else "right", 1.0)
    pose = pnp.estimate_from_detections([det], batch.K[0])[0]
    # the reference is the PnP palm's wrist: on the wrist keypoint's ray, a few % from the true depth
    ray = np.linalg.inv(batch.K[0]) @ np.append(batch.uv[0, WRIST], 1.0)
    ref = pose.arm_reference
    assert np.linalg.norm(np.cross(ref / ref[2], ray / ray[2])) < 0.05
    assert abs(ref[2] / batch.joints_cam[0, WRIST, 2] - 1.0) < 0.15


def test_a_calibrated_palm_absorbs_a_convention_offset_that_published_proportions_do_not():
    """MediaPipe-like keypoints 7 % wider than the skeleton: the palm PnP with the sheet-calibrated profile stays
    where it was, with a ruler profile (published proportions, the true hand length) it moves ~ -6.5 %."""
    plain = convention_offset(widen=1.0, operators=2, hands=12, seed=3)
    wide = convention_offset(widen=1.07, operators=2, hands=12, seed=3)
    shift = {k: wide[k]["wrist_depth_error_pct"] - plain[k]["wrist_depth_error_pct"] for k in plain}
    assert abs(shift["sheet calibration, palm PnP"]) < 1.5, shift
    assert shift["published, palm PnP"] < -4.0, shift
