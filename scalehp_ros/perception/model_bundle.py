"""The MediaPipe HandLandmarker model bundle: where it lives, how it is built, how it is verified.

mediapipe >= 0.10.30 (we run 1.2.2) ships the Tasks API but no hand model, and nothing may be
downloaded at run time. The two full-complexity TFLite graphs are still inside the `mediapipe==0.10.21`
wheel, so setup downloads that wheel with pip (package registry only, no model hub), takes the two
files, checks their SHA-256 and writes the `.task` bundle the Tasks API expects: a zip whose entries are
stored uncompressed and named `hand_detector.tflite` and `hand_landmarks_detector.tflite`.

Build:  python -m scalehp_ros.perception.model_bundle build   (or `scalehp-build-model build`; `make` does it)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from scalehp_ros.common.share import share_file

BUNDLE_NAME = "hand_landmarker.task"
SOURCE_WHEEL = "mediapipe==0.10.21"
ENV_VAR = "SCALEHP_HAND_MODEL"

# bundle entry name -> (path inside the mediapipe 0.10.21 wheel, SHA-256 of the file)
BUNDLE_ENTRIES: dict[str, tuple[str, str]] = {
    "hand_detector.tflite": (
        "mediapipe/modules/palm_detection/palm_detection_full.tflite",
        "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54",
    ),
    "hand_landmarks_detector.tflite": (
        "mediapipe/modules/hand_landmark/hand_landmark_full.tflite",
        "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3",
    ),
}

# TFLite maps the bundle and reads tensors in place; 64-byte aligned entries avoid copies.
_ALIGN = 64
_ZIPALIGN_EXTRA_ID = 0xD935  # the extra-field id Android's zipalign uses for padding


class ModelBundleError(RuntimeError):
    """The hand model bundle is missing or does not match its checksums."""


def _build_hint(path: Path) -> str:
    return (
        f"Build it with `make model` or `python -m scalehp_ros.perception.model_bundle build --out {path}` "
        f"(downloads the {SOURCE_WHEEL} wheel from the package registry with pip), or point "
        f"{ENV_VAR} at an existing {BUNDLE_NAME}."
    )


def _candidates() -> list[Path]:
    if os.environ.get(ENV_VAR):
        return [Path(os.environ[ENV_VAR])]
    try:  # the source tree's models/, or share/scalehp_ros/models/ when installed by colcon
        return [share_file("models", BUNDLE_NAME)]
    except FileNotFoundError:
        return []


def hand_landmarker_path(verify: bool = True) -> Path:
    """Return the path of the HandLandmarker `.task` bundle, verified against its checksums.

    Looks at $SCALEHP_HAND_MODEL, then `<source tree>/models/`, then the ament share directory.
    Raises ModelBundleError, saying how to build the bundle, when none is found or it is corrupt.
    """
    candidates = _candidates()
    for path in candidates:
        if path.is_file():
            if verify:
                verify_bundle(path)
            return path
    looked = ", ".join(str(p) for p in candidates)
    raise ModelBundleError(
        f"MediaPipe hand model bundle not found (looked in: {looked}). " + _build_hint(candidates[0])
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify_bundle(path: Path) -> None:
    """Check that `path` is a bundle with exactly the expected, uncompressed, checksummed entries."""
    try:
        with zipfile.ZipFile(path) as bundle:
            infos = {info.filename: info for info in bundle.infolist()}
            if set(infos) != set(BUNDLE_ENTRIES):
                raise ModelBundleError(
                    f"{path}: entries {sorted(infos)}, expected {sorted(BUNDLE_ENTRIES)}. " + _build_hint(path)
                )
            for name, (_, digest) in BUNDLE_ENTRIES.items():
                if infos[name].compress_type != zipfile.ZIP_STORED:
                    raise ModelBundleError(f"{path}: entry {name} is compressed; MediaPipe needs it stored.")
                if _sha256(bundle.read(name)) != digest:
                    raise ModelBundleError(f"{path}: checksum mismatch for {name}. " + _build_hint(path))
    except zipfile.BadZipFile as exc:
        raise ModelBundleError(f"{path} is not a zip bundle ({exc}). " + _build_hint(path)) from exc


def _aligned_info(name: str, offset: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2025, 1, 31, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    data_start = offset + 30 + len(name.encode()) + 4  # local header + name + padding extra header
    pad = -data_start % _ALIGN
    info.extra = struct.pack("<HH", _ZIPALIGN_EXTRA_ID, pad) + b"\0" * pad
    return info


def write_bundle(files: dict[str, bytes], out: Path) -> None:
    """Write the `.task` zip from {entry name: tflite bytes}, checksummed, stored and 64-byte aligned."""
    for name, (_, digest) in BUNDLE_ENTRIES.items():
        if name not in files:
            raise ModelBundleError(f"missing bundle entry {name}")
        if _sha256(files[name]) != digest:
            raise ModelBundleError(f"checksum mismatch for {name}: refusing to build the bundle")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as bundle:
        for name in BUNDLE_ENTRIES:
            bundle.writestr(_aligned_info(name, buf.tell()), files[name])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(out)
    verify_bundle(out)


def build_bundle(out: Path, wheel: Path | None = None) -> Path:
    """Build the bundle at `out` from `wheel`, or from the mediapipe 0.10.21 wheel fetched with pip."""
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            cmd = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "-q",
                "--dest",
                tmp,
                "--python-version",
                "3.11",
                "--platform",
                "manylinux_2_28_x86_64",
                "--implementation",
                "cp",
                SOURCE_WHEEL,
            ]
            subprocess.run(cmd, check=True)
            wheels = sorted(Path(tmp).glob("mediapipe-0.10.21-*.whl"))
            if not wheels:
                raise ModelBundleError(f"pip download {SOURCE_WHEEL} produced no wheel")
            wheel = wheels[0]
        with zipfile.ZipFile(wheel) as whl:
            files = {name: whl.read(src) for name, (src, _) in BUNDLE_ENTRIES.items()}
    write_bundle(files, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    build = sub.add_parser("build", help="build the bundle (no-op when a verified one exists)")
    build.add_argument("--out", type=Path, default=share_file("models", BUNDLE_NAME))
    build.add_argument("--wheel", type=Path, help="use this local mediapipe 0.10.21 wheel instead of pip")
    build.add_argument("--force", action="store_true")
    sub.add_parser("path", help="print the verified bundle path")
    args = parser.parse_args(argv)
    if args.cmd == "path":
        print(hand_landmarker_path())
        return 0
    if args.out.is_file() and not args.force:
        try:
            verify_bundle(args.out)
            print(f"{args.out}: up to date")
            return 0
        except ModelBundleError as exc:
            print(f"rebuilding: {exc}")
    print(f"built {build_bundle(args.out, args.wheel)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
