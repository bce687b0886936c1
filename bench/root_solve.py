"""Root solve speed per hand: our closed form and its refinements vs numpy's least squares on the same system.

Data: synthetic hands with detector-like noise (scalehp_ros.evaluation.synthetic, fixed seed), metric relative
pose known, one intrinsic matrix per hand. The keypoints are normalised once up front (as the estimator does at
its entry), so every row times the solve on normalised coordinates alone. Each call solves one hand (the common
case: one hand per frame); `--batch N` also times N hands per call and reports the time per hand.

Rows: linear = closed-form 3x3 normal equations (solve_translation); robust = IRLS/Huber (3 reweightings);
kinematic / refine = closed form + ray/sphere placement / Levenberg-Marquardt fit with bone lengths held;
peer = numpy.linalg.lstsq on the stacked 42x3 linear system (the textbook way to solve the same problem).
Usage: python bench/root_solve.py [--json] [--hands N] [--batch N]
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
from scalehp_ros.perception import root_solver as rs  # noqa: E402
from scalehp_ros.perception.camera import pixels_to_normalized  # noqa: E402


def lstsq_peer(rel: np.ndarray, xy: np.ndarray) -> np.ndarray:
    A = np.zeros((42, 3))
    A[0::2, 0] = A[1::2, 1] = 1.0
    A[0::2, 2], A[1::2, 2] = -xy[:, 0], -xy[:, 1]
    b = np.empty(42)
    b[0::2] = xy[:, 0] * rel[:, 2] - rel[:, 0]
    b[1::2] = xy[:, 1] * rel[:, 2] - rel[:, 1]
    return np.linalg.lstsq(A, b, rcond=None)[0]


def _time(fn, args_list, per: int = 1) -> np.ndarray:
    out = []
    for args in args_list:
        tic = time.perf_counter()
        fn(*args)
        out.append((time.perf_counter() - tic) / per)
    return np.array(out) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--hands", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=2)
    args = parser.parse_args()
    b = synthetic.generate(args.hands, synthetic.NoiseModel(ray_frame=False), seed=7)
    scale = 0.04
    rel = b.rel_detected / np.linalg.norm(b.rel_detected[:, 9], axis=-1)[:, None, None] * 2.2 * scale
    xy = pixels_to_normalized(b.uv, b.K)  # the intrinsics applied once, as in the estimator
    focal = b.K[:, :2, :2]
    uniform = rs.RootSolveSettings(joint_weighting="uniform")  # the unweighted fit, as numpy's peer solves it
    single = [(rel[i : i + 1], xy[i : i + 1], focal[i]) for i in range(args.hands)]
    rows: dict[str, np.ndarray] = {}
    rows["peer_lstsq"] = _time(lstsq_peer, [(rel[i], xy[i]) for i in range(args.hands)])
    rows["linear"] = _time(lambda r, x, f: rs.solve_translation(r, x), single)
    rows["robust"] = _time(lambda r, x, f: rs.solve_translation_robust(r, x, f, huber_px=uniform.huber_px), single)
    for method in ("linear", "kinematic", "refine"):
        settings = uniform.replace(solver=method)
        rows[f"solve_{method}"] = _time(lambda r, x, f, s=settings: rs.solve(r, x, f, s), single)
    n = args.batch
    # one camera for the batch: the hands' keypoints normalised with the first hand's K
    xy_shared, focal_shared = pixels_to_normalized(b.uv, b.K[0]), b.K[0, :2, :2]
    batches = [(rel[i : i + n], xy_shared[i : i + n], focal_shared) for i in range(0, args.hands - n + 1, n)]
    rows[f"linear_batch{n}"] = _time(lambda r, x, f: rs.solve_translation(r, x), batches, per=n)
    refine = uniform.replace(solver="refine")
    rows[f"solve_refine_batch{n}"] = _time(lambda r, x, f: rs.solve(r, x, f, refine), batches, per=n)
    result = {
        name: {"median_us": round(float(np.median(t)), 2), "p95_us": round(float(np.percentile(t, 95)), 2)}
        for name, t in rows.items()
    }
    result["linear_vs_peer_ratio"] = round(result["linear"]["median_us"] / result["peer_lstsq"]["median_us"], 3)
    result["target_us_per_hand"] = 50.0
    print(f"root solve, {args.hands} synthetic hands, microseconds per hand")
    for name, r in result.items():
        if isinstance(r, dict):
            print(f"  {name:22s} median {r['median_us']:8.1f}  p95 {r['p95_us']:8.1f}")
    print(f"  closed form / numpy lstsq (median): {result['linear_vs_peer_ratio']}")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
