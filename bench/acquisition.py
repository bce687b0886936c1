"""What the acquisition fallback costs: nothing while a hand is tracked, a bounded search on a miss.

1. Tracked state: data/human_hand_video.mp4 (one right hand) resized to 640x480, fed as a stream (stamps at
   30 fps) to two estimators, fallback on (the default) and off, frame by frame in alternation so both see
   the same machine load. Per-frame estimate() time, median and p95, and the ratio on / off from the same
   run (target: 1.0 within noise), plus the fallback's detector calls over the tracked frames (target: 0).
2. A miss, still images: the grey (desaturated, low-contrast) versions of the six hand photos
   (evaluation.counting), where MediaPipe alone finds no hand: estimate() time and detector calls with the
   fallback on vs off, and the hands found.
3. A miss in a stream: a frame with no hand (uniform grey) repeated: the frame that runs the full search
   and the frames in between (the search waits acquisition.video_period_s of stream time).

4. `--recall`: the candidates of issue 24 item 5 on the hand photos and their degradations
   (evaluation.counting, `overlap` included): recall (found / visible hands), false positives and detector
   calls per set with `acquisition.beside` and `acquisition.side_aware_merge` each off and on. MediaPipe's
   full-image pass is run once per image and shared by the variants (IMAGE mode is deterministic).

Usage: python bench/acquisition.py [--json] [--frames N] [--candidates] [--recall-only]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scalehp_ros.common.pinhole import focal_from_fov  # noqa: E402
from scalehp_ros.evaluation import counting  # noqa: E402
from scalehp_ros.perception.estimator import HandPoseEstimator  # noqa: E402
from scalehp_ros.perception.settings import EstimatorConfig  # noqa: E402

CLIP = REPO / "data" / "human_hand_video.mp4"
PHOTOS = REPO / "test" / "data" / "hands"
W, H = 640, 480


def _ms(seconds: list[float]) -> dict[str, float]:
    a = 1000.0 * np.array(seconds)
    return {"median_ms": round(float(np.median(a)), 2), "p95_ms": round(float(np.percentile(a, 95)), 2)}


def _K(w: int, h: int) -> np.ndarray:
    f = focal_from_fov(w, 60.0)
    return np.array([[f, 0.0, w / 2], [0.0, f, h / 2], [0.0, 0.0, 1.0]])


def tracked(frames: list[np.ndarray], warmup: int, candidates: bool = False) -> dict[str, object]:
    """`candidates`: the "on" estimator with acquisition.beside and acquisition.side_aware_merge as well."""
    extra = {"acquisition.beside": True, "acquisition.side_aware_merge": True} if candidates else {}
    on = HandPoseEstimator(EstimatorConfig().replace(extra))
    off = HandPoseEstimator(EstimatorConfig().replace({"acquisition.fallback": False}))
    K = _K(W, H)
    times: dict[str, list[float]] = {"on": [], "off": []}
    fallback_calls = hands_on = hands_off = 0
    for i, frame in enumerate(frames):
        for name, est in (("on", on), ("off", off)) if i % 2 else (("off", off), ("on", on)):
            tic = time.perf_counter()
            poses = est.estimate(frame, K, stamp=i / 30.0)
            elapsed = time.perf_counter() - tic
            if i < warmup:
                continue
            times[name].append(elapsed)
            if name == "on":
                fallback_calls += est.last_acquisition.fallback_calls
                hands_on += len(poses)
            else:
                hands_off += len(poses)
    on.close()
    off.close()
    n = len(times["on"])
    return {
        "frames": n,
        "fallback_on": _ms(times["on"]),
        "fallback_off": _ms(times["off"]),
        "ratio_on_off_median": round(float(np.median(times["on"]) / np.median(times["off"])), 3),
        "fallback_calls_while_tracked": fallback_calls,
        "hands_per_frame_on": round(hands_on / n, 3),
        "hands_per_frame_off": round(hands_off / n, 3),
    }


def still_miss(repeats: int) -> dict[str, object]:
    grey = counting.degraded_sets(counting.load_count_set(PHOTOS))["grey"]
    out: dict[str, object] = {"images": len(grey)}
    for name, changes in (("fallback_on", {}), ("fallback_off", {"acquisition.fallback": False})):
        est = HandPoseEstimator(EstimatorConfig().replace(changes))
        seconds, calls, found = [], [], 0
        for r in range(repeats + 1):
            for s in grey:
                tic = time.perf_counter()
                poses = est.estimate(s.image, _K(s.image.shape[1], s.image.shape[0]))
                if r == 0:  # warm-up pass (model load); count the hands once
                    found += counting.match([_det(p) for p in poses], s.boxes)[0]
                    continue
                seconds.append(time.perf_counter() - tic)
                calls.append(est.last_acquisition.detector_calls)
        est.close()
        out[name] = dict(_ms(seconds), detector_calls_per_image=float(np.mean(calls)), hands_found=found)
    out["budget"] = EstimatorConfig().acquisition.max_calls
    return out


def _det(pose):
    from scalehp_ros.perception.frontend import Detection

    return Detection(pose.joints_2d, np.zeros((21, 3)), pose.handedness, pose.handedness_score)


def stream_miss(frames: int) -> dict[str, object]:
    empty = np.full((H, W, 3), 128, np.uint8)
    est = HandPoseEstimator()
    K = _K(W, H)
    search, between, calls = [], [], []
    for i in range(frames + 1):
        tic = time.perf_counter()
        est.estimate(empty, K, stamp=i / 30.0)
        elapsed = time.perf_counter() - tic
        if i == 0:
            continue  # model load
        report = est.last_acquisition
        (search if report.fallback_calls else between).append(elapsed)
        calls.append(report.detector_calls)
    est.close()
    return {
        "frames": frames,
        "period_s": EstimatorConfig().acquisition.video_period_s,
        "search_frames": len(search),
        "search_frame": _ms(search) if search else None,
        "other_frames": _ms(between) if between else None,
        "detector_calls_per_frame": round(float(np.mean(calls)), 2),
    }


RECALL_VARIANTS = {
    "neither": {"acquisition.beside": False, "acquisition.side_aware_merge": False},
    "beside": {"acquisition.beside": True, "acquisition.side_aware_merge": False},
    "side_merge": {"acquisition.beside": False, "acquisition.side_aware_merge": True},
    "both": {"acquisition.beside": True, "acquisition.side_aware_merge": True},
}


def recall(seed: int = 0) -> dict[str, dict[str, dict[str, float]]]:
    """Per variant and set: hands, found, false positives, detector calls per image (see the module)."""
    from scalehp_ros.perception.acquisition import Acquisition
    from scalehp_ros.perception.frontend import MediaPipeFrontend

    clean = counting.load_count_set(PHOTOS)
    sets = {"clean": clean, **counting.degraded_sets(clean, seed)}
    config = EstimatorConfig()
    frontend = MediaPipeFrontend(config.frontend)
    out: dict[str, dict[str, dict[str, float]]] = {v: {} for v in RECALL_VARIANTS}
    try:
        for name, samples in sets.items():
            firsts = [frontend.detect(s.image) for s in samples]
            for variant, changes in RECALL_VARIANTS.items():
                acq = Acquisition(frontend.detect, config.replace(changes).acquisition)
                hands = found = fp = calls = 0
                for s, first in zip(samples, firsts, strict=True):
                    dets = acq.detect(s.image, first, config.frontend.max_hands)
                    f, p = counting.match(dets, s.boxes)
                    hands, found, fp = hands + len(s.boxes), found + f, fp + p
                    calls += acq.last_report.detector_calls
                out[variant][name] = {
                    "hands": hands,
                    "found": found,
                    "found_detector_only": sum(
                        counting.match(f, s.boxes)[0] for s, f in zip(samples, firsts, strict=True)
                    ),
                    "false_positives": fp,
                    "detector_calls_per_image": round(calls / len(samples), 2),
                }
    finally:
        frontend.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3, help="passes over the grey photos")
    parser.add_argument(
        "--candidates", action="store_true", help="part 1 with acquisition.beside and side-aware merging on"
    )
    parser.add_argument("--recall-only", action="store_true", help="only part 4, the recall of the candidates")
    args = parser.parse_args()
    if args.recall_only:
        rows = recall()
        if args.json:
            print(json.dumps({"recall": rows}))
            return 0
        print("| variant | set | found / hands | MediaPipe alone | false positives | detector calls / image |")
        print("| --- | --- | --- | --- | --- | --- |")
        for variant, per_set in rows.items():
            for name, r in per_set.items():
                print(
                    f"| {variant} | {name} | {r['found']}/{r['hands']} | {r['found_detector_only']}/{r['hands']} "
                    f"| {r['false_positives']} | {r['detector_calls_per_image']} |"
                )
        return 0
    cap = cv2.VideoCapture(str(CLIP))
    frames = []
    while len(frames) < args.frames + args.warmup:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(np.ascontiguousarray(cv2.resize(bgr, (W, H))[:, :, ::-1]))
    cap.release()
    result = {
        "tracked": tracked(frames, args.warmup, args.candidates),
        "still_miss": still_miss(args.repeats),
        "stream_miss": stream_miss(60),
    }
    if args.json:
        print(json.dumps(result))
    else:
        t = result["tracked"]
        print(f"tracked ({t['frames']} frames 640x480, one hand, VIDEO mode):")
        print(f"  fallback on  {t['fallback_on']}  off {t['fallback_off']}  ratio on/off {t['ratio_on_off_median']}")
        print(f"  fallback detector calls while tracked: {t['fallback_calls_while_tracked']}")
        s = result["still_miss"]
        print(f"still miss ({s['images']} grey photos, budget {s['budget']} extra calls):")
        print(f"  on  {s['fallback_on']}")
        print(f"  off {s['fallback_off']}")
        m = result["stream_miss"]
        print(f"stream miss ({m['frames']} empty frames at 30 fps, period {m['period_s']} s):")
        print(f"  search frames {m['search_frames']}: {m['search_frame']}; others: {m['other_frames']}")
        print(f"  detector calls per frame: {m['detector_calls_per_frame']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
