"""Synthetic RGB-D: depth images of a hand-shaped body around the synthetic generator's joints.

The body (its own anatomical numbers, not the estimator's surface-offset model): spheres swept along every
bone with radii interpolated between joint radii (finger breadths: 10-7 mm from knuckle to tip, thumb
13-8.5 mm), a palm slab (spheres of radius `PALM_HALF_THICKNESS_M` filling the wrist / thumb CMC / MCP
polygon) and a forearm (a 0.2 m cone from the wrist away from the fingers and from the camera, radius
24-30 mm); all radii
scale with the hand's mean bone length relative to the reference hand. Rendered by ray casting into a z
buffer at the colour camera's K and size (depth registered to colour), over a wall 0.3-1.0 m behind the
hand or no return at all.

Sensor model (a stereo camera, RealSense D4xx-like): per-pixel Gaussian noise sigma_z = a z^2
(`DEFAULT_NOISE_PER_M`), millimetre quantisation (16UC1), random pixel dropout, hole blobs on the hand, and
at depth edges either dropout or a flying pixel (a value between the two sides). Occluders: a sphere nearer
than the hand covering part of it (a held object or the other hand).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from scalehp_ros.common.joints import BONES, INDEX_MCP, LITTLE_MCP, MIDDLE_MCP, RING_MCP, WRIST, mean_bone_length
from scalehp_ros.perception.anthropometry import PRIOR_MEAN_BONE_M

DEFAULT_NOISE_PER_M = 0.0036  # sigma_z = a z^2: RealSense D435 at 848x480, subpixel 0.08 px
PALM_HALF_THICKNESS_M = 0.014
_FINGER_R = (0.010, 0.009, 0.008, 0.007)  # MCP, PIP, DIP, tip
JOINT_RADIUS_M = np.array((0.022, 0.013, 0.011, 0.0095, 0.0085, *(_FINGER_R * 4)))
SPHERES_PER_BONE = 6


@dataclass(frozen=True)
class SensorModel:
    """noise_per_m: a in sigma_z = a z^2; dropout: per-pixel hole probability; holes: hole blobs per hand;
    edge_drop / edge_flying: probability that a pixel at a depth edge is dropped / becomes a flying pixel;
    wall_prob: probability of a wall behind the hand (else no return)."""

    noise_per_m: float = DEFAULT_NOISE_PER_M
    dropout: float = 0.02
    holes: int = 3
    edge_drop: float = 0.5
    edge_flying: float = 0.3
    wall_prob: float = 0.7


NOISE_FREE_SENSOR = SensorModel(0.0, 0.0, 0, 0.0, 0.0, 0.0)


def hand_spheres(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres (M, 3) and radii (M,) of the sphere-swept body of one hand (21, 3), metres."""
    k = float(mean_bone_length(joints)) / PRIOR_MEAN_BONE_M
    radius = JOINT_RADIUS_M * k
    centres, radii = [], []
    t = np.linspace(0.0, 1.0, SPHERES_PER_BONE)[:, None]
    for p, c in BONES:
        centres.append(joints[p] + t * (joints[c] - joints[p]))
        radii.append(radius[p] + t[:, 0] * (radius[c] - radius[p]))
    # palm slab: a triangle fan from the wrist over thumb CMC and the four MCPs, filled with spheres
    rim = joints[[1, INDEX_MCP, MIDDLE_MCP, RING_MCP, LITTLE_MCP]]
    w = joints[WRIST]
    for a, b in itertools.pairwise(rim):
        for u in np.linspace(0.0, 1.0, 6):
            for v in np.linspace(0.0, 1.0 - u, max(2, int(6 * (1 - u)) + 1)):
                centres.append((w + u * (a - w) + v * (b - w))[None])
                radii.append(np.array([PALM_HALF_THICKNESS_M * k]))
    # forearm: from the wrist, away from the middle finger's knuckle, and away from the camera (the operator
    # faces the camera: the arm comes from the body behind the hand, never covers it)
    back = w - joints[MIDDLE_MCP]
    back[2] = abs(back[2])
    back /= np.linalg.norm(back)
    s = np.linspace(0.0, 0.2, 12)[:, None]
    centres.append(w + s * back)
    radii.append((0.024 + 0.03 * s[:, 0]) * k)
    return np.concatenate(centres), np.concatenate(radii)


