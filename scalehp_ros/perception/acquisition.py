"""Acquisition (pipeline stage 1b): find the hands the detector misses on the full image.

MediaPipe's palm detector sees the whole image at 192x192: a hand that is small in the frame, or on a grey,
dark or low-contrast background, is often missed although the landmark model would find it at once in a
crop of the same image. When the detector returns fewer hands than `max_hands`, `Acquisition.detect` runs
it again (IMAGE mode) on

1. a contrast-normalised copy of the full image (`contrast_normalised`: lightness and colour contrast
   stretched in Lab; a monochrome image tinted skin-like), `acquisition.contrast`;
2. overlapping square crops of the original at each scale of `acquisition.crop_scales` (the crop side as a
   fraction of the shorter image side, 0 = unused), spaced so neighbours overlap by at least
   `acquisition.crop_overlap` of the side, largest scale first, row by row;
3. with `acquisition.beside` (stills only; off by default), once some hand is found: the image with the
   found palms masked out (`palms_masked`: the palm detector can neither pick a found hand again nor be
   suppressed by it) and square crops beside each found hand (`beside_windows`), last, with what is left
   of the budget (placed first they spent the calls the crops needed: 21 vs 22 of 24 hands on `overlap`);

Measured on the six hand photos and their degradations (`scalehp-eval hands`), before choosing the defaults:
CLAHE on L found fewer hands than the global stretch (3 vs 5 of 6 on the grey set), crops of the
normalised copy fewer than crops of the original (3 vs 5 of 6 on small_grey) with more false positives, a
second, smaller crop scale (0.35) no more hands for three times the calls. For close, interacting hands
(issue 24 item 5; docs/accuracy_recall.md) neither `acquisition.beside` nor `acquisition.side_aware_merge`
found more hands on `pair` (6/6) or `overlap` (22/24) than without them: both stay off until the
real-photo measurement says otherwise.

The fallback maps each crop's keypoints back to the full image, and merges duplicates: two detections are
the same hand when their keypoint boxes overlap by IoU >= `acquisition.merge_iou` with the same
handedness, or by IoU >= `CROSS_SIDE_IOU` whatever the label (a crop can flip a label, two different hands
hardly overlap that much) or, with `acquisition.side_aware_merge` (off by default), a left and a right
only when their keypoints coincide (`keypoint_distance` <= `SAME_HAND_KEYPOINTS`), however much their boxes
overlap. Of a duplicate pair the one kept is, in order: not cut by an inner crop edge, from the earlier
pass (the full image first), the higher score. It stops as soon as `max_hands` hands are found or the
budget `acquisition.max_calls` (extra detector calls per image) is spent, so the cost on a miss is bounded;
every call is counted in `AcquisitionReport`.

Video streams (a stamp): MediaPipe's own VIDEO-mode tracking is used while it sees a hand, and the fallback
then never runs, so the tracked cost does not change. Only when the VIDEO landmarker sees no hand at all:
first each hand found by the fallback on recent frames (a *seed*, its keypoint box) is looked for in one
crop around it (1 call per seed: our own region-of-interest tracking, since the Tasks API cannot be given
a region); then, at most every `acquisition.video_period_s` of stream time, the full fallback. Seeds are
forgotten when they are not re-found or the VIDEO landmarker picks the hands up again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from scalehp_ros.common.joints import PALM_JOINTS
from scalehp_ros.common.params import Settings, param
from scalehp_ros.perception.frontend import Detection

# Two detections whose keypoint boxes overlap this much are one hand even if their labels differ.
CROSS_SIDE_IOU = 0.6
# `acquisition.side_aware_merge`: a left and a right detection are one hand only when their keypoints lie
# within this mean distance of each other, as a fraction of the hand's size (larger keypoint-box side).
SAME_HAND_KEYPOINTS = 0.15
# `acquisition.beside`: the palm keypoints (joints.PALM_JOINTS) have their hull masked out, the hull grown
# by this fraction of the hand's size, and the beside crops' side as a multiple of the hand's size
MASK_GROW = 0.05
BESIDE_CROP_FACTOR = 2.2
# A seed's crop: its keypoint box's larger side times this, square, centred on the box.
SEED_CROP_FACTOR = 2.2
# Keypoints within this fraction of the crop side of an inner crop edge: the hand is cut by the crop.
CUT_MARGIN = 0.02
# The contrast normalisation (`contrast_normalised`), in OpenCV's 8-bit Lab units.
STRETCH_PERCENTILES = (1.0, 99.0)
CHROMA_TARGET = 40.0
CHROMA_MAX_GAIN = 8.0
ACHROMATIC_CHROMA = 1.0
ACHROMATIC_TINT = (14.0, 18.0)


@dataclass(frozen=True)
class AcquisitionSettings(Settings):
    """Settings of the acquisition fallback (`Acquisition`)."""

    fallback: bool = param(
        True, "when fewer than max_hands hands are found, search a contrast-normalised copy and crops (bool)"
    )
    contrast: bool = param(
        True, "fallback pass on a contrast-normalised copy of the image (Lab lightness and chroma stretch) (bool)"
    )
    crop_scales: tuple[float, float, float] = param(
        (0.6, 0.0, 0.0),
        "fallback crop sides as fractions of the shorter image side, up to three scales, 0 = unused",
        0.0,
        1.0,
    )
    crop_overlap: float = param(
        0.3, "least overlap of neighbouring fallback crops (fraction of the crop side)", 0.0, 0.9
    )
    merge_iou: float = param(
        0.3, "keypoint-box IoU from which two detections of the same handedness are one hand [0-1]", 0.05, 1.0
    )
    max_calls: int = param(8, "budget: most extra detector calls per image for the fallback (0 = none)", 0, 64)
    beside: bool = param(
        False,
        "stills: when some but not all hands are found, after the other passes and within the budget, search the "
        "image with the found palms masked out and crops beside each found hand (close, touching hands) (bool)",
    )
    side_aware_merge: bool = param(
        False,
        "a left and a right detection that overlap are one hand only if their keypoints coincide (bool)",
    )
    video_period_s: float = param(
        1.0, "video: least stream time between full fallback searches while no hand is seen (s)", 0.0, 60.0
    )


@dataclass
class AcquisitionReport:
    """What finding the hands of the last image cost: detector calls (1 = the plain detector only), the
    extra calls of the fallback, hands found by the plain detector and by the fallback, wall time (s), and
    which passes ran ('full', 'seed', 'contrast', 'crop<scale>', 'masked', 'beside')."""

    detector_calls: int = 0
    fallback_calls: int = 0
    found_by_detector: int = 0
    found_by_fallback: int = 0
    time_s: float = 0.0
    passes: list[str] = field(default_factory=list)


def keypoint_box(uv: np.ndarray) -> np.ndarray:
    """(x0, y0, x1, y1) of (21, 2) keypoints, pixels."""
    return np.concatenate((uv.min(axis=0), uv.max(axis=0)))


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def hand_size(uv: np.ndarray) -> float:
    """The larger side of the keypoint box of (21, 2) keypoints, pixels (at least 1)."""
    return max(1.0, float((uv.max(axis=0) - uv.min(axis=0)).max()))


def keypoint_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean distance of corresponding keypoints (21, 2) of two detections, as a fraction of their mean
    `hand_size`: about 0 for the same hand found twice, large for two different hands however they overlap."""
    scale = 0.5 * (hand_size(a) + hand_size(b))
    return float(np.linalg.norm(a - b, axis=1).mean() / scale)


