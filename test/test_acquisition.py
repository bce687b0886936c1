"""The acquisition fallback (crops, contrast, merging, budget, video rules) and lens distortion of keypoints."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from scalehp_ros.evaluation import counting, synthetic
from scalehp_ros.perception.acquisition import (
    Acquisition,
    AcquisitionSettings,
    beside_windows,
    box_iou,
    contrast_normalised,
    crop_windows,
    keypoint_box,
    keypoint_distance,
    palms_masked,
)
from scalehp_ros.perception.camera import (
    distort_normalized,
    normalize_pixels,
    pixels_to_normalized,
    validate_distortion,
)
from scalehp_ros.perception.estimator import HandPoseEstimator
from scalehp_ros.perception.frontend import Detection
from scalehp_ros.perception.settings import EstimatorConfig

DATA = Path(__file__).resolve().parent / "data"
_HAND = synthetic.generate(1, synthetic.NOISE_FREE, seed=1)


def _det(box: tuple[float, float, float, float], side: str = "right", score: float = 0.9) -> Detection:
    """A detection whose keypoints span `box` (pixels)."""
    uv = _HAND.uv[0] - _HAND.uv[0].min(axis=0)
    uv = uv / uv.max(axis=0) * (box[2] - box[0], box[3] - box[1]) + box[:2]
    return Detection(uv, _HAND.rel_detected[0], side, score)


class FakeDetector:
    """Finds the hands whose boxes (full-image pixels) lie wholly inside the image it is given, located by
    the crop offset the test tells it; counts its calls."""

    def __init__(self, boxes: list[tuple[float, float, float, float]], full: tuple[int, int]):
        self.boxes, self.full, self.calls, self.sizes = boxes, full, 0, []

    def __call__(self, image: np.ndarray) -> list[Detection]:
        self.calls += 1
        h, w = image.shape[:2]
        self.sizes.append((w, h))
        if (w, h) == self.full:  # the full image (the contrast pass): the "detector" misses everything
            return []
        r, g, b = (int(c) for c in image[0, 0])  # the crop origin, encoded in the pixels
        x0, y0 = 4 * r + b % 4, 4 * g + b // 4
        out = []
        for b in self.boxes:
            if b[0] >= x0 and b[1] >= y0 and b[2] <= x0 + w and b[3] <= y0 + h:
                out.append(_det((b[0] - x0, b[1] - y0, b[2] - x0, b[3] - y0)))
        return out


def _coded_image(w: int, h: int) -> np.ndarray:
    """An image whose every pixel holds its own (x, y): a crop's first pixel tells where it was cut."""
    ys, xs = np.mgrid[0:h, 0:w]
    return np.stack((xs // 4, ys // 4, xs % 4 + 4 * (ys % 4)), axis=-1).astype(np.uint8)


def test_crop_windows_cover_the_image_with_overlap():
    for w, h, scale, overlap in ((640, 480, 0.6, 0.3), (1280, 720, 0.35, 0.5), (200, 200, 0.6, 0.0)):
        wins = crop_windows(w, h, scale, overlap)
        cover = np.zeros((h, w), bool)
        for x, y, side in wins:
            assert 0 <= x and x + side <= w and 0 <= y and y + side <= h
            cover[y : y + side, x : x + side] = True
        assert cover.all()
        xs = sorted({x for x, _, _ in wins})
        side = wins[0][2]
        assert all(b - a <= side * (1 - overlap) + 1 for a, b in itertools.pairwise(xs))


def test_fallback_finds_maps_back_merges_and_respects_the_budget():
    w, h = 1000, 600
    image = _coded_image(w, h)
    hands = [(100.0, 80.0, 220.0, 230.0), (400.0, 100.0, 520.0, 250.0)]
    detector = FakeDetector(hands, (w, h))
    acq = Acquisition(detector, AcquisitionSettings(max_calls=64))
    found = acq.detect(image, [], max_hands=2)
    assert len(found) == 2  # each hand in several overlapping crops: merged to one each
    boxes = sorted(keypoint_box(d.uv).tolist() for d in found)
    for got, want in zip(boxes, sorted(hands), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)  # mapped back to full-image pixels
    r = acq.last_report
    assert r.found_by_detector == 0 and r.found_by_fallback == 2
    assert r.detector_calls == 1 + r.fallback_calls == 1 + detector.calls
    assert r.passes[:2] == ["full", "contrast"]
    # stops as soon as max_hands are found: fewer calls than all crops
    assert detector.calls == 3  # the contrast pass, the first crop (hand 1), the second (hand 2)
    # the budget bounds the cost
    detector.calls = 0
    acq.settings = AcquisitionSettings(max_calls=2)
    acq.detect(image, [], max_hands=2)
    assert detector.calls == 2 and acq.last_report.fallback_calls == 2
    # nothing missing, or the fallback off: no extra call
    detector.calls = 0
    assert len(acq.detect(image, [_det(hands[0]), _det(hands[1])], max_hands=2)) == 2
    acq.settings = AcquisitionSettings(fallback=False)
    acq.detect(image, [], max_hands=2)
    assert detector.calls == 0 and acq.last_report.detector_calls == 1


def test_duplicates_merge_by_iou_and_handedness():
    acq = Acquisition(lambda image: [], AcquisitionSettings())
    a = (100.0, 100.0, 200.0, 220.0)
    shifted = (110.0, 105.0, 210.0, 225.0)
    assert box_iou(np.array(a), np.array(shifted)) > 0.6
    calls = iter(
        [[_det(shifted, "right", 0.99)], [_det(shifted, "left")], [_det((150.0, 100.0, 250.0, 220.0), "left")]]
    )
    acq = Acquisition(lambda image: next(calls, []), AcquisitionSettings(crop_scales=(0.0, 0.0, 0.0)))
    # the contrast pass finds the same hand again (same side, higher score): the plain detector's one is kept
    out = acq.detect(np.zeros((480, 640, 3), np.uint8), [_det(a)], max_hands=2)
    assert len(out) == 1 and out[0].score == 0.9
    # same place, other label: still one hand (labels flip on crops)
    out = acq.detect(np.zeros((480, 640, 3), np.uint8), [_det(a)], max_hands=2)
    assert len(out) == 1
    # half overlapping, other side: two hands (IoU below CROSS_SIDE_IOU)
    out = acq.detect(np.zeros((480, 640, 3), np.uint8), [_det(a)], max_hands=2)
    assert len(out) == 2


def test_side_aware_merge_keeps_overlapping_left_and_right_hands_with_different_keypoints():
    a = (100.0, 100.0, 200.0, 220.0)
    right = _det(a, "right")
    # another hand in nearly the same box: the keypoints mirrored left-right (a left hand laid over it)
    other = Detection(right.uv * (-1.0, 1.0) + (300.0, 0.0), right.rel3d, "left", 0.9)
    flipped = Detection(right.uv + 3.0, right.rel3d, "left", 0.8)  # the same hand, its label flipped by a crop
    assert box_iou(keypoint_box(right.uv), keypoint_box(other.uv)) > 0.9
    assert keypoint_distance(right.uv, flipped.uv) < 0.05 < 0.3 < keypoint_distance(right.uv, other.uv)
    no_passes = {"crop_scales": (0.0, 0.0, 0.0)}
    image = np.zeros((480, 640, 3), np.uint8)

    def found(second: Detection, side_aware: bool) -> list[Detection]:
        settings = AcquisitionSettings(side_aware_merge=side_aware, **no_passes)
        return Acquisition(lambda img: [second], settings).detect(image, [right], max_hands=2)

    assert len(found(other, side_aware=False)) == 1  # the IoU rule alone: one hand
    assert len(found(other, side_aware=True)) == 2  # keypoints differ: both kept
    assert len(found(flipped, side_aware=True)) == 1  # keypoints coincide: one hand, the plain detector's
    assert found(flipped, side_aware=True)[0] is right
    same_side = Detection(other.uv, other.rel3d, "right", 0.9)  # same side, overlapping: one hand
    assert len(found(same_side, side_aware=True)) == 1


def test_beside_pass_masks_the_found_palm_and_searches_beside_it_last():
    w, h = 640, 480
    image = np.full((h, w, 3), 200, np.uint8)
    image[150:350, 100:300] = (180, 120, 100)  # hand A (found), its palm somewhere in here
    a = _det((100.0, 150.0, 300.0, 350.0))
    b = _det((280.0, 140.0, 480.0, 340.0), "left")  # a second hand touching A
    palm = a.uv[[0, 1, 5, 9, 13, 17]].mean(axis=0).round().astype(int)
    masked = palms_masked(image, [a.uv])
    fill = masked[palm[1], palm[0]]
    assert not np.array_equal(fill, image[palm[1], palm[0]])  # the palm is filled with the median colour
    assert np.array_equal(masked[5, 5], image[5, 5]) and np.array_equal(masked[h - 5, w - 5], image[h - 5, w - 5])
    for x0, y0, side in beside_windows(a.uv, w, h):  # 2.2 x 200 px: the left one shifted into the image
        assert 0 <= x0 and x0 + side <= w and 0 <= y0 and y0 + side <= h
    small = _det((270.0, 190.0, 370.0, 290.0)).uv  # 100 px, centre (320, 240): one hand size left and right
    assert beside_windows(small, w, h) == [(110, 130, 220), (310, 130, 220)]

    calls: list[tuple[int, int]] = []

    def detector(img: np.ndarray) -> list[Detection]:
        """The palm detector of an NMS-suppressed pair: sees B only once A's palm is masked out."""
        calls.append(img.shape[:2])
        full = img.shape[:2] == (h, w)
        return [b] if full and np.array_equal(img[palm[1], palm[0]], fill) else ([a] if full else [])

    off = {"crop_scales": (0.0, 0.0, 0.0), "contrast": False}
    acq = Acquisition(detector, AcquisitionSettings(**off))
    assert len(acq.detect(image, [a], max_hands=2)) == 1 and calls == []
    acq.settings = AcquisitionSettings(beside=True, **off)
    out = acq.detect(image, [a], max_hands=2)
    assert len(out) == 2 and acq.last_report.passes == ["full", "masked"] and len(calls) == 1
    # the other passes first: with a budget of one call the contrast pass takes it, the beside pass waits
    calls.clear()
    acq.settings = AcquisitionSettings(beside=True, contrast=True, max_calls=1)
    assert len(acq.detect(image, [a], max_hands=2)) == 1 and acq.last_report.passes == ["full", "contrast"]
    # nothing found at all: nothing to search beside
    calls.clear()
    acq.settings = AcquisitionSettings(beside=True, **off)
    assert acq.detect(image, [], max_hands=2) == [] and calls == []
    # streams: the fallback (beside pass included) never runs while the VIDEO landmarker sees a hand
    assert len(acq.detect_video(image, [a], max_hands=2, stamp=0.0)) == 1 and calls == []


def test_video_fallback_only_while_nothing_is_seen_and_seeds_follow_the_hand():
    w, h = 1000, 600
    image = _coded_image(w, h)
    hand = (300.0, 200.0, 420.0, 350.0)
    detector = FakeDetector([hand], (w, h))
    acq = Acquisition(detector, AcquisitionSettings(video_period_s=1.0))
    # MediaPipe's video tracking sees a hand: never a fallback call, even below max_hands
    assert len(acq.detect_video(image, [_det(hand)], 2, 0.0)) == 1 and detector.calls == 0
    # it sees nothing: the full search finds the hand and keeps it as a seed
    assert len(acq.detect_video(image, [], 2, 0.1)) == 1
    assert acq.last_report.found_by_fallback == 1 and detector.calls > 1
    # next frame: one call on a crop around the seed; the full search waits for its period
    detector.calls = 0
    out = acq.detect_video(image, [], 2, 0.2)
    assert len(out) == 1 and detector.calls == 1 and acq.last_report.passes == ["full", "seed"]
    np.testing.assert_allclose(keypoint_box(out[0].uv), hand, atol=1e-6)
    # the hand gone: the seed's call finds nothing, no full search before the period, then one
    detector.boxes = []
    detector.calls = 0
    assert acq.detect_video(image, [], 2, 0.3) == [] and detector.calls == 1
    detector.calls = 0
    assert acq.detect_video(image, [], 2, 0.5) == [] and detector.calls == 0
    assert acq.detect_video(image, [], 2, 1.2) == [] and detector.calls > 0


def test_contrast_normalisation_restores_range_and_tints_monochrome():
    rng = np.random.default_rng(0)
    img = rng.integers(100, 140, (60, 80, 3)).astype(np.uint8)
    out = contrast_normalised(img)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.ptp(out) > 2 * np.ptp(img)
    grey = np.repeat(img[:, :, :1], 3, axis=2)
    tinted = contrast_normalised(grey).astype(int)
    assert np.mean(tinted[:, :, 0] - tinted[:, :, 2]) > 5  # redder than blue: skin-like


def test_estimator_finds_the_hand_of_a_grey_photo_plain_mediapipe_misses():
    """Real MediaPipe: the grey (desaturated, low-contrast) version of a hand photo."""
    sample = counting.load_count_set(DATA / "hands")[0]
    image = counting.degraded_sets([sample])["grey"][0].image
    h, w = image.shape[:2]
    K = np.array([[float(w), 0, w / 2], [0, float(w), h / 2], [0, 0, 1.0]])
    off = HandPoseEstimator(EstimatorConfig().replace({"acquisition.fallback": False}))
    on = HandPoseEstimator()
    try:
        assert off.estimate(image, K) == [] and off.last_acquisition.detector_calls == 1
        poses = on.estimate(image, K)
        assert len(poses) == 1
        assert counting.match([_as_det(p) for p in poses], sample.boxes)[0] == 1
        report = on.last_acquisition
        assert report.found_by_fallback == 1 and 1 < report.detector_calls <= 1 + on.config.acquisition.max_calls
    finally:
        off.close()
        on.close()


def _as_det(pose) -> Detection:
    return Detection(pose.joints_2d, np.zeros((21, 3)), pose.handedness, pose.handedness_score)


# -- lens distortion ---------------------------------------------------------------------------------------

DISTORTIONS = {
    "plumb_bob": ("plumb_bob", [-0.38, 0.16, 0.002, -0.003, -0.03]),
    "rational_polynomial": ("rational_polynomial", [0.9, -0.3, 0.001, 0.002, 0.05, 1.3, -0.1, 0.2]),
    "equidistant": ("equidistant", [0.08, -0.02, 0.01, -0.003]),
}


@pytest.mark.parametrize("name", sorted(DISTORTIONS))
def test_distorted_keypoints_give_the_joints_of_an_undistorted_camera(name):
    """A synthetic hand seen by a strongly distorted camera: feeding its distorted pixels with D recovers the
    joints the same pixels-free pipeline gives on an ideal pinhole camera."""
    batch = synthetic.generate(4, synthetic.NOISE_FREE, seed=7)
    dist = validate_distortion(DISTORTIONS[name])
    est = HandPoseEstimator()
    # the hands towards the four corners of a wide view (where a lens distorts most)
    corners = np.array([[0.5, 0.35], [-0.5, 0.35], [0.5, -0.35], [-0.5, -0.35]])
    for i in range(len(batch.K)):
        K = batch.K[i]
        joints = batch.joints_cam[i].copy()
        joints[:, :2] += (corners[i] - joints[0, :2] / joints[0, 2]) * joints[0, 2]
        xy = joints[:, :2] / joints[:, 2:]
        uv = np.stack((K[0, 0] * xy[:, 0] + K[0, 1] * xy[:, 1] + K[0, 2], K[1, 1] * xy[:, 1] + K[1, 2]), axis=-1)
        xd = distort_normalized(xy, dist)
        uv_dist = np.stack((K[0, 0] * xd[:, 0] + K[0, 1] * xd[:, 1] + K[0, 2], K[1, 1] * xd[:, 1] + K[1, 2]), axis=-1)
        moved = np.abs(uv_dist - uv).max()
        assert moved > 10.0, f"the lens moves the keypoints (by {moved:.1f} px)"
        np.testing.assert_allclose(normalize_pixels(uv_dist, K, dist), xy, atol=1e-9)
        ideal = Detection(uv, batch.rel_detected[i], "right", 1.0)
        seen = Detection(uv_dist, batch.rel_detected[i], "right", 1.0)
        want = est.estimate_from_detections([ideal], K)[0].joints_cam
        got = est.estimate_from_detections([seen], K, distortion=DISTORTIONS[name])[0].joints_cam
        np.testing.assert_allclose(got, want, atol=1e-6)
        ignored = est.estimate_from_detections([seen], K)[0].joints_cam
        assert np.abs(ignored - want).max() > 1e-3  # without D the answer is wrong: the test means something


def test_distortion_validation():
    assert validate_distortion(None) is None
    assert validate_distortion(("plumb_bob", [0.0] * 5)) is None  # image_rect: D = 0
    assert validate_distortion(("plumb_bob", [])) is None
    kind, D = validate_distortion(("fisheye", [0.1, 0, 0, 0]))
    assert kind == "fisheye" and D.shape == (4,)
    uv = np.array([[10.0, 20.0], [300.0, 200.0]])
    K = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
    np.testing.assert_array_equal(normalize_pixels(uv, K, None), pixels_to_normalized(uv, K))
    for bad, match in (
        (("kannala", [0.1] * 4), "model"),
        (("plumb_bob", [0.1] * 3), "coefficients"),
        (("equidistant", [0.1] * 5), "coefficients"),
        (("plumb_bob", [np.nan] * 5), "finite"),
        ("plumb_bob", "pair"),
    ):
        with pytest.raises(ValueError, match=match):
            validate_distortion(bad)
    est = HandPoseEstimator()
    with pytest.raises(ValueError, match="model"):
        est.estimate(np.zeros((8, 8, 3), np.uint8), K, distortion=("nope", [0.1] * 5))


@pytest.mark.slow
def test_degradations_are_deterministic_and_carry_the_boxes():
    samples = counting.load_count_set(DATA / "hands")
    a, b = counting.degraded_sets(samples, 3), counting.degraded_sets(samples, 3)
    assert set(a) == set(counting.DEGRADATIONS)
    for name in a:
        for x, y in zip(a[name], b[name], strict=True):
            np.testing.assert_array_equal(x.image, y.image)
            np.testing.assert_array_equal(x.boxes, y.boxes)
    assert sum(len(s.boxes) for s in a["pair"]) == 6
    for s in a["small"]:
        h, w = s.image.shape[:2]
        assert (w, h) == (1280, 960) and np.all(s.boxes[:, 2:] <= (w, h)) and np.all(s.boxes[:, :2] >= 0)
        x0, y0, x1, y1 = s.boxes[0].astype(int)
        assert cv2.absdiff(s.image[y0:y1, x0:x1], s.image[0:10, 0:10].mean(axis=(0, 1)).astype(np.uint8)).mean() > 10


def test_overlap_set_is_deterministic_and_its_hands_overlap_as_stated():
    samples = counting.load_count_set(DATA / "hands")
    a, b = counting.degraded_sets(samples, 5)["overlap"], counting.degraded_sets(samples, 5)["overlap"]
    assert len(a) == 3 * len(counting.OVERLAP_FRACTIONS) and sum(len(s.boxes) for s in a) == 24
    for x, y in zip(a, b, strict=True):
        assert x.name == y.name
        np.testing.assert_array_equal(x.image, y.image)
        np.testing.assert_array_equal(x.boxes, y.boxes)
    other = counting.degraded_sets(samples, 6)["overlap"]
    assert any(not np.array_equal(x.image, y.image) for x, y in zip(a, other, strict=True))  # the seed places
    for s, fraction in zip(a, counting.OVERLAP_FRACTIONS * 3, strict=True):
        h, w = s.image.shape[:2]
        assert (w, h) == (1280, 720) and np.all(s.boxes[:, :2] >= 0) and np.all(s.boxes[:, 2:] <= (w, h))
        under, top = s.boxes
        narrower = min(under[2] - under[0], top[2] - top[0])
        assert abs((under[2] - top[0]) / narrower - fraction) < 0.01  # the boxes overlap by that fraction
    # the top hand is cut out of its photo (not pasted with its background): the hand's centre in, corners out
    for top in samples[0::2]:
        alpha = counting.hand_cutout(top)
        x0, y0, x1, y1 = top.boxes[0].astype(int)
        assert alpha[(y0 + y1) // 2, (x0 + x1) // 2] > 0.99 and 0.2 < alpha.mean() < 0.8
