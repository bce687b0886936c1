"""The full pipeline with real MediaPipe on real photos, the RHD renders and frames of the demo clip."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from scalehp_ros.evaluation.datasets import load_rhd
from scalehp_ros.perception.anthropometry import MEAN_BONE_PER_HAND_LENGTH, PRIOR_MEAN_BONE_M
from scalehp_ros.perception.estimator import HandPose, HandPoseEstimator
from scalehp_ros.perception.frontend import Detection
from scalehp_ros.perception.scale import ScaleSettings
from scalehp_ros.perception.settings import EstimatorConfig

DATA = Path(__file__).resolve().parent / "data"
CLIP = Path(__file__).resolve().parent.parent / "data" / "human_hand_video.mp4"
PHOTOS = sorted((DATA / "hands").glob("*.jpg"))


def _rgb(path: Path) -> np.ndarray:
    return np.ascontiguousarray(cv2.imread(str(path))[:, :, ::-1])


def _K(width: int, height: int) -> np.ndarray:
    f = float(max(width, height))
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


@pytest.fixture(scope="module")
def estimator():
    est = HandPoseEstimator()
    yield est
    est.close()


@pytest.fixture(scope="module")
def clip_frames() -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(CLIP))
    frames = []
    for i in range(120):
        ok, bgr = cap.read()
        assert ok, f"cannot read frame {i} of {CLIP}"
        if i % 6 == 0:
            frames.append(np.ascontiguousarray(bgr[:, :, ::-1]))
    cap.release()
    return frames


def _check_pose(pose: HandPose, K: np.ndarray) -> None:
    assert pose.joints_cam.shape == (21, 3) and pose.joints_2d.shape == (21, 2)
    assert np.all(np.isfinite(pose.joints_cam))
    assert np.all(pose.joints_cam[:, 2] > 0.05)
    assert pose.handedness in ("left", "right") and 0.5 <= pose.handedness_score <= 1.0
    np.testing.assert_array_equal(pose.translation, pose.joints_cam[0])
    assert 0.0 <= pose.confidence <= 1.0
    assert pose.reprojection_error < 20.0


@pytest.mark.parametrize("photo", PHOTOS, ids=[p.name for p in PHOTOS])
def test_finds_a_hand_in_each_photo(estimator, photo):
    img = _rgb(photo)
    K = _K(img.shape[1], img.shape[0])
    poses = estimator.estimate(img, K)
    assert len(poses) >= 1
    for pose in poses:
        _check_pose(pose, K)
        assert pose.track_id == -1
        assert pose.scale == pytest.approx(PRIOR_MEAN_BONE_M)


@pytest.mark.slow
def test_handedness_on_rhd_and_mirrored(estimator):
    samples = load_rhd(DATA / "rhd")
    seen = [estimator.estimate(s.load_rgb(), s.K) for s in samples]
    assert [p[0].handedness for p in seen] == [s.hand_type for s in samples]
    estimator.update_config({"frontend.mirrored": True})
    try:
        swapped = [estimator.estimate(s.load_rgb(), s.K)[0].handedness for s in samples]
    finally:
        estimator.update_config({"frontend.mirrored": False})
    assert swapped == [{"left": "right", "right": "left"}[s.hand_type] for s in samples]


def test_video_stream_tracks_one_hand(estimator, clip_frames):
    h, w = clip_frames[0].shape[:2]
    K = _K(w, h)
    ids = set()
    for i, frame in enumerate(clip_frames):
        poses = estimator.estimate(frame, K, stamp=100.0 + i / 5.0)
        assert len(poses) == 1, f"frame {i}: {len(poses)} hands"
        _check_pose(poses[0], K)
        assert poses[0].handedness == "right"  # the clip shows a right hand
        ids.add(poses[0].track_id)
    assert len(ids) == 1 and min(ids) >= 0
    # the clip loops: time goes back, the stream restarts with a fresh track instead of failing
    poses = estimator.estimate(clip_frames[0], K, stamp=100.0)
    assert len(poses) == 1 and poses[0].track_id > max(ids)
    # a repeated stamp restarts too
    again = estimator.estimate(clip_frames[1], K, stamp=100.0)
    assert len(again) == 1 and again[0].track_id > poses[0].track_id


@pytest.mark.slow
def test_filtering_reduces_jitter_on_a_still_frame(estimator, clip_frames):
    frame = clip_frames[3]
    h, w = frame.shape[:2]
    K = _K(w, h)
    rng = np.random.default_rng(0)
    raw, filt = [], []
    estimator.reset()
    for i in range(20):
        noisy = np.clip(frame.astype(np.int16) + rng.integers(-6, 7, frame.shape), 0, 255).astype(np.uint8)
        raw.append(estimator.estimate(noisy, K)[0].joints_cam)
        filt.append(estimator.estimate(noisy, K, stamp=200.0 + i / 30.0)[0].joints_cam)

    def jitter(seq):
        a = np.array(seq)
        return np.linalg.norm(a[2:] - 2 * a[1:-1] + a[:-2], axis=-1).mean()

    assert jitter(filt[5:]) < jitter(raw[5:])


def test_no_hand_returns_empty(estimator):
    K = _K(640, 480)
    assert estimator.estimate(np.zeros((480, 640, 3), np.uint8), K) == []
    gradient = np.broadcast_to(np.linspace(0, 255, 640, dtype=np.uint8)[None, :, None], (480, 640, 3)).copy()
    assert estimator.estimate(gradient, K) == []
    assert estimator.estimate(np.zeros((480, 640, 3), np.uint8), K, stamp=1.0) == []


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (np.zeros((48, 64, 3), np.float32), "uint8"),
        (np.zeros((48, 64), np.uint8), "HxWx3"),
        (np.zeros((48, 64, 4), np.uint8), "3 channels"),
        (np.zeros((48, 64, 1), np.uint8), "3 channels"),
        (np.zeros((0, 0, 3), np.uint8), "empty"),
        ([[0, 0, 0]], "numpy array"),
    ],
)
def test_bad_images(estimator, image, match):
    with pytest.raises(ValueError, match=match):
        estimator.estimate(image, _K(64, 48))


@pytest.mark.parametrize("focal", [0.0, -500.0, float("nan")])
def test_bad_focal_length(estimator, focal):
    K = _K(64, 48)
    K[0, 0] = focal
    with pytest.raises(ValueError, match="focal"):
        estimator.estimate(np.zeros((48, 64, 3), np.uint8), K)


@pytest.mark.parametrize("stamp", [float("nan"), float("inf"), True, "0.1"])
def test_bad_stamp(estimator, stamp):
    with pytest.raises(ValueError, match="stamp"):
        estimator.estimate(np.zeros((48, 64, 3), np.uint8), _K(64, 48), stamp=stamp)


def test_non_finite_landmarks(estimator):
    uv = np.random.default_rng(0).uniform(100, 200, (21, 2))
    rel = np.random.default_rng(1).normal(0, 0.03, (21, 3))
    good = Detection(uv, rel, "right", 0.9)
    assert len(estimator.estimate_from_detections([good], _K(640, 480))) == 1
    uv_bad = uv.copy()
    uv_bad[4, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        estimator.estimate_from_detections([Detection(uv_bad, rel, "right", 0.9)], _K(640, 480))
    rel_bad = rel.copy()
    rel_bad[0, 2] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        estimator.estimate_from_detections([Detection(uv, rel_bad, "right", 0.9)], _K(640, 480))
    with pytest.raises(ValueError, match="21"):
        estimator.estimate_from_detections([Detection(uv[:20], rel, "right", 0.9)], _K(640, 480))
    assert estimator.estimate_from_detections([], _K(640, 480)) == []


def test_update_config_validates_and_applies(estimator):
    before = estimator.config
    with pytest.raises(ValueError, match="solver"):
        estimator.update_config({"root_solve.solver": "magic"})
    with pytest.raises(ValueError, match="unknown"):
        estimator.update_config(bogus=1)
    with pytest.raises(ValueError, match=r"scale\.mode='learned' is not implemented"):
        estimator.update_config({"scale.mode": "learned"})
    with pytest.raises(ValueError, match="hand_length_m"):
        estimator.update_config({"scale.mode": "fixed", "scale.hand_length_m": 2.0})
    assert estimator.config == before
    img = _rgb(DATA / "hands" / "handDst.jpg")
    K = _K(img.shape[1], img.shape[0])
    prior = estimator.estimate(img, K)[0]
    estimator.update_config({"scale.mode": "fixed", "scale.hand_length_m": 0.2})
    try:
        fixed = estimator.estimate(img, K)[0]
    finally:
        estimator.update_config({"scale.mode": "prior"})
    assert fixed.scale == pytest.approx(0.2 * MEAN_BONE_PER_HAND_LENGTH)
    # a bigger hand with the same image is farther away
    assert fixed.translation[2] > prior.translation[2]
    assert estimator.config.scale == ScaleSettings(mode="prior", hand_length_m=0.2)


def test_public_entry_point():
    import scalehp_ros.estimator as public

    assert public.HandPoseEstimator is HandPoseEstimator and public.HandPose is HandPose
    assert set(public.__all__) == {"HandPose", "HandPoseEstimator"}
    est = HandPoseEstimator(EstimatorConfig().replace({"root_solve.solver": "linear", "tracking.max_jump": 0.3}))
    assert est.config.root_solve.solver == "linear" and est.config.tracking.max_jump == 0.3
    with pytest.raises(ValueError, match="EstimatorConfig"):
        HandPoseEstimator({"solver": "linear"})


def test_close_then_reuse():
    est = HandPoseEstimator()
    img = _rgb(DATA / "hands" / "handSrc.jpg")
    K = _K(img.shape[1], img.shape[0])
    assert len(est.estimate(img, K)) >= 1
    est.close()
    assert len(est.estimate(img, K)) >= 1
    est.close()
