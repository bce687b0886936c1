"""Hand retargeting per registered hand: ours vs dex-retargeting and dexi-rs, each hand on its own config.

For every hand side of the registry (scalehp_ros/robots/registry.py) with at least three wrist -> fingertip
vectors, the hand's own config (its file in config/hands/, dex-retargeting's format: links, human indices,
`scaling_factor`) and its URDF from dexi-rs, the 621 frames of data/human_joint_right_mediapipe.npy (mirrored
for a left hand) go through:

- ours: retarget_node's vector retargeting (scalehp_ros/retargeting/hand/vector.py) on the hand URDF, the
  commanded joints the actuated ones (mimic joints coupled, retargeting/robot_model.py), the palm frame from the
  hand's geometry (palm_rotation in scalehp_ros/robots/coverage.py);
- dex-retargeting and dexi-rs (requirements-bench.txt; a peer that is not installed is left out): the same
  URDF, links, human indices, scaling, Huber delta (0.02) and regularisation (normal_delta 4e-3), fed the same
  human vectors in the hand's root frame.

No low-pass filter (alpha 1 / -1: it only adds lag), each warm-started from its previous solution.
Reported per hand and method: median and p95 milliseconds per frame (the retarget call only), cpu_ms (process
CPU time per frame, less inflated by other jobs on a shared machine) and error_mm, the
mean |robot wrist->fingertip - scaling * human wrist->fingertip| (palm frame, mm) over frames and fingers,
computed by one function for all three. Hands that cannot be built are listed with the reason.
Usage: python bench/retarget_hands.py [--json] [--frames N] [--hands NAME ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pinocchio as pin

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scalehp_ros.retargeting.hand import build_hand_retargeter  # noqa: E402
from scalehp_ros.retargeting.robot_config import HandConfig, RetargetingParams  # noqa: E402
from scalehp_ros.robots.coverage import load_clip, palm_keypoints, palm_rotation  # noqa: E402
from scalehp_ros.robots.dexconfig import load_dex_config  # noqa: E402
from scalehp_ros.robots.kinematics import CoupledHand  # noqa: E402
from scalehp_ros.robots.registry import HANDS  # noqa: E402

HUBER_DELTA, NORM_DELTA = 0.02, 4e-3  # dex-retargeting's vector defaults


def _stats(times: list[float], cpu: float, errors: list[float]) -> dict[str, float]:
    ms = np.array(times) * 1e3
    return {
        "median_ms": round(float(np.median(ms)), 4),
        "p95_ms": round(float(np.percentile(ms, 95)), 4),
        "cpu_ms": round(cpu * 1e3 / len(times), 4),  # process CPU time per frame: less inflated by other jobs
        "error_mm": round(float(np.mean(errors)) * 1e3, 2),
    }


def our_hand(hand: str, side: str) -> tuple[HandConfig, dict]:
    """Our HandConfig for one hand side from its dex-retargeting config, and the config's fields for the peers."""
    spec = HANDS[hand]
    config, summary = load_dex_config(spec.config_path(side))
    pairs = [p for p in config.vector_pairs() if p[0] == 0]
    if len(pairs) < 3:
        raise ValueError(f"{len(pairs)} wrist -> fingertip vectors (vector retargeting's palm frame needs three)")
    urdf = spec.urdf_path(side)
    wrist, wrist_from_palm = palm_rotation(CoupledHand(urdf, summary), config, side)
    ours = HandConfig(
        urdf=urdf,
        side=side,
        wrist_link=wrist,
        wrist_link_rpy=tuple(float(v) for v in pin.rpy.matrixToRpy(wrist_from_palm)),
        wrist_link_xyz=(0.0, 0.0, 0.0),
        joints=summary.actuated,
        fingertips=tuple((human, link) for _, _, human, link in pairs),
        keypoints=(),
        scaling=config.scaling_factor,
        retargeting=RetargetingParams(type="vector", huber_delta=HUBER_DELTA, norm_delta=NORM_DELTA, low_pass_alpha=1),
    )
    peer = {
        "type": "vector",
        "urdf_path": str(urdf),
        "target_joint_names": list(summary.actuated),
        "target_origin_link_names": [wrist] * len(pairs),
        "target_task_link_names": [link for _, _, _, link in pairs],
        "target_link_human_indices": np.array([[0] * len(pairs), [h for _, _, h, _ in pairs]]),
        "scaling_factor": config.scaling_factor,
        "huber_delta": HUBER_DELTA,
        "normal_delta": NORM_DELTA,
        "low_pass_alpha": -1.0,
    }
    return ours, peer


