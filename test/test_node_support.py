"""ROS-free building blocks of the perception node: frames, intrinsics, stream statistics, conversions."""

import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage, Image

from scalehp_ros.common.hand_frames import joint_rotations, palm_normal, rotation_to_quaternion
from scalehp_ros.common.joints import MIDDLE_MCP, WRIST
from scalehp_ros.common.stream_stats import StreamStats
from scalehp_ros.perception.camera import intrinsics_for_image, intrinsics_from_hfov, validate_intrinsics
from scalehp_ros.ros.conversions.image import compressed_msg_to_rgb, image_msg_to_rgb, rgb_to_image_msg


def flat_hand(side: str) -> np.ndarray:
    """A flat hand 0.5 m in front of the camera, palm facing it, fingers up (image -y)."""
    sign = 1.0 if side == "right" else -1.0  # the thumb is on the image right for a right palm seen from the front
    j = np.zeros((21, 3))
    j[:, 2] = 0.5
    for k, x in zip((5, 9, 13, 17), (0.03, 0.01, -0.01, -0.03), strict=True):
        for n in range(4):
            j[k + n, :2] = [sign * x, -0.09 - 0.025 * n]
    for n in range(4):
        j[1 + n, :2] = [sign * (0.03 + 0.02 * n), -0.02 - 0.02 * n]
    return j


@pytest.mark.parametrize("side", ["left", "right"])
def test_wrist_frame_axes(side):
    j = flat_hand(side)
    R = joint_rotations(j, side)
    assert np.allclose(R @ np.swapaxes(R, 1, 2), np.eye(3), atol=1e-9)
    assert np.allclose(np.linalg.det(R), 1.0)
    x_expected = (j[MIDDLE_MCP] - j[WRIST]) / np.linalg.norm(j[MIDDLE_MCP] - j[WRIST])
    assert np.allclose(R[WRIST][:, 0], x_expected)
    # palm faces the camera: the volar normal points back at it (-z in the optical frame), for both sides
    assert np.allclose(R[WRIST][:, 2], [0, 0, -1], atol=1e-9)
    assert np.allclose(palm_normal(j, side), [0, 0, -1], atol=1e-9)
    # finger frames: x along the bone toward the tip (up the image)
    assert np.allclose(R[6][:, 0], [0, -1, 0], atol=1e-9)


def test_quaternions_are_ros_ordered_and_normalised():
    q = rotation_to_quaternion(np.eye(3)[None])
    assert np.allclose(q, [[0, 0, 0, 1]])
    q = rotation_to_quaternion(joint_rotations(flat_hand("right"), "right"))
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0) and np.all(q[:, 3] >= 0)


def test_joint_rotations_reject_bad_input():
    with pytest.raises(ValueError, match="NaN or inf"):
        joint_rotations(np.full((21, 3), np.nan), "left")
    with pytest.raises(ValueError, match="shape"):
        joint_rotations(np.zeros((20, 3)), "left")
    with pytest.raises(ValueError, match="degenerate"):
        joint_rotations(np.zeros((21, 3)), "left")
    with pytest.raises(ValueError, match="side"):
        joint_rotations(flat_hand("left"), "both")


def test_intrinsics_validation_and_rescaling():
    K = np.array([[600.0, 0, 319.5], [0, 600.0, 239.5], [0, 0, 1]])
    half = intrinsics_for_image(K, (640, 480), (320, 240))
    assert np.allclose(half, [[300, 0, 159.5], [0, 300, 119.5], [0, 0, 1]])
    assert intrinsics_for_image(K, (640, 480), (640, 480)) is not None
    with pytest.raises(ValueError, match="aspect ratio"):
        intrinsics_for_image(K, (640, 480), (640, 360))
    for bad, match in ((np.zeros((3, 3)), "positive"), (K * np.nan, "non-finite"), (-K, "positive")):
        with pytest.raises(ValueError, match=match):
            validate_intrinsics(bad)
    f = intrinsics_from_hfov(640, 480, 90.0)[0, 0]
    assert f == pytest.approx(320.0)


