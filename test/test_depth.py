"""Depth fusion in the ScaleHP core (perception.depth, root_solver's depth term, scale_calibration) on the
synthetic RGB-D renderer (evaluation.rgbd); no MediaPipe, no ROS."""

from __future__ import annotations

import numpy as np
import pytest

from scalehp_ros.common.joints import INDEX_MCP, MIDDLE_MCP, WRIST
from scalehp_ros.evaluation import rgbd, synthetic
from scalehp_ros.perception import depth as dp
from scalehp_ros.perception.estimator import HandPoseEstimator
from scalehp_ros.perception.frontend import Detection
from scalehp_ros.perception.profile import load_profile
from scalehp_ros.perception.scale_calibration import OnlineScaleSettings, ScaleCalibration
from scalehp_ros.perception.settings import EstimatorConfig


def _frames(n, seed, occlude=False, operator=None):
    rng = np.random.default_rng(seed)
    operator = operator or synthetic.random_operator(rng)
    b = synthetic.generate(n, synthetic.NoiseModel(), seed=seed, operator=operator, depth_range=(0.3, 1.0))
    out = []
    for i in range(n):
        size = (int(b.image_size[i, 0]), int(b.image_size[i, 1]))
        occ = rgbd.occluder_for(b.joints_cam[i], rng) if occlude else None
        depth = rgbd.render_depth(b.joints_cam[i], b.K[i], size, np.random.default_rng(seed * 7919 + i), occluder=occ)
        det = Detection(b.uv[i], b.rel_detected[i], "left" if b.is_left[i] else "right", 1.0)
        out.append((det, b.K[i], size, depth, b.joints_cam[i]))
    return out, operator


def _cs_mm(est, frames, use_depth=True, wrist_z=False):
    """Per frame: CS-MPJPE (mm), or with wrist_z the signed wrist depth error (mm, < 0: nearer than the
    truth); and whether depth was used."""
    err, used = [], []
    for det, K, size, depth, gt in frames:
        p = est.estimate_from_detections([det], K, image_size=size, depth=depth if use_depth else None)[0]
        if wrist_z:
            err.append(1000 * (p.joints_cam[0, 2] - gt[0, 2]))
        else:
            err.append(1000 * np.linalg.norm(p.joints_cam - gt, axis=-1).mean())
        used.append(p.depth_used)
    return np.array(err), np.array(used)


def test_samples_reject_holes_edges_and_the_off_image():
    depth = np.full((40, 40), 0.5, dtype=np.float32)
    depth[:, 20:] = 1.2  # an edge at column 20
    depth[5:12, 5:12] = 0.0  # a hole
    uv = np.array([[[30.0, 30.0], [8.0, 8.0], [20.0, 30.0], [-5.0, 3.0], [10.0, 30.0]] + [[30.0, 30.0]] * 16])
    z = dp.sample_depth(depth, uv, dp.DepthSettings(edge_near=False))
    assert z[0, 0] == pytest.approx(1.2) and z[0, 4] == pytest.approx(0.5)
    assert np.isnan(z[0, 1]) and np.isnan(z[0, 2]) and np.isnan(z[0, 3])
    # with depth.edge_near the window on the edge gives its near side (2 of its 5 columns), the rest as before
    near = dp.sample_depth(depth, uv, dp.DepthSettings())
    assert near[0, 2] == pytest.approx(0.5)
    np.testing.assert_array_equal(np.delete(near, 2, axis=1), np.delete(z, 2, axis=1))
    # a sliver of the near side (1 column of 5) is too little to trust: rejected
    assert np.isnan(dp.sample_depth(depth, np.array([[[21.0, 30.0]] * 21]), dp.DepthSettings())[0, 0])


def _straight_hand(z0=0.5):
    """A flat hand, palm square to the camera at z0 m, fingers straight up (-y) in the image plane."""
    j = np.zeros((21, 3))
    for f, x in enumerate((-0.03, -0.01, 0.01, 0.03)):  # index, middle, ring, little: MCP, PIP, DIP, tip
        for k in range(4):
            j[5 + 4 * f + k] = (x, -0.08 - 0.03 * k, 0.0)
    for k in range(4):  # thumb CMC, MCP, IP, tip out to the side
        j[1 + k] = (-0.03 - 0.02 * k, -0.02 - 0.01 * k, 0.0)
    j[:, 2] += z0
    return j


