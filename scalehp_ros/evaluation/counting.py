"""Detection recall on images with known hands but no 3D ground truth, and synthetic degradations of them.

A *count set* is a folder of photos with a `hands.json` manifest: per image, the box (x0, y0, x1, y1) px
around the 21 keypoint positions of every visible hand (`load_count_set`). A detection finds an annotated
hand when its keypoint box overlaps the annotated box by IoU >= `MATCH_IOU` (greedy, one detection per
hand); detections matching no hand are false positives.

`degraded_sets` makes harder versions of such a set with the boxes carried along, fixed before they were
ever run (seeded, deterministic): what lab photos show and MediaPipe's palm detector misses.

    grey        desaturated to 20 % and the contrast compressed to 35 % around a light grey
    dark        gamma 2.2 and half the brightness
    small       the photo at 1/4 of the height of a 1280x960 grey frame, at a random place
    small_grey  small, then grey
    pair        two photos at 1/2 of the height of a 1280x720 grey frame, side by side: two hands each
    tiny        the photo 110 px high in a 1920x1080 grey frame, at a random place (a hand of about 100 px in
                a full-HD view of a person at a bench; added after the defaults were chosen, not used for them)
    overlap     close, interacting hands: photo b 360 px high in a 1280x720 grey frame and, over it, the hand
                of photo a (its skin pixels inside its box, `hand_cutout`) mirrored (the other side) and
                moved so that the two keypoint boxes overlap by each of `OVERLAP_FRACTIONS` of the narrower
                box's width (0 = the boxes touch); b's hand is partly hidden where a's lies over it. Pairs
                (a, b) as for `pair`: three pairs x four amounts, 24 hands (issue 24 item 5)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from scalehp_ros.perception.acquisition import box_iou, keypoint_box
from scalehp_ros.perception.frontend import Detection

MATCH_IOU = 0.5
DEGRADATIONS = ("grey", "dark", "small", "small_grey", "pair", "tiny", "overlap")
# `overlap`: the keypoint boxes' horizontal overlap, fraction of the narrower box's width
OVERLAP_FRACTIONS = (0.0, 0.2, 0.4, 0.6)
# `hand_cutout`: skin in YCrCb (OpenCV 8-bit), searched inside the hand's box grown by this fraction of its size
SKIN_CR = (135, 180)
SKIN_CB = (80, 130)
CUTOUT_MARGIN = 0.08
# degradations of an annotated (3D) set: point-wise, or `small`: the image pasted 1:1 into a 1280x960 frame
# (the same camera with a larger sensor: K's principal point moves by the paste offset)
ANNOTATED_DEGRADATIONS = ("grey", "dark", "small")


@dataclass(frozen=True)
class CountSample:
    """An image (HxWx3 uint8 RGB) and its visible hands' keypoint boxes (M, 4) px."""

    name: str
    image: np.ndarray
    boxes: np.ndarray


def load_count_set(path: str | Path) -> list[CountSample]:
    """The photos of folder `path` listed in its hands.json manifest."""
    path = Path(path)
    manifest = json.loads((path / "hands.json").read_text())
    out = []
    for entry in manifest["images"]:
        bgr = cv2.imread(str(path / entry["file"]), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"cannot read image {path / entry['file']}")
        boxes = np.array([h["box"] for h in entry["hands"]], dtype=np.float64).reshape(-1, 4)
        out.append(CountSample(entry["file"], np.ascontiguousarray(bgr[:, :, ::-1]), boxes))
    return out


def match(detections: list[Detection], boxes: np.ndarray) -> tuple[int, int]:
    """(annotated hands found, false positives): greedy matching by keypoint-box IoU >= MATCH_IOU."""
    pairs = sorted(
        ((box_iou(keypoint_box(d.uv), b), i, j) for i, d in enumerate(detections) for j, b in enumerate(boxes)),
        reverse=True,
    )
    used_d: set[int] = set()
    used_b: set[int] = set()
    for iou, i, j in pairs:
        if iou < MATCH_IOU:
            break
        if i not in used_d and j not in used_b:
            used_d.add(i)
            used_b.add(j)
    return len(used_b), len(detections) - len(used_d)


