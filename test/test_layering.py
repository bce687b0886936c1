"""The layout's rules, checked: the core runs without ROS, and the subpackages import each other one way only.

Layers (an arrow means "may import"):

    common  <-  perception, retargeting, recording  <-  evaluation, visualization  <-  ros  <-  bringup
    common, retargeting  <-  simulation (the MuJoCo sandbox)  <-  ros, bringup

common is the shared base (joint convention, palm frame, share folder, parameter system); perception and
retargeting are the ROS-free cores; recording writes and reads episode bags (rosbags, no rclpy); evaluation
and visualization are ROS-free tools on top of them; ros holds the rclpy nodes and message converters; bringup
starts the graph and records the demo.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "scalehp_ros"
ALLOWED: dict[str, set[str]] = {
    "common": set(),
    "perception": {"common"},
    "retargeting": {"common"},
    "recording": {"common"},
    "simulation": {"common", "retargeting"},
    "evaluation": {"common", "perception", "recording"},
    "visualization": {"common", "perception", "retargeting"},
    "ros": {"common", "perception", "retargeting", "recording", "simulation", "visualization"},
    "bringup": {"common", "perception", "retargeting", "recording", "simulation", "visualization", "ros"},
    "robots": {"common", "retargeting"},
}
ROS_FREE = ("common", "perception", "retargeting", "recording", "simulation", "evaluation", "visualization", "robots")
# Python packages that exist only with ROS 2 (rclpy and the message/middleware packages the nodes use).
ROS_MODULES = (
    "rclpy",
    "rcl_interfaces",
    "builtin_interfaces",
    "std_msgs",
    "std_srvs",
    "sensor_msgs",
    "geometry_msgs",
    "visualization_msgs",
    "trajectory_msgs",
    "diagnostic_msgs",
    "tf2_msgs",
    "tf2_ros",
    "launch",
    "launch_ros",
    "ament_index_python",
)


def _subpackage_imports() -> dict[str, set[str]]:
    """{subpackage: subpackages it imports}, from every `import`/`from ... import` in its modules."""
    found: dict[str, set[str]] = {name: set() for name in ALLOWED}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2:
            continue  # scalehp_ros/__init__.py and the estimator.py re-export sit above the layers
        owner = parts[0]
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                bits = name.split(".")
                if bits[0] == "scalehp_ros" and len(bits) > 1 and bits[1] != owner and bits[1] in ALLOWED:
                    found[owner].add(bits[1])
    return found


def test_every_module_sits_in_a_known_layer():
    owners = {p.relative_to(PACKAGE).parts[0] for p in PACKAGE.rglob("*.py") if len(p.relative_to(PACKAGE).parts) > 1}
    assert owners <= set(ALLOWED), f"subpackages without a layer: {owners - set(ALLOWED)}"


def test_subpackages_import_one_way_only():
    found = _subpackage_imports()
    wrong = {owner: sorted(deps - ALLOWED[owner]) for owner, deps in found.items() if deps - ALLOWED[owner]}
    assert not wrong, f"imports against the layering: {wrong}"


def test_no_import_cycle_between_subpackages():
    graph = _subpackage_imports()
    visiting, done = set(), set()

    def visit(node: str, path: list[str]) -> None:
        if node in done:
            return
        if node in visiting:
            raise AssertionError(f"import cycle: {' -> '.join([*path, node])}")
        visiting.add(node)
        for dep in graph[node]:
            visit(dep, [*path, node])
        visiting.discard(node)
        done.add(node)

    for node in graph:
        visit(node, [])


_BLOCK_ROS = """
import importlib, importlib.abc, pkgutil, sys
BLOCKED = {blocked!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} is blocked: the core must run without ROS")
        return None
sys.meta_path.insert(0, Block())
import scalehp_ros
modules = []
for sub in {subpackages!r}:
    pkg = importlib.import_module(f"scalehp_ros.{{sub}}")
    for info in pkgutil.walk_packages(pkg.__path__, f"scalehp_ros.{{sub}}."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
            modules.append(info.name)
importlib.import_module("scalehp_ros.estimator")
print(len(modules))
"""


def test_core_imports_without_ros():
    """Every module of the ROS-free layers imports with rclpy and every ROS message package unimportable."""
    code = _BLOCK_ROS.format(blocked=ROS_MODULES, subpackages=ROS_FREE)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip().splitlines()[-1]) >= 20


def test_the_ros_block_really_blocks():
    """The check above would notice a ROS import (guards against a finder that silently does nothing)."""
    code = _BLOCK_ROS.format(blocked=ROS_MODULES, subpackages=("ros",))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "blocked" in result.stderr


@pytest.mark.parametrize("layer", ROS_FREE)
def test_layer_has_a_docstring(layer):
    init = PACKAGE / layer / "__init__.py"
    assert ast.get_docstring(ast.parse(init.read_text())), f"{init} should say what the layer holds"
