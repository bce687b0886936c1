"""Operator profiles (format, validation, use by the estimator) and the learned lifter (checksum, cost, training)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from scalehp_ros.common.joints import bone_lengths, mean_bone_length
from scalehp_ros.evaluation import synthetic
from scalehp_ros.perception import lifter as lifter_mod
from scalehp_ros.perception.anthropometry import mean_bone_from_hand_length
from scalehp_ros.perception.estimator import HandPoseEstimator
from scalehp_ros.perception.frontend import Detection
from scalehp_ros.perception.profile import (
    load_profile,
    profile_from_dict,
    profile_from_hand_length,
    profile_from_joints,
    save_profile,
)
from scalehp_ros.perception.settings import EstimatorConfig


def _detections(batch, n):
    return [
        Detection(batch.uv[i], batch.rel_detected[i], "left" if batch.is_left[i] else "right", 1.0) for i in range(n)
    ]


def test_profile_round_trip_and_validation(tmp_path: Path):
    p = profile_from_hand_length("alice", 0.185, date="2025-12-10")
    assert abs(p.mean_bone("right") - mean_bone_from_hand_length(0.185)) < 1e-12
    path = save_profile(p, tmp_path / "alice.yaml")
    q = load_profile(path)
    assert (
        q.name == "alice"
        and q.date == "2025-12-10"
        and np.allclose(q.bone_lengths("left"), p.bone_lengths("left"), atol=1e-6)
    )  # saved to the micrometre
    good = p.to_dict()
    for change, message in (
        ({"format": "x"}, "format"),
        ({"method": "guess"}, "method"),
        ({"date": "yesterday"}, "date"),
        ({"hands": {}}, "at least one hand"),
        ({"hands": {"middle": good["hands"]["right"]}}, "hand must be one of"),
        ({"hands": {"right": {**good["hands"]["right"], "bone_lengths_m": [0.04] * 19}}}, "20 numbers"),
        ({"hands": {"right": {**good["hands"]["right"], "bone_lengths_m": [0.9] * 20}}}, "outside"),
        ({"hands": {"right": {**good["hands"]["right"], "mean_bone_m": 0.05}}}, "does not match"),
        ({"evil": "!!python/object"}, "unknown keys"),
    ):
        with pytest.raises(ValueError, match=message):
            profile_from_dict({**good, **change})
    (tmp_path / "bad.yaml").write_text("!!python/object/apply:os.system ['true']\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_profile(tmp_path / "bad.yaml")
    with pytest.raises(ValueError, match="not found"):
        load_profile(tmp_path / "missing.yaml")


def test_estimator_uses_the_profile_for_scale_and_bone_lengths(tmp_path: Path):
    batch = synthetic.generate(6, seed=3)
    dets = _detections(batch, 6)
    profile = profile_from_joints("gt", {"right": batch.joints_cam[0]}, "ground_truth")
    path = save_profile(profile, tmp_path / "gt.yaml")
    est = HandPoseEstimator(EstimatorConfig().replace({"scale.operator_profile": str(path)}))
    poses = est.estimate_from_detections(dets, batch.K[0])
    want = bone_lengths(batch.joints_cam[0])
    for pose in poses:  # the one measured side serves both sides
        assert abs(pose.scale - want.mean()) < 1e-6
    exact = synthetic.generate(1, synthetic.NOISE_FREE, seed=3)  # the same hand, exact detections
    pose = est.estimate_from_detections(_detections(exact, 1), exact.K[0])[0]
    assert np.allclose(bone_lengths(pose.joints_cam), want, rtol=0.01)
    est.set_operator_profile(None)
    assert est.estimate_from_detections(dets[:1], batch.K[0])[0].scale != pytest.approx(want.mean())
    with pytest.raises(ValueError, match="not found"):
        est.update_config({"scale.operator_profile": str(tmp_path / "nope.yaml")})
    # a ruler profile is scale.mode fixed written down
    ruler = save_profile(profile_from_hand_length("r", 0.2), tmp_path / "r.yaml")
    a = HandPoseEstimator(EstimatorConfig().replace({"scale.operator_profile": str(ruler)})).estimate_from_detections(
        dets, batch.K[0]
    )
    b = HandPoseEstimator(
        EstimatorConfig().replace({"scale.mode": "fixed", "scale.hand_length_m": 0.2})
    ).estimate_from_detections(dets, batch.K[0])
    for pa, pb in zip(a, b, strict=True):
        assert np.allclose(pa.joints_cam, pb.joints_cam, atol=1e-4)  # the file rounds to micrometres


@pytest.mark.slow
def test_lifter_file_matches_its_checksum_and_runs_fast():
    assert lifter_mod.sha256_of(lifter_mod.lifter_path()) == lifter_mod.LIFTER_SHA256
    with pytest.raises(ValueError, match="SHA-256"):
        lifter_mod.load_lifter(sha256="0" * 64)
    batch = synthetic.generate(200, seed=5)
    est = HandPoseEstimator(EstimatorConfig().replace({"canonical.model": "lifter"}))
    poses = [est.estimate_from_detections([d], batch.K[i])[0] for i, d in enumerate(_detections(batch, 200))]
    joints = np.stack([p.joints_cam for p in poses])
    assert np.all(np.isfinite(joints))
    rel_err = np.linalg.norm((joints - joints[:, :1]) - (batch.joints_cam - batch.joints_cam[:, :1]), axis=-1).mean()
    base = HandPoseEstimator()
    base_j = np.stack(
        [base.estimate_from_detections([d], batch.K[i])[0].joints_cam for i, d in enumerate(_detections(batch, 200))]
    )
    base_err = np.linalg.norm((base_j - base_j[:, :1]) - (batch.joints_cam - batch.joints_cam[:, :1]), axis=-1).mean()
    assert rel_err < base_err  # on the synthetic set the lifter beats the detector's directions
    lift = lifter_mod.load_lifter()
    feats = lifter_mod.lifter_features(
        np.zeros((1, 21, 2)) + np.random.default_rng(0).normal(0, 0.05, (1, 21, 2)),
        np.array([[0.0, 0.0, 1.0]]),
        batch.rel_detected[:1],
    )
    t0 = time.perf_counter()
    for _ in range(200):
        lift(feats)
    per_hand_us = (time.perf_counter() - t0) / 200 * 1e6
    assert per_hand_us < 5000, f"lifter inference {per_hand_us:.0f} us per hand"
    assert mean_bone_length(lift(feats))[0] == pytest.approx(1.0)


@pytest.mark.slow
def test_training_is_deterministic():
    pytest.importorskip("torch")
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "train_lifter", Path(__file__).resolve().parent.parent / "tools" / "train_lifter.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    a, err_a = mod.train(2048, 1, 32, seed=7, log=lambda *_: None)
    b, err_b = mod.train(2048, 1, 32, seed=7, log=lambda *_: None)
    assert err_a == err_b
    for k in a:
        assert np.array_equal(a[k], b[k])
