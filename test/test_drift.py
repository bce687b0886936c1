"""scalehp-eval drift (evaluation.drift): fixed-wrist sequences, the drift metric, and the arm reference point."""

from __future__ import annotations

import numpy as np

from scalehp_ros.common.joints import WRIST, bone_lengths
from scalehp_ros.evaluation import drift, synthetic
from scalehp_ros.perception.estimator import HandPoseEstimator
from scalehp_ros.perception.filters import FilterSettings, RayDepthFilter
from scalehp_ros.perception.frontend import Detection


def test_fixed_wrist_sequences_hold_the_wrist_and_palm_while_the_fingers_move():
    seqs = synthetic.fixed_wrist_sequences(3, 25, seed=2)
    for q in seqs:
        assert q.joints_cam.shape == (25, 21, 3) and q.uv.shape == (25, 21, 2)
        palm = q.joints_cam[:, [WRIST, 5, 9, 13, 17]]
        np.testing.assert_allclose(palm, np.broadcast_to(palm[0], palm.shape), atol=1e-12)
        tips = q.joints_cam[:, [8, 12, 16, 20]]
        assert np.linalg.norm(tips - tips[0], axis=-1).max() > 0.05  # the fingers really move (> 5 cm)
        lengths = bone_lengths(q.joints_cam)  # one person's hand: the bones do not change
        np.testing.assert_allclose(lengths, np.broadcast_to(lengths[0], lengths.shape), rtol=1e-9)


def test_the_arm_reference_holds_still_when_only_the_fingers_move_without_per_frame_noise():
    """With the detector's systematic errors only (tilt, bone factors, depth compression drawn once per
    sequence), the palm-placed reference stays within a few millimetres while the estimator's wrist moves with
    the fingers."""
    noise = synthetic.NoiseModel(px_sigma_frac=0.0, outlier_prob=0.0, joint_sigma_xy_m=0.0, joint_sigma_z_m=0.0)
    est = HandPoseEstimator()
    ref_drift, wrist_drift = [], []
    for q in synthetic.fixed_wrist_sequences(4, 31, noise, seed=5):
        side = "left" if q.is_left else "right"
        poses = [
            est.estimate_from_detections([Detection(q.uv[f], q.rel_detected[f], side, 1.0)], q.K)[0] for f in range(31)
        ]
        ref = np.array([p.arm_reference for p in poses])
        wrist = np.array([p.joints_cam[WRIST] for p in poses])
        ref_drift.append(np.linalg.norm(ref - ref.mean(0), axis=1))
        wrist_drift.append(np.linalg.norm(wrist - wrist.mean(0), axis=1))
    ref_rms = 1000 * np.sqrt(np.mean(np.concatenate(ref_drift) ** 2))
    wrist_rms = 1000 * np.sqrt(np.mean(np.concatenate(wrist_drift) ** 2))
    assert ref_rms < 0.8 * wrist_rms and ref_rms < 5.0, (ref_rms, wrist_rms)  # measured: 4.4 vs 6.4 mm


def test_eval_drift_reports_every_placement_and_the_headline_keys():
    out = drift.eval_drift(sequences=1, frames=8, seed=1)
    assert set(out["placements"]) == set(drift.PLACEMENT_ROWS)
    for row in out["placements"].values():
        for mode in ("still", "stream"):
            m = row[mode]
            assert 0.0 <= m["wrist_drift_rms_mm"] <= m["wrist_drift_max_mm"]
            assert 0.0 <= m["arm_reference_drift_rms_mm"] <= m["arm_reference_drift_max_mm"]
    assert out["wrist_drift_rms_mm"] == out["placements"]["default"]["stream"]["wrist_drift_rms_mm"]
    assert out["arm_reference_step"] == drift.step_response(FilterSettings())
    # estimator parameters reach every row and the step response
    fast = drift.eval_drift(sequences=1, frames=8, seed=1, params={"filters.reference_depth_min_cutoff_hz": 3.0})
    assert fast["arm_reference_step"]["step_z_settle_ms"] < out["arm_reference_step"]["step_z_settle_ms"]
    assert fast["placements"]["solve"]["still"] == out["placements"]["solve"]["still"]  # stills: no filter
    stream = fast["placements"]["solve"]["stream"]["arm_reference_drift_rms_mm"]
    assert stream != out["placements"]["solve"]["stream"]["arm_reference_drift_rms_mm"]


def test_articulation_pairs_pick_frames_where_only_the_fingers_move():
    rng = np.random.default_rng(0)
    base = rng.uniform(100, 300, (21, 2))
    fingers_moved = base.copy()
    fingers_moved[[4, 8, 12, 16, 20]] += 20.0  # fingertips move, the palm does not
    whole_moved = base + 15.0  # the whole hand moves
    uv = [base, fingers_moved, whole_moved, None, base]
    track = [np.array([0, 0, 0.5]), np.array([0, 0, 0.53]), np.array([0, 0, 0.6]), None, np.array([0, 0, 0.5])]
    out = drift.articulation_pairs(uv, {"wrist": track})
    assert out["pairs"] == 1  # only frame 0 -> 1
    assert abs(out["wrist_depth_change_rms_mm"] - 30.0) < 1e-6


def test_ray_depth_filter_smooths_depth_more_than_the_ray():
    """A point whose depth jitters while its image position holds: the depth is smoothed by its own cutoff, the
    ray (the image position) is kept; a non-finite point passes through."""
    f = RayDepthFilter((1.5, 10.0, 1.0), depth_min_cutoff_hz=0.5, depth_beta=0.0, d_cutoff_hz=1.0)
    rng = np.random.default_rng(0)
    ray = np.array([0.1, -0.05, 1.0])
    z = 0.5 + rng.normal(0.0, 0.02, 90)
    out = np.array([f(ray * zi, i / 30.0) for i, zi in enumerate(z)])
    np.testing.assert_allclose(out[:, :2] / out[:, 2:], np.broadcast_to(ray[:2], (90, 2)), atol=1e-12)
    assert np.std(out[30:, 2]) < 0.3 * np.std(z[30:])
    bad = f(np.array([np.nan, 0.0, 0.5]), 3.1)
    assert np.isnan(bad[0])


def test_step_response_depth_lags_more_than_sideways_and_the_settings_choose_it():
    slow = drift.step_response(FilterSettings())
    fast = drift.step_response(FilterSettings(reference_depth_min_cutoff_hz=1.5, reference_depth_beta=10.0))
    assert slow["move_x_lag_ms"] == fast["move_x_lag_ms"] < 100.0  # the ray keeps the joints' settings
    assert fast["move_z_lag_ms"] < slow["move_z_lag_ms"] <= 300.0
    assert fast["step_z_settle_ms"] < slow["step_z_settle_ms"]
