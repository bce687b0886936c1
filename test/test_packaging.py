"""package.xml declares what the code imports from ROS (the keys rosdep installs), and nothing it does not."""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET

from ros_harness import REPO

# Python modules that come from a ROS package whose rosdep key differs from the module name.
ROS_KEYS = {"tf2_ros": "tf2_ros_py"}
# ROS packages the graph starts as processes (not imported): run dependencies all the same.
STARTED = {"robot_state_publisher", "rviz2", "usb_cam"}
LIBRARIES = {"pinocchio", "example-robot-data"}


def _exec_depends() -> set[str]:
    root = ET.parse(REPO / "package.xml").getroot()
    return {e.text.strip() for e in root.iter() if e.tag in ("exec_depend", "depend")}


def _ros_imports() -> set[str]:
    """Top-level modules imported by the package and its launch file that are ROS packages."""
    found = set()
    for path in [*(REPO / "scalehp_ros").rglob("*.py"), *(REPO / "launch").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                found.update(a.name.split(".")[0] for a in node.names)
    ros = {"rclpy", "launch", "launch_ros", "ament_index_python", "tf2_ros"}
    return {m for m in found if m in ros or m.endswith(("_msgs", "_srvs", "_interfaces"))}


def test_every_ros_import_is_an_exec_depend():
    declared = _exec_depends()
    missing = sorted(ROS_KEYS.get(m, m) for m in _ros_imports() if ROS_KEYS.get(m, m) not in declared)
    assert not missing, f"package.xml lacks exec_depend for {missing}"
    assert STARTED <= declared


def test_no_declared_ros_dependency_goes_unused():
    """cv_bridge was declared but never imported (the package converts images itself)."""
    # libraries rather than ROS nodes/interfaces: pinocchio (imported), example-robot-data (its URDFs are read)
    declared = {d for d in _exec_depends() if not d.startswith("python3-") and d not in LIBRARIES}
    used = {ROS_KEYS.get(m, m) for m in _ros_imports()} | STARTED
    assert declared <= used, f"declared but not used: {sorted(declared - used)}"


def test_dds_profiles_loopback_for_tests_open_for_robots():
    """The tests' profile keeps UDP on 127.0.0.1 (DDS isolation); the robot's must not (other hosts)."""
    ns = {"d": "http://www.eprosima.com"}
    for name, loopback in (("fastdds_profile.xml", True), ("fastdds_robot_profile.xml", False)):
        root = ET.parse(REPO / "config" / name).getroot()
        whitelist = [a.text for a in root.iterfind(".//d:interfaceWhiteList/d:address", ns)]
        assert (whitelist == ["127.0.0.1"]) if loopback else not whitelist, (name, whitelist)
        sizes = [int(s.text) for s in root.iterfind(".//d:segment_size", ns)]
        assert sizes and sizes[0] >= 32 * 1024 * 1024, name  # camera-sized messages over shared memory