# -- degradations -----------------------------------------------------------------------------------------


def _grey(image: np.ndarray) -> np.ndarray:
    f = image.astype(np.float32)
    grey = f.mean(axis=2, keepdims=True)
    f = 0.2 * f + 0.8 * grey
    f = 160.0 + 0.35 * (f - f.mean())
    return np.clip(f, 0, 255).astype(np.uint8)


def _dark(image: np.ndarray) -> np.ndarray:
    return np.clip(127.5 * (image.astype(np.float32) / 255.0) ** 2.2, 0, 255).astype(np.uint8)


def _canvas(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A grey frame with mild noise (a plain lab wall)."""
    base = rng.normal(128.0, 6.0, (height, width, 1)).astype(np.float32)
    return np.clip(np.repeat(base, 3, axis=2), 0, 255).astype(np.uint8)


def _paste(canvas: np.ndarray, sample: CountSample, height: int, x: int, y: int) -> np.ndarray:
    """Paste `sample` resized to `height` px at (x, y); returns its boxes in canvas pixels."""
    s = height / sample.image.shape[0]
    width = round(sample.image.shape[1] * s)
    canvas[y : y + height, x : x + width] = cv2.resize(sample.image, (width, height), interpolation=cv2.INTER_AREA)
    return sample.boxes * s + np.array([x, y, x, y], dtype=np.float64)


def _placed(sample: CountSample, rng: np.random.Generator, frame: tuple[int, int], height: int) -> CountSample:
    """`sample` resized to `height` px at a random place of a grey frame (width, height) px."""
    canvas = _canvas(*frame, rng)
    width = round(sample.image.shape[1] * height / sample.image.shape[0])
    x, y = int(rng.integers(0, frame[0] - width)), int(rng.integers(0, frame[1] - height))
    return CountSample(sample.name, canvas, _paste(canvas, sample, height, x, y))


def _small(sample: CountSample, rng: np.random.Generator) -> CountSample:
    return _placed(sample, rng, (1280, 960), 240)


def degrade_annotated(name: str, image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(degraded image, (2,) pixel offset of the original in it) for `name` in ANNOTATED_DEGRADATIONS."""
    if name == "grey":
        return _grey(image), np.zeros(2)
    if name == "dark":
        return _dark(image), np.zeros(2)
    if name == "small":
        h, w = image.shape[:2]
        canvas = _canvas(max(1280, w), max(960, h), rng)
        x, y = int(rng.integers(0, canvas.shape[1] - w + 1)), int(rng.integers(0, canvas.shape[0] - h + 1))
        canvas[y : y + h, x : x + w] = image
        return canvas, np.array([x, y], dtype=np.float64)
    raise ValueError(f"unknown degradation {name!r}: one of {ANNOTATED_DEGRADATIONS}")


def degraded_sets(samples: list[CountSample], seed: int = 0) -> dict[str, list[CountSample]]:
    """Every degradation of DEGRADATIONS applied to `samples` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[CountSample]] = {}
    point: dict[str, Callable[[np.ndarray], np.ndarray]] = {"grey": _grey, "dark": _dark}
    for name, fn in point.items():
        out[name] = [CountSample(s.name, fn(s.image), s.boxes) for s in samples]
    out["small"] = [_small(s, rng) for s in samples]
    out["small_grey"] = [CountSample(s.name, _grey(s.image), s.boxes) for s in (_small(s, rng) for s in samples)]
    pairs = []
    for a, b in zip(samples[0::2], samples[1::2], strict=False):
        canvas = _canvas(1280, 720, rng)
        height = 360
        wa = round(a.image.shape[1] * height / a.image.shape[0])
        wb = round(b.image.shape[1] * height / b.image.shape[0])
        xa = int(rng.integers(0, max(1, 640 - wa)))
        xb = 640 + int(rng.integers(0, max(1, 640 - wb)))
        ya, yb = (int(rng.integers(0, 720 - height)) for _ in range(2))
        boxes = np.concatenate((_paste(canvas, a, height, xa, ya), _paste(canvas, b, height, xb, yb)))
        pairs.append(CountSample(f"{a.name}+{b.name}", canvas, boxes))
    out["pair"] = pairs
    out["tiny"] = [_placed(s, rng, (1920, 1080), 110) for s in samples]
    out["overlap"] = [
        _overlap(b, a, f, rng) for a, b in zip(samples[0::2], samples[1::2], strict=False) for f in OVERLAP_FRACTIONS
    ]
    return out


def hand_cutout(sample: CountSample) -> np.ndarray:
    """(H, W) float32 alpha in [0, 1] of the first hand of `sample`: skin-coloured pixels (YCrCb thresholds
    `SKIN_CR`, `SKIN_CB`) inside its box grown by `CUTOUT_MARGIN`, the largest connected part, holes closed,
    edges softened by 2 px. Good enough on photos of a hand on a plain, non-skin background."""
    ycc = cv2.cvtColor(sample.image, cv2.COLOR_RGB2YCrCb)
    mask = cv2.inRange(ycc, (0, SKIN_CR[0], SKIN_CB[0]), (255, SKIN_CR[1], SKIN_CB[1]))
    h, w = mask.shape
    x0, y0, x1, y1 = sample.boxes[0]
    mx, my = CUTOUT_MARGIN * (x1 - x0), CUTOUT_MARGIN * (y1 - y0)
    inside = np.zeros_like(mask)
    inside[max(0, int(y0 - my)) : min(h, int(y1 + my) + 1), max(0, int(x0 - mx)) : min(w, int(x1 + mx) + 1)] = 255
    mask = cv2.bitwise_and(mask, inside)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    if n < 2:
        raise ValueError(f"{sample.name}: no skin-coloured region in the hand's box")
    hand = (labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.float32)
    return cv2.GaussianBlur(hand, (5, 5), 0)


def _overlap(under: CountSample, top: CountSample, fraction: float, rng: np.random.Generator) -> CountSample:
    """`under`'s photo 360 px high in a grey 1280x720 frame and `top`'s hand, mirrored, over it at its right,
    the keypoint boxes overlapping by `fraction` of the narrower box's width (see the module docstring)."""
    height = 360
    canvas = _canvas(1280, 720, rng)
    s_top = height / top.image.shape[0]
    wt = round(top.image.shape[1] * s_top)
    image_t = cv2.resize(top.image[:, ::-1], (wt, height), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(hand_cutout(top)[:, ::-1], (wt, height), interpolation=cv2.INTER_AREA)[:, :, None]
    tx0, ty0, tx1, ty1 = top.boxes[0] * s_top
    box_t = np.array([wt - tx1, ty0, wt - tx0, ty1])  # mirrored, in the resized top photo
    wu = round(under.image.shape[1] * height / under.image.shape[0])
    box_u = under.boxes[0] * height / under.image.shape[0]
    overlap = fraction * min(box_u[2] - box_u[0], box_t[2] - box_t[0])
    dx = box_u[2] - overlap - box_t[0]  # top photo's x relative to the under photo's
    left, right = min(0.0, dx), max(float(wu), dx + wt)
    xu = int(rng.integers(0, max(1, round(1280 - (right - left))))) - round(left)
    yu = int(rng.integers(0, 720 - height))
    boxes_u = _paste(canvas, under, height, xu, yu)
    # the top hand's box centre level with the under one's, +-10 % of the height, inside the frame
    dy = 0.5 * (box_u[1] + box_u[3] - box_t[1] - box_t[3]) + rng.uniform(-0.1, 0.1) * height
    xt, yt = xu + round(dx), int(np.clip(yu + round(dy), 0, 720 - height))
    region = canvas[yt : yt + height, xt : xt + wt].astype(np.float32)
    canvas[yt : yt + height, xt : xt + wt] = np.round(alpha * image_t + (1.0 - alpha) * region).astype(np.uint8)
    boxes = np.concatenate((boxes_u, (box_t + np.array([xt, yt, xt, yt]))[None]))
    return CountSample(f"{top.name}(mirrored) over {under.name} {fraction:g}", canvas, boxes)
