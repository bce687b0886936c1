"""Registered robots exported on demand into a cache folder, for `teleop.launch.py robot_config:=NAME`.

`exported_config(name)` returns the robot YAML of registry robot `name` (export.export: the composed URDF, its
mesh links and the YAML) in `$XDG_CACHE_HOME/scalehp_ros/robots/NAME/` (default `~/.cache/...`). The folder
carries a stamp: the versions of the packages the files are made from (dexi-rs, example-robot-data,
scalehp_ros) and a digest of the files the export reads (the hand's URDF and config, the arm's URDF, the
registry's own source and retargeting/robot_model.py); a different stamp re-exports, so installing another
dexi-rs or editing the registry never leaves a stale robot. Export is deterministic, so the same stamp gives
the same files. A file lock keeps two processes from writing one folder at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from importlib import metadata
from pathlib import Path

from scalehp_ros.retargeting import robot_model
from scalehp_ros.robots.registry import ARMS, HANDS, ROBOTS, robot

PACKAGES = ("dexi-rs", "example-robot-data", "scalehp_ros")


def cache_dir() -> Path:
    """`$XDG_CACHE_HOME/scalehp_ros/robots` (`~/.cache/scalehp_ros/robots` when the variable is unset or empty)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scalehp_ros" / "robots"


def is_registry_name(value: str) -> bool:
    """True for a registered robot's name (a robot_config value that is not a path to a YAML)."""
    return value in ROBOTS


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def stamp(name: str) -> dict[str, object]:
    """What the exported files of `name` are made from: package versions and a digest of the files read."""
    spec = robot(name)
    # the registry's source and the model it folds mimic limits with (the palm frame is found at its zero pose)
    sources = [*sorted(Path(__file__).parent.glob("*.py")), Path(robot_model.__file__)]
    files = [ARMS[spec.arm].urdf_path(), *sources]
    if spec.hand is not None:
        hand = HANDS[spec.hand]
        files += [hand.urdf_path(spec.side), hand.config_path(spec.side)]
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return {"robot": name, "packages": {p: _version(p) for p in PACKAGES}, "files": digest.hexdigest()}


def exported_config(name: str) -> Path:
    """The robot YAML of registered robot `name`, exported to the cache if missing or stale.

    ValueError (from export.robot_yaml) with the reason when the robot cannot run in retarget_node.
    """
    from scalehp_ros.robots.export import export

    wanted = stamp(name)
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    folder = root / name
    with (root / f".{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp_file = folder / "stamp.json"
        yaml_file = folder / f"{name}.yaml"
        try:
            current = json.loads(stamp_file.read_text())
        except (OSError, ValueError):
            current = None
        if current == wanted and yaml_file.is_file() and (folder / f"{name}.urdf").is_file():
            return yaml_file
        if folder.exists():
            shutil.rmtree(folder)
        try:
            export(name, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        stamp_file.write_text(json.dumps(wanted, indent=2, sort_keys=True) + "\n")
        return yaml_file


def missing_meshes(urdf: str | Path) -> list[str]:
    """Mesh files an (exported) URDF names that do not exist (e.g. hands whose meshes dexi-rs does not ship)."""
    import xml.etree.ElementTree as ET

    urdf = Path(urdf)
    names = {m.get("filename", "") for m in ET.parse(urdf).getroot().iter("mesh")}
    return sorted(n for n in names if not (urdf.parent / n).exists())