def render_spheres(
    centres: np.ndarray, radii: np.ndarray, K: np.ndarray, size: tuple[int, int], zbuf: np.ndarray | None = None
) -> np.ndarray:
    """Z buffer (H, W) of spheres seen by camera K (metres along the optical axis; inf where none)."""
    w, h = size
    if zbuf is None:
        zbuf = np.full((h, w), np.inf)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    for c, r in zip(centres, radii, strict=True):
        if c[2] - r <= 1e-3:
            continue
        rad_px = max(fx, fy) * r / (c[2] - r) + 1
        u0, v0 = fx * c[0] / c[2] + cx, fy * c[1] / c[2] + cy
        ua, ub = max(int(u0 - rad_px), 0), min(int(u0 + rad_px) + 1, w)
        va, vb = max(int(v0 - rad_px), 0), min(int(v0 + rad_px) + 1, h)
        if ua >= ub or va >= vb:
            continue
        uu, vv = np.meshgrid((np.arange(ua, ub) - cx) / fx, (np.arange(va, vb) - cy) / fy)
        # ray p = lam (x, y, 1): |lam d - c|^2 = r^2, the nearer root; lam is the depth z
        dd = uu * uu + vv * vv + 1.0
        dc = uu * c[0] + vv * c[1] + c[2]
        disc = dc * dc - dd * (c @ c - r * r)
        hit = disc >= 0
        lam = np.where(hit, (dc - np.sqrt(np.maximum(disc, 0.0))) / dd, np.inf)
        np.minimum(zbuf[va:vb, ua:ub], lam, out=zbuf[va:vb, ua:ub])
    return zbuf