def palms_masked(image_rgb: np.ndarray, hands: list[np.ndarray]) -> np.ndarray:
    """A copy of the image with the palm of each hand (keypoints (21, 2) px) filled with the image's median
    colour: the hull of `PALM_JOINTS` grown by `MASK_GROW` of the hand's size. The palm detector then cannot
    pick, or be suppressed by, a hand already found, while a neighbouring hand's fingers stay visible."""
    out = image_rgb.copy()
    fill = tuple(int(c) for c in np.median(image_rgb.reshape(-1, 3)[:: max(1, image_rgb.size // 30000)], axis=0))
    for uv in hands:
        palm = uv[list(PALM_JOINTS)]
        centre = palm.mean(axis=0)
        grown = palm + MASK_GROW * hand_size(uv) * _unit(palm - centre)
        cv2.fillConvexPoly(out, cv2.convexHull(np.round(grown).astype(np.int32)), fill)
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)


def beside_windows(uv: np.ndarray, width: int, height: int) -> list[tuple[int, int, int]]:
    """Square crops (x0, y0, side) of `BESIDE_CROP_FACTOR` times the hand's size, centred one hand size to
    the left and to the right of the hand (keypoints (21, 2) px), shifted inside the image, duplicates removed."""
    size = hand_size(uv)
    side = min(round(BESIDE_CROP_FACTOR * size), width, height)
    box = keypoint_box(uv)
    cx, cy = 0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3])
    out: list[tuple[int, int, int]] = []
    for dx in (-size, size):
        x0 = int(np.clip(round(cx + dx - side / 2), 0, width - side))
        y0 = int(np.clip(round(cy - side / 2), 0, height - side))
        if (x0, y0, side) not in out:
            out.append((x0, y0, side))
    return out


def contrast_normalised(image_rgb: np.ndarray) -> np.ndarray:
    """The image with its lightness and colour contrast stretched (Lab): L's 1-99 percentiles to 0-255,
    the chroma (a, b) scaled so its 99th percentile is `CHROMA_TARGET` (gain at most `CHROMA_MAX_GAIN`);
    an achromatic image (a grey or monochrome camera) gets a skin-like tint `ACHROMATIC_TINT` instead.
    MediaPipe's palm detector relies on colour: on the greyscale versions of the six hand photos it finds
    none of the six hands, on the tinted ones three."""
    lab = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    light = lab[:, :, 0]
    lo, hi = np.percentile(light, STRETCH_PERCENTILES)
    if hi - lo >= 1.0:
        lab[:, :, 0] = np.clip((light - lo) * (255.0 / (hi - lo)), 0.0, 255.0)
    ab = lab[:, :, 1:] - 128.0
    chroma = float(np.percentile(np.hypot(ab[:, :, 0], ab[:, :, 1]), STRETCH_PERCENTILES[1]))
    if chroma < ACHROMATIC_CHROMA:
        ab[:] = ACHROMATIC_TINT
    else:
        ab *= min(CHROMA_TARGET / chroma, CHROMA_MAX_GAIN)
    lab[:, :, 1:] = np.clip(ab + 128.0, 0.0, 255.0)
    return cv2.cvtColor(lab.astype(np.uint8), cv2.COLOR_LAB2RGB)


def _positions(length: int, side: int, overlap: float) -> list[int]:
    """Evenly spaced crop origins covering [0, length) with neighbours overlapping >= overlap * side."""
    if side >= length:
        return [0]
    step = max(1.0, side * (1.0 - overlap))
    n = math.ceil((length - side) / step) + 1
    return [round(i * (length - side) / (n - 1)) for i in range(n)]


def crop_windows(width: int, height: int, scale: float, overlap: float) -> list[tuple[int, int, int]]:
    """Square crops (x0, y0, side) of side scale * min(width, height) covering the image, row by row."""
    side = max(16, round(scale * min(width, height)))
    return [(x, y, side) for y in _positions(height, side, overlap) for x in _positions(width, side, overlap)]


@dataclass
class _Candidate:
    det: Detection
    box: np.ndarray
    cut: bool
    rank: int  # the pass that found it: lower is preferred


def _map_back(det: Detection, x0: int, y0: int) -> Detection:
    return replace(det, uv=det.uv + np.array([x0, y0], dtype=np.float64))


def _is_cut(uv_crop: np.ndarray, x0: int, y0: int, side: int, width: int, height: int) -> bool:
    """Whether crop keypoints touch an edge of the crop that is not an edge of the image."""
    m = CUT_MARGIN * side
    lo, hi = uv_crop.min(axis=0), uv_crop.max(axis=0)
    return bool(
        (x0 > 0 and lo[0] < m)
        or (y0 > 0 and lo[1] < m)
        or (x0 + side < width and hi[0] > side - m)
        or (y0 + side < height and hi[1] > side - m)
    )


class Acquisition:
    """The fallback search around a detector `detect(image_rgb) -> list[Detection]` (IMAGE mode).

    `detect(image, first)`: `first` are the hands the plain detector found on the full image (one call,
    already made); returns them plus the hands the fallback adds, and sets `last_report`.
    """

    def __init__(self, detect: Callable[[np.ndarray], list[Detection]], settings: AcquisitionSettings | None = None):
        self._detect = detect
        self.settings = AcquisitionSettings() if settings is None else settings
        self.last_report = AcquisitionReport()
        self._seeds: list[np.ndarray] = []  # video: keypoint boxes of hands the fallback found
        self._last_search: float | None = None

    def reset(self) -> None:
        """Forget the video stream's seeds and timing."""
        self._seeds = []
        self._last_search = None

    def _merge(self, kept: list[_Candidate], new: _Candidate) -> bool:
        """Add `new` unless it duplicates a kept hand (then keep the better one). True when a hand was added."""
        for i, old in enumerate(kept):
            iou = box_iou(old.box, new.box)
            if old.det.handedness == new.det.handedness:
                same = iou >= self.settings.merge_iou
            elif self.settings.side_aware_merge:
                same = keypoint_distance(old.det.uv, new.det.uv) <= SAME_HAND_KEYPOINTS
            else:
                same = iou >= CROSS_SIDE_IOU
            if same:
                if (new.cut, new.rank, -new.det.score) < (old.cut, old.rank, -old.det.score):
                    kept[i] = new
                return False
        kept.append(new)
        return True

    def detect(self, image_rgb: np.ndarray, first: list[Detection], max_hands: int) -> list[Detection]:
        """Still images: the plain detector's hands `first`, plus what the fallback finds (see the module)."""
        start = time.perf_counter()
        report = AcquisitionReport(detector_calls=1, found_by_detector=len(first), passes=["full"])
        kept = [_Candidate(d, keypoint_box(d.uv), False, 0) for d in first]
        s = self.settings
        if s.fallback and len(kept) < max_hands and s.max_calls > 0:
            self._search(image_rgb, kept, max_hands, report, s.max_calls)
        report.found_by_fallback = len(kept) - len(first)
        report.time_s = time.perf_counter() - start
        self.last_report = report
        return [c.det for c in kept]

    def _search(
        self, image: np.ndarray, kept: list[_Candidate], max_hands: int, report: AcquisitionReport, budget: int
    ) -> None:
        s = self.settings
        h, w = image.shape[:2]
        # (name, source image, x0, y0, side); side 0: the full source image
        passes: list[tuple[str, np.ndarray, int, int, int]] = []
        if s.contrast:
            passes.append(("contrast", contrast_normalised(image), 0, 0, 0))
        for scale in sorted((c for c in s.crop_scales if c > 0), reverse=True):
            windows = crop_windows(w, h, scale, s.crop_overlap)
            passes.extend((f"crop{scale:g}", image, x, y, side) for x, y, side in windows)
        # last, with what is left of the budget: placed first they spent it where the crops find more
        if s.beside and kept:
            found = [c.det.uv for c in kept]
            passes.append(("masked", palms_masked(image, found), 0, 0, 0))
            passes.extend(("beside", image, x, y, side) for uv in found for x, y, side in beside_windows(uv, w, h))
        for rank, (name, source, x0, y0, side) in enumerate(passes, start=1):
            if report.fallback_calls >= budget or len(kept) >= max_hands:
                break
            crop = source if side == 0 else np.ascontiguousarray(source[y0 : y0 + side, x0 : x0 + side])
            found = self._detect(crop)
            report.fallback_calls += 1
            report.detector_calls += 1
            if name not in report.passes:
                report.passes.append(name)
            for det in found:
                cut = side != 0 and _is_cut(det.uv, x0, y0, side, w, h)
                full = _map_back(det, x0, y0)
                self._merge(kept, _Candidate(full, keypoint_box(full.uv), cut, rank))

    def detect_video(
        self, image_rgb: np.ndarray, first: list[Detection], max_hands: int, stamp: float
    ) -> list[Detection]:
        """A video frame: `first` are the VIDEO landmarker's hands. The fallback runs only when it saw none."""
        start = time.perf_counter()
        s = self.settings
        report = AcquisitionReport(detector_calls=1, found_by_detector=len(first), passes=["full"])
        if first or not s.fallback or s.max_calls == 0:
            self._seeds = []  # MediaPipe tracks what it sees; no seeds to follow
            report.time_s = time.perf_counter() - start
            self.last_report = report
            return first
        kept: list[_Candidate] = []
        h, w = image_rgb.shape[:2]
        for box in self._seeds[: s.max_calls]:
            if len(kept) >= max_hands:
                break
            x0, y0, side = _seed_window(box, w, h)
            found = self._detect(np.ascontiguousarray(image_rgb[y0 : y0 + side, x0 : x0 + side]))
            report.fallback_calls += 1
            report.detector_calls += 1
            if "seed" not in report.passes:
                report.passes.append("seed")
            for det in found:
                full = _map_back(det, x0, y0)
                self._merge(kept, _Candidate(full, keypoint_box(full.uv), False, 0))
        budget = s.max_calls - report.fallback_calls
        due = self._last_search is None or stamp - self._last_search >= s.video_period_s
        if len(kept) < max_hands and budget > 0 and due:
            self._last_search = stamp
            self._search(image_rgb, kept, max_hands, report, budget)
        self._seeds = [c.box for c in kept]
        report.found_by_fallback = len(kept)
        report.time_s = time.perf_counter() - start
        self.last_report = report
        return [c.det for c in kept]


def _seed_window(box: np.ndarray, width: int, height: int) -> tuple[int, int, int]:
    """A square crop around a seed box, SEED_CROP_FACTOR times its larger side, shifted inside the image."""
    side = round(SEED_CROP_FACTOR * max(box[2] - box[0], box[3] - box[1], 8.0))
    side = min(side, width, height)
    cx, cy = 0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3])
    x0 = int(np.clip(round(cx - side / 2), 0, width - side))
    y0 = int(np.clip(round(cy - side / 2), 0, height - side))
    return x0, y0, side
