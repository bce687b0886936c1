"""placement.mode in a stream: the solve's placement vs the model fit's with its stream defaults (every 3rd
frame of a hand, warm-started, its depth ratio smoothed), every frame (warm, unsmoothed) and cold (every frame
from the inverse kinematics, as on a still).

Data: short synthetic sequences (scalehp_ros.evaluation.synthetic hands, fixed seed): each hand turns 1.5
degrees per frame about a random axis through its wrist and drifts a few mm per frame, its keypoints
projected with 0.7 px noise and its detector-like relative pose turned with it; 30 fps stamps, one hand per
stream, the estimator's filters on. Rows interleaved per sequence in one run. Reported: per-frame time of
estimate_from_detections (median / mean / p95, the first frame of each sequence excluded: it is always cold;
with a fit every 3rd frame the mean is the cost per frame, the p95 a fit frame's), CS-MPJPE against the
sequences' truth, jitter (mean second difference of the joint error, mm/frame^2), and the warm start's
distance from the cold fit's placement (hand centroid).
Usage: python bench/fit_placement.py [--json] [--sequences N] [--frames N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scalehp_ros.evaluation import synthetic  # noqa: E402
from scalehp_ros.perception import placement as placement_module  # noqa: E402
from scalehp_ros.perception.estimator import HandPoseEstimator  # noqa: E402
from scalehp_ros.perception.frontend import Detection  # noqa: E402
from scalehp_ros.perception.settings import EstimatorConfig  # noqa: E402


def _rotation(axis: np.ndarray, deg: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    a = np.radians(deg)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * k @ k


def sequences(n: int, frames: int, seed: int) -> list[tuple[np.ndarray, list[tuple[Detection, np.ndarray]]]]:
    """n sequences (K, [(detection, true joints (21, 3) m)] * frames)."""
    rng = np.random.default_rng(seed)
    b = synthetic.generate(n, synthetic.NoiseModel(), seed=seed)
    out = []
    for i in range(n):
        axis, drift = rng.normal(size=3), rng.normal(size=3) * 0.003
        joints, rel, K = b.joints_cam[i], b.rel_detected[i], b.K[i]
        seq = []
        for t in range(frames):
            R = _rotation(axis, 1.5 * t)
            j = (joints - joints[0]) @ R.T + joints[0] + drift * t
            uv = (j[:, :2] / j[:, 2:]) @ K[:2, :2].T + K[:2, 2] + rng.normal(size=(21, 2)) * 0.7
            seq.append((Detection(uv, rel @ R.T, "left" if b.is_left[i] else "right", 1.0), j))
        out.append((K, seq))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sequences", type=int, default=60)
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    data = sequences(args.sequences, args.frames, seed=42)
    every_frame = {"placement.mode": "fit", "placement.fit_every": 1, "placement.fit_smoothing": 1.0}
    rows = {
        "solve": ({"placement.mode": "solve"}, None),
        "fit": ({"placement.mode": "fit"}, None),  # the fit's stream defaults: every 3rd frame, smoothed
        "fit_every_frame": (every_frame, None),
        "fit_cold": (every_frame, -1.0),
    }
    times: dict[str, list[float]] = {k: [] for k in rows}
    errors: dict[str, list[float]] = {k: [] for k in rows}
    jitter: dict[str, list[float]] = {k: [] for k in rows}
    centroids: dict[str, list[np.ndarray]] = {k: [] for k in rows}
    default_gap = placement_module.FIT_WARM_MAX_GAP_S
    try:
        for K, seq in data:
            for name, (changes, gap) in rows.items():
                placement_module.FIT_WARM_MAX_GAP_S = default_gap if gap is None else gap
                est = HandPoseEstimator(EstimatorConfig().replace(changes))
                err = []
                for t, (det, truth) in enumerate(seq):
                    start = time.perf_counter()
                    pose = est.estimate_from_detections([det], K, stamp=t / 30.0)[0]
                    if t > 0:
                        times[name].append(1e6 * (time.perf_counter() - start))
                        errors[name].append(1000.0 * np.linalg.norm(pose.joints_cam - truth, axis=1).mean())
                        centroids[name].append(pose.joints_cam.mean(axis=0))
                    err.append(pose.joints_cam - truth)
                # jitter: the second difference of the error (the truth's own motion taken out)
                e = np.array(err)
                jitter[name].extend(1000.0 * np.linalg.norm(e[2:] - 2 * e[1:-1] + e[:-2], axis=-1).mean(axis=1))
    finally:
        placement_module.FIT_WARM_MAX_GAP_S = default_gap
    apart = 1000.0 * np.linalg.norm(np.array(centroids["fit_every_frame"]) - np.array(centroids["fit_cold"]), axis=1)
    result = {
        "sequences": args.sequences,
        "frames": args.frames,
        **{
            name: {
                "median_us": round(float(np.median(times[name])), 1),
                "mean_us": round(float(np.mean(times[name])), 1),
                "p95_us": round(float(np.percentile(times[name], 95)), 1),
                "cs_mpjpe_mm": round(float(np.mean(errors[name])), 2),
                "jitter_mm_per_frame2": round(float(np.mean(jitter[name])), 2),
            }
            for name in rows
        },
        "cold_over_warm_median": round(float(np.median(times["fit_cold"]) / np.median(times["fit_every_frame"])), 2),
        "fit_over_solve_mean": round(float(np.mean(times["fit"]) / np.mean(times["solve"])), 2),
        "warm_vs_cold_centroid_mm": {
            "median": round(float(np.median(apart)), 2),
            "p95": round(float(np.percentile(apart, 95)), 2),
        },
    }
    for name in rows:
        print(f"{name}: {result[name]}")
    print(f"cold / warm fit per frame (medians, every frame): {result['cold_over_warm_median']}x")
    print(f"fit (stream defaults) / solve per frame (means): {result['fit_over_solve_mean']}x")
    print(f"warm vs cold fit, every frame, hand centroid (mm): {result['warm_vs_cold_centroid_mm']}")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
