"""The one graph description: resolution for launch arguments, bring-up command lines, launch file."""

import importlib.util

import pytest

from scalehp_ros.bringup import graph
from scalehp_ros.bringup.processes import GraphProcesses, parse_launch_args
from scalehp_ros.common.share import package_share


def names(specs):
    return [s.name for s in specs]


def test_default_graph_has_the_teleop_nodes():
    specs = graph.resolve()
    assert names(specs) == ["video_source", "hand_pose_node", "retarget_node", "robot_state_publisher", "rviz2"]
    hand = next(s for s in specs if s.name == "hand_pose_node")
    assert hand.params_file.name == "hand_pose.yaml" and hand.params_file.is_file()
    assert hand.parameters == {}  # nothing given: the node's params file holds the defaults
    assert hand.remappings["image"] == "/camera/image_raw"
    robot_state = next(s for s in specs if s.name == "robot_state_publisher")
    assert robot_state.ros_only and robot_state.parameters["robot_description"].lstrip().startswith("<")


def test_arguments_select_nodes_and_values():
    specs = graph.resolve({"camera": "usb", "rviz": "false", "scale_mode": "fixed", "hand_length_m": "0.185"})
    assert names(specs) == ["usb_cam", "hand_pose_node", "retarget_node", "robot_state_publisher"]
    assert specs[1].parameters == {"scale_mode": "fixed", "hand_length_m": 0.185}


def test_bad_arguments_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="unknown launch arguments"):
        graph.resolve({"camrea": "usb"})
    with pytest.raises(ValueError, match="not one of"):
        graph.resolve({"scale_mode": "guess"})


def test_bringup_command_lines_and_skips():
    specs = graph.resolve({"video_file": "/tmp/clip.mp4"})
    procs = GraphProcesses(specs)
    assert names(procs.specs) == ["video_source", "hand_pose_node", "retarget_node"]
    assert names(procs.skipped) == ["robot_state_publisher", "rviz2"]
    args = procs.specs[0].ros_args()
    assert args[:3] == ["--ros-args", "-r", "__node:=video_source"]
    assert "video_file:=/tmp/clip.mp4" in args and not any(a.startswith("camera_info_file") for a in args)
    assert "image:=/camera/image_raw" in args
    assert parse_launch_args(["a:=1", "b:="]) == {"a": "1", "b": ""}


@pytest.mark.skipif(importlib.util.find_spec("launch_ros") is None, reason="launch_ros is not installed (pip-only)")
def test_launch_file_builds_its_description():
    from launch import LaunchContext

    spec = importlib.util.spec_from_file_location("teleop_launch", package_share() / "launch" / "teleop.launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    context = LaunchContext()
    nodes = []
    for entity in description.entities:
        nodes += [e for e in entity.visit(context) or [] if type(e).__name__ == "Node"]
    assert len(nodes) == len(graph.resolve())
    declared = {a.name for a in description.get_launch_arguments()}
    assert declared == {a.name for a in graph.arguments()}
