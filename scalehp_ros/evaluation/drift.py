"""Wrist drift: does the wrist hold still when only the fingers move? (`scalehp-eval drift`)

Synthetic fixed-wrist sequences (`synthetic.fixed_wrist_sequences`: the wrist's position and orientation fixed,
the fingers open, close, point and pinch through the generator's joint limits, detector-like noise) run through
the estimator per placement (`placement.mode` solve and fit without the guard, and the default), as stills
(each frame alone) and as a 30 fps stream (tracking and filters on). The drift of a point is its deviation
from its own mean over the sequence (the constant offset is the absolute error, reported apart): RMS over
every frame of every sequence and the largest, millimetres; for the wrist of `joints_cam` and for the arm's
reference point (`HandPose.arm_reference`). `articulation_pairs` measures the same on a real clip without
ground truth: consecutive frames whose 2D palm barely moves while the fingers do. `step_response` is the
other side of the stream filters' trade: the lag (ms) of the filtered arm reference when the wrist really
moves 10 cm, sideways and in depth.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scalehp_ros.common.joints import PALM_PLANE_JOINTS, WRIST
from scalehp_ros.evaluation import synthetic
from scalehp_ros.perception.estimator import HandPoseEstimator
from scalehp_ros.perception.filters import FilterSettings, TrackFilters
from scalehp_ros.perception.frontend import Detection
from scalehp_ros.perception.settings import EstimatorConfig

# placement row -> estimator parameters
PLACEMENT_ROWS: dict[str, dict[str, Any]] = {
    "solve": {"placement.mode": "solve", "placement.guard": False},
    "fit": {"placement.mode": "fit", "placement.guard": False},
    "default": {},
}
FPS = 30.0
PALM_STILL = 0.01  # a frame pair's palm moved less than this fraction of the hand's 2D size ...
FINGERS_MOVE = 0.03  # ... while its fingertips moved (relative to the wrist) more than this
STEP_M = 0.1  # step_response: the wrist moves this far ...
STEP_DEPTH_M = 0.5  # ... from this depth on the optical axis ...
MOVE_S = 0.3  # ... at once (a step) or in this long (a minimum-jerk move, a quick real reach)


def _drift(tracks: list[np.ndarray]) -> dict[str, float]:
    """RMS and max deviation (mm) of each (F, 3) track (m) from its own mean."""
    dev = np.concatenate([t - t.mean(axis=0) for t in tracks])
    norm = 1000.0 * np.linalg.norm(dev, axis=1)
    return {"rms_mm": float(np.sqrt(np.mean(norm**2))), "max_mm": float(norm.max())}


def eval_drift(
    sequences: int = 6, frames: int = 61, seed: int = 0, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The drift report (module docstring) for `sequences` sequences of `frames` frames; params: estimator
    parameters (flat names) applied to every row (a row's own placement settings win)."""
    seqs = synthetic.fixed_wrist_sequences(sequences, frames, seed=seed)
    base = EstimatorConfig().replace(params or {})
    rows: dict[str, Any] = {}
    for name, changes in PLACEMENT_ROWS.items():
        config = base.replace(changes)
        row: dict[str, Any] = {}
        for mode in ("still", "stream"):
            wrists, refs, errors, fallbacks = [], [], [], 0
            for q in seqs:
                est = HandPoseEstimator(config)
                side = "left" if q.is_left else "right"
                w, r = [], []
                for f in range(frames):
                    det = Detection(q.uv[f], q.rel_detected[f], side, 1.0)
                    stamp = None if mode == "still" else f / FPS
                    pose = est.estimate_from_detections([det], q.K, stamp, image_size=q.image_size)[0]
                    w.append(pose.joints_cam[WRIST])
                    r.append(pose.arm_reference)
                    fallbacks += bool(pose.placement_fallback)
                wrists.append(np.array(w))
                refs.append(np.array(r))
                errors.append(1000.0 * np.linalg.norm(np.array(w) - q.joints_cam[:, WRIST], axis=1))
            wd, rd = _drift(wrists), _drift(refs)
            row[mode] = {
                "wrist_drift_rms_mm": wd["rms_mm"],
                "wrist_drift_max_mm": wd["max_mm"],
                "arm_reference_drift_rms_mm": rd["rms_mm"],
                "arm_reference_drift_max_mm": rd["max_mm"],
                "wrist_error_mm": float(np.mean(np.concatenate(errors))),
                "guard_fallbacks": fallbacks,
            }
        rows[name] = row
    default = rows["default"]["stream"]
    return {
        "sequences": sequences,
        "frames": frames,
        "seed": seed,
        "params": dict(params or {}),
        "gestures": list(synthetic.GESTURE_SEQUENCE),
        # the headline: the default estimator on a stream, as teleoperation runs it
        "wrist_drift_rms_mm": default["wrist_drift_rms_mm"],
        "wrist_drift_max_mm": default["wrist_drift_max_mm"],
        "arm_reference_drift_rms_mm": default["arm_reference_drift_rms_mm"],
        "arm_reference_drift_max_mm": default["arm_reference_drift_max_mm"],
        "placements": rows,
        # the default stream filter's lag when the wrist really moves (the other side of its drift)
        "arm_reference_step": step_response(base.filters),
    }


