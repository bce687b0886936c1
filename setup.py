"""ament_python build of scalehp_ros: `colcon build` on a ROS 2 machine, `pip install -e .` in the venv."""

import os
import subprocess
import sys
from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = "scalehp_ros"
HERE = Path(__file__).resolve().parent


def _tree(folder: str, patterns: tuple[str, ...] = ("*",)) -> list[tuple[str, list[str]]]:
    """data_files entries installing `folder` (recursively) under share/scalehp_ros/`folder`."""
    entries: dict[str, list[str]] = {}
    for pattern in patterns:
        for path in sorted((HERE / folder).rglob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts:
                rel = path.relative_to(HERE)
                entries.setdefault(f"share/{PACKAGE}/{rel.parent}", []).append(str(rel))
    return sorted(entries.items())


def _model_bundle() -> None:
    """Build models/hand_landmarker.task if it is missing, so a plain `colcon build` installs it.

    The builder downloads the mediapipe 0.10.21 wheel with pip (a package registry, at build time, never at
    run time) and checks the model files' SHA-256. SCALEHP_SKIP_MODEL_BUILD=1 skips it; without the bundle the
    node refuses to start and says how to build it.
    """
    bundle = HERE / "models" / "hand_landmarker.task"
    if bundle.is_file() or os.environ.get("SCALEHP_SKIP_MODEL_BUILD") == "1" or "egg_info" in sys.argv:
        return
    cmd = [sys.executable, "-m", "scalehp_ros.perception.model_bundle", "build", "--out", str(bundle)]
    if subprocess.run(cmd, cwd=HERE).returncode != 0:
        print(f"warning: could not build {bundle}; run `{' '.join(cmd[1:])}` before launching", file=sys.stderr)


_model_bundle()

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=["scalehp_ros", "scalehp_ros.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        *_tree("launch"),
        *_tree("config"),
        *_tree("urdf"),
        *_tree("data"),
        # The MediaPipe bundle is built at setup (scalehp-build-model build), never committed.
        *_tree("models", ("*.task",)),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="scalehp_ros maintainers",
    maintainer_email="scalehp@example.com",
    description="Metric 3D hand tracking from one RGB camera and retargeting to a robot arm and hand.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "scalehp-build-model = scalehp_ros.perception.model_bundle:main",
            "scalehp-eval = scalehp_ros.evaluation.cli:main",
            "scalehp-calibrate = scalehp_ros.perception.calibration:main",
            "hand_pose_node = scalehp_ros.ros.hand_pose_node:main",
            "video_source = scalehp_ros.ros.video_source:main",
            "retarget_node = scalehp_ros.ros.retarget_node:main",
            "recorder_node = scalehp_ros.ros.recorder_node:main",
            "sim_node = scalehp_ros.ros.sim_node:main",
            "scalehp-replay = scalehp_ros.bringup.replay:main",
            "scalehp-export = scalehp_ros.recording.export:main",
            "scalehp-bringup = scalehp_ros.bringup.processes:main",
            "scalehp-demo = scalehp_ros.bringup.demo:main",
            "scalehp-robots = scalehp_ros.robots.cli:main",
        ],
    },
)