def test_surface_offset_follows_the_viewing_ray_through_finger_and_palm():
    hand = _straight_hand()
    scale = np.array([dp.PRIOR_MEAN_BONE_M])
    axial = dp.surface_offset(hand[None], scale, "axial")[0]
    ray = dp.surface_offset(hand[None], scale, "ray")[0]
    np.testing.assert_allclose(axial, dp.SURFACE_OFFSET_M)
    # palm square to the camera and fingers across the view: the half-thickness, seen along a slightly
    # oblique ray (the joints are off the optical axis): within 2 %
    np.testing.assert_allclose(ray, dp.SURFACE_OFFSET_M, rtol=0.02)
    # the index finger pointing at the camera: its PIP and DIP are seen through the bone in front of them
    pointing = hand.copy()
    for k in range(1, 4):
        pointing[5 + k] = pointing[5] + (0.0, 0.0, -0.03 * k)
    off = dp.surface_offset(pointing[None], scale, "ray")[0]
    assert np.all(off[6:8] > 2.0 * dp.SURFACE_OFFSET_M[6:8])
    assert np.all(off[6:8] <= dp.MAX_OBLIQUE_FACTOR * dp.SURFACE_OFFSET_M[6:8])
    # the whole hand tilted 60 degrees about x around the wrist (on the optical axis): the wrist's ray crosses
    # the palm slab at r / cos(60) = 2 r; each other palm joint at r / |cos(its ray, the normal)|, times the
    # ray's z component (the offset is a depth)
    c, s = np.cos(np.pi / 3), np.sin(np.pi / 3)
    rot = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    tilted = (hand - hand[0]) @ rot.T + hand[0]
    off = dp.surface_offset(tilted[None], scale, "ray")[0]
    assert off[WRIST] == pytest.approx(2.0 * dp.SURFACE_OFFSET_M[WRIST])
    palm = list(dp.PALM_JOINTS)
    ray = tilted[palm] / np.linalg.norm(tilted[palm], axis=1, keepdims=True)
    expected = dp.SURFACE_OFFSET_M[palm] / np.abs(ray @ (rot @ [0, 0, 1])) * ray[:, 2]
    np.testing.assert_allclose(off[palm], expected, rtol=1e-9)


def test_a_finger_curled_in_front_of_the_palm_hides_it_from_depth():
    hand = _straight_hand()
    scale = np.array([dp.PRIOR_MEAN_BONE_M])
    assert not dp.self_occluded(hand[None], scale).any()
    curled = hand.copy()
    mid = (hand[0] + hand[9]) / 2  # the middle of the palm
    curled[10] = hand[9] + (0.0, 0.0, -0.035)  # middle finger PIP: in front of its knuckle
    curled[11] = mid + np.array([0.0, 0.0, -0.03])  # DIP and tip curled down in front of the palm
    curled[12] = (mid + hand[0]) / 2 + (0.0, 0.0, -0.02)
    hidden = dp.self_occluded(curled[None], scale)[0]
    # what the curled finger covers: its own knuckle behind it; not the finger itself, nor the other fingers
    assert np.flatnonzero(hidden).tolist() == [MIDDLE_MCP]
    # observe: a depth image with a sample at every keypoint; the hidden knuckle gets no depth term
    K = np.array([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]])
    uv = (curled[:, :2] / curled[:, 2:]) @ K[:2, :2].T + K[:2, 2]
    depth = np.zeros((480, 640), dtype=np.float32)
    surface = curled[:, 2] - dp.surface_offset(curled[None], scale)[0]
    for (u, v), z in zip(np.rint(uv).astype(int), surface, strict=True):
        depth[v - 2 : v + 3, u - 2 : u + 3] = z
    obs = dp.observe(depth, uv[None], curled[None], scale, dp.DepthSettings())
    assert np.isnan(obs.z[0, MIDDLE_MCP]) and obs.valid[0]
    assert np.isfinite(obs.z[0, WRIST]) and np.isfinite(obs.z[0, INDEX_MCP])


def test_several_hands_are_the_hands_one_by_one_and_no_hand_is_no_observation():
    frames, _ = _frames(3, 17)
    depth, hands = frames[0][3], np.stack([f[4] for f in frames])  # one depth image for all: some off it
    uv = np.stack([f[0].uv for f in frames])
    scale = np.array([0.035, 0.04, 0.045])
    st = dp.DepthSettings()
    together = dp.observe(depth, uv, hands, scale, st)
    for i in range(3):
        alone = dp.observe(depth, uv[i : i + 1], hands[i : i + 1], scale[i : i + 1], st)
        np.testing.assert_array_equal(together.z[i], alone.z[0])
        np.testing.assert_array_equal(together.palm_facing[i], alone.palm_facing[0])
    np.testing.assert_array_equal(dp.surface_offset(hands, scale)[1], dp.surface_offset(hands[1:2], scale[1:2])[0])
    none = dp.observe(depth, np.zeros((0, 21, 2)), np.zeros((0, 21, 3)), np.zeros(0), st)
    assert none.z.shape == (0, 21) and not none.valid.any()


@pytest.mark.slow
def test_calibration_takes_no_sample_from_a_palm_tilted_beyond_the_gate():
    frames, _ = _frames(30, 29)
    est = HandPoseEstimator(EstimatorConfig().replace({"online_scale.max_palm_tilt_deg": 1.0}))
    used, _ = _cs_mm(est, frames)
    assert used.mean() > 0.9  # depth is used for the pose...
    assert est.calibration_status().get("operator") is None  # ...but no palm faced the camera within 1 degree
    est = HandPoseEstimator(EstimatorConfig().replace({"online_scale.max_palm_tilt_deg": 90.0}))
    _cs_mm(est, frames)
    assert est.calibration_status()["operator"].frames >= 25


