"""The one graph description: resolution for launch arguments, bring-up command lines, launch file."""

import importlib.util
from pathlib import Path

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
    # nothing given: the node's params file holds the defaults, except what the graph derives from `hands`
    assert hand.parameters == {"frontend.max_hands": 1}
    assert hand.remappings["image"] == "camera/image_raw"  # relative: the graph works under a namespace
    robot_state = next(s for s in specs if s.name == "robot_state_publisher")
    assert robot_state.ros_only and robot_state.parameters["robot_description"].lstrip().startswith("<")


def test_arguments_select_nodes_and_values():
    specs = graph.resolve({"camera": "usb", "rviz": "false", "scale_mode": "fixed", "hand_length_m": "0.185"})
    assert names(specs) == ["usb_cam", "hand_pose_node", "retarget_node", "robot_state_publisher"]
    assert specs[1].parameters == {"scale.mode": "fixed", "scale.hand_length_m": 0.185, "frontend.max_hands": 1}


def test_camera_drivers_get_their_parameters():
    """camera:=usb passes usb_cam its device and calibration (it produced nothing with only frame_id)."""
    specs = graph.resolve({"camera": "usb", "device": "2", "camera_info_file": "/tmp/cam.yaml", "hfov_deg": "70"})
    usb = specs[0]
    assert usb.name == "usb_cam" and usb.ros_only
    assert usb.parameters["video_device"] == "/dev/video2"
    assert usb.parameters["camera_info_url"] == "file:///tmp/cam.yaml"
    assert usb.remappings == {"image_raw": "camera/image_raw", "camera_info": "camera/camera_info"}
    hand = next(s for s in specs if s.name == "hand_pose_node")
    assert hand.parameters["uncalibrated_hfov_deg"] == 70  # usb_cam without a calibration publishes K = 0
    assert graph.resolve({"camera": "usb", "device": "/dev/video4"})[0].parameters["video_device"] == "/dev/video4"
    assert graph.resolve({"camera": "usb"})[0].parameters["video_device"] == "/dev/video0"
    assert names(graph.resolve({"camera": "none", "rviz": "false"})) == [
        "hand_pose_node",
        "retarget_node",
        "robot_state_publisher",
    ]  # a bag replay or the user's own driver publishes the camera topics


def test_boolean_arguments_accept_any_case_and_use_sim_time_reaches_every_node():
    specs = graph.resolve({"rviz": "False", "robot_state_publisher": "0", "use_sim_time": "True", "loop": "yes"})
    assert names(specs) == ["video_source", "hand_pose_node", "retarget_node"]
    assert all(s.parameters["use_sim_time"] is True for s in specs)
    assert specs[0].parameters["loop"] is True
    with pytest.raises(ValueError, match="not a boolean"):
        graph.resolve({"rviz": "maybe"})


def test_topics_are_relative_so_the_graph_runs_under_a_namespace():
    for spec in graph.resolve({"camera": "usb"}):
        for src, dst in spec.remappings.items():
            assert not src.startswith("/") and not dst.startswith("/"), (spec.name, src, dst)


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
    assert "image:=camera/image_raw" in args
    assert parse_launch_args(["a:=1", "b:="]) == {"a": "1", "b": ""}


# launch_ros imports composition_interfaces: both must be importable in this process, or the test skips (the
# real `ros2 launch` runs in test_ros2_workflow.py with the test tooling, where ../shared is present).
LAUNCH_MISSING = [m for m in ("launch_ros", "composition_interfaces") if importlib.util.find_spec(m) is None]


@pytest.mark.skipif(bool(LAUNCH_MISSING), reason=f"not importable in the test process: {', '.join(LAUNCH_MISSING)}")
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


