"""The ROS 2 workflow as a user runs it: `colcon build`, `ros2 launch scalehp_ros teleop.launch.py`, the `ros2` CLI.

Uses the real upstream launch / launch_ros / ros2cli (test tooling from ../shared/vendor/ros2, see
test/ros_tooling.py) against a colcon install of this repository, over real DDS kept on loopback.
robot_state_publisher and RViz have no wheel here: the launch leaves them out with its own arguments.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from ros_harness import spin_until, subscribe
from ros_tooling import cli_missing_reason, colcon_build, missing_reason, ros2, tooling_env

REASON = missing_reason()
pytestmark = [
    pytest.mark.ros,
    pytest.mark.slow,
    pytest.mark.skipif(REASON is not None, reason=REASON or ""),
]
NO_ROS_ONLY_NODES = ("rviz:=false", "robot_state_publisher:=false")
# `ros2 topic` imports rosidl_runtime_py, which has neither a registry wheel nor a copy in ../shared/vendor:
# the topics are checked through `ros2 node info` instead, and `ros2 topic list` runs where it can.
TOPIC_CLI = cli_missing_reason("topic") is None


@pytest.fixture(scope="module")
def install(tmp_path_factory) -> Path:
    return colcon_build(tmp_path_factory.mktemp("ws"))


class Launch:
    """`ros2 launch scalehp_ros teleop.launch.py ARGS` in its own process group, output in a log file."""

    def __init__(self, install: Path, *args: str):
        self.log = tempfile.NamedTemporaryFile("w+", prefix="launch_", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            ["ros2", "launch", "scalehp_ros", "teleop.launch.py", *args],
            env=tooling_env(install),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def interrupt(self, timeout: float = 30.0) -> int:
        """Ctrl-C: SIGINT to the whole foreground process group, as a terminal sends it."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def close(self) -> None:
        self.interrupt(5.0)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def test_colcon_build_gives_the_ros_layout(install):
    package = install / "scalehp_ros"
    for executable in ("hand_pose_node", "retarget_node", "video_source"):
        assert (package / "lib" / "scalehp_ros" / executable).is_file(), executable
    share = package / "share" / "scalehp_ros"
    for rel in (
        "package.xml",
        "launch/teleop.launch.py",
        "config/teleop_graph.yaml",
        "config/hand_pose.yaml",
        "config/robots/scalehp_ur5e_allegro.yaml",
        "urdf/scalehp_ur5e_allegro.urdf",
        "data/human_hand_video.mp4",
        "models/hand_landmarker.task",
    ):
        assert (share / rel).is_file(), rel
    assert (package / "share" / "ament_index" / "resource_index" / "packages" / "scalehp_ros").is_file()
    assert ros2("pkg", "prefix", "scalehp_ros", env=tooling_env(install)).stdout.strip() == str(package)


def test_ros2_launch_runs_the_graph_and_the_cli_reaches_it(install, ros):
    from rclpy.node import Node
    from sensor_msgs.msg import JointState
    from tf2_msgs.msg import TFMessage

    node = Node("workflow_probe")
    frames: set[str] = set()
    states: list = []
    subscribe(node, TFMessage, "/tf", lambda m: frames.update(t.child_frame_id for t in m.transforms))
    subscribe(node, JointState, "/joint_states", states.append)
    # no robot here: the visualisation-only run (commanded state on /joint_states, as RViz needs it)
    launch = Launch(
        install, *NO_ROS_ONLY_NODES, "loop:=true", "simulate_robot:=true", "joint_command_topic:=/joint_states"
    )
    env = tooling_env(install)
    try:
        assert spin_until(node, lambda: "right_hand_wrist" in frames and len(states) >= 3, 120.0), launch.output()

        nodes = ros2("node", "list", "--no-daemon", "--spin-time", "5", env=env).stdout.split()
        assert {"/video_source", "/hand_pose_node", "/retarget_node"} <= set(nodes), nodes
        info = ros2("node", "info", "--no-daemon", "--spin-time", "5", "/hand_pose_node", env=env).stdout
        for topic in ("/camera/image_raw", "/camera/camera_info", "/hand_pose_node/right/joints", "/tf"):
            assert topic in info, info
        if TOPIC_CLI:
            topics = ros2("topic", "list", "--no-daemon", "--spin-time", "5", env=env).stdout.split()
            assert {"/camera/image_raw", "/hand_pose_node/right/joints", "/joint_states"} <= set(topics), topics

        get = ros2("param", "get", "--no-daemon", "--spin-time", "5", "/hand_pose_node", "max_hands", env=env)
        assert get.stdout.strip() == "Integer value is: 2", get.stdout + get.stderr
        bad = ros2("param", "set", "--no-daemon", "--spin-time", "5", "/hand_pose_node", "max_hands", "0", env=env)
        said = bad.stdout + bad.stderr  # rclpy checks the descriptor's range before the node's own validation
        assert "Setting parameter failed" in said and "max_hands" in said and "Min: 1, Max: 4" in said, said
        bad = ros2("param", "set", "--no-daemon", "--spin-time", "5", "/hand_pose_node", "solver", "magic", env=env)
        said = bad.stdout + bad.stderr  # a choice: the node's own validation gives the reason
        assert "Setting parameter failed" in said and "solver must be one of" in said, said
        good = ros2("param", "set", "--no-daemon", "--spin-time", "5", "/hand_pose_node", "max_hands", "1", env=env)
        assert "successful" in good.stdout.lower(), good.stdout + good.stderr
        after = ros2("param", "get", "--no-daemon", "--spin-time", "5", "/hand_pose_node", "max_hands", env=env)
        assert after.stdout.strip() == "Integer value is: 1"
        # a read-only parameter given at launch shows the value in use (not the default)
        period = ros2(
            "param", "get", "--no-daemon", "--spin-time", "5", "/hand_pose_node", "diagnostics_period", env=env
        )
        assert period.stdout.strip() == "Double value is: 1.0"

        code = launch.interrupt()
        out = launch.output()
        assert code == 0, out[-4000:]
        assert "Traceback" not in out, out[-4000:]
        for name in ("video_source", "hand_pose_node", "retarget_node"):
            assert f"[{name}-" in out and "process has finished cleanly" in out, out[-4000:]
        assert "process has died" not in out, out[-4000:]
    finally:
        launch.close()
        node.destroy_node()


