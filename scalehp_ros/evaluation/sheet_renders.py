"""Synthetic renders of the ArUco calibration sheet with a flat hand of known size.

Used by the calibration tests and by `scalehp-eval`'s `profile=sheet calibration` rows (`calibration_run`).
The hand is drawn as coloured lines, not a photographic hand: MediaPipe does not find it, so its projected
keypoints (0.7 px noise) and relative 3D (2 mm noise) stand in for a detector's. K: the renders' intrinsics
(1280 x 720). The sheet's pose is found from the rendered markers by the real `Calibrator`.
"""

from __future__ import annotations

import functools

import numpy as np

from scalehp_ros.common.joints import FINGER_CHAINS
from scalehp_ros.perception.anthropometry import REFERENCE_BONE_LENGTHS_M
from scalehp_ros.perception.calibration import CalibrationSettings, Calibrator, SheetSpec, render_sheet
from scalehp_ros.perception.profile import OperatorProfile

PX_PER_MM = 4.0
WIDTH, HEIGHT = 1280, 720
K = np.array([[900.0, 0.0, 639.5], [0.0, 900.0, 359.5], [0.0, 0.0, 1.0]])
SPREAD_DEG = {"thumb": 35.0, "index": 10.0, "middle": 0.0, "ring": -10.0, "little": -21.0}
TRUE_LENGTHS = REFERENCE_BONE_LENGTHS_M * 1.07  # a hand 7 % larger than the reference
Render = tuple[np.ndarray, np.ndarray, np.ndarray]  # (image RGB, uv (21, 2) px, rel3d (21, 3) m)
PNP_ROWS = ("sheet calibration, palm PnP", "published, palm PnP")  # convention_offset's palm PnP rows


def _rot(axis: str, deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return {"x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]), "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])}[axis]


def flat_hand(
    lengths: np.ndarray,
    wrist_xy: tuple[float, float] = (0.105, 0.25),
    height: float = 0.010,
    bend: str | None = None,
) -> np.ndarray:
    """(21, 3) sheet-frame joints (m) of a flat hand with bone lengths `lengths` (20,) m, fingers straight and
    pointing up the page, the wrist at `wrist_xy` (m, sheet frame), `height` (m) above the sheet; `bend`: a
    finger curled up from the sheet (a hand the calibration must refuse)."""
    joints = np.zeros((21, 3))
    joints[0] = (*wrist_xy, -height)
    for finger, chain in FINGER_CHAINS.items():
        a = np.radians(SPREAD_DEG[finger])
        d = np.array([-np.sin(a), -np.cos(a), 0.0])
        prev = joints[0]
        for k, j in enumerate(chain):
            step = d
            if finger == bend and k >= 2:  # curl the finger up from the sheet
                step = np.array([d[0] * 0.3, d[1] * 0.3, -0.95])
            joints[j] = prev + step / np.linalg.norm(step) * lengths[j - 1]
            prev = joints[j]
    return joints


@functools.cache
def _page(markers: bool) -> np.ndarray:
    page = render_sheet(SheetSpec(), PX_PER_MM)
    page = page if markers else np.full_like(page, 255)
    page.flags.writeable = False
    return page


def render_frame(
    rng: np.random.Generator,
    hand_sheet: np.ndarray,
    tilt: tuple[float, float] = (10.0, -8.0),
    distance: float = 0.5,
    draw: bool = True,
    markers: bool = True,
) -> Render:
    """(image RGB uint8, uv (21, 2) px, rel3d (21, 3) m) of the sheet seen by K with a hand at hand_sheet
    ((21, 3) m, sheet frame): the camera tilted by `tilt` (degrees about its x and y axes), `distance` (m) from
    the page's centre; uv with 0.7 px noise, rel3d (wrist-relative, camera axes) with 2 mm noise.

    markers False: the same page with its markers left out (a sheet the calibration must refuse).
    """
    import cv2

    spec = SheetSpec()
    page = _page(markers)
    R = _rot("x", tilt[0]) @ _rot("y", tilt[1])
    centre = np.array([0.5 * spec.page_m[0], 0.5 * spec.page_m[1], 0.0])
    t = np.array([0.0, 0.0, distance]) - R @ centre
    s = 1.0 / (PX_PER_MM * 1000.0)
    A = np.array([[s, 0, 0.5 * s], [0, s, 0.5 * s], [0, 0, 1.0]])
    H = K @ np.column_stack((R[:, 0], R[:, 1], t)) @ A
    grey = cv2.warpPerspective(page, H, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR, borderValue=80)
    image = np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    cam = hand_sheet @ R.T + t
    uv = cam[:, :2] / cam[:, 2:] * K[0, 0] + K[:2, 2]
    if draw:
        for chain in FINGER_CHAINS.values():
            pts = np.vstack((uv[0], uv[list(chain)])).astype(np.int32)
            cv2.polylines(image, [pts], False, (200, 150, 120), 6, cv2.LINE_AA)
    uv = uv + rng.normal(0.0, 0.7, uv.shape)
    rel3d = (cam - cam[0]) + rng.normal(0.0, 0.002, cam.shape)
    return image, uv, rel3d


