"""Canonical pose, scale modes, anthropometry, One Euro filter, handedness hysteresis, tracking, config."""

from __future__ import annotations

import numpy as np
import pytest

from scalehp_ros.common.joints import bone_lengths, mean_bone_length
from scalehp_ros.evaluation import synthetic
from scalehp_ros.perception import anthropometry
from scalehp_ros.perception.canonical import canonical_pose, with_bone_lengths
from scalehp_ros.perception.filters import HandednessHysteresis, OneEuroFilter
from scalehp_ros.perception.root_solver import JOINT_WEIGHTINGS, SOLVERS
from scalehp_ros.perception.scale import SCALE_MODES, ScaleSettings, make_scale_estimator
from scalehp_ros.perception.settings import EstimatorConfig
from scalehp_ros.perception.tracking import HandTracker, TrackingSettings


def test_canonical_pose_unit_mean_bone_and_rebone():
    batch = synthetic.generate(20, synthetic.NOISE_FREE, seed=5)
    canon, size = canonical_pose(batch.joints_cam)
    np.testing.assert_allclose(mean_bone_length(canon), 1.0, atol=1e-12)
    np.testing.assert_allclose(canon[:, 0], 0.0, atol=1e-15)
    np.testing.assert_allclose(size[:, None, None] * canon + batch.joints_cam[:, :1], batch.joints_cam, atol=1e-12)
    rebuilt = with_bone_lengths(canon, anthropometry.BONE_PROPORTIONS)
    np.testing.assert_allclose(bone_lengths(rebuilt), np.broadcast_to(anthropometry.BONE_PROPORTIONS, (20, 20)))
    # directions kept
    d0 = np.diff(canon[:, [0, 9]], axis=1)[:, 0]
    d1 = np.diff(rebuilt[:, [0, 9]], axis=1)[:, 0]
    np.testing.assert_allclose(np.cross(d0, d1), 0.0, atol=1e-12)
    with pytest.raises(ValueError, match="non-finite"):
        canonical_pose(np.full((21, 3), np.inf))
    with pytest.raises(ValueError, match="degenerate"):
        canonical_pose(np.zeros((21, 3)))
    with pytest.raises(ValueError, match="shape"):
        canonical_pose(np.zeros((20, 3)))


def test_anthropometry_is_consistent():
    assert anthropometry.BONE_PROPORTIONS.mean() == pytest.approx(1.0)
    assert 0.17 < anthropometry.HAND_LENGTH_PRIOR_M < 0.19
    # a 40 mm mean bone is typical of adult hands (RHD renders: 40-43 mm)
    assert 0.035 < anthropometry.PRIOR_MEAN_BONE_M < 0.045
    assert anthropometry.mean_bone_from_hand_length(0.2) == pytest.approx(0.2 * anthropometry.MEAN_BONE_PER_HAND_LENGTH)
    # the synthetic generator builds hands whose mean bone follows their hand length
    hands, length = synthetic.random_hands(np.random.default_rng(0), 500)
    ratio = mean_bone_length(hands) / length
    assert abs(np.median(ratio) - anthropometry.MEAN_BONE_PER_HAND_LENGTH) < 0.005


def test_scale_modes():
    canon = np.zeros((3, 21, 3))
    uv = np.zeros((3, 21, 2))
    prior = make_scale_estimator(ScaleSettings(mode="prior"))(canon, uv, None)
    np.testing.assert_allclose(prior, anthropometry.PRIOR_MEAN_BONE_M)
    fixed = make_scale_estimator(ScaleSettings(mode="fixed", hand_length_m=0.2))(canon, uv, None)
    np.testing.assert_allclose(fixed, 0.2 * anthropometry.MEAN_BONE_PER_HAND_LENGTH)
    with pytest.raises(ValueError, match=r"learned.*not implemented"):
        ScaleSettings(mode="learned")
    with pytest.raises(ValueError, match="hand_length_m"):
        ScaleSettings(mode="fixed", hand_length_m=-1.0)
    with pytest.raises(ValueError, match="mode"):
        ScaleSettings(mode="guess")
    with pytest.raises(ValueError, match="ScaleSettings"):
        make_scale_estimator("prior")


def test_learned_scale_is_not_a_choice():
    spec = {s.name: s for s in EstimatorConfig.parameters()}["scale.mode"]
    assert spec.choices == SCALE_MODES == ("prior", "fixed")
    assert "learned" not in spec.choices
    with pytest.raises(ValueError, match=r"scale\.mode='learned' is not implemented"):
        EstimatorConfig().replace({"scale.mode": "learned"})
    with pytest.raises(ValueError, match="not implemented"):
        EstimatorConfig.from_flat({"scale.mode": "learned"})