def test_an_invalid_launch_value_stops_the_graph_with_the_reason(install):
    launch = Launch(install, *NO_ROS_ONLY_NODES, "hand_length_m:=0.35")
    try:
        deadline = time.monotonic() + 90.0
        while launch.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        out = launch.output()
        assert launch.proc.poll() is not None, "the launch kept running without hand_pose_node:\n" + out[-3000:]
        assert "invalid parameter hand_length_m:=0.35" in out and "must be in [0.1, 0.3]" in out, out[-3000:]
        assert "Traceback" not in out, out[-3000:]
    finally:
        launch.close()


def test_launch_rejects_an_unknown_camera_and_accepts_capitalised_booleans(install):
    env = tooling_env(install)
    shown = ros2("launch", "scalehp_ros", "teleop.launch.py", "--show-args", env=env)
    assert "'use_sim_time'" in shown.stdout and "'camera'" in shown.stdout
    launch = Launch(install, "camera:=none", "rviz:=False", "robot_state_publisher:=FALSE", "use_sim_time:=True")
    try:
        time.sleep(8.0)
        out = launch.output()
        assert launch.proc.poll() is None, out[-3000:]
        assert "video_source" not in out and "[hand_pose_node-" in out, out[-3000:]
        assert launch.interrupt() == 0, launch.output()[-3000:]
    finally:
        launch.close()


def test_ros2_launch_two_hands_namespaces_each_side_and_runs_the_simulator(install, ros):
    """`hands:=two robot:=sim`: one retarget_node per side under /left and /right, fed by its own hand and
    commanding its own arm topics, both reading the simulator's measured /joint_states; Ctrl-C ends all."""
    from rclpy.node import Node
    from sensor_msgs.msg import JointState

    node = Node("two_hand_probe")
    names: set[str] = set()
    subscribe(node, JointState, "/joint_states", lambda m: names.update(m.name))
    launch = Launch(install, *NO_ROS_ONLY_NODES, "hands:=two", "robot:=sim", "deadman:=none", "loop:=true")
    env = tooling_env(install)
    try:
        assert spin_until(node, lambda: any(n.startswith("left_") for n in names), 120.0), launch.output()[-4000:]
        assert any(n.startswith("right_") for n in names), sorted(names)
        # each retarget_node loads pinocchio and hand_pose_node MediaPipe: seconds, more on a loaded machine
        wanted = {("/left", "retarget_node"), ("/right", "retarget_node"), ("/", "hand_pose_node"), ("/", "sim_node")}

        def seen() -> bool:
            return wanted <= {(ns, n) for n, ns in node.get_node_names_and_namespaces()}

        assert spin_until(node, seen, 60.0), launch.output()[-4000:]
        nodes = ros2("node", "list", "--no-daemon", "--spin-time", "5", env=env).stdout.split()
        assert {"/left/retarget_node", "/right/retarget_node", "/sim_node", "/hand_pose_node"} <= set(nodes), nodes
        for side in ("left", "right"):
            info = ros2("node", "info", "--no-daemon", "--spin-time", "5", f"/{side}/retarget_node", env=env).stdout
            subscribed, published = info.split("Publishers:")[0], info.split("Publishers:")[1].split("Service")[0]
            assert f"/hand_pose_node/{side}/joints" in subscribed and "/joint_states" in subscribed, info
            assert f"/{side}/retarget_node/arm/joint_trajectory" in published, info
            assert f"/{side}/retarget_node/engage" in info, info
        code = launch.interrupt()
        out = launch.output()
        assert code == 0 and "Traceback" not in out and "process has died" not in out, out[-4000:]
    finally:
        launch.close()
        node.destroy_node()