def step_response(filters: FilterSettings | None = None) -> dict[str, float]:
    """The stream filter's lag on the arm reference (`TrackFilters.reference`, noise-free input at `FPS`) when
    the wrist moves `STEP_M` from `STEP_DEPTH_M` on the optical axis, sideways (x) and in depth (z):
    `step_{x,z}_settle_ms`, how long after a step the output stays within 10 % of the move;
    `move_{x,z}_lag_ms`, how much later than the input the output passes half of a `MOVE_S` minimum-jerk move
    (both quantised to frames, 33 ms)."""
    settings = FilterSettings() if filters is None else filters
    t = np.arange(0.0, 3.0, 1.0 / FPS)
    start = 1.0
    out: dict[str, float] = {}
    for axis, name in ((0, "x"), (2, "z")):
        for kind in ("step", "move"):
            s = np.clip((t - start) / MOVE_S, 0.0, 1.0) if kind == "move" else (t >= start).astype(float)
            if kind == "move":
                s = 10 * s**3 - 15 * s**4 + 6 * s**5
            target = np.zeros((len(t), 3))
            target[:, 2] = STEP_DEPTH_M
            target[:, axis] += STEP_M * s
            ref = TrackFilters(settings).reference
            done = np.array([ref(p, ti)[axis] for p, ti in zip(target, t, strict=True)])
            done = (done - target[0, axis]) / STEP_M
            if kind == "step":
                late = np.flatnonzero(np.abs(1.0 - done) > 0.1)
                out[f"step_{name}_settle_ms"] = 1000.0 * (t[late[-1] + 1] - start)
            else:
                lag = t[np.argmax(done >= 0.5)] - t[np.argmax(s >= 0.5)]
                out[f"move_{name}_lag_ms"] = 1000.0 * lag
    return out


def articulation_pairs(uv: list[np.ndarray | None], points: dict[str, list[np.ndarray | None]]) -> dict[str, Any]:
    """On an unannotated clip: over consecutive frame pairs where the 2D palm (`joints.PALM_PLANE_JOINTS`) moved
    less than `PALM_STILL` of the hand's 2D size while the fingertips moved relative to the wrist by more than
    `FINGERS_MOVE`, the RMS depth change (mm) of each named 3D point track (m) between the two frames.
    uv: the detected keypoints (21, 2) px per frame (None: no hand)."""
    tips = [4, 8, 12, 16, 20]
    picked = []
    for t in range(1, len(uv)):
        a, b = uv[t - 1], uv[t]
        if a is None or b is None:
            continue
        size = float(np.linalg.norm(a.max(axis=0) - a.min(axis=0)))
        palm = float(np.linalg.norm(b[list(PALM_PLANE_JOINTS)] - a[list(PALM_PLANE_JOINTS)], axis=1).mean()) / size
        fingers = float(np.linalg.norm((b[tips] - b[WRIST]) - (a[tips] - a[WRIST]), axis=1).mean()) / size
        if palm < PALM_STILL and fingers > FINGERS_MOVE:
            picked.append(t)
    out: dict[str, Any] = {"pairs": len(picked)}
    for name, track in points.items():
        dz = [1000.0 * (track[t][2] - track[t - 1][2]) for t in picked]
        out[f"{name}_depth_change_rms_mm"] = float(np.sqrt(np.mean(np.square(dz)))) if dz else float("nan")
    return out