def random_frames(
    n: int, seed: int = 0, markers: bool = True, lengths: np.ndarray = TRUE_LENGTHS, **hand_kw: object
) -> list[Render]:
    """n (image, uv, rel3d) renders of a hand with bone lengths `lengths` (20,) m: the hand shifted ±1 cm,
    camera tilt ±20°, 0.4-0.6 m from the sheet."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        hand = flat_hand(lengths, wrist_xy=(0.105 + rng.uniform(-0.01, 0.01), 0.25), **hand_kw)
        tilt = (rng.uniform(-20, 20), rng.uniform(-20, 20))
        out.append(render_frame(rng, hand, tilt, rng.uniform(0.4, 0.6), markers=markers))
    return out


def calibration_run(lengths: np.ndarray, seed: int = 0, frames: int | None = None) -> OperatorProfile:
    """The operator profile a sheet calibration measures for a hand with bone lengths `lengths` (20,) m:
    `frames` renders (default: the fewest a calibration accepts, `sheet_calibration.min_frames`) through `Calibrator`.
    Raises CalibrationError where the calibration refuses the frames, as it would for a real operator."""
    settings = CalibrationSettings()
    calibrator = Calibrator(K, settings)
    for image, uv, rel3d in random_frames(frames or settings.min_frames, seed, lengths=lengths):
        calibrator.add_frame(image, uv, rel3d, "right")
    return calibrator.finish("sheet calibration run")


def convention_offset(
    widen: float = 1.07, operators: int = 3, hands: int = 30, seed: int = 0
) -> dict[str, dict[str, float]]:
    """The keypoint convention offset and what a sheet calibration does about it.

    A detector's keypoints need not sit on the skeleton the published proportions describe: MediaPipe's palm
    spans ~7 % more than annotated skeletons (issue 24). Here every keypoint lies `widen` times farther from
    the wrist than the skeleton's joint, on the calibration sheet and in use. Per operator
    (`synthetic.random_operator`): a sheet calibration run of the widened keypoints, then `hands` synthetic
    hands of that operator in random poses (`synthetic.generate`, its 2D noise on the widened keypoints)
    estimated with (a) that calibrated profile, (b) the skeleton's own bones (a ground-truth profile) and
    (c) the published proportions at the true hand length (scale.mode fixed); and (a) and (c) as profiles placed
    by the palm PnP (`placement.palm_pnp`, perception.palm_pnp; (c) as a ruler profile). Returns per row the signed and
    absolute wrist depth error against the skeleton, percent of the depth, and the CS-MPJPE against the
    widened keypoints (what the estimator is shown), mm.
    """
    from scalehp_ros.evaluation import metrics, synthetic
    from scalehp_ros.perception.camera import project
    from scalehp_ros.perception.estimator import HandPoseEstimator
    from scalehp_ros.perception.frontend import Detection
    from scalehp_ros.perception.profile import profile_from_hand_length, profile_from_joints
    from scalehp_ros.perception.settings import EstimatorConfig

    rng = np.random.default_rng(seed)
    rows: dict[str, list[tuple[float, float]]] = {
        name: [] for name in ("sheet calibration", "skeleton bones", "published", *PNP_ROWS)
    }
    for k in range(operators):
        operator = synthetic.random_operator(rng)
        calibrated = calibration_run(operator[1] * widen, seed=seed + k)
        batch = synthetic.generate(
            hands, synthetic.NoiseModel(outlier_prob=0.0), seed=seed + 100 + k, operator=operator
        )
        wrist = batch.joints_cam[:, :1]
        keypoints = wrist + widen * (batch.joints_cam - wrist)
        diag = np.linalg.norm(batch.uv_true.max(1) - batch.uv_true.min(1), axis=-1)
        noise = np.random.default_rng(seed + 200 + k).normal(size=batch.uv.shape) * 0.015 * diag[:, None, None]
        uv = project(keypoints, batch.K) + noise
        skeleton = profile_from_joints(
            "skeleton", {"left": batch.joints_cam[0], "right": batch.joints_cam[0]}, "ground_truth"
        )
        fixed = EstimatorConfig().replace({"scale.mode": "fixed", "scale.hand_length_m": float(operator[0])})
        estimators = {
            "sheet calibration": HandPoseEstimator(),
            "skeleton bones": HandPoseEstimator(),
            "published": HandPoseEstimator(fixed),
        }
        pnp = EstimatorConfig().replace({"placement.palm_pnp": True})
        estimators["sheet calibration, palm PnP"] = HandPoseEstimator(pnp)
        estimators["published, palm PnP"] = HandPoseEstimator(pnp)
        estimators["sheet calibration"].set_operator_profile(calibrated)
        estimators["sheet calibration, palm PnP"].set_operator_profile(calibrated)
        estimators["skeleton bones"].set_operator_profile(skeleton)
        estimators["published, palm PnP"].set_operator_profile(profile_from_hand_length("ruler", float(operator[0])))
        for name, est in estimators.items():
            for i in range(hands):
                side = "left" if batch.is_left[i] else "right"
                det = Detection(uv[i], batch.rel_detected[i], side, 1.0)
                pose = est.estimate_from_detections([det], batch.K[i])[0]
                z_true = batch.joints_cam[i, 0, 2]
                err = metrics.per_joint_errors_mm(pose.joints_cam[None], keypoints[i][None]).mean()
                rows[name].append((100.0 * (pose.joints_cam[0, 2] - z_true) / z_true, float(err)))
    out = {}
    for name, values in rows.items():
        a = np.array(values)
        out[name] = {
            "wrist_depth_error_pct": float(a[:, 0].mean()),
            "wrist_depth_abs_error_pct": float(np.abs(a[:, 0]).mean()),
            "cs_mpjpe_keypoints_mm": float(a[:, 1].mean()),
        }
    return out
