"""The pip-only environment: every import the package needs, and the model bundle's safety checks."""

import subprocess
import sys
import zipfile

import pytest

from scalehp_ros.perception import model_bundle


def test_environment_imports():
    code = (
        "import rclpy, tf2_msgs.msg, visualization_msgs.msg, diagnostic_msgs.msg, pinocchio, mediapipe, "
        "torch, cv2, scipy; print(torch.__version__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("2.13.0"), out


def test_tf2_msgs_matches_upstream_definition():
    from geometry_msgs.msg import TransformStamped
    from tf2_msgs.msg import TFMessage

    msg = TFMessage(transforms=[TransformStamped(child_frame_id="a")])
    assert msg.transforms[0].child_frame_id == "a"
    assert TFMessage.__module__.startswith("tf2_msgs.msg")


def test_bundle_is_found_and_verified():
    path = model_bundle.hand_landmarker_path()
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
            assert info.header_offset >= 0


def test_missing_bundle_says_how_to_build(tmp_path, monkeypatch):
    monkeypatch.setenv(model_bundle.ENV_VAR, str(tmp_path / "nope.task"))
    with pytest.raises(model_bundle.ModelBundleError, match="make model"):
        model_bundle.hand_landmarker_path()


def test_corrupt_bundle_is_rejected(tmp_path, monkeypatch):
    bad = tmp_path / "hand_landmarker.task"
    with zipfile.ZipFile(bad, "w") as z:
        for name in model_bundle.BUNDLE_ENTRIES:
            z.writestr(name, b"not a model")
    monkeypatch.setenv(model_bundle.ENV_VAR, str(bad))
    with pytest.raises(model_bundle.ModelBundleError, match="checksum mismatch"):
        model_bundle.hand_landmarker_path()


def test_bundle_writer_refuses_wrong_bytes(tmp_path):
    files = {name: b"x" for name in model_bundle.BUNDLE_ENTRIES}
    with pytest.raises(model_bundle.ModelBundleError, match="checksum"):
        model_bundle.write_bundle(files, tmp_path / "b.task")
    assert not (tmp_path / "b.task").exists()