def run_ours(hand: HandConfig, frames: np.ndarray) -> tuple[dict[str, float], object]:
    retargeter = build_hand_retargeter(hand)
    times, errors, cpu = [], [], 0.0
    for keypoints in frames:
        cpu0, tic = time.process_time(), time.perf_counter()
        q = retargeter.retarget(keypoints)
        times.append(time.perf_counter() - tic)
        cpu += time.process_time() - cpu0
        errors.append(retargeter.fingertip_error(q, keypoints))
    return _stats(times, cpu, errors), retargeter


def run_peer(peer: str, fields: dict, ours, frames: np.ndarray) -> dict[str, float] | None:
    """The same human vectors (hand root frame) through a peer's optimiser; None when it is not installed."""
    try:
        if peer == "dex_retargeting":
            from dex_retargeting.retargeting_config import RetargetingConfig
        else:
            from dexi_rs import RetargetingConfig
    except ImportError:
        return None
    retargeting = RetargetingConfig(**fields).build()
    if peer == "dex_retargeting":
        fixed = np.zeros(len(retargeting.optimizer.idx_pin2fixed))
    else:
        fixed = np.zeros(int(retargeting.fixed_dof))
    origin, task = fields["target_link_human_indices"]
    names = list(retargeting.joint_names)
    index = np.array([names.index(j) for j in fields["target_joint_names"]])
    times, errors, cpu = [], [], 0.0
    for keypoints in frames:
        root = keypoints @ ours.root_from_palm.T
        ref = root[task] - root[origin]
        if peer == "dexi_rs":  # its binding takes the (N, 3) vectors flattened
            ref = np.ascontiguousarray(ref).ravel()
        cpu0, tic = time.process_time(), time.perf_counter()
        qpos = retargeting.retarget(ref, fixed)
        times.append(time.perf_counter() - tic)
        cpu += time.process_time() - cpu0
        errors.append(ours.fingertip_error(np.asarray(qpos, dtype=float)[index], keypoints))
    return _stats(times, cpu, errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    parser.add_argument("--frames", type=int, default=0, help="use only the first N frames (0: all)")
    parser.add_argument("--hands", nargs="*", default=list(HANDS), help="hand models (default: all registered)")
    args = parser.parse_args()
    clip = load_clip()
    if args.frames:
        clip = clip[: args.frames]
    result: dict[str, object] = {"frames": len(clip), "hands": {}, "skipped": {}}
    for hand in args.hands:
        for side in HANDS[hand].sides:
            key = f"{hand}_{side}" if len(HANDS[hand].sides) > 1 else hand
            try:
                ours_config, fields = our_hand(hand, side)
                frames = palm_keypoints(clip, side)
                row, ours = run_ours(ours_config, frames)
            except ValueError as exc:
                result["skipped"][key] = str(exc)
                print(f"{key:26s} skipped: {exc}", file=sys.stderr)
                continue
            rows = {"ours": row}
            for peer in ("dex_retargeting", "dexi_rs"):
                stats = run_peer(peer, fields, ours, frames)
                if stats is not None:
                    rows[peer] = stats
            result["hands"][key] = rows
            print(f"{key:26s} " + "  ".join(f"{k}: {v}" for k, v in rows.items()), file=sys.stderr)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