def test_two_hands_one_pipeline_per_side_under_its_namespace():
    specs = {s.key: s for s in graph.resolve({"hands": "two", "robot": "sim", "deadman": "none"})}
    left, right, sim = specs["left_retarget_node"], specs["right_retarget_node"], specs["sim_node"]
    assert (left.namespace, right.namespace) == ("left", "right")  # relative: inside the graph's namespace
    assert left.name == right.name == "retarget_node"
    assert "-r" in left.ros_args() and "__ns:=/left" in left.ros_args()
    assert left.parameters["robot_config"].endswith("scalehp_bimanual_left.yaml")
    assert right.parameters["robot_config"].endswith("scalehp_bimanual_right.yaml")
    # direct binding (default): each side's own hand, no mirroring, each arm's offset toward its hand
    assert left.parameters["joints_topic"] == "/hand_pose_node/left/joints"
    assert right.parameters["joints_topic"] == "/hand_pose_node/right/joints"
    assert left.parameters["mirror_input"] is False and left.parameters["offset_xyz"] == [0.0, -0.5, 0.0]
    assert left.parameters["publish_camera_tf"] is False  # one parent for the camera frame
    assert left.parameters["deadman"] == right.parameters["deadman"] == "none"
    assert sim.parameters["command_prefixes"] == "left/retarget_node,right/retarget_node"
    assert "retarget_node" not in specs  # the one-handed node is replaced, not doubled
    mirror = {s.key: s for s in graph.resolve({"hands": "two", "binding": "mirror"})}
    assert mirror["left_retarget_node"].parameters["joints_topic"] == "/hand_pose_node/right/joints"
    assert mirror["right_retarget_node"].parameters["joints_topic"] == "/hand_pose_node/left/joints"
    assert mirror["left_retarget_node"].parameters["mirror_input"] is True


def test_one_hand_stays_the_default_and_robot_sim_adds_the_simulator():
    default = {s.key for s in graph.resolve({})}
    assert "retarget_node" in default and "sim_node" not in default and "left_retarget_node" not in default
    sim = {s.key: s for s in graph.resolve({"robot": "sim"})}
    assert sim["sim_node"].parameters["robot_configs"] == "config/robots/scalehp_ur5e_allegro.yaml"
    assert sim["sim_node"].parameters["command_prefixes"] == "retarget_node"


def _topic_values(spec) -> list[tuple[str, str]]:
    return [(k, v) for k, v in spec.parameters.items() if isinstance(v, str) and k.endswith(("topic", "prefixes"))]


@pytest.mark.parametrize("hands", ["one", "two"])
def test_the_graph_can_be_included_under_a_namespace(hands):
    """issue 20 row 19 (and 15): hands:=two had absolute per-side namespaces (/left, /right) and topics
    (/hand_pose_node/left/joints, /joint_states): included under a namespace it read another graph's topics.
    Now every node namespace is relative and every name that leaves a node's namespace is built from the
    graph's (here /robot1), so nothing of the graph resolves outside /robot1 except /tf, /tf_static and
    /diagnostics."""
    specs = graph.resolve({"hands": hands, "robot": "sim"}, namespace="robot1")
    for spec in specs:
        assert not spec.namespace.startswith("/"), (spec.key, spec.namespace)
        for key, value in _topic_values(spec):
            for name in value.split(","):
                assert not name.startswith("/") or name.startswith("/robot1/"), (spec.key, key, value)
        for src, dst in spec.remappings.items():
            assert not src.startswith("/") and not dst.startswith("/"), (spec.key, src, dst)
    by_key = {s.key: s for s in specs}
    if hands == "two":
        left = by_key["left_retarget_node"]
        assert left.parameters["joints_topic"] == "/robot1/hand_pose_node/left/joints"
        assert left.parameters["tracking_topic"] == "/robot1/hand_pose_node/left/tracking"
        assert left.parameters["measured_state_topic"] == "/robot1/joint_states"
        assert by_key["sim_node"].parameters["joint_states_topic"] == "joint_states"
        mirror = {s.key: s for s in graph.resolve({"hands": "two", "binding": "mirror"}, namespace="/robot1/")}
        assert mirror["left_retarget_node"].parameters["tracking_topic"] == "/robot1/hand_pose_node/right/tracking"
        # the root namespace (no PushRosNamespace): the same names from /
        root = {s.key: s for s in graph.resolve({"hands": "two"})}
        assert root["right_retarget_node"].parameters["measured_state_topic"] == "/joint_states"
        assert "__ns:=/right" in root["right_retarget_node"].ros_args()  # the pip-only bring-up: under the root
    else:
        retarget = by_key["retarget_node"]
        assert "measured_state_topic" not in retarget.parameters  # its default, joint_states, is relative