def test_one_euro_smooths_noise_and_follows_motion():
    rng = np.random.default_rng(0)
    t = np.arange(300) / 30.0
    noisy = 0.5 + rng.normal(0.0, 0.005, t.shape)
    f = OneEuroFilter(min_cutoff_hz=1.0, beta=0.0)
    out = np.array([f(np.array([x]), ti)[0] for x, ti in zip(noisy, t, strict=True)])
    # beta = 0: a first-order low-pass with alpha = 1 / (1 + fps / (2 pi fc)); white noise std shrinks by
    # sqrt(alpha / (2 - alpha)) (0.31 at 1 Hz, 30 fps)
    alpha = 1.0 / (1.0 + 30.0 / (2.0 * np.pi))
    ratio = np.std(out[30:]) / np.std(noisy[30:])
    assert ratio == pytest.approx(np.sqrt(alpha / (2.0 - alpha)), rel=0.2)
    assert abs(out[30:].mean() - 0.5) < 0.002
    # a fast ramp: a larger beta lags less
    ramp = 0.5 * t
    lags = []
    for beta in (0.0, 20.0):
        f = OneEuroFilter(min_cutoff_hz=1.0, beta=beta)
        out = np.array([f(np.array([x]), ti)[0] for x, ti in zip(ramp, t, strict=True)])
        lags.append(np.abs(out[100:] - ramp[100:]).mean())
    assert lags[1] < 0.5 * lags[0]
    # time going backwards restarts the filter instead of dividing by a negative dt
    f = OneEuroFilter(1.0, 1.0)
    f(np.ones(3), 1.0)
    np.testing.assert_array_equal(f(np.full(3, 7.0), 0.5), np.full(3, 7.0))
    with pytest.raises(ValueError):
        OneEuroFilter(min_cutoff_hz=0.0)


def test_handedness_hysteresis():
    h = HandednessHysteresis(margin=0.2)
    assert h.update("right", 0.9)[0] == "right"
    # isolated confident wrong labels do not flip the track
    assert h.update("left", 0.95)[0] == "right"
    assert h.update("right", 0.9)[0] == "right"
    # a sustained change does
    sides = [h.update("left", 0.95)[0] for _ in range(10)]
    assert sides[-1] == "left" and sides[0] == "right"
    side, p = h.update("left", 0.9)
    assert side == "left" and 0.5 < p <= 1.0
    with pytest.raises(ValueError):
        h.update("up", 0.9)


def test_tracker_ids_stable_and_not_reused():
    tr = HandTracker(TrackingSettings(max_jump=0.2, timeout_s=0.5))
    diag = 800.0
    a, b = np.array([100.0, 100.0]), np.array([500.0, 300.0])
    ids0 = [t.track_id for t in tr.update(np.stack([a, b]), 0.0, diag)]
    # next frame: hands moved a little and come in the other order
    ids1 = [t.track_id for t in tr.update(np.stack([b + 10, a + 5]), 1 / 30, diag)]
    assert ids1 == ids0[::-1]
    # one hand jumps across the image: a new track
    ids2 = [t.track_id for t in tr.update(np.stack([a + 600]), 2 / 30, diag)]
    assert ids2[0] not in ids0
    # after the timeout old tracks are gone; ids keep counting
    ids3 = [t.track_id for t in tr.update(np.stack([a]), 5.0, diag)]
    assert ids3[0] > max(ids0 + ids2)
    tr.reset()
    assert tr.update(np.stack([a]), 6.0, diag)[0].track_id > ids3[0]


def test_config_validation_and_metadata():
    c = EstimatorConfig()
    specs = EstimatorConfig.parameters()
    flat = c.flat()
    assert [s.name for s in specs] == list(flat)
    for spec in specs:
        assert spec.description
        assert spec.default == flat[spec.name]
        if spec.choices is None and not isinstance(spec.default, bool | str):  # str: a free path
            for value in spec.default if isinstance(spec.default, tuple) else (spec.default,):  # 3-vectors
                assert spec.min <= value <= spec.max
    # the choices are the code's own tables, not copies
    by_name = {s.name: s for s in specs}
    assert by_name["root_solve.solver"].choices == SOLVERS
    assert by_name["root_solve.joint_weighting"].choices == tuple(JOINT_WEIGHTINGS)
    assert by_name["scale.mode"].choices == SCALE_MODES
    # one group per stage, handed down unchanged: the dotted names reach the group that owns them
    assert c.replace({"root_solve.solver": "linear"}).root_solve.solver == "linear"
    assert c.replace({"tracking.max_jump": 0.3}).tracking.max_jump == 0.3
    assert EstimatorConfig.from_flat(flat) == c
    bad = [
        {"frontend.max_hands": 0},
        {"frontend.max_hands": 1.5},
        {"frontend.min_detection_confidence": 1.5},
        {"root_solve.solver": "magic"},
        {"scale.mode": 3},
        {"frontend.mirrored": "yes"},
        {"scale.hand_length_m": float("nan")},
        {"filters.beta": -1.0},
        {"no_such_field": 1},
    ]
    for changes in bad:
        with pytest.raises(ValueError):
            c.replace(changes)
    assert c.replace({"frontend.max_hands": 3.0}).frontend.max_hands == 3
    assert isinstance(c.replace({"frontend.max_hands": 3.0}).frontend.max_hands, int)
    assert isinstance(c.replace({"root_solve.huber_px": 2}).root_solve.huber_px, float)
    with pytest.raises(ValueError, match="unknown"):
        EstimatorConfig.from_flat({"no_such_field": 1})
