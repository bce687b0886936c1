"""scalehp-eval: accuracy and stability of the ScaleHP pipeline.

  scalehp-eval synthetic [--samples N]      own kinematic hand generator, every solver and scale mode
  scalehp-eval rhd PATH [--degrade D]       mmpose-style RHD JSON (+ images), full pipeline with MediaPipe
  scalehp-eval freihand PATH [--degrade D]  FreiHAND evaluation layout, full pipeline with MediaPipe
  scalehp-eval hands PATH                   photos with hand boxes (hands.json) and their degradations: recall
  scalehp-eval video PATH [--hfov-deg 60]   unannotated clip (a video file or a recorded episode bag, whose
                  [--param NAME=VALUE]      CameraInfo gives K): detection rate, scale stability, jitter, with
                                            the default estimator parameters or those given
  scalehp-eval drift [--sequences N]        synthetic fixed-wrist sequences, fingers open/close/point/pinch:
                                            the wrist's drift per placement (wrist_drift_rms_mm, evaluation.drift)
  scalehp-eval rgbd [--operators N]         synthetic RGB-D (evaluation.rgbd): depth fusion, online scale
                                            calibration, RGB only after it, an occluder; the curve over distance

Errors in millimetres: CS-MPJPE (camera space, no alignment), R-MPJPE (wrist aligned), PA-MPJPE
(similarity Procrustes), AUC of the camera-space PCK over 0-50 mm, scale error in % of the true mean bone
length, mean absolute error along the camera's x, y and z (depth) axes, camera space (x/y/z_mae_mm) and wrist
aligned (r_x/y/z_mae_mm). Detection recall: annotated visible hands found / annotated, with the default
detector path (MediaPipe plus the acquisition fallback) and with MediaPipe alone (`_detector_only`).
`--degrade` (grey, dark, small) evaluates a degraded copy of an annotated set (evaluation.counting).
`--json` prints one JSON object on the last line with the default configuration's numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from scalehp_ros.common.joints import bone_lengths, mean_bone_length
from scalehp_ros.common.pinhole import focal_from_fov
from scalehp_ros.evaluation import counting, drift, metrics, sheet_renders, synthetic
from scalehp_ros.evaluation.datasets import Sample, load_freihand, load_rhd
from scalehp_ros.perception.acquisition import Acquisition
from scalehp_ros.perception.anthropometry import MEAN_BONE_PER_HAND_LENGTH
from scalehp_ros.perception.calibration import CalibrationError
from scalehp_ros.perception.camera import pixels_to_normalized
from scalehp_ros.perception.estimator import HandPose, HandPoseEstimator, validate_image
from scalehp_ros.perception.frontend import Detection, MediaPipeFrontend
from scalehp_ros.perception.profile import OperatorProfile, profile_from_joints
from scalehp_ros.perception.root_solver import SOLVERS, solve_translation
from scalehp_ros.perception.scale import SCALE_MODES
from scalehp_ros.perception.settings import EstimatorConfig

# Ablations of the default configuration reported next to the solver x scale-mode grid.
ABLATIONS: dict[str, dict[str, Any]] = {
    # the default places by the solve, guarded (docs/accuracy.md): the fit's placement, the old still default
    # (auto), and the solve without the guard
    "placement.mode=fit": {"placement.mode": "fit"},
    "placement.mode=auto": {"placement.mode": "auto"},
    "placement.guard=false": {"placement.guard": False},
    "canonical.proportions=detector": {"canonical.proportions": "detector"},
    "canonical.ray_align=false": {"canonical.ray_align": False},
    "root_solve.joint_weighting=uniform": {"root_solve.joint_weighting": "uniform"},
    "canonical.model=lifter": {"canonical.model": "lifter"},
    "canonical.model=fit": {"canonical.model": "fit"},
    # the fit already matches the 2D keypoints: the LM refine's pull towards the detector's pose is not needed
    "canonical.model=fit root_solve.solver=linear": {"canonical.model": "fit", "root_solve.solver": "linear"},
}
# The operator-profile mode with each sample's profile built from its own ground truth (an upper bound) and
# measured by an ArUco sheet calibration run of a hand with the sample's true bone lengths (the fewest frames
# a calibration accepts, synthetic marker renders: evaluation.sheet_renders).
PROFILE_ROW = "profile=ground truth"
CALIBRATION_ROW = "profile=sheet calibration"


def _ground_truth_profile(joints: np.ndarray) -> OperatorProfile:
    return profile_from_joints("ground truth", {"left": joints, "right": joints}, "ground_truth")


def _calibrated_profile(joints: np.ndarray, seed: int) -> OperatorProfile | None:
    """The profile a sheet calibration run measures for this hand, or None where the run is refused."""
    try:
        return sheet_renders.calibration_run(bone_lengths(joints), seed=seed)
    except CalibrationError:
        return None


def _configs() -> dict[str, dict[str, Any]]:
    """Row name -> config changes (parameter names); the first row is the default configuration."""
    rows: dict[str, dict[str, Any]] = {"default": {}}
    for solver in SOLVERS:
        for scale in SCALE_MODES:
            rows[f"solver={solver} scale={scale}"] = {"root_solve.solver": solver, "scale.mode": scale}
    rows.update(ABLATIONS)
    rows[PROFILE_ROW] = {}
    rows[CALIBRATION_ROW] = {}
    return rows


def _print_table(title: str, rows: dict[str, dict[str, float]]) -> None:
    keys = ("cs_mpjpe_mm", "r_mpjpe_mm", "pa_mpjpe_mm", "auc_50mm", "x_mae_mm", "y_mae_mm", "z_mae_mm")
    keys += ("scale_error_pct",)
    print(f"\n{title}")
    print(f"| configuration | {' | '.join(keys)} |")
    print(f"| --- | {' | '.join('---' for _ in keys)} |")
    for name, m in rows.items():
        cells = [f"{m[k]:.3f}" if k == "auc_50mm" else f"{m[k]:.1f}" for k in keys if k in m]
        print(f"| {name} | {' | '.join(cells)} |")


# The placement guard's checks (perception.placement) as they appear in HandPose.placement_fallback, in the
# order they are tested: the key each fallback is counted under.
GUARD_CHECKS = (
    ("non-finite", "non_finite"),
    ("apart in depth", "solve_fit_disagree"),
    ("depth jump", "depth_jump"),
    ("bone lengths", "bone_lengths"),
    ("reprojection", "reprojection"),
    ("depth", "depth_range"),
)


def guard_summary(fallbacks: Sequence[str]) -> dict[str, Any]:
    """What the placement guard did over a set of hands: {hands, fallbacks (the other placement used), kept
    (both implausible, the configured one kept), reasons: {check: count}} from HandPose.placement_fallback."""
    reasons: dict[str, int] = {}
    for text in fallbacks:
        if not text:
            continue
        first = text.split(";")[0]
        key = next((k for needle, k in GUARD_CHECKS if needle in first), "other")
        reasons[key] = reasons.get(key, 0) + 1
    used = sum(1 for t in fallbacks if t.endswith(" used"))
    kept = sum(1 for t in fallbacks if t and not t.endswith(" used"))
    return {"hands": len(fallbacks), "fallbacks": used, "kept": kept, "reasons": reasons}


def _run_rows(
    hand_lengths: np.ndarray, run: Callable[[HandPoseEstimator, int], HandPose | None], n: int, gt: np.ndarray
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray, list[int], list[str]]], int]:
    """For every config row, run `run(estimator, i)` on samples 0..n-1. Returns ({row: (joints, scales,
    sample indices, placement guard reasons)}, how many sheet calibration runs were refused: those samples are
    not in that row)."""
    preds: dict[str, Any] = {}
    refused = 0
    for name, changes in _configs().items():
        est = HandPoseEstimator(EstimatorConfig().replace(changes))
        joints, scales, hits, guard = [], [], [], []
        for i in range(n):
            if changes.get("scale.mode") == "fixed":
                est.update_config({"scale.hand_length_m": float(hand_lengths[i])})
            if name == PROFILE_ROW:
                est.set_operator_profile(_ground_truth_profile(gt[i]))
            if name == CALIBRATION_ROW:
                profile = _calibrated_profile(gt[i], seed=i)
                if profile is None:  # refused: an operator would calibrate again; not scored
                    refused += 1
                    continue
                est.set_operator_profile(profile)
            pose = run(est, i)
            if pose is not None:
                joints.append(pose.joints_cam)
                scales.append(pose.scale)
                hits.append(i)
                guard.append(pose.placement_fallback)
        preds[name] = (np.array(joints).reshape(-1, 21, 3), np.array(scales), hits, guard)
    if refused:
        print(f"{CALIBRATION_ROW}: {refused} of {n} calibration runs refused (those samples not scored in that row)")
    return preds, refused


def _summaries(preds: dict[str, Any], gt: np.ndarray) -> dict[str, dict[str, float]]:
    out = {}
    for name, (joints, scales, hits, guard) in preds.items():
        if len(hits) == 0:
            out[name] = {}
            continue
        out[name] = metrics.summarize(joints, gt[hits], scales)
        out[name]["placement_guard"] = guard_summary(guard)
    return out


# -- synthetic ------------------------------------------------------------------------------------------


def eval_synthetic(samples: int, seed: int, noise_free: bool) -> dict[str, Any]:
    noise = synthetic.NOISE_FREE if noise_free else synthetic.NoiseModel()
    batch = synthetic.generate(samples, noise, seed=seed)
    # an operator's ruler measurement: the true hand length +- 2 mm
    measured = batch.hand_length + np.random.default_rng(seed + 1).normal(0.0, 0.002, samples)
    detections = [
        Detection(batch.uv[i], batch.rel_detected[i], "left" if batch.is_left[i] else "right", 1.0)
        for i in range(samples)
    ]

    def run(est: HandPoseEstimator, i: int) -> HandPose | None:
        return est.estimate_from_detections([detections[i]], batch.K[i], image_size=tuple(batch.image_size[i]))[0]

    preds, refused = _run_rows(measured, run, samples, batch.joints_cam)
    rows = _summaries(preds, batch.joints_cam)
    _print_table(
        f"synthetic: {samples} hands, seed {seed}, {'no noise' if noise_free else 'detector-like noise'}", rows
    )
    print(f"placement guard, default row: {rows['default'].get('placement_guard')}")
    return dict(rows["default"], samples=samples, configs=rows, calibration_refused=refused)


# -- annotated image sets ---------------------------------------------------------------------------------


def _match(detections: list[Detection], sample: Sample) -> int | None:
    """Index of the detection whose keypoints lie on the annotated hand, or None."""
    if not detections:
        return None
    dist = [np.linalg.norm(d.uv - sample.joints_2d, axis=1).mean() for d in detections]
    best = int(np.argmin(dist))
    extent = np.linalg.norm(sample.joints_2d.max(0) - sample.joints_2d.min(0))
    return best if dist[best] <= 0.25 * extent else None


def _detector(config: EstimatorConfig) -> tuple[MediaPipeFrontend, Acquisition]:
    """The estimator's still-image detector path: MediaPipe, then the acquisition fallback."""
    frontend = MediaPipeFrontend(config.frontend)
    return frontend, Acquisition(frontend.detect, config.acquisition)


