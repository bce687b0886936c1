"""The kinematic hand (perception.hand_model) and its fit to 2D keypoints (perception.model_fit)."""

from __future__ import annotations

import numpy as np
import pytest

from scalehp_ros.common.joints import bone_lengths
from scalehp_ros.evaluation import metrics, synthetic
from scalehp_ros.perception import hand_model, model_fit
from scalehp_ros.perception import placement as placement_module
from scalehp_ros.perception.camera import pixels_to_normalized
from scalehp_ros.perception.canonical import CanonicalSettings, canonical_from_detector, canonical_pose
from scalehp_ros.perception.estimator import HandPoseEstimator
from scalehp_ros.perception.frontend import Detection
from scalehp_ros.perception.settings import EstimatorConfig


def _noiseless(n: int, seed: int):
    batch = synthetic.generate(n, synthetic.NOISE_FREE, seed=seed)
    canonical, _ = canonical_pose(batch.joints_cam)
    return batch, pixels_to_normalized(batch.uv, batch.K), canonical


def test_forward_kinematics_keeps_the_bone_lengths():
    rng = np.random.default_rng(0)
    lo, hi = hand_model.DOF_LIMITS.T
    angles = rng.uniform(lo, hi, (50, hand_model.NUM_DOF))
    lengths = rng.uniform(0.5, 2.0, (50, 20))
    joints = hand_model.forward_kinematics(angles, lengths)
    assert joints.shape == (50, 21, 3)
    np.testing.assert_allclose(bone_lengths(joints), lengths, atol=1e-12)
    assert np.all(joints[:, 0] == 0.0)


def test_fit_recovers_a_known_pose_from_exact_2d_and_a_noisy_prior():
    batch, xy, canonical = _noiseless(30, seed=11)
    rng = np.random.default_rng(1)
    prior = canonical + rng.normal(0.0, 0.1, canonical.shape) * np.array([1.0, 1.0, 3.0])  # depth the weakest
    prior -= prior[:, :1]
    fit = model_fit.fit_hands(xy, prior, bone_lengths(canonical))
    err = np.linalg.norm(fit.canonical - canonical, axis=-1).mean()
    prior_err = np.linalg.norm(prior - canonical, axis=-1).mean()
    assert err < 0.25 * prior_err, (err, prior_err)
    assert err < 0.1  # mean bone lengths (the prior: ~0.45)
    np.testing.assert_array_equal(fit.is_left, batch.is_left)  # the chirality comes from the geometry


def test_fit_is_exact_without_noise():
    _, xy, canonical = _noiseless(10, seed=12)
    fit = model_fit.fit_hands(xy, canonical, bone_lengths(canonical))
    assert np.abs(fit.canonical - canonical).max() < 1e-4


def test_fit_respects_the_joint_limits():
    _, xy, canonical = _noiseless(10, seed=13)
    # a prior with every finger bent backwards (beyond hyperextension): the fit must stay within the limits
    prior = canonical.copy()
    prior[:, 5:, 2] = -3.0 * prior[:, 5:, 2]
    fit = model_fit.fit_hands(xy, prior, bone_lengths(canonical))
    angles = fit.params[:, 3:-3]
    lo, hi = hand_model.DOF_LIMITS.T
    assert np.all(angles >= lo - 1e-12) and np.all(angles <= hi + 1e-12)
    # the result is the model's pose with those angles, with the given lengths
    np.testing.assert_allclose(bone_lengths(fit.canonical), bone_lengths(canonical), atol=1e-9)