def test_without_depth_the_rgb_path_is_unchanged_and_bad_depth_is_refused():
    frames, _ = _frames(5, 3)
    a, b = HandPoseEstimator(), HandPoseEstimator(EstimatorConfig().replace({"depth.fusion": False}))
    for det, K, size, depth, _ in frames:
        plain = a.estimate_from_detections([det], K, image_size=size)[0]
        off = b.estimate_from_detections([det], K, image_size=size, depth=depth)[0]
        np.testing.assert_array_equal(plain.joints_cam, off.joints_cam)
        assert not plain.depth_used and not off.depth_used
    det, K, size, depth, _ = frames[0]
    with pytest.raises(ValueError, match="not the colour image's size"):
        a.estimate_from_detections([det], K, image_size=size, depth=depth[:-2])
    with pytest.raises(ValueError, match="float array"):
        a.estimate_from_detections([det], K, image_size=size, depth=(depth * 1000).astype(np.uint16))


@pytest.mark.slow
def test_depth_pins_the_hand_far_better_than_rgb_alone():
    frames, _ = _frames(40, 5)
    est = HandPoseEstimator(EstimatorConfig().replace({"online_scale.enabled": False}))
    with_depth, used = _cs_mm(est, frames)
    rgb, _ = _cs_mm(HandPoseEstimator(), frames, use_depth=False)
    assert used.mean() > 0.9
    assert np.mean(with_depth) < 0.6 * np.mean(rgb), (np.mean(with_depth), np.mean(rgb))


@pytest.mark.slow
def test_an_object_in_front_of_part_of_the_hand_does_not_pull_the_estimate():
    clear, operator = _frames(40, 9)
    occluded, _ = _frames(40, 9, occlude=True, operator=operator)
    for a, b in zip(clear, occluded, strict=True):
        np.testing.assert_array_equal(a[4], b[4])  # the same hands
    nearer = [(d1 > 0) & (d1 < d0 - 0.05) for (_, _, _, d0, _), (_, _, _, d1, _) in zip(clear, occluded, strict=True)]
    assert all(m.any() for m in nearer)  # the object is really there, nearer than the hand
    cfg = EstimatorConfig().replace({"online_scale.enabled": False})
    z_clear, _ = _cs_mm(HandPoseEstimator(cfg), clear, wrist_z=True)
    z_occl, used = _cs_mm(HandPoseEstimator(cfg), occluded, wrist_z=True)
    assert used.mean() > 0.6
    # pulled towards the object (8-20 cm nearer) would put the wrist 50-200 mm nearer. The typical frame is
    # not pulled at all; an object that covers most of the palm's keypoints can still win the vote (README).
    assert abs(np.median(z_occl - z_clear)) < 1.0, np.median(z_occl - z_clear)
    assert np.mean(z_occl - z_clear < -30.0) <= 0.15, np.sort(z_occl - z_clear)[:8]


def test_calibration_filter_rejects_outliers_and_converges():
    rng = np.random.default_rng(0)
    cal = ScaleCalibration(OnlineScaleSettings(min_frames=30, rel_se=0.006))
    assert cal.status.state == "idle"
    samples = 0.042 * np.exp(rng.normal(0, 0.05, 400))
    samples[::10] = 0.02  # a tenth are gross outliers (an occluded frame, a wrong hand)
    for s in samples:
        st = cal.add(float(s))
        if st.state == "converged":
            break
    assert st.state == "converged" and abs(st.scale / 0.042 - 1) < 0.01 and st.converged_after == st.frames
    assert cal.add(float("nan")) == st


@pytest.mark.slow
def test_online_calibration_converges_writes_a_depth_profile_and_rgb_starts_from_it(tmp_path):
    frames, operator = _frames(260, 21)
    true_scale = float(np.mean(operator[1]))
    out = tmp_path / "op.yaml"
    est = HandPoseEstimator(
        EstimatorConfig().replace({"online_scale.profile_out": str(out), "online_scale.operator_name": "bob"})
    )
    _cs_mm(est, frames)
    st = est.calibration_status()["operator"]
    assert st.state == "converged", st
    # the bound: within 2 % of the true mean bone length
    assert abs(st.scale / true_scale - 1) < 0.02, (st.scale, true_scale)
    profile = load_profile(out)
    assert profile.method == "depth" and profile.name == "bob" and set(profile.hands) == {"left", "right"}
    assert profile.mean_bone("right") == pytest.approx(st.scale, rel=1e-4)
    assert est.operator_profile is not None and est.operator_profile.method == "depth"
    rgb = HandPoseEstimator(EstimatorConfig().replace({"scale.operator_profile": str(out)}))
    det, K, size, _, _ = frames[0]
    assert rgb.estimate_from_detections([det], K, image_size=size)[0].scale == pytest.approx(st.scale, rel=1e-4)
