"""The real ROS 2 launch system, `ros2` CLI, colcon and tf2_ros for tests: where they are and how to run them.

They are test tooling only, installed by tools/setup_ros2_tooling.sh (run by `make test`) from the upstream
sources in ../shared/vendor/ros2 into build/ros2_tooling, never into the project's environment. Where
../shared is absent (a user's clone) the tests that need them skip with that reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ros_harness import REPO, ros_env

TOOLING = REPO / "build" / "ros2_tooling"
VENDOR = REPO.parent / "shared" / "vendor" / "ros2"
_PY = f"python{sys.version_info[0]}.{sys.version_info[1]}"


def missing_reason() -> str | None:
    """None when the tooling is ready, else why the tests that need it skip."""
    if not VENDOR.is_dir():
        return f"{VENDOR} is absent: the upstream launch / ros2cli sources are test tooling kept in ../shared"
    if not (TOOLING / ".ready").is_file():
        return "ROS 2 test tooling not built: run tools/setup_ros2_tooling.sh (make test does)"
    return None


def cli_missing_reason(verb: str) -> str | None:
    """None when `ros2 VERB` can run here (`ros2 topic` and `ros2 lifecycle` also import rosidl_runtime_py,
    installed into the tooling from ../shared/vendor/ros2 like the CLI itself)."""
    reason = missing_reason()
    if reason is not None:
        return reason
    if verb in ("topic", "lifecycle") and not (TOOLING / "vendor" / "rosidl_runtime_py").is_dir():
        return f"`ros2 {verb}` imports rosidl_runtime_py: rebuild the tooling (tools/setup_ros2_tooling.sh)"
    return None


def tf2_ros_missing_reason() -> str | None:
    """None when the real tf2_ros (tf2_ros_py over tf2_py, tf2 and the whole tf2_msgs, built into the tooling
    from ../shared/vendor/ros2) runs in processes started with `tooling_env()`."""
    reason = missing_reason()
    if reason is not None:
        return reason
    site = TOOLING / "interfaces" / "lib" / _PY / "site-packages"
    if not ((TOOLING / "vendor" / "tf2_ros").is_dir() and (site / "tf2_py").is_dir()):
        return "tf2_ros is not in the test tooling: rebuild it (tools/setup_ros2_tooling.sh)"
    return None


def tooling_env(install: Path | None = None, **extra: str) -> dict[str, str]:
    """ros_env() plus the tooling on PATH/PYTHONPATH and, when given, a colcon install of this package.

    With `install`, this repository is *not* on PYTHONPATH: the processes run the installed package, as a
    ROS user's would.
    """
    env = ros_env(**extra)
    python_path = [TOOLING / "registry", TOOLING / "vendor", TOOLING / "interfaces" / "lib" / _PY / "site-packages"]
    prefixes = [Path(sys.prefix), TOOLING / "vendor", TOOLING / "interfaces"]
    if install is not None:
        package = install / "scalehp_ros"
        python_path.insert(0, package / "lib" / _PY / "site-packages")
        prefixes.insert(0, package)
        env["PYTHONPATH"] = os.pathsep.join(p for p in env["PYTHONPATH"].split(os.pathsep) if p != str(REPO))
    env["PYTHONPATH"] = os.pathsep.join([*map(str, python_path), env["PYTHONPATH"]]).strip(os.pathsep)
    env["PATH"] = os.pathsep.join(
        [
            str(TOOLING / "registry" / "bin"),
            str(TOOLING / "vendor" / "bin"),
            str(Path(sys.executable).parent),
            env.get("PATH", ""),
        ]
    )
    env["AMENT_PREFIX_PATH"] = os.pathsep.join(map(str, prefixes))
    env["LD_LIBRARY_PATH"] = os.pathsep.join([str(TOOLING / "interfaces" / "lib"), env.get("LD_LIBRARY_PATH", "")])
    return env


def colcon_build(workspace: Path) -> Path:
    """`colcon build` of this repository into `workspace`; returns the install folder."""
    result = subprocess.run(
        [
            "colcon",
            "build",
            "--base-paths",
            str(REPO),
            "--packages-select",
            "scalehp_ros",
            "--build-base",
            str(workspace / "build"),
            "--install-base",
            str(workspace / "install"),
            "--event-handlers",
            "console_direct-",
        ],
        cwd=workspace,
        env=tooling_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"colcon build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return workspace / "install"


def ros2(*args: str, env: dict[str, str], timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Run the real `ros2` CLI."""
    return subprocess.run(["ros2", *args], env=env, capture_output=True, text=True, timeout=timeout)