def test_bad_input_raises_value_error():
    _, xy, canonical = _noiseless(2, seed=14)
    lengths = bone_lengths(canonical)
    with pytest.raises(ValueError):
        model_fit.fit_hands(xy[:, :20], canonical, lengths)
    with pytest.raises(ValueError):
        model_fit.fit_hands(xy, canonical[..., :2], lengths)
    bad = xy.copy()
    bad[0, 3, 1] = np.nan
    with pytest.raises(ValueError):
        model_fit.fit_hands(bad, canonical, lengths)
    with pytest.raises(ValueError):
        model_fit.fit_hands(np.zeros_like(xy), canonical, lengths)  # no extent in the image
    with pytest.raises(ValueError):
        model_fit.fit_hands(xy, canonical, -lengths)
    rays = np.tile([0.0, 0.0, 1.0], (2, 1))
    with pytest.raises(ValueError):
        canonical_from_detector(canonical, rays, CanonicalSettings(model="fit"))  # no keypoints


@pytest.mark.slow
def test_estimator_with_the_fit_improves_the_synthetic_pose():
    n = 40
    batch = synthetic.generate(n, synthetic.NoiseModel(), seed=21)
    dets = [
        Detection(batch.uv[i], batch.rel_detected[i], "left" if batch.is_left[i] else "right", 1.0) for i in range(n)
    ]
    errors = {}
    for name, changes in {"default": {}, "fit": {"canonical.model": "fit"}}.items():
        est = HandPoseEstimator(EstimatorConfig().replace(changes))
        joints = np.stack([est.estimate_from_detections([d], batch.K[i])[0].joints_cam for i, d in enumerate(dets)])
        assert np.all(np.isfinite(joints))
        errors[name] = metrics.summarize(joints, batch.joints_cam, np.ones(n))["r_mpjpe_mm"]
    assert errors["fit"] < errors["default"], errors


@pytest.mark.slow
def test_fit_placement_moves_the_same_shape_closer_and_streams_keep_the_plain_solve():
    n = 40
    batch = synthetic.generate(n, synthetic.NoiseModel(), seed=23)
    stream_cfg = EstimatorConfig().replace({"scale.mode": "fixed", "scale.hand_length_m": 0.19})
    dets = [
        Detection(batch.uv[i], batch.rel_detected[i], "left" if batch.is_left[i] else "right", 1.0) for i in range(n)
    ]

    def run(changes):
        est = HandPoseEstimator(EstimatorConfig().replace(changes))
        return np.stack([est.estimate_from_detections([d], batch.K[i])[0].joints_cam for i, d in enumerate(dets)])

    solve = run({"placement.mode": "solve", "placement.guard": False})
    fit, auto = run({"placement.mode": "fit"}), run({"placement.mode": "auto"})
    np.testing.assert_array_equal(auto, fit)  # stills: auto is fit
    # the shape relative to the wrist is the plain solve's, only the placement moves
    np.testing.assert_allclose(fit - fit[:, :1], solve - solve[:, :1], atol=1e-12)
    cs = {k: metrics.per_joint_errors_mm(v, batch.joints_cam).mean() for k, v in {"solve": solve, "fit": fit}.items()}
    assert cs["fit"] < cs["solve"], cs
    # a stream (stamped frames): auto keeps the plain solve's placement; the filters run in both
    stream_auto = HandPoseEstimator(stream_cfg.replace({"placement.mode": "auto"}))
    stream_solve = HandPoseEstimator(stream_cfg.replace({"placement.mode": "solve"}))
    stream_fit = HandPoseEstimator(stream_cfg.replace({"placement.mode": "fit"}))
    for i, d in enumerate(dets[:5]):
        a = stream_auto.estimate_from_detections([d], batch.K[i], stamp=0.1 * i)[0].joints_cam
        b = stream_solve.estimate_from_detections([d], batch.K[i], stamp=0.1 * i)[0].joints_cam
        np.testing.assert_array_equal(a, b)
        # placement.mode fit asks for the fit in a stream too: a different placement
        f = stream_fit.estimate_from_detections([d], batch.K[i], stamp=0.1 * i)[0].joints_cam
        assert np.linalg.norm(f.mean(0) - b.mean(0)) > 1e-4


# placement.mode fit on every frame of a stream, its depth ratio unsmoothed
EVERY_FRAME = {"placement.mode": "fit", "placement.fit_every": 1, "placement.fit_smoothing": 1.0}