def test_stream_stats_counts_drops_duplicates_and_restarts():
    s = StreamStats(window=10.0)
    for k in range(10):  # stamps and clock both in seconds; each frame published 20 ms after its stamp
        assert s.on_arrival(100 + k / 30, 100 + k / 30 + 0.005) == "next"
        s.on_processed(100 + k / 30, 100 + k / 30 + 0.02)
    assert s.on_arrival(100 + 13 / 30, 100.44) == "next"  # frames 10, 11 and 12 never arrived
    assert s.dropped == 3
    assert s.on_arrival(100 + 13 / 30, 100.45) == "duplicate"  # the same stamp again: dropped
    out = s.summary(100.46)
    assert out["latency_p50_ms"] == pytest.approx(20.0)
    assert out["processed_fps"] == pytest.approx(30.0, rel=0.01)
    # a second `ros2 bag play` of the same stamps: a new stream, served, not dropped forever
    for k in range(5):
        assert s.on_arrival(100 + k / 30, 101.0 + k / 30) == ("restart" if k == 0 else "next")
    assert s.restarts == 1 and s.duplicates == 1 and s.dropped == 3


def test_image_conversions_and_their_errors():
    rgb = np.random.default_rng(0).integers(0, 255, (4, 5, 3), dtype=np.uint8)
    assert np.array_equal(image_msg_to_rgb(rgb_to_image_msg(rgb)), rgb)
    assert np.array_equal(image_msg_to_rgb(rgb_to_image_msg(rgb, encoding="bgr8")), rgb)
    mono = Image(height=2, width=3, encoding="mono8", step=3, data=bytes(range(6)))
    assert image_msg_to_rgb(mono).shape == (2, 3, 3)
    with pytest.raises(ValueError, match="unsupported encoding"):
        image_msg_to_rgb(Image(height=2, width=3, encoding="bayer_rggb8", step=3, data=bytes(6)))
    with pytest.raises(ValueError, match="data length"):
        image_msg_to_rgb(Image(height=2, width=3, encoding="rgb8", step=9, data=bytes(10)))
    with pytest.raises(ValueError, match="empty"):
        image_msg_to_rgb(Image(height=0, width=3, encoding="rgb8", step=9, data=b""))
    with pytest.raises(ValueError, match="exceeds"):
        image_msg_to_rgb(Image(height=2, width=3, encoding="rgb8", step=9, data=bytes(18)), max_pixels=5)
    with pytest.raises(ValueError, match="cannot decode"):
        compressed_msg_to_rgb(CompressedImage(format="jpeg", data=b"not a jpeg"))


def test_diagnostics_status_holds_the_values_as_strings_in_order():
    from diagnostic_msgs.msg import DiagnosticStatus

    from scalehp_ros.ros.diagnostics import WARN, status

    st = status("sim_node: simulation", WARN, "slower than real time", {"lost_s": "0.250", "ok": False, "n": 3}, "x")
    assert isinstance(st, DiagnosticStatus) and st.level == WARN and st.hardware_id == "x"
    assert [(kv.key, kv.value) for kv in st.values] == [("lost_s", "0.250"), ("ok", "false"), ("n", "3")]


def test_pinhole_focal_from_fov_is_the_one_formula():
    from scalehp_ros.common.pinhole import focal_from_fov

    assert focal_from_fov(640, 90.0) == pytest.approx(320.0)
    assert intrinsics_from_hfov(640, 480, 70.0)[0, 0] == pytest.approx(focal_from_fov(640, 70.0), rel=1e-15)
    with pytest.raises(ValueError, match="field of view"):
        focal_from_fov(640, 180.0)


def test_palm_joint_sets_are_defined_once_in_common():
    from scalehp_ros.common.joints import JOINT_NAMES, PALM_JOINTS, PALM_PLANE_JOINTS
    from scalehp_ros.perception import depth

    assert [JOINT_NAMES[j] for j in PALM_JOINTS] == [
        "wrist",
        "thumb_cmc",
        "index_mcp",
        "middle_mcp",
        "ring_mcp",
        "little_mcp",
    ]
    assert set(PALM_PLANE_JOINTS) == set(PALM_JOINTS) - {JOINT_NAMES.index("thumb_cmc")}
    assert depth.PALM_JOINTS is PALM_JOINTS  # perception imports the one set