def eval_images(samples: list[Sample], title: str, degrade: str | None = None, seed: int = 0) -> dict[str, Any]:
    if not samples:
        raise ValueError(f"{title}: no samples")
    config = EstimatorConfig()
    frontend, acquisition = _detector(config)
    rng = np.random.default_rng(seed)
    matched: list[Detection | None] = []
    found_plain = calls = 0
    try:
        for i, s in enumerate(samples):
            image = validate_image(s.load_rgb())
            if degrade is not None:
                image, offset = counting.degrade_annotated(degrade, image, rng)
                K = s.K.copy()
                K[:2, 2] += offset
                samples[i] = s = Sample(s.image_path, K, s.joints_cam, s.joints_2d + offset, s.hand_type)
            first = frontend.detect(image)
            found_plain += _match(first, s) is not None
            dets = acquisition.detect(image, first, config.frontend.max_hands)
            calls += acquisition.last_report.detector_calls
            k = _match(dets, s)
            matched.append(None if k is None else dets[k])
    finally:
        frontend.close()
    if degrade is not None:
        title = f"{title} degraded {degrade}"
    gt = np.stack([s.joints_cam for s in samples])
    # 'fixed' on annotated data: the hand length a ruler would give, from the ground-truth skeleton
    hand_lengths = mean_bone_length(gt) / MEAN_BONE_PER_HAND_LENGTH

    def run(est: HandPoseEstimator, i: int) -> HandPose | None:
        det = matched[i]
        return None if det is None else est.estimate_from_detections([det], samples[i].K)[0]

    preds, refused = _run_rows(hand_lengths, run, len(samples), gt)
    rows = _summaries(preds, gt)
    detection_rate = sum(m is not None for m in matched) / len(samples)
    sides = [(m.handedness, s.hand_type) for m, s in zip(matched, samples, strict=True) if m and s.hand_type]
    handedness_acc = float(np.mean([a == b for a, b in sides])) if sides else float("nan")
    recall_plain = found_plain / len(samples)
    _print_table(
        f"{title}: {len(samples)} images, detection recall {detection_rate:.3f} "
        f"(MediaPipe alone {recall_plain:.3f}, {calls / len(samples):.1f} detector calls per image)",
        rows,
    )
    default_joints, _, hits, _ = preds["default"]
    per_image = metrics.per_joint_errors_mm(default_joints, gt[hits]).mean(axis=1)
    print(f"default CS-MPJPE per detected image (mm): {np.round(per_image, 1).tolist()}")
    print(f"placement guard, default row: {rows['default'].get('placement_guard')}")
    if sides:
        print(f"handedness accuracy: {handedness_acc:.3f} ({len(sides)} labelled hands)")
    # The floor the 2D keypoints leave: the ground-truth 3D shape and scale placed by the closed-form solve
    # on MediaPipe's 2D keypoints (no estimator could do better with those keypoints and a least-squares fit).
    floor = []
    for i in hits:
        t = solve_translation(gt[i] - gt[i, 0], pixels_to_normalized(matched[i].uv, samples[i].K))
        floor.append(metrics.per_joint_errors_mm((gt[i] + t - gt[i, 0])[None], gt[i][None]).mean())
    floor_mm = float(np.mean(floor)) if floor else float("nan")
    print(f"floor (ground-truth shape and scale on MediaPipe's 2D keypoints), CS-MPJPE: {floor_mm:.1f} mm")
    out = dict(rows["default"], detection_rate=detection_rate, images=len(samples), configs=rows)
    out["calibration_refused"] = refused
    # one annotated hand per image: recall = detection rate
    out.update(
        detection_recall=detection_rate,
        detection_recall_detector_only=recall_plain,
        hands_annotated=len(samples),
        hands_found=sum(m is not None for m in matched),
        detector_calls_per_image=calls / len(samples),
    )
    if degrade is not None:
        out["degrade"] = degrade
    out["floor_cs_mpjpe_mm"] = floor_mm
    if sides:
        out["handedness_accuracy"] = handedness_acc
    return out