def _turning_hand(batch, i: int, frames: int, rng) -> list[Detection]:
    """Detections of synthetic hand i turning 1.5 degrees per frame about the camera's z axis."""
    K, joints, rel = batch.K[i], batch.joints_cam[i], batch.rel_detected[i]
    c, s = np.cos(np.radians(1.5)), np.sin(np.radians(1.5))
    step = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    out, R = [], np.eye(3)
    for _ in range(frames):
        j = (joints - joints[0]) @ R.T + joints[0]
        uv = (j[:, :2] / j[:, 2:]) @ K[:2, :2].T + K[:2, 2] + rng.normal(size=(21, 2)) * 0.5
        out.append(Detection(uv, rel @ R.T, "left" if batch.is_left[i] else "right", 1.0))
        R = step @ R
    return out


def test_fit_in_a_stream_runs_every_third_frame_and_moves_the_solve_along_its_ray(monkeypatch):
    batch = synthetic.generate(2, synthetic.NoiseModel(), seed=5)
    frames = _turning_hand(batch, 0, 9, np.random.default_rng(5))
    calls, moves = [], []
    fit, moved = placement_module.fit_hands, placement_module.moved

    def fit_spy(*args, warm=None, **kwargs):
        calls.append(warm is not None)
        return fit(*args, warm=warm, **kwargs)

    def moved_spy(sol, shift, xy, focal):
        moves.append((sol.joints.mean(axis=1)[0], shift[0].copy()))
        return moved(sol, shift, xy, focal)

    monkeypatch.setattr(placement_module, "fit_hands", fit_spy)
    monkeypatch.setattr(placement_module, "moved", moved_spy)
    est = HandPoseEstimator(EstimatorConfig().replace({"placement.mode": "fit"}))  # defaults: every 3rd, smoothed
    for t, d in enumerate(frames):
        est.estimate_from_detections([d], batch.K[0], stamp=t / 30.0)
    assert calls == [False, True, True]  # frames 0 (cold), 3 and 6 (warm)
    side = est._placement.fits[frames[0].handedness]
    assert side.reused == 2 and np.isfinite(side.ratio) and side.ratio != 1.0
    # every frame's correction moves the solve's centroid along its own ray: its 2D projection is kept
    for centroid, shift in moves:
        assert np.linalg.norm(np.cross(centroid, shift)) < 1e-12 * np.linalg.norm(centroid)
    # at 8 fps a frame is 0.125 s after the last fit, older than the reuse limit: a (warm) fit every frame
    calls.clear()
    est = HandPoseEstimator(EstimatorConfig().replace({"placement.mode": "fit"}))
    for t, d in enumerate(frames[:4]):
        est.estimate_from_detections([d], batch.K[0], stamp=t * 0.125)
    assert calls == [False, True, True, True]


