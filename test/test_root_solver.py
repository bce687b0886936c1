"""Root solve and refinements on synthetic hands with known ground truth (no MediaPipe)."""

from __future__ import annotations

import numpy as np
import pytest

from scalehp_ros.common.joints import bone_lengths
from scalehp_ros.evaluation import synthetic
from scalehp_ros.perception import root_solver as rs
from scalehp_ros.perception.camera import pixels_to_normalized, project, rotation_to_ray, validate_intrinsics


@pytest.fixture(scope="module")
def clean() -> synthetic.SyntheticBatch:
    return synthetic.generate(200, synthetic.NOISE_FREE, seed=11)


def _rel_true(batch: synthetic.SyntheticBatch) -> np.ndarray:
    return batch.joints_cam - batch.joints_cam[:, :1]


def _solve(rel: np.ndarray, uv: np.ndarray, K: np.ndarray, method: str, **kwargs) -> rs.RootSolution:
    """rs.solve as the estimator calls it: keypoints normalised once, K's linear part for pixel errors, one
    RootSolveSettings (uniform joint weights unless given)."""
    bone_lengths = kwargs.pop("bone_lengths", None)
    settings = rs.RootSolveSettings(solver=method, **{"joint_weighting": "uniform", **kwargs})
    return rs.solve(rel, pixels_to_normalized(uv, K), K[..., :2, :2], settings, bone_lengths=bone_lengths)


def test_choices_come_from_the_code():
    specs = {s.name: s for s in rs.RootSolveSettings.parameters()}
    assert specs["solver"].choices == rs.SOLVERS == tuple(rs.SOLVE_METHODS)
    assert specs["joint_weighting"].choices == tuple(rs.JOINT_WEIGHTINGS)


@pytest.mark.parametrize("method", rs.SOLVERS)
def test_exact_on_noise_free_data(clean, method):
    rel = _rel_true(clean)
    sol = _solve(rel, clean.uv, clean.K, method)
    assert np.abs(sol.joints - clean.joints_cam).max() < 1e-6
    assert np.abs(sol.translation - clean.joints_cam[:, 0]).max() < 1e-6
    assert sol.reprojection_error.max() < 1e-6


def test_closed_form_matches_lstsq_and_batching(clean):
    rel, uv, K = _rel_true(clean)[:5], clean.uv[:5], clean.K[:5]
    rng = np.random.default_rng(0)
    uv = uv + rng.normal(0, 2.0, uv.shape)
    w = rng.uniform(0.2, 1.0, (5, 21))
    t_batch = rs.solve_translation(rel, pixels_to_normalized(uv, K), w)
    for i in range(5):
        xy = pixels_to_normalized(uv[i], K[i])
        A = np.zeros((42, 3))
        b = np.zeros(42)
        A[0::2, 0], A[0::2, 2] = 1.0, -xy[:, 0]
        A[1::2, 1], A[1::2, 2] = 1.0, -xy[:, 1]
        b[0::2] = xy[:, 0] * rel[i, :, 2] - rel[i, :, 0]
        b[1::2] = xy[:, 1] * rel[i, :, 2] - rel[i, :, 1]
        sw = np.sqrt(np.repeat(w[i], 2))
        t_ref = np.linalg.lstsq(A * sw[:, None], b * sw, rcond=None)[0]
        np.testing.assert_allclose(t_batch[i], t_ref, atol=1e-12)
        np.testing.assert_allclose(rs.solve_translation(rel[i], xy, w[i]), t_ref, atol=1e-12)


def test_degrades_gracefully_with_2d_noise(clean):
    rel = _rel_true(clean)
    rng = np.random.default_rng(1)
    diag = np.linalg.norm(clean.uv.max(1) - clean.uv.min(1), axis=-1)[:, None, None]
    errors = []
    for frac in (0.0025, 0.01, 0.04):  # 2D noise as a fraction of the hand's size in the image
        uv = clean.uv + rng.normal(0.0, 1.0, clean.uv.shape) * frac * diag
        sol = _solve(rel, uv, clean.K, "linear")
        errors.append(np.median(np.linalg.norm(sol.joints - clean.joints_cam, axis=-1)))
    assert errors[0] < errors[1] < errors[2]
    # 4x the noise gives about 4x the error (no blow-up); quarter-percent noise stays at millimetres
    assert 2.0 < errors[1] / errors[0] < 6.0 and 2.0 < errors[2] / errors[1] < 6.0
    assert errors[0] < 0.005


