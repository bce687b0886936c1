"""ArUco sheet calibration and operator profiles: synthetic renders of the sheet with a hand of known size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scalehp_ros.common.joints import FINGER_CHAINS, bone_lengths
from scalehp_ros.perception.anthropometry import REFERENCE_BONE_LENGTHS_M
from scalehp_ros.perception.calibration import (
    CalibrationError,
    CalibrationSettings,
    Calibrator,
    SheetSpec,
    main,
    render_sheet,
    write_sheet_pdf,
)
from scalehp_ros.perception.profile import load_profile, save_profile

PX_PER_MM = 4.0
K = np.array([[900.0, 0.0, 639.5], [0.0, 900.0, 359.5], [0.0, 0.0, 1.0]])
SPREAD_DEG = {"thumb": 35.0, "index": 10.0, "middle": 0.0, "ring": -10.0, "little": -21.0}
TRUE_LENGTHS = REFERENCE_BONE_LENGTHS_M * 1.07  # a hand 7 % larger than the reference


def _rot(axis: str, deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return {"x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]), "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])}[axis]


def flat_hand(lengths: np.ndarray, wrist_xy=(0.105, 0.25), height=0.010, bend: str | None = None) -> np.ndarray:
    """(21, 3) sheet-frame joints of a flat hand (fingers straight, pointing up the page) `height` above it."""
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


def render_frame(rng, hand_sheet: np.ndarray, tilt=(10.0, -8.0), distance=0.5, draw=True):
    """(image RGB, uv (21, 2) px, rel3d (21, 3)) of the sheet seen by K with a hand at hand_sheet."""
    import cv2

    spec = SheetSpec()
    page = render_sheet(spec, PX_PER_MM)
    R = _rot("x", tilt[0]) @ _rot("y", tilt[1])
    centre = np.array([0.5 * spec.page_m[0], 0.5 * spec.page_m[1], 0.0])
    t = np.array([0.0, 0.0, distance]) - R @ centre
    s = 1.0 / (PX_PER_MM * 1000.0)
    A = np.array([[s, 0, 0.5 * s], [0, s, 0.5 * s], [0, 0, 1.0]])
    H = K @ np.column_stack((R[:, 0], R[:, 1], t)) @ A
    grey = cv2.warpPerspective(page, H, (1280, 720), flags=cv2.INTER_LINEAR, borderValue=80)
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


def _frames(calibrator: Calibrator, n: int, seed: int = 0, **hand_kw) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(n):
        hand = flat_hand(TRUE_LENGTHS, wrist_xy=(0.105 + rng.uniform(-0.01, 0.01), 0.25), **hand_kw)
        tilt = (rng.uniform(-20, 20), rng.uniform(-20, 20))
        image, uv, rel3d = render_frame(rng, hand, tilt, rng.uniform(0.4, 0.6))
        calibrator.add_frame(image, uv, rel3d, "right")


def test_sheet_pose_from_render_is_metric():
    calibrator = Calibrator(K)
    rng = np.random.default_rng(1)
    image, _, _ = render_frame(rng, flat_hand(TRUE_LENGTHS), draw=False)
    R, t, count, err = calibrator.sheet_pose(image)
    assert count == 8 and err < 1.0
    centre = R @ np.array([0.105, 0.1485, 0.0]) + t
    assert np.allclose(centre, [0.0, 0.0, 0.5], atol=0.002)


def test_profile_from_synthetic_marker_renders_within_two_percent(tmp_path: Path):
    calibrator = Calibrator(K)
    _frames(calibrator, 12)
    profile = calibrator.finish("synthetic operator")
    true_scale = TRUE_LENGTHS.mean()
    error = abs(profile.mean_bone("right") - true_scale) / true_scale
    assert error < 0.02, f"scale off by {100 * error:.2f} %"
    assert np.allclose(profile.bone_lengths("right"), TRUE_LENGTHS, rtol=0.08)
    m = profile.measurement("right")
    assert m.frames == 12 and m.bone_lengths_sd_m is not None
    # saved, reloaded, and used by the estimator as the scale
    path = save_profile(profile, tmp_path / "op.yaml")
    again = load_profile(path)
    assert again.method == "aruco" and abs(again.mean_bone("left") - profile.mean_bone("right")) < 1e-6


def test_refusals_name_the_reason():
    blank = np.full((720, 1280, 3), 128, np.uint8)
    calibrator = Calibrator(K)
    result = calibrator.add_frame(blank, np.zeros((21, 2)))
    assert not result.ok and "markers not found" in result.reason
    with pytest.raises(CalibrationError, match=r"too few frames.*markers not found"):
        calibrator.finish("x")
    bent = Calibrator(K)
    _frames(bent, 4, bend="index")
    assert all("not flat" in f.reason for f in bent.frames)
    with pytest.raises(CalibrationError, match="hand not flat"):
        bent.finish("x")
    few = Calibrator(K, CalibrationSettings(min_frames=5))
    _frames(few, 3)
    with pytest.raises(CalibrationError, match="too few frames: 3 of 3"):
        few.finish("x")


def test_sheet_files(tmp_path: Path):
    pdf = write_sheet_pdf(tmp_path / "sheet.pdf", px_per_mm=2.0)
    assert pdf.read_bytes().startswith(b"%PDF-1.4") and pdf.read_bytes().rstrip().endswith(b"%%EOF")
    assert main(["sheet", "--pdf", str(tmp_path / "s.pdf"), "--png", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 1000
    assert main(["ruler", "--hand-length-m", "0.19", "--name", "bob", "--out", str(tmp_path / "bob.yaml")]) == 0
    assert load_profile(tmp_path / "bob.yaml").method == "ruler"


def test_bundled_clip_has_no_sheet_and_is_refused(tmp_path: Path):
    """The real MediaPipe path on the bundled clip (a hand, no sheet): refused, saying the markers are missing."""
    clip = Path(__file__).resolve().parent.parent / "data" / "human_hand_video.mp4"
    out = tmp_path / "p.yaml"
    assert main(["run", str(clip), "--seconds", "0.5", "--name", "clip", "--out", str(out)]) == 2
    assert not out.exists()


def test_bone_lengths_of_flat_hand_helper():
    assert np.allclose(bone_lengths(flat_hand(TRUE_LENGTHS)), TRUE_LENGTHS)