def test_stream_fit_smooths_its_ratio_keeps_it_when_a_fit_fails_and_keeps_nothing_for_same_side_hands(monkeypatch):

    batch = synthetic.generate(2, synthetic.NoiseModel(), seed=9)
    frames = _turning_hand(batch, 0, 5, np.random.default_rng(9))
    K = batch.K[0]
    fit_centroids, moved = placement_module.fit_centroids, placement_module.moved
    fitted, moves, fail = {}, {}, set()
    frame = {"t": 0}

    def fit_spy(*args):
        if frame["t"] in fail:
            return None
        out = fit_centroids(*args)
        fitted[frame["t"]] = out[1].centroid[0]
        return out

    def moved_spy(sol, shift, xy, focal):
        moves[frame["t"]] = (sol.joints.mean(axis=1)[0], shift[0].copy())
        return moved(sol, shift, xy, focal)

    monkeypatch.setattr(placement_module, "fit_centroids", fit_spy)
    monkeypatch.setattr(placement_module, "moved", moved_spy)
    smoothing = 0.3
    est = HandPoseEstimator(EstimatorConfig().replace({"placement.mode": "fit", "placement.fit_smoothing": smoothing}))
    fail.add(3)  # frame 3 is due (every 3rd frame): its fit fails
    ratios = []
    for t, d in enumerate(frames):
        frame["t"] = t
        est.estimate_from_detections([d], K, stamp=t / 30.0)
        ratios.append(est._placement.fits[d.handedness].ratio)

    def raw(t):  # the fit's own ratio at frame t: its centroid over the solve's, along the solve's ray
        c = moves[t][0]
        return fitted[t] @ c / (c @ c)

    assert sorted(fitted) == [0, 4]  # the failed fit is retried on the next frame, not counted as a reuse
    assert ratios[0] == pytest.approx(raw(0)) and ratios[1] == ratios[2] == ratios[3] == ratios[0]
    assert ratios[4] == pytest.approx(smoothing * raw(4) + (1 - smoothing) * ratios[0])
    assert abs(ratios[0] - 1.0) > 1e-3 and abs(raw(4) - ratios[0]) > 1e-4  # a real correction, really smoothed
    for t in (1, 2, 3, 4):  # reused frames, the failed fit and the smoothed fit frame all apply the last ratio
        c, shift = moves[t]
        np.testing.assert_allclose(shift, (ratios[t] - 1.0) * c, atol=1e-12)
    # two hands with the same side label: fitted on every frame, and no state kept for either
    fail.clear()
    fitted.clear()
    twins = HandPoseEstimator(EstimatorConfig().replace({"placement.mode": "fit"}))
    second = Detection(batch.uv[1], batch.rel_detected[1], frames[0].handedness, 1.0)
    for t, d in enumerate(frames[:3]):
        frame["t"] = t
        twins.estimate_from_detections([d, second], K, stamp=t / 30.0)
    assert sorted(fitted) == [0, 1, 2] and twins._placement.fits == {}


@pytest.mark.slow
def test_warm_started_fit_in_a_stream_stays_with_the_cold_fit(monkeypatch):
    batch = synthetic.generate(6, synthetic.NoiseModel(), seed=31)
    rng = np.random.default_rng(31)
    apart, warm_calls = [], []
    default_gap = placement_module.FIT_WARM_MAX_GAP_S
    fit = placement_module.fit_hands

    def spy(*args, warm=None, **kwargs):
        warm_calls.append(warm is not None)
        return fit(*args, warm=warm, **kwargs)

    monkeypatch.setattr(placement_module, "fit_hands", spy)
    for i in range(6):
        K, frames = batch.K[i], _turning_hand(batch, i, 6, rng)
        out = {}
        for name, gap in (("warm", default_gap), ("cold", -1.0)):  # cold: never warm
            monkeypatch.setattr(placement_module, "FIT_WARM_MAX_GAP_S", gap)
            est = HandPoseEstimator(EstimatorConfig().replace(EVERY_FRAME))
            out[name] = np.stack(
                [est.estimate_from_detections([d], K, stamp=t / 30.0)[0].joints_cam for t, d in enumerate(frames)]
            )
            if name == "warm":
                assert set(est._placement.fits) == {frames[0].handedness}  # the warm start's state is kept per side
        apart += list(1000 * np.linalg.norm(out["warm"][1:].mean(1) - out["cold"][1:].mean(1), axis=-1))
    assert np.median(apart) < 3.0, np.round(apart, 1)
    # warm streams: every frame after the first starts from the previous fit; cold streams never do
    assert warm_calls == ([False] + [True] * 5 + [False] * 6) * 6, warm_calls
    # a warm start of the wrong size is refused
    xy = pixels_to_normalized(batch.uv[:2], batch.K[0])
    prior = np.stack([canonical_pose(r)[0] for r in batch.rel_detected[:2]])
    cold = model_fit.fit_hands(xy, prior, bone_lengths(prior))
    with pytest.raises(ValueError, match="warm"):
        model_fit.fit_hands(xy[:1], prior[:1], bone_lengths(prior[:1]), warm=cold)
