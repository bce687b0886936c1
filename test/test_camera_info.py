"""sensor_msgs/CameraInfo as drivers and simulators really send it: every field left at its default.

The reference is image_geometry's PinholeCameraModel (vision_opencv; no wheel here, so its rules are written
out in `image_geometry_rays`): D applied with OpenCV's pinhole model whatever the model name, D empty = none,
binning 0 = 1, an all-zero roi = the full image, K shifted by the roi offset and divided by the binning.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, RegionOfInterest
from std_msgs.msg import Header

from scalehp_ros.perception.camera import camera_from_info, normalize_pixels, validate_distortion
from scalehp_ros.ros.tf_publisher import tf2_frame_id, tf2_header

W, H = 640, 480
K = [500.0, 0.0, 318.5, 0.0, 505.0, 241.0, 0.0, 0.0, 1.0]
P = [500.0, 0.0, 318.5, 0.0, 0.0, 505.0, 241.0, 0.0, 0.0, 0.0, 1.0, 0.0]
PIXELS = np.array([[10.0, 20.0], [320.0, 240.0], [300.0, 200.0], [600.0, 450.0]])


def driver_info(**fields) -> CameraInfo:
    """A default-constructed CameraInfo with only size, K, P and frame_id filled (then `fields`)."""
    info = CameraInfo(header=Header(frame_id="camera_color_optical_frame"), width=W, height=H, k=K, p=P)
    for name, value in fields.items():
        setattr(info, name, value)
    return info


def image_geometry_rays(info: CameraInfo, uv: np.ndarray) -> np.ndarray:
    """Normalised rays of raw pixels as image_geometry computes them (PinholeCameraModel.from_camera_info,
    then cv2.undistortPoints(uv, K, D) without R and P): D used as given, binning max(1, b), roi all zero =
    full image, K[0, 2] = (cx - x_offset) / binning_x, K[0, 0] /= binning_x (likewise y)."""
    k = np.array(info.k, dtype=float).reshape(3, 3)
    d = np.array(info.d, dtype=float) if len(info.d) else None
    bx, by = max(1, info.binning_x), max(1, info.binning_y)
    roi = info.roi
    x0, y0 = roi.x_offset, roi.y_offset
    k[0, 0] /= bx
    k[1, 1] /= by
    k[0, 2] = (k[0, 2] - x0) / bx
    k[1, 2] = (k[1, 2] - y0) / by
    # iterated to convergence as the project does (cv2.undistortPoints' default stops after 5 iterations,
    # 2e-4 short in the corners of this lens)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)
    return cv2.undistortPoints(uv.reshape(-1, 1, 2), k, d, criteria=criteria).reshape(-1, 2)


def rays(info: CameraInfo, uv: np.ndarray = PIXELS, **kw) -> np.ndarray:
    cam = camera_from_info(info, **kw)
    return normalize_pixels(uv, cam.K, cam.distortion)


# -- distortion_model left empty -----------------------------------------------------------------------------


@pytest.mark.parametrize("d", [[], [0.0] * 4, [0.0] * 5, [0.0] * 8, [0.0] * 14], ids=lambda d: f"{len(d)} zeros")
def test_an_empty_model_with_an_empty_or_zero_d_is_no_distortion(d):
    assert validate_distortion(("", d)) is None
    cam = camera_from_info(driver_info(d=d))
    assert cam.distortion is None and cam.size == (W, H)
    np.testing.assert_allclose(rays(driver_info(d=d)), image_geometry_rays(driver_info(d=d), PIXELS), atol=1e-12)


@pytest.mark.parametrize("n", [4, 5, 8])
def test_an_empty_model_with_4_5_or_8_coefficients_is_plumb_bob(n):
    d = [-0.3, 0.1, 0.001, -0.002, 0.02, 0.01, -0.01, 0.005][:n]
    model, D = validate_distortion(("", d))
    assert model == "plumb_bob" and D.tolist() == d
    assert validate_distortion(("", d))[1].tolist() == validate_distortion(("plumb_bob", d))[1].tolist()
    got, want = rays(driver_info(d=d)), image_geometry_rays(driver_info(d=d), PIXELS)
    np.testing.assert_allclose(got, want, atol=1e-7)
    assert np.abs(got - rays(driver_info())).max() > 1e-3  # the lens is applied: the test means something


@pytest.mark.parametrize("n", [1, 3, 6, 12, 14])
def test_an_empty_model_with_another_number_of_coefficients_is_refused_with_the_reason(n):
    d = [0.01] * n
    with pytest.raises(
        ValueError, match=rf"distortion model is empty and D has {n} coefficients.*set distortion_model"
    ):
        validate_distortion(("", d))
    with pytest.raises(ValueError, match="set distortion_model"):
        camera_from_info(driver_info(d=d))


def test_an_unknown_model_is_still_refused():
    with pytest.raises(ValueError, match=r"one of .* or empty, got 'kannala'"):
        camera_from_info(driver_info(distortion_model="kannala", d=[0.1] * 4))


# -- the other fields a driver leaves at their defaults ----------------------------------------------------


def test_a_default_constructed_camera_info_is_a_pinhole_camera():
    cam = camera_from_info(driver_info())
    np.testing.assert_array_equal(cam.K, np.array(K).reshape(3, 3))
    assert cam.size == (W, H) and cam.distortion is None
    info = driver_info()
    assert info.distortion_model == "" and len(info.d) == 0 and not any(info.r)  # what it really carries
    assert info.binning_x == info.binning_y == 0 and info.roi.width == info.roi.height == 0


def test_p_all_zero_is_not_read_for_raw_images_and_k_stands_in_for_rectified_ones_without_distortion():
    d = [-0.3, 0.1, 0.0, 0.0, 0.0]
    np.testing.assert_array_equal(rays(driver_info(p=[0.0] * 12, d=d)), rays(driver_info(d=d)))
    # image_rect with P left zero: the same as raw when D says no distortion (rectification is the identity)
    np.testing.assert_array_equal(rays(driver_info(p=[0.0] * 12), rectified=True), rays(driver_info()))
    with pytest.raises(ValueError, match="P is all zero and D is not"):
        camera_from_info(driver_info(p=[0.0] * 12, d=d, distortion_model="plumb_bob"), rectified=True)
    # P filled: its left 3x3 is the rectified image's K (here another focal length than K)
    p = list(P)
    p[0], p[5] = 450.0, 455.0
    assert camera_from_info(driver_info(p=p, d=d), rectified=True).K[0, 0] == 450.0


def test_r_all_zero_or_identity_gives_the_same_rays():
    d = [-0.3, 0.1, 0.0, 0.0, 0.0]
    eye = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    np.testing.assert_array_equal(rays(driver_info(d=d)), rays(driver_info(d=d, r=eye)))


@pytest.mark.parametrize("d", [[], [-0.3, 0.1, 0.001, -0.002, 0.02]], ids=["pinhole", "plumb_bob"])
def test_binning_0_is_1_and_binning_2_scales_as_image_geometry_does(d):
    zero, one = (camera_from_info(driver_info(d=d, binning_x=b, binning_y=b)) for b in (0, 1))
    np.testing.assert_array_equal(zero.K, one.K)
    assert zero.size == one.size == (W, H)
    binned = driver_info(d=d, binning_x=2, binning_y=4)
    cam = camera_from_info(binned)
    assert cam.size == (W // 2, H // 4)
    np.testing.assert_allclose(cam.K[:2, :2], np.diag([250.0, 505.0 / 4]))
    uv = PIXELS / (2, 4)
    np.testing.assert_allclose(rays(binned, uv), image_geometry_rays(binned, uv), atol=1e-7)
    # a binned pixel sees what the full-resolution pixel at twice (four times) its coordinates sees
    np.testing.assert_allclose(rays(binned, uv), rays(driver_info(d=d)), atol=1e-9)


def test_an_all_zero_roi_is_the_full_image_and_a_roi_moves_the_principal_point():
    full = camera_from_info(driver_info(roi=RegionOfInterest()))
    assert full.size == (W, H)
    d = [-0.3, 0.1, 0.001, -0.002, 0.02]
    cropped = driver_info(d=d, roi=RegionOfInterest(x_offset=100, y_offset=40, width=320, height=240))
    cam = camera_from_info(cropped)
    assert cam.size == (320, 240)
    np.testing.assert_allclose(cam.K[:2, 2], (218.5, 201.0))
    uv = PIXELS[:3] - (100, 40)
    np.testing.assert_allclose(rays(cropped, uv), image_geometry_rays(cropped, uv), atol=1e-7)
    np.testing.assert_allclose(rays(cropped, uv), rays(driver_info(d=d), PIXELS[:3]), atol=1e-9)
    both = driver_info(binning_x=2, binning_y=2, roi=RegionOfInterest(x_offset=100, y_offset=40, width=320, height=240))
    assert camera_from_info(both).size == (160, 120)
    np.testing.assert_allclose(rays(both, uv / 2), image_geometry_rays(both, uv / 2), atol=1e-9)
    with pytest.raises(ValueError, match="does not fit"):
        camera_from_info(driver_info(roi=RegionOfInterest(x_offset=400, y_offset=0, width=320, height=240)))


def test_a_leading_slash_in_frame_id_is_read_as_tf2_reads_it():
    # image_geometry reports the frame as given; tf2 strips the slash when storing a transform and refuses
    # it in lookups, so outputs name the frame without it
    assert camera_from_info(driver_info(header=Header(frame_id="/camera_optical"))).size == (W, H)
    assert tf2_frame_id("/camera_optical") == "camera_optical" == tf2_frame_id("camera_optical")
    header = Header(frame_id="/camera_optical")
    header.stamp.sec = 7
    out = tf2_header(header)
    assert out.frame_id == "camera_optical" and out.stamp.sec == 7 and header.frame_id == "/camera_optical"
    plain = Header(frame_id="camera_optical")
    assert tf2_header(plain) is plain


def test_size_and_uncalibrated_cases_keep_their_reasons():
    with pytest.raises(ValueError, match="size 0x480"):
        camera_from_info(driver_info(width=0))
    with pytest.raises(ValueError, match="uncalibrated_hfov_deg"):
        camera_from_info(driver_info(k=[0.0] * 9))
    cam = camera_from_info(driver_info(k=[0.0] * 9, p=[0.0] * 12), uncalibrated_hfov_deg=60.0)
    assert cam.distortion is None and cam.K[0, 0] == pytest.approx(0.5 * W / np.tan(np.radians(30.0)))
