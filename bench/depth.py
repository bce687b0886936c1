"""Cost of the depth path per hand: estimate_from_detections with a registered depth image vs RGB only.

Data: synthetic hands (scalehp_ros.evaluation.synthetic, fixed seed) at 0.3-1.0 m, 640x480 camera, their
depth images rendered with the sensor model of scalehp_ros.evaluation.rgbd (rendering is not timed). Both
rows run the same detections through the same estimator configuration (stills, default solver 'refine',
calibration off so every call does the same work, the stream's root placement), alternating per hand in
one run; the depth row adds the keypoint depth samples, the surface and self-occlusion geometry, the
plausibility checks and the second (depth) solve, and the re-solve when samples are dropped.
Reported: median / p95 per hand in microseconds and the ratio of the medians.
Usage: python bench/depth.py [--json] [--hands N]
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

from scalehp_ros.evaluation import rgbd, synthetic  # noqa: E402
from scalehp_ros.perception.estimator import HandPoseEstimator  # noqa: E402
from scalehp_ros.perception.frontend import Detection  # noqa: E402
from scalehp_ros.perception.settings import EstimatorConfig  # noqa: E402

W, H = 640, 480


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--hands", type=int, default=300)
    args = parser.parse_args()
    b = synthetic.generate(args.hands, synthetic.NoiseModel(), seed=5, depth_range=(0.3, 1.0))
    K = np.array([[520.0, 0.0, W / 2], [0.0, 520.0, H / 2], [0.0, 0.0, 1.0]])
    rng = np.random.default_rng(5)
    frames = []
    for i in range(args.hands):
        uv = b.uv[i] - b.K[i, :2, 2] + K[:2, 2]  # re-centred on this camera (pixels as generated, same focal scale)
        uv = (uv - K[:2, 2]) * (K[0, 0] / b.K[i, 0, 0]) + K[:2, 2]
        depth = rgbd.render_depth(b.joints_cam[i], K, (W, H), rng)
        frames.append((Detection(uv, b.rel_detected[i], "right", 1.0), depth))
    # the depth stage's own cost: the placement by the model fit (tens of ms on a still, the same in both rows)
    # is left out of both
    est = HandPoseEstimator(EstimatorConfig().replace({"online_scale.enabled": False, "placement.mode": "solve"}))
    rgb_us, depth_us, used = [], [], 0
    for _ in range(2):  # the first pass warms up
        rgb_us.clear()
        depth_us.clear()
        used = 0
        for det, depth in frames:
            t = time.perf_counter()
            est.estimate_from_detections([det], K, image_size=(W, H))
            rgb_us.append(1e6 * (time.perf_counter() - t))
            t = time.perf_counter()
            pose = est.estimate_from_detections([det], K, image_size=(W, H), depth=depth)[0]
            depth_us.append(1e6 * (time.perf_counter() - t))
            used += pose.depth_used

    def stats(us):
        return {"median_us": round(float(np.median(us)), 1), "p95_us": round(float(np.percentile(us, 95)), 1)}

    result = {
        "hands": args.hands,
        "rgb_only": stats(rgb_us),
        "with_depth": stats(depth_us),
        "ratio_median": round(float(np.median(depth_us) / np.median(rgb_us)), 2),
        "added_median_us": round(float(np.median(depth_us) - np.median(rgb_us)), 1),
        "depth_used_fraction": used / args.hands,
    }
    print(f"per hand, {args.hands} hands: RGB only {result['rgb_only']}, with depth {result['with_depth']}")
    print(f"depth path / RGB only (medians): {result['ratio_median']}x, +{result['added_median_us']} us per hand")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
