"""ArUco sheet calibration and operator profiles: synthetic renders of the sheet with a hand of known size."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from scalehp_ros.common.joints import bone_lengths
from scalehp_ros.evaluation.sheet_renders import TRUE_LENGTHS, K, flat_hand, random_frames, render_frame
from scalehp_ros.perception.calibration import (
    CalibrationError,
    CalibrationSession,
    CalibrationSettings,
    Calibrator,
    SheetSessionSettings,
    main,
    write_sheet_pdf,
)
from scalehp_ros.perception.camera import distort_normalized
from scalehp_ros.perception.profile import load_profile, save_profile


def _frames(calibrator: Calibrator, n: int, seed: int = 0, **hand_kw) -> None:
    for image, uv, rel3d in random_frames(n, seed, **hand_kw):
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


def _hand(uv, rel3d, side="right", confidence=0.9) -> SimpleNamespace:
    """The HandPose fields a session reads (joints_2d px, joints_cam m, handedness, confidence)."""
    return SimpleNamespace(
        joints_2d=uv, joints_cam=rel3d + np.array([0.0, 0.0, 0.5]), handedness=side, confidence=confidence
    )


def test_session_ends_on_its_frame_budget_with_the_most_confident_hand_within_two_percent():
    settings = SheetSessionSettings(seconds=10.0, max_frames=12, operator_name="synthetic")
    session = CalibrationSession(settings, start_s=100.0)
    for i, (image, uv, rel3d) in enumerate(random_frames(12)):
        assert not session.due(100.0 + 0.1 * i)
        decoy = _hand(uv + 40.0, rel3d, "left", confidence=0.3)  # not measured: less confident
        session.add_hands(image, K, [decoy, _hand(uv, rel3d)])
    assert session.due(101.2) and session.frames == 12 and session.usable == 12
    result = session.finish()
    assert result.state == "done" and result.reason == "" and set(result.scale_m) == {"right"}
    error = abs(result.scale_m["right"] - TRUE_LENGTHS.mean()) / TRUE_LENGTHS.mean()
    assert error < 0.02, f"scale off by {100 * error:.2f} %"
    assert 0.0 < result.spread["right"] < 0.05
    assert result.profile.name == "synthetic" and result.profile.method == "aruco"


def test_session_ends_on_its_duration_and_refuses_with_the_reason():
    session = CalibrationSession(SheetSessionSettings(seconds=2.0), start_s=5.0)
    assert not session.due(6.99) and session.due(7.0) and session.seconds_left(6.0) == 1.0
    result = session.finish()
    assert result.state == "refused" and "no frames received" in result.reason and result.profile is None
    blank = CalibrationSession()
    for image, uv, rel3d in random_frames(3, markers=False):
        blank.add_hands(image, K, [_hand(uv, rel3d)])
    blank.add_hands(image, K, [])
    result = blank.finish()
    assert result.state == "refused" and "too few frames: 0 of 4" in result.reason
    assert "markers not found" in result.reason and result.frames == 4 and result.usable == 0
    changed = CalibrationSession()
    image, uv, rel3d = random_frames(1)[0]
    assert changed.add_frame(image, K, uv, rel3d, "right").ok
    zoomed = K.copy()
    zoomed[0, 0] = zoomed[1, 1] = 1000.0
    assert "intrinsics changed" in changed.add_frame(image, zoomed, uv, rel3d, "right").reason


def test_distorted_images_are_measured_with_the_lens_model():
    """Renders warped through a plumb_bob lens: with the distortion given the scale holds; without, it drifts."""
    import cv2

    lens = ("plumb_bob", np.array([-0.25, 0.08, 0.0, 0.0, 0.0]))
    f, c = K[0, 0], K[:2, 2]
    grid = np.stack(np.meshgrid(np.arange(1280.0), np.arange(720.0)), axis=-1).reshape(-1, 2)
    ideal = Calibrator(K, distortion=lens)._undistort(grid).reshape(720, 1280, 2).astype(np.float32)
    settings = CalibrationSettings(min_frames=3)
    with_lens, without = Calibrator(K, settings, distortion=lens), Calibrator(K, settings)
    for image, uv, rel3d in random_frames(4, seed=3):
        warped = cv2.remap(image, ideal[..., 0], ideal[..., 1], cv2.INTER_LINEAR, borderValue=(80, 80, 80))
        uv_d = distort_normalized((uv - c) / f, lens) * f + c
        with_lens.add_frame(warped, uv_d, rel3d)
        without.add_frame(warped, uv_d, rel3d)
    truth = TRUE_LENGTHS.mean()
    errors = [abs(c.finish("x").mean_bone("right") / truth - 1.0) for c in (with_lens, without)]
    assert errors[0] < 0.005 and errors[1] > 2 * errors[0] and all(f.ok for f in with_lens.frames)
