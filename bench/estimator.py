"""HandPoseEstimator.estimate() per 640x480 frame, one hand, VIDEO mode: MediaPipe time vs our overhead.

Data: the first frames of data/human_hand_video.mp4 (one right hand), resized to 640x480, fed as a stream
(stamps at 30 fps). Per frame we time the whole estimate() call and, inside it, the MediaPipe
HandLandmarker call alone (frontend.last_inference_s: image wrapping + detect_for_video); the overhead is
the difference: input checks, landmark conversion, canonical pose, scale, root solve, tracking, filtering.
The peer is the MediaPipe call itself: overhead / MediaPipe is reported as a ratio from the same run.
Also: the post-detector path alone (estimate_from_detections) for each solver on the same detections.
Target: overhead under 1 ms per hand on the project's 2-core CPU.
Usage: python bench/estimator.py [--json] [--frames N]
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
from scalehp_ros.perception.estimator import HandPoseEstimator  # noqa: E402
from scalehp_ros.perception.root_solver import SOLVERS  # noqa: E402

CLIP = REPO / "data" / "human_hand_video.mp4"
W, H = 640, 480


def _stats(us: list[float]) -> dict[str, float]:
    a = np.array(us)
    return {"median_us": round(float(np.median(a)), 1), "p95_us": round(float(np.percentile(a, 95)), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    cap = cv2.VideoCapture(str(CLIP))
    frames = []
    while len(frames) < args.frames + args.warmup:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(np.ascontiguousarray(cv2.resize(bgr, (W, H))[:, :, ::-1]))
    cap.release()
    f = focal_from_fov(W, 60.0)
    K = np.array([[f, 0.0, W / 2], [0.0, f, H / 2], [0.0, 0.0, 1.0]])
    est = HandPoseEstimator()
    total, mp_time, overhead, hands = [], [], [], []
    for i, frame in enumerate(frames):
        tic = time.perf_counter()
        poses = est.estimate(frame, K, stamp=i / 30.0)
        elapsed = time.perf_counter() - tic
        if i < args.warmup:
            continue
        inference = est._get_frontend().last_inference_s
        total.append(elapsed * 1e6)
        mp_time.append(inference * 1e6)
        overhead.append((elapsed - inference) * 1e6 / max(1, len(poses)))
        hands.append(len(poses))
    # the post-detector path alone, per solver, on one detection (as the node runs it after MediaPipe)
    dets = est._get_frontend().detect(frames[-1])
    per_solver = {}
    for solver in SOLVERS:
        est.update_config({"root_solve.solver": solver})
        times = []
        for i in range(300):
            tic = time.perf_counter()
            est.estimate_from_detections(dets, K, 100.0 + i / 30.0, image_size=(W, H))
            times.append((time.perf_counter() - tic) * 1e6)
        per_solver[solver] = _stats(times)
    est.close()
    result = {
        "frames": len(total),
        "hands_per_frame": round(float(np.mean(hands)), 3),
        "estimate_total": _stats(total),
        "mediapipe": _stats(mp_time),
        "overhead_per_hand": _stats(overhead),
        "overhead_vs_mediapipe_ratio": round(float(np.median(overhead) / np.median(mp_time)), 4),
        "post_detector_by_solver": per_solver,
        "target_overhead_us": 1000.0,
    }
    print(f"estimate() on {len(total)} frames {W}x{H}, VIDEO mode, {result['hands_per_frame']} hands/frame")
    for key in ("estimate_total", "mediapipe", "overhead_per_hand"):
        print(f"  {key:18s} median {result[key]['median_us']:9.1f} us  p95 {result[key]['p95_us']:9.1f} us")
    print(f"  overhead / MediaPipe (median): {result['overhead_vs_mediapipe_ratio']}")
    for solver, s in per_solver.items():
        print(f"  post-detector, solver={solver:9s} median {s['median_us']:8.1f} us  p95 {s['p95_us']:8.1f} us")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