def test_robust_and_refine_resist_outlier_keypoints(clean):
    rel = _rel_true(clean)
    rng = np.random.default_rng(2)
    uv = clean.uv.copy()
    diag = np.linalg.norm(uv.max(1) - uv.min(1), axis=-1)
    for i in range(len(uv)):
        bad = rng.choice(21, 3, replace=False)
        uv[i, bad] += 0.4 * diag[i] * rng.choice([-1.0, 1.0], (3, 2))
    err = {
        m: np.linalg.norm(_solve(rel, uv, clean.K, m).joints - clean.joints_cam, axis=-1).mean()
        for m in ("linear", "robust")
    }
    assert err["robust"] < 0.7 * err["linear"]


def test_refine_keeps_bone_lengths_and_fits_2d(clean):
    rng = np.random.default_rng(3)
    rel = _rel_true(clean)
    noisy_rel = rel.copy()
    noisy_rel[..., 2] *= 0.5  # a detector that flattens depth
    uv = clean.uv + rng.normal(0.0, 1.0, clean.uv.shape)
    true_bones = bone_lengths(clean.joints_cam)
    linear = _solve(noisy_rel, uv, clean.K, "linear")
    refined = _solve(noisy_rel, uv, clean.K, "refine", bone_lengths=true_bones)
    kinematic = _solve(noisy_rel, uv, clean.K, "kinematic", bone_lengths=true_bones)
    assert np.abs(bone_lengths(refined.joints) - true_bones).mean() < 1e-3
    np.testing.assert_allclose(bone_lengths(kinematic.joints), true_bones, atol=1e-9)
    assert refined.reprojection_error.mean() < linear.reprojection_error.mean()
    err = {
        name: np.linalg.norm(s.joints - clean.joints_cam, axis=-1).mean()
        for name, s in (("linear", linear), ("refine", refined))
    }
    assert err["refine"] < err["linear"]


def test_pixel_errors_match_the_pixel_projection(clean):
    """Errors computed from normalised coordinates and K's linear part are the pixel errors, skew included."""
    rng = np.random.default_rng(4)
    joints = clean.joints_cam[:10]
    K = clean.K[:10].copy()
    K[:, 0, 1] = rng.uniform(-5.0, 5.0, 10)
    uv = project(joints, K) + rng.normal(0.0, 3.0, (10, 21, 2))
    expected = np.linalg.norm(project(joints, K) - uv, axis=-1).mean(-1)
    got = rs.reprojection_error(joints, pixels_to_normalized(uv, K), K[:, :2, :2])
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_bad_input_raises_value_error(clean):
    rel, uv, K = _rel_true(clean)[0], clean.uv[0], clean.K[0]
    xy, focal = pixels_to_normalized(uv, K), K[:2, :2]
    with pytest.raises(ValueError, match="non-finite"):
        rs.solve(np.where(np.arange(21)[:, None] == 3, np.nan, rel), xy, focal)
    with pytest.raises(ValueError, match="non-finite"):
        rs.solve(rel, np.where(np.arange(21)[:, None] == 3, np.nan, xy), focal)
    with pytest.raises(ValueError, match="shape"):
        rs.solve(rel[:20], xy, focal)
    with pytest.raises(ValueError, match="focal"):
        rs.solve(rel, xy, K)
    with pytest.raises(ValueError, match="solver"):
        rs.RootSolveSettings(solver="magic")
    with pytest.raises(ValueError, match="RootSolveSettings"):
        rs.solve(rel, xy, focal, {"solver": "linear"})
    with pytest.raises(ValueError, match="degenerate"):
        rs.solve(rel, np.tile(xy[:1], (21, 1)), focal)
    with pytest.raises(ValueError, match="weights"):
        rs.solve_translation(rel, xy, weights=-np.ones(21))


@pytest.mark.parametrize(
    "K",
    [
        np.diag([0.0, 500.0, 1.0]),
        np.diag([-500.0, 500.0, 1.0]),
        np.diag([np.nan, 500.0, 1.0]),
        np.eye(2),
        [[500.0, 0, 320], [0, 500.0, 240], [0, 0, 2.0]],
    ],
)
def test_bad_intrinsics(K):
    with pytest.raises(ValueError, match="K"):
        validate_intrinsics(K)


def test_rotation_to_ray_and_project_roundtrip():
    rays = np.array([[0.0, 0.0, 1.0], [0.3, -0.2, 1.0], [-1.0, 0.5, 0.7]])
    R = rotation_to_ray(rays)
    np.testing.assert_allclose(R[:, :, 2], rays / np.linalg.norm(rays, axis=1, keepdims=True), atol=1e-12)
    np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), R.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-12)
    K = np.array([[600.0, 0.5, 320.0], [0.0, 610.0, 240.0], [0.0, 0.0, 1.0]])
    pts = np.array([[0.1, -0.05, 0.5], [-0.2, 0.1, 1.0]])
    xy = pixels_to_normalized(project(pts, K), K)
    np.testing.assert_allclose(xy, pts[:, :2] / pts[:, 2:], atol=1e-12)