def test_two_instances_get_their_own_frames():
    """issue 20 row 15: two copies of the graph (e.g. under /left and /right) published the same hand frames and
    the same camera frame; frame_prefix and camera_frame are launch arguments, passed to every node that names
    those frames."""
    specs = {s.key: s for s in graph.resolve({"frame_prefix": "left_", "camera_frame": "left_camera_optical"})}
    assert specs["hand_pose_node"].parameters["frame_prefix"] == "left_"
    assert specs["video_source"].parameters["frame_id"] == "left_camera_optical"
    assert specs["retarget_node"].parameters["camera_frame"] == "left_camera_optical"
    usb = {s.key: s for s in graph.resolve({"camera": "usb", "camera_frame": "cam2_optical"})}
    assert usb["usb_cam"].parameters["frame_id"] == "cam2_optical"
    two = {s.key: s for s in graph.resolve({"hands": "two", "camera_frame": "c"})}
    assert two["left_retarget_node"].parameters["camera_frame"] == two["right_retarget_node"].parameters["camera_frame"]


def _rviz_topics(path) -> list[str]:
    import yaml

    topics = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("Topic", "Description Topic") and isinstance(value, dict):
                    topics.append(value["Value"])
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load(path.read_text()))
    return topics


@pytest.mark.parametrize("hands", ["one", "two"])
def test_rviz_layout_shows_this_graph_under_any_namespace(hands):
    """issue 20 row 17: config/teleop.rviz had absolute topics: empty displays with hands:=two or a namespace.
    Each graph starts the layout made for it; its topics are relative (resolved in RViz's namespace, the
    graph's) and each one is a topic a node of that graph publishes. (RViz itself cannot run here.)"""
    specs = graph.resolve({"hands": hands})
    rviz = next(s for s in specs if s.name == "rviz2")
    layout = Path(rviz.arguments[1])
    assert layout.is_file()
    topics = _rviz_topics(layout)
    assert topics and all(not t.startswith("/") for t in topics), topics
    published = {"robot_description", "hand_pose_node/markers", "hand_pose_node/debug_image"}
    for spec in specs:
        if spec.name == "retarget_node":
            published.add(f"{spec.namespace + '/' if spec.namespace else ''}retarget_node/ee_target")
    assert set(topics) <= published, set(topics) - published
    ee = [t for t in topics if t.endswith("ee_target")]
    assert len(ee) == (2 if hands == "two" else 1)  # one end-effector display per side


def test_hand_pose_node_tracks_as_many_hands_as_the_graph_drives():
    """MediaPipe runs its palm detector on every frame while fewer hands than frontend.max_hands are in view,
    so the one-hand graph asks for one hand; the launch argument max_hands:=N overrides."""

    def tracked(**values: str) -> int:
        return next(s for s in graph.resolve(values) if s.name == "hand_pose_node").parameters["frontend.max_hands"]

    assert tracked() == 1 and tracked(hands="two") == 2 and tracked(max_hands="2") == 2


def test_arm_target_reaches_every_retarget_node_with_its_sides_reference():
    """arm_target:=arm_reference: each retarget_node follows the arm reference of the hand that drives it (the
    mirror binding crosses joints, tracking and reference together); empty keeps retarget.yaml's (wrist)."""
    one = next(s for s in graph.resolve({"arm_target": "arm_reference"}) if s.name == "retarget_node")
    assert one.parameters["arm_target"] == "arm_reference"
    assert one.parameters["arm_reference_topic"] == "hand_pose_node/right/arm_reference"  # the robot's hand side
    assert "arm_target" not in next(s for s in graph.resolve({}) if s.name == "retarget_node").parameters
    mirror = {s.key: s for s in graph.resolve({"hands": "two", "binding": "mirror", "arm_target": "arm_reference"})}
    for side, hand in (("left", "right"), ("right", "left")):
        params = mirror[f"{side}_retarget_node"].parameters
        assert params["arm_target"] == "arm_reference"
        assert params["arm_reference_topic"] == f"/hand_pose_node/{hand}/arm_reference"
        assert params["joints_topic"] == f"/hand_pose_node/{hand}/joints"


def test_the_one_hand_graph_reads_the_operator_hand_of_the_robot_hands_side():
    """A left robot hand (its palm frame mirrored) follows the operator's left hand: driven by the right one,
    the arm's orientation target would be mirrored."""
    for config, side in (
        ("config/robots/scalehp_ur5e_allegro.yaml", "right"),
        ("config/robots/scalehp_ur5e_allegro_left.yaml", "left"),
    ):
        spec = next(s for s in graph.resolve({"robot_config": config}) if s.name == "retarget_node")
        for what in ("joints", "tracking", "arm_reference"):
            assert spec.parameters[f"{what}_topic"] == f"hand_pose_node/{side}/{what}"
