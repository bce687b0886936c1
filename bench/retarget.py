"""Hand retargeting speed and accuracy: ours (vector, DexPilot) vs dex-retargeting and dexi-rs on the same URDF
and data.

Data: data/human_joint_right_mediapipe.npy, 621 frames of MediaPipe world landmarks (wrist frame, metres).
Every frame goes through the node's pipeline: palm frame fitted from the keypoints (transforms.in_palm_frame),
then retargeting. dex-retargeting and dexi-rs (when installed; dexi-rs is a Rust reimplementation with
dex-retargeting's API) get the same URDF (urdf/scalehp_ur5e_allegro.urdf, the arm
joints fixed at zero, the 16 hand joints optimised), the same links, human keypoints, scaling and Huber/
regularisation weights, and the same keypoints rotated into its root frame. Both run without the low-pass
filter (it would add lag to the error and costs nothing), warm-started from their previous solution.

Reported per method: median and p95 milliseconds per frame (the retarget call only; wall clock, and the
process's CPU time, `cpu_*`, which a busy machine inflates less) and error_mm, the mean
|robot wrist->fingertip vector - scaling * human wrist->fingertip vector| over frames and fingers (in mm).
Also: arm IK per warm-started solve along a smooth 30 Hz path (error_mm there: end-effector position error).
Usage: python bench/retarget.py [--json] [--frames N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scalehp_ros.retargeting.hand import build_hand_retargeter  # noqa: E402
from scalehp_ros.retargeting.robot_config import load_robot_config  # noqa: E402
from scalehp_ros.retargeting.robot_model import RobotModel  # noqa: E402
from scalehp_ros.retargeting.transforms import in_palm_frame, rpy_matrix  # noqa: E402

DATA = REPO / "data" / "human_joint_right_mediapipe.npy"
ROBOT = REPO / "config" / "robots" / "scalehp_ur5e_allegro.yaml"
# dex-retargeting's defaults for its vector / DexPilot optimisers (huber_delta differs between the two).
SETTINGS = {"vector": {"huber_delta": 0.02}, "dexpilot": {"huber_delta": 0.03}}
NORM_DELTA = 4e-3


def _stats(times: list[tuple[float, float]], errors: list[float]) -> dict[str, float]:
    """Wall-clock and CPU time per call (the process's, all its threads), medians and p95 in ms."""
    ms = np.array(times) * 1e3
    return {
        "median_ms": round(float(np.median(ms[:, 0])), 4),
        "p95_ms": round(float(np.percentile(ms[:, 0], 95)), 4),
        "cpu_median_ms": round(float(np.median(ms[:, 1])), 4),
        "cpu_p95_ms": round(float(np.percentile(ms[:, 1], 95)), 4),
        "error_mm": round(float(np.mean(errors)) * 1e3, 3),
    }


class _Timer:
    """Wall-clock (perf_counter) and process CPU time (process_time) of one call: on a shared machine the CPU
    time is what another job cannot inflate by taking the core away."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.elapsed = (time.perf_counter() - self.wall, time.process_time() - self.cpu)


def run_ours(config, frames: np.ndarray, kind: str) -> dict[str, float]:
    params = replace(config.hand.retargeting, type=kind, low_pass_alpha=1.0, norm_delta=NORM_DELTA, **SETTINGS[kind])
    retargeter = build_hand_retargeter(config.hand, params)
    times, errors = [], []
    for keypoints in frames:
        with _Timer() as timer:
            q = retargeter.retarget(keypoints)
        times.append(timer.elapsed)
        errors.append(retargeter.fingertip_error(q, keypoints))
    return _stats(times, errors)


def _peer_config_class(peer: str):
    """RetargetingConfig of a peer package (dex-retargeting or dexi-rs, which copies its API), or None when
    the package is not installed (`make bench` installs both, requirements-bench.txt)."""
    try:
        if peer == "dex_retargeting":
            from dex_retargeting.retargeting_config import RetargetingConfig
        else:
            from dexi_rs import RetargetingConfig
    except ImportError:
        return None
    return RetargetingConfig


def _dexpilot_pairs(tips: list[tuple[int, str]]) -> tuple[np.ndarray, np.ndarray]:
    """DexPilot's human vectors as dex-retargeting orders them (dexi-rs does not expose them): every pair of
    fingertips (origin the later finger), then wrist -> each fingertip."""
    human = [h for h, _ in tips]
    pairs = [(human[j], human[i]) for i in range(len(human)) for j in range(i + 1, len(human))]
    origin = [o for o, _ in pairs] + [0] * len(human)
    task = [t for _, t in pairs] + human
    return np.array(origin), np.array(task)


def run_peer(config, frames: np.ndarray, kind: str, peer: str = "dex_retargeting") -> dict[str, float] | None:
    """The same frames through a peer's optimiser on the same URDF, links, scaling and weights."""
    config_class = _peer_config_class(peer)
    if config_class is None:
        return None
    hand = config.hand
    tips = sorted(hand.fingertips, key=lambda pair: pair[0])  # human order: thumb, index, middle, ring
    tip_links = [link for _, link in tips]
    common = {
        "urdf_path": str(hand.urdf),
        "target_joint_names": list(hand.joints),
        "scaling_factor": hand.scaling,
        "normal_delta": NORM_DELTA,
        "low_pass_alpha": -1.0,  # no filter
    }
    if kind == "vector":
        cfg = config_class(
            type="vector",
            target_origin_link_names=[hand.wrist_link] * len(tips),
            target_task_link_names=tip_links,
            target_link_human_indices=np.array([[0] * len(tips), [h for h, _ in tips]]),
            huber_delta=SETTINGS["vector"]["huber_delta"],
            **common,
        )
    else:  # DexPilot: dex-retargeting fixes huber_delta=0.03, eta1, eta2 and the weights internally
        cfg = config_class(
            type="dexpilot",
            wrist_link_name=hand.wrist_link,
            finger_tip_link_names=tip_links,
            project_dist=hand.retargeting.project_dist,
            escape_dist=hand.retargeting.escape_dist,
            **common,
        )
    retargeting = cfg.build()
    if peer == "dex_retargeting":
        optimizer = retargeting.optimizer
        fixed = np.zeros(len(optimizer.idx_pin2fixed))
        origin, task = optimizer.target_link_human_indices
    else:
        fixed = np.zeros(int(retargeting.fixed_dof))
        # dexi-rs keeps the vector indices flattened (origins, then tasks)
        indices = np.asarray(cfg.target_link_human_indices).reshape(2, -1) if kind == "vector" else None
        origin, task = indices if indices is not None else _dexpilot_pairs(tips)
    # Its root frame is the full URDF's base_link with the arm at zero: rotate the palm-frame keypoints into it.
    full = RobotModel(hand.urdf, [*config.arm.joints, *hand.joints])
    root_from_palm = full.placement(np.zeros(full.nq), hand.wrist_link).rotation @ rpy_matrix(hand.wrist_link_rpy)
    names = list(retargeting.joint_names)
    hand_index = np.array([names.index(j) for j in hand.joints])
    ours = build_hand_retargeter(hand, replace(hand.retargeting, type="vector"))  # only for the shared error metric
    times, errors = [], []
    for keypoints in frames:
        root = keypoints @ root_from_palm.T
        ref = root[task] - root[origin]
        if peer == "dexi_rs":  # its binding takes the (N, 3) vectors flattened
            ref = np.ascontiguousarray(ref).ravel()
        with _Timer() as timer:
            qpos = retargeting.retarget(ref, fixed)
        times.append(timer.elapsed)
        errors.append(ours.fingertip_error(np.asarray(qpos, dtype=float)[hand_index], keypoints))
    return _stats(times, errors)


def run_arm_ik(config, steps: int = 600) -> dict[str, float]:
    """Warm-started IK along a smooth end-effector path (each target from a joint path 30 Hz apart)."""
    from scalehp_ros.retargeting.arm_ik import ArmIK

    ik = ArmIK(config.arm)
    t = np.arange(steps) / 30.0
    path = ik.posture + 0.4 * np.sin(np.outer(t, [0.7, 0.9, 1.1, 1.3, 1.5, 1.7]))
    targets = [ik.forward(q) for q in path]
    times, errors, iterations = [], [], []
    for target in targets:
        with _Timer() as timer:
            result = ik.solve(target)
        times.append(timer.elapsed)
        errors.append(result.position_error)
        iterations.append(result.iterations)
    out = _stats(times, errors)
    out["mean_iterations"] = round(float(np.mean(iterations)), 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    parser.add_argument("--frames", type=int, default=0, help="use only the first N frames (0: all)")
    args = parser.parse_args()
    raw = np.load(DATA)
    if args.frames:
        raw = raw[: args.frames]
    config = load_robot_config(ROBOT)
    frames = np.array([in_palm_frame(f, config.hand.side) for f in raw])
    result: dict[str, object] = {"frames": len(frames), "robot": config.name}
    for kind in ("vector", "dexpilot"):
        result[kind] = run_ours(config, frames, kind)
        print(f"{kind:9s} ours  {result[kind]}", file=sys.stderr)
        for peer, short in (("dex_retargeting", "dex"), ("dexi_rs", "dexi")):
            stats = run_peer(config, frames, kind, peer)
            if stats is None:
                continue
            result[f"{peer}_{kind}"] = stats
            # > 1: ours is faster than the peer (peer median / our median, same run)
            result[f"speedup_vs_{short}_{kind}"] = round(stats["median_ms"] / result[kind]["median_ms"], 2)
            result[f"cpu_speedup_vs_{short}_{kind}"] = round(
                stats["cpu_median_ms"] / max(result[kind]["cpu_median_ms"], 1e-9), 2
            )
            print(f"{kind:9s} {short:5s} {stats}", file=sys.stderr)
    result["arm_ik_warm"] = run_arm_ik(config)
    print(f"arm IK    {result['arm_ik_warm']}", file=sys.stderr)
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