def render_depth(
    joints: np.ndarray,
    K: np.ndarray,
    size: tuple[int, int],
    rng: np.random.Generator,
    sensor: SensorModel = SensorModel(),
    occluder: tuple[np.ndarray, float] | None = None,
) -> np.ndarray:
    """A float32 (H, W) depth image in metres (0 = no value) of one hand (21, 3) metres, camera K, size
    (width, height), with the sensor model; occluder: (centre (3,), radius) of a sphere to add."""
    centres, radii = hand_spheres(joints)
    if occluder is not None:
        centres = np.concatenate((centres, np.asarray(occluder[0], dtype=np.float64)[None]))
        radii = np.concatenate((radii, [occluder[1]]))
    z = render_spheres(centres, radii, K, size)
    w, h = size
    if rng.random() < sensor.wall_prob:
        z = np.minimum(z, float(joints[:, 2].max()) + rng.uniform(0.3, 1.0))
    z[~np.isfinite(z)] = 0.0
    # edges: a large jump to a neighbour (before noise): dropped, or a flying pixel between the two sides
    pad = np.pad(z, 1, mode="edge")
    nbr = np.stack((pad[:-2, 1:-1], pad[2:, 1:-1], pad[1:-1, :-2], pad[1:-1, 2:]))
    jump = np.abs(nbr - z[None])
    edge = (jump.max(0) > 0.03) & (z > 0)
    far = nbr[jump.argmax(0), np.arange(h)[:, None], np.arange(w)[None, :]]
    noisy = z + rng.normal(size=z.shape) * sensor.noise_per_m * z**2
    roll = rng.random(z.shape)
    flying = edge & (roll < sensor.edge_flying) & (far > 0)
    noisy[flying] = (z + rng.random(z.shape) * (far - z))[flying]
    noisy[edge & (roll >= sensor.edge_flying) & (roll < sensor.edge_flying + sensor.edge_drop)] = 0.0
    noisy[rng.random(z.shape) < sensor.dropout] = 0.0
    hand_px = np.argwhere(z > 0)
    for _ in range(sensor.holes if len(hand_px) else 0):
        cy, cx = hand_px[rng.integers(len(hand_px))]
        r = rng.uniform(2.0, 6.0)
        yy, xx = np.ogrid[:h, :w]
        noisy[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 0.0
    noisy[z <= 0] = 0.0
    return (np.round(np.maximum(noisy, 0.0) * 1000.0) / 1000.0).astype(np.float32)  # 16UC1 millimetres


# -- scalehp-eval rgbd ----------------------------------------------------------------------------------------

DISTANCE_BINS_M = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def occluder_for(joints: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A sphere (centre, radius) 8-20 cm nearer than the hand on the ray of one of its finger PIP, DIP or tip
    joints, covering (seen from the camera) a disc of radius 15-25 % of 4 mean bone lengths (about the hand's
    length) there: an object between the camera and part of the hand (some fingers, sometimes a knuckle)."""
    fingers = [j for j in range(2, len(joints)) if j not in (5, 9, 13, 17)]
    j = joints[fingers[rng.integers(len(fingers))]]
    z = max(float(joints[:, 2].min()) - rng.uniform(0.08, 0.2), 0.12)
    extent = 4.0 * float(mean_bone_length(joints))
    return j * (z / j[2]), float(rng.uniform(0.15, 0.25) * extent * z / j[2])


def _frames(operator, n: int, seed: int, rng: np.random.Generator, sensor: SensorModel, occlude: bool = False):
    from scalehp_ros.evaluation import synthetic
    from scalehp_ros.perception.frontend import Detection

    b = synthetic.generate(n, synthetic.NoiseModel(), seed=seed, operator=operator, depth_range=(0.3, 1.0))
    out = []
    for i in range(n):
        size = (int(b.image_size[i, 0]), int(b.image_size[i, 1]))
        occ = occluder_for(b.joints_cam[i], rng) if occlude else None
        depth = render_depth(b.joints_cam[i], b.K[i], size, rng, sensor, occ)
        det = Detection(b.uv[i], b.rel_detected[i], "left" if b.is_left[i] else "right", 1.0)
        out.append((det, b.K[i], size, depth, b.joints_cam[i]))
    return out


def _run(est, frames, use_depth: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Joints (M, 21, 3), scales (M,), depth used (M,) of the estimator on the frames (stills)."""
    joints, scales, used = [], [], []
    for det, K, size, depth, _ in frames:
        pose = est.estimate_from_detections([det], K, image_size=size, depth=depth if use_depth else None)[0]
        joints.append(pose.joints_cam)
        scales.append(pose.scale)
        used.append(pose.depth_used)
    return np.array(joints), np.array(scales), np.array(used)


def eval_rgbd(operators: int, frames: int, seed: int, out_dir: str | None = None) -> dict:
    """The synthetic RGB-D evaluation (README "RGB-D"): per operator, a calibration sequence with depth from
    the population prior (depth accuracy, frames to converge, calibrated scale), then a second sequence of
    the same operator: RGB only with the written profile vs the true scale vs the prior, depth with the
    profile, and depth with an occluder in front of part of the hand."""
    import tempfile
    from pathlib import Path

    from scalehp_ros.evaluation import metrics, synthetic
    from scalehp_ros.perception.anthropometry import MEAN_BONE_PER_HAND_LENGTH
    from scalehp_ros.perception.estimator import HandPoseEstimator
    from scalehp_ros.perception.settings import EstimatorConfig

    rng = np.random.default_rng(seed)
    sensor = SensorModel()
    if out_dir is None:  # the written profiles live only as long as the run
        with tempfile.TemporaryDirectory(prefix="scalehp_rgbd_") as tmp:
            return eval_rgbd(operators, frames, seed, tmp)
    tmp = Path(out_dir)
    rows: dict[str, list] = {k: [] for k in ("depth_cold", "depth", "rgb_cal", "rgb_true", "rgb_prior", "occluded")}
    gts: dict[str, list] = {k: [] for k in rows}
    per_operator = []
    for op in range(operators):
        operator = synthetic.random_operator(rng)
        true_scale = float(np.mean(operator[1]))
        calib = _frames(operator, frames, seed * 1000 + 2 * op, rng, sensor)
        profile_path = tmp / f"operator_{op}.yaml"
        est = HandPoseEstimator(EstimatorConfig().replace({"online_scale.profile_out": str(profile_path)}))
        status = []
        for det, K, size, depth, gt in calib:
            pose = est.estimate_from_detections([det], K, image_size=size, depth=depth)[0]
            rows["depth_cold"].append(pose.joints_cam)
            gts["depth_cold"].append(gt)
            st = est.calibration_status().get("operator")
            status.append(None if st is None else st.state)
        converged = [c for c in est.calibration_status().values() if c.state == "converged"]
        calibrated = float(np.mean([c.scale for c in converged])) if converged else float("nan")
        after = min((c.converged_after for c in converged), default=None)
        frames_all = [i + 1 for i, s in enumerate(status) if s == "converged"]
        first = frames_all[0] if frames_all else None
        test = _frames(operator, frames, seed * 1000 + 2 * op + 1, rng, sensor)
        occl = _frames(operator, frames, seed * 1000 + 2 * op + 1, rng, sensor, occlude=True)
        gt = [f[4] for f in test]
        configs = {
            "rgb_true": EstimatorConfig().replace(
                {"scale.mode": "fixed", "scale.hand_length_m": true_scale / MEAN_BONE_PER_HAND_LENGTH}
            ),
            "rgb_prior": EstimatorConfig(),
        }
        if profile_path.is_file():
            configs["rgb_cal"] = EstimatorConfig().replace(
                {"scale.operator_profile": str(profile_path), "online_scale.enabled": False}
            )
            depth_cfg = configs["rgb_cal"]
        else:
            depth_cfg = EstimatorConfig().replace({"online_scale.enabled": False})
        for name, cfg in configs.items():
            rows[name] += list(_run(HandPoseEstimator(cfg), test, use_depth=False)[0])
            gts[name] += gt
        j, _, used = _run(HandPoseEstimator(depth_cfg), test, use_depth=True)
        rows["depth"] += list(j)
        gts["depth"] += gt
        jo, _, used_o = _run(HandPoseEstimator(depth_cfg), occl, use_depth=True)
        rows["occluded"] += list(jo)
        gts["occluded"] += [f[4] for f in occl]
        per_operator.append(
            {
                "true_scale_mm": 1000 * true_scale,
                "calibrated_scale_mm": 1000 * calibrated,
                "scale_error_pct": 100 * (calibrated - true_scale) / true_scale,
                "frames_to_converge": first,
                "samples_to_converge": after,
                "depth_used_fraction": float(np.mean(used)),
                "depth_used_fraction_occluded": float(np.mean(used_o)),
            }
        )
    out: dict = {"operators": operators, "frames": frames, "seed": seed, "sensor_noise_per_m": sensor.noise_per_m}
    for name in rows:
        if rows[name]:
            out[name] = metrics.summarize(np.array(rows[name]), np.array(gts[name]))
    # the curve over distance: depth (calibrated) and RGB only with the calibrated profile, by wrist distance
    curve = []
    for name in ("depth", "rgb_cal"):
        if not rows[name]:
            continue
        pred, gt = np.array(rows[name]), np.array(gts[name])
        err = metrics.per_joint_errors_mm(pred, gt).mean(1)
        for lo, hi in itertools.pairwise(DISTANCE_BINS_M):
            sel = (gt[:, 0, 2] >= lo) & (gt[:, 0, 2] < hi)
            if sel.any():
                curve.append(
                    {"set": name, "from_m": lo, "to_m": hi, "n": int(sel.sum()), "cs_mpjpe_mm": float(err[sel].mean())}
                )
    out["curve"] = curve
    out["per_operator"] = per_operator
    errs = [abs(p["scale_error_pct"]) for p in per_operator]
    out["calibration_scale_error_pct_max"] = float(np.max(errs)) if errs else float("nan")
    conv = [p["frames_to_converge"] for p in per_operator if p["frames_to_converge"] is not None]
    out["calibration_converged"] = f"{len(conv)}/{operators}"
    out["frames_to_converge_median"] = float(np.median(conv)) if conv else float("nan")
    out["frames_to_converge_max"] = int(max(conv)) if conv else None
    return out
