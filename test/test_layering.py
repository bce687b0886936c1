"""The layout's rules, checked: the core runs without ROS, and the subpackages import each other one way only.

Layers (an arrow means "may import"):

    common  <-  perception, retargeting, recording  <-  evaluation, visualization  <-  ros  <-  bringup
    common, retargeting  <-  simulation (the MuJoCo sandbox)  <-  ros, bringup
    common, retargeting  <-  robots (the robot registry)  <-  bringup (robot_config:=NAME)

common is the shared base (joint convention, palm frame, share folder, parameter system); perception and
retargeting are the ROS-free cores; recording writes and reads episode bags (rosbags, no rclpy); evaluation
and visualization are ROS-free tools on top of them; ros holds the rclpy nodes and message converters; bringup
starts the graph and records the demo.

Within and across layers, no module imports another that (directly or through others) imports it back: the
module graph counts every import statement of a module, at its top, inside a function, or under
TYPE_CHECKING, so a cycle hidden behind a lazy import is still found. Configuration is data (robot_config.py
imports no retargeting method) and the params-file writer sits outside the package (tools/write_param_files.py).
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
    "bringup": {"common", "perception", "retargeting", "recording", "simulation", "visualization", "ros", "robots"},
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


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_imports() -> dict[str, set[str]]:
    """{module: modules of scalehp_ros it imports}, from every import statement anywhere in its source.

    `from a.b import c` is an edge to a.b.c when that is a module, else to a.b; relative imports are resolved.
    """
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            deps.update(t for t in targets if t in modules and t != name)
        graph[name] = deps
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return cycles


def test_no_import_cycle_between_modules():
    graph = module_imports()
    assert len(graph) > 80 and graph["scalehp_ros.ros.hand_pose_node"]  # the scan sees the package
    cycles = import_cycles(graph)
    assert not cycles, f"module import cycles: {cycles}"


def test_cycle_finder_finds_a_lazy_cycle():
    """The finder reports a cycle closed by a function-level import (what the package once had)."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_robot_config_imports_no_retargeting_method():
    deps = module_imports()["scalehp_ros.retargeting.robot_config"]
    assert not {d for d in deps if d.startswith("scalehp_ros.retargeting.hand")}, deps


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