# -- detection recall on photos with hand boxes --------------------------------------------------------------


def eval_hands(path: Path, seed: int) -> dict[str, Any]:
    """Recall of the detector path with and without the fallback on a count set and its degradations."""
    clean = counting.load_count_set(path)
    sets = {"clean": clean, **counting.degraded_sets(clean, seed)}
    config = EstimatorConfig()
    frontend, acquisition = _detector(config)
    out: dict[str, Any] = {"sets": {}}
    total = {"hands": 0, "found": 0, "found_detector_only": 0}
    print(f"\nhands {path}: detection recall (found / visible hands), seed {seed}")
    print("| set | images | hands | recall | MediaPipe alone | false positives | detector calls / image | ms / image |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    try:
        for name, samples in sets.items():
            found = plain = fp = calls = hands = 0
            seconds = 0.0
            for s in samples:
                first = frontend.detect(s.image)
                dets = acquisition.detect(s.image, first, config.frontend.max_hands)
                seconds += acquisition.last_report.time_s + frontend.last_inference_s
                calls += acquisition.last_report.detector_calls
                f, p = counting.match(dets, s.boxes)
                found, fp, hands = found + f, fp + p, hands + len(s.boxes)
                plain += counting.match(first, s.boxes)[0]
            row = {
                "images": len(samples),
                "hands": hands,
                "found": found,
                "detection_recall": found / hands,
                "detection_recall_detector_only": plain / hands,
                "false_positives": fp,
                "detector_calls_per_image": calls / len(samples),
                "ms_per_image": 1000.0 * seconds / len(samples),
            }
            out["sets"][name] = row
            total["hands"] += hands
            total["found"] += found
            total["found_detector_only"] += plain
            print(
                f"| {name} | {len(samples)} | {hands} | {found}/{hands} | {plain}/{hands} | {fp} "
                f"| {row['detector_calls_per_image']:.1f} | {row['ms_per_image']:.0f} |"
            )
    finally:
        frontend.close()
    out["detection_recall"] = total["found"] / total["hands"]
    out["detection_recall_detector_only"] = total["found_detector_only"] / total["hands"]
    out["hands"] = total["hands"]
    print(
        f"all sets: recall {total['found']}/{total['hands']} "
        f"(MediaPipe alone {total['found_detector_only']}/{total['hands']})"
    )
    return out


# -- video ------------------------------------------------------------------------------------------------


def _jitter_mm(track: list[np.ndarray | None]) -> float:
    """Mean |x[t+1] - 2 x[t] + x[t-1]| over joints and frame triplets with a hand in all three, mm/frame^2."""
    acc = []
    for a, b, c in zip(track, track[1:], track[2:], strict=False):
        if a is not None and b is not None and c is not None:
            acc.append(np.linalg.norm(c - 2 * b + a, axis=-1).mean())
    return 1000.0 * float(np.mean(acc)) if acc else float("nan")


def _video_frames(path: Path, hfov_deg: float):
    """(fps, iterator of (rgb, K, stamp s)) of a video file, or of a recorded episode bag (its camera images,
    header stamps and recorded CameraInfo K; hfov_deg only where the bag has no CameraInfo)."""
    import cv2

    def pinhole(w: int, h: int) -> np.ndarray:
        f = focal_from_fov(w, hfov_deg)
        return np.array([[f, 0.0, w / 2.0], [0.0, f, h / 2.0], [0.0, 0.0, 1.0]])

    from scalehp_ros.recording.bag import is_bag

    if is_bag(path):
        from scalehp_ros.recording.bag import BagReader

        def bag_frames():
            K = None
            t0 = None
            with BagReader(path) as bag:
                for m in bag.messages():
                    if m.msgtype == "sensor_msgs/msg/CameraInfo":
                        K = np.array(BagReader.decode(m).k, dtype=float).reshape(3, 3)
                    elif m.msgtype in ("sensor_msgs/msg/CompressedImage", "sensor_msgs/msg/Image"):
                        msg = BagReader.decode(m)
                        if m.msgtype.endswith("CompressedImage"):
                            bgr = cv2.imdecode(np.asarray(msg.data, dtype=np.uint8), cv2.IMREAD_COLOR)
                            rgb = np.ascontiguousarray(bgr[:, :, ::-1])
                        else:
                            h, w = int(msg.height), int(msg.width)
                            rgb = np.asarray(msg.data, dtype=np.uint8).reshape(h, int(msg.step))[:, : w * 3]
                            rgb = np.ascontiguousarray(rgb.reshape(h, w, 3))
                            if msg.encoding == "bgr8":
                                rgb = np.ascontiguousarray(rgb[:, :, ::-1])
                        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
                        t0 = stamp if t0 is None else t0
                        h, w = rgb.shape[:2]
                        yield rgb, (K if K is not None else pinhole(w, h)), stamp - t0

        return 30.0, bag_frames()

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"cannot open video {path}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0

    def file_frames():
        index = -1
        try:
            while True:
                ok, bgr = cap.read()
                if not ok:
                    return
                index += 1
                rgb = np.ascontiguousarray(bgr[:, :, ::-1])
                h, w = rgb.shape[:2]
                yield rgb, pinhole(w, h), index / fps
        finally:
            cap.release()

    return fps, file_frames()


def _param_overrides(items: Sequence[str]) -> dict[str, Any]:
    """{name: value} from NAME=VALUE strings, the value read as YAML (as `ros2 param set` does)."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--param expects NAME=VALUE, got {item!r}")
        try:
            out[name.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ValueError(f"--param {name.strip()}: the value is not valid YAML: {exc}") from exc
    return out


def eval_video(
    path: Path, hfov_deg: float, max_frames: int | None, stride: int, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """params: estimator parameter overrides (names as in config/hand_pose.yaml, e.g. placement.mode)."""
    config = EstimatorConfig().replace(params or {})
    fps, source = _video_frames(path, hfov_deg)
    frontend = MediaPipeFrontend(config.frontend)
    filtered_est, raw_est = HandPoseEstimator(config), HandPoseEstimator(config)
    raw, filt, scales, sizes, det_sizes, guard = [], [], [], [], [], []
    uvs, raw_refs = [], []
    frames = hits = 0
    try:
        for index, (rgb, K, stamp) in enumerate(source):
            if max_frames is not None and frames >= max_frames:
                break
            if index % stride:
                continue
            frames += 1
            h, w = rgb.shape[:2]
            dets = frontend.detect(rgb, round(stamp * 1000.0))[:1]  # the clip's one hand: the first detection
            p_raw = raw_est.estimate_from_detections(dets, K)
            p_filt = filtered_est.estimate_from_detections(dets, K, stamp, image_size=(w, h))
            if dets:
                hits += 1
                raw.append(p_raw[0].joints_cam)
                raw_refs.append(p_raw[0].arm_reference)
                uvs.append(dets[0].uv)
                filt.append(p_filt[0].joints_cam)
                scales.append(p_filt[0].scale)
                sizes.append(float(mean_bone_length(p_raw[0].joints_cam)))
                det_sizes.append(float(mean_bone_length(dets[0].rel3d)))
                guard.append(p_filt[0].placement_fallback)
            else:
                raw.append(None)
                filt.append(None)
                raw_refs.append(None)
                uvs.append(None)
    finally:
        source.close()
        frontend.close()
    if frames == 0:
        raise ValueError(f"{path}: no frames read")

    def cv(values: list[float]) -> float:
        return float(np.std(values) / np.mean(values)) if values else float("nan")

    out = {
        "frames": frames,
        "detection_rate": hits / frames,
        "scale_std_over_mean": cv(scales),
        "joints_size_std_over_mean": cv(sizes),
        "detector_size_std_over_mean": cv(det_sizes),
        "jitter_raw_mm_per_frame2": _jitter_mm(raw),
        "jitter_filtered_mm_per_frame2": _jitter_mm(filt),
        "wrist_depth_mean_m": float(np.mean([j[0, 2] for j in raw if j is not None])) if hits else float("nan"),
        "wrist_depth_mean_stream_m": (
            float(np.mean([j[0, 2] for j in filt if j is not None])) if hits else float("nan")
        ),
        "placement_guard": guard_summary(guard),
        # frames where the palm holds still in 2D and the fingers move: how far the wrist moves in depth
        "fingers_only": drift.articulation_pairs(
            uvs, {"wrist": [None if j is None else j[0] for j in raw], "arm_reference": raw_refs}
        ),
    }
    print(f"\nvideo {path}: {frames} frames at {fps:.1f} fps (stride {stride}), assumed hfov {hfov_deg} deg")
    for k, v in out.items():
        print(f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}")
    return out


def _eval_rgbd(operators: int, frames: int, seed: int) -> dict[str, Any]:
    from scalehp_ros.evaluation.rgbd import eval_rgbd

    out = eval_rgbd(operators, frames, seed)
    names = {
        "depth_cold": "depth, from the prior scale (calibration sequences)",
        "depth": "depth, calibrated profile (test sequences)",
        "occluded": "depth, calibrated, object in front of part of the hand",
        "rgb_cal": "RGB only, calibrated profile",
        "rgb_true": "RGB only, true scale (scale.mode fixed)",
        "rgb_prior": "RGB only, population prior",
    }
    _print_table(
        f"rgbd: {operators} synthetic operators x {frames} frames, 0.3-1.0 m, sigma_z = "
        f"{out['sensor_noise_per_m']} z^2, seed {seed}",
        {label: out[key] for key, label in names.items() if key in out},
    )
    print(
        "\n| set | "
        + " | ".join(f"{c['from_m']:.1f}-{c['to_m']:.1f} m" for c in out["curve"] if c["set"] == "depth")
        + " |"
    )
    print("| --- |" + " --- |" * sum(c["set"] == "depth" for c in out["curve"]))
    for name in ("depth", "rgb_cal"):
        cells = [f"{c['cs_mpjpe_mm']:.1f}" for c in out["curve"] if c["set"] == name]
        print(f"| {name} CS-MPJPE mm | " + " | ".join(cells) + " |")
    print("\n| operator | true scale mm | calibrated mm | error % | frames to converge |")
    print("| --- | --- | --- | --- | --- |")
    for i, p in enumerate(out["per_operator"]):
        print(
            f"| {i} | {p['true_scale_mm']:.2f} | {p['calibrated_scale_mm']:.2f} | {p['scale_error_pct']:+.2f} "
            f"| {p['frames_to_converge']} |"
        )
    return out


def _eval_drift(sequences: int, frames: int, seed: int, params: dict[str, Any] | None = None) -> dict[str, Any]:
    out = drift.eval_drift(sequences, frames, seed, params)
    print(f"\ndrift: {sequences} fixed-wrist sequences x {frames} frames ({' -> '.join(out['gestures'])}), seed {seed}")
    print("| placement | mode | wrist drift RMS / max mm | arm reference drift RMS / max mm | wrist error mm |")
    print("| --- | --- | --- | --- | --- |")
    for name, row in out["placements"].items():
        for mode, m in row.items():
            print(
                f"| {name} | {mode} | {m['wrist_drift_rms_mm']:.1f} / {m['wrist_drift_max_mm']:.1f} "
                f"| {m['arm_reference_drift_rms_mm']:.1f} / {m['arm_reference_drift_max_mm']:.1f} "
                f"| {m['wrist_error_mm']:.1f} |"
            )
    step = out["arm_reference_step"]
    print(
        f"arm reference filter, wrist moving {drift.STEP_M * 100:.0f} cm (sideways x / in depth z): step settles in "
        f"{step['step_x_settle_ms']:.0f} / {step['step_z_settle_ms']:.0f} ms, a {drift.MOVE_S:.1f} s move lags "
        f"{step['move_x_lag_ms']:.0f} / {step['move_z_lag_ms']:.0f} ms"
    )
    return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scalehp-eval", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("synthetic", help="synthetic hands with ground truth")
    p.add_argument("--samples", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--noise-free", action="store_true", help="exact 2D and relative 3D (solver check)")
    for name in ("rhd", "freihand"):
        p = sub.add_parser(name, help=f"{name.upper()} annotated images")
        p.add_argument("path", type=Path)
        p.add_argument("--degrade", choices=counting.ANNOTATED_DEGRADATIONS, default=None)
        p.add_argument("--seed", type=int, default=0, help="seed of the degradation")
    p = sub.add_parser("hands", help="detection recall on photos with hand boxes and their degradations")
    p.add_argument("path", type=Path, help="folder with the photos and hands.json")
    p.add_argument("--seed", type=int, default=0, help="seed of the degradations")
    p = sub.add_parser("drift", help="synthetic fixed-wrist sequences: the wrist's drift while the fingers move")
    p.add_argument("--sequences", type=int, default=6)
    p.add_argument("--frames", type=int, default=61, help="frames per sequence")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="estimator parameter for this run (repeatable), e.g. filters.reference_depth_min_cutoff_hz=1.0",
    )
    p = sub.add_parser("rgbd", help="synthetic RGB-D: depth fusion and online scale calibration")
    p.add_argument("--operators", type=int, default=4)
    p.add_argument("--frames", type=int, default=300, help="frames per operator and sequence")
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("video", help="unannotated clip (video file or episode bag): stability and jitter")
    p.add_argument("path", type=Path)
    p.add_argument("--hfov-deg", type=float, default=60.0, help="assumed horizontal field of view (no K known)")
    p.add_argument("--max-frames", type=int, default=None)
    p.add_argument("--stride", type=int, default=1, help="use every n-th frame")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="estimator parameter for this run (repeatable), e.g. placement.mode=fit (docs/parameters.md; the "
        "old flat names, e.g. root_placement=fit, still work)",
    )
    args = parser.parse_args(argv)
    try:
        if args.cmd == "synthetic":
            result = eval_synthetic(args.samples, args.seed, args.noise_free)
        elif args.cmd == "rhd":
            result = eval_images(load_rhd(args.path), f"rhd {args.path}", args.degrade, args.seed)
        elif args.cmd == "freihand":
            result = eval_images(load_freihand(args.path), f"freihand {args.path}", args.degrade, args.seed)
        elif args.cmd == "drift":
            result = _eval_drift(args.sequences, args.frames, args.seed, _param_overrides(args.param))
        elif args.cmd == "rgbd":
            result = _eval_rgbd(args.operators, args.frames, args.seed)
        elif args.cmd == "hands":
            result = eval_hands(args.path, args.seed)
        else:
            params = _param_overrides(args.param)
            result = eval_video(args.path, args.hfov_deg, args.max_frames, max(1, args.stride), params)
    except (ValueError, FileNotFoundError) as exc:
        print(f"scalehp-eval: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(_jsonable(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
