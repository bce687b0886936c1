"""`teleop.launch.py robot_config:=NAME` for every registered robot (issue 25): the graph resolves a registry name
to its exported robot YAML (scalehp_ros.robots.cache), the YAML loads into the retargeting core with its joints
(mimic joints coupled, never outside their URDF limits), robots that cannot run are refused with the reason,
and one real `ros2 launch` of a composed robot with the MuJoCo sandbox commands its arm and hand over DDS."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pinocchio as pin
import pytest

from scalehp_ros.bringup import graph
from scalehp_ros.retargeting.command_loop import CommandLoop, CommandLoopSettings
from scalehp_ros.retargeting.robot_config import load_robot_config
from scalehp_ros.retargeting.robot_model import RobotModel, urdf_mimic
from scalehp_ros.retargeting.teleop import Teleoperator
from scalehp_ros.robots import cache
from scalehp_ros.robots.registry import ROBOTS

REPO = Path(__file__).resolve().parent.parent
FRAMES = np.load(REPO / "data" / "human_joint_right_mediapipe.npy")
ROTATION = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])
CAMERA_FRAMES = FRAMES @ ROTATION.T + np.array([0.0, 0.05, 0.5])  # the clip in front of the default camera, m
# robots that cannot run in retarget_node, and the words of the reason the launch gives
REFUSED = {
    "so100": "needs a dexterous hand",
    "panda_franka_hand": "needs a dexterous hand",
    "ur5e_fourier_hand_6dof_right": "no velocity limit",
    "ur5e_fourier_hand_6dof_left": "no velocity limit",
    "ur5e_panda_gripper": "wrist -> fingertip vectors",
    "panda_panda_gripper": "wrist -> fingertip vectors",
}
RUNNABLE = sorted(set(ROBOTS) - set(REFUSED))


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    """One export cache for the module, never the user's ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg_cache"))


def _node(specs, name):
    return next(s for s in specs if s.name == name)


@pytest.mark.parametrize("name", RUNNABLE)
def test_registered_robot_launches_with_its_exported_config(name):
    """The graph passes the exported YAML to retarget_node and sim_node and its URDF to robot_state_publisher;
    the YAML drives the Teleoperator and the CommandLoop over clip frames with every joint of the URDF, the
    hand's mimic joints included, inside its limits."""
    specs = graph.resolve({"robot_config": name})
    path = Path(_node(specs, "retarget_node").parameters["robot_config"])
    assert path == cache.cache_dir() / name / f"{name}.yaml" and path.is_file()
    config = load_robot_config(path)
    assert _node(specs, "robot_state_publisher").parameters["robot_description"] == config.arm.urdf.read_text()
    assert config.hand.urdf == config.arm.urdf == path.with_suffix(".urdf")
    hand = RobotModel(config.hand.urdf, config.hand.joints)
    mimic = set(urdf_mimic(config.hand.urdf))
    assert set(hand.mimic_names) == mimic  # every mimic joint of the hand follows a commanded joint
    assert not set(config.hand.joints) & mimic
    assert hand.model.nq == len(config.hand.joints) + len(mimic)  # the arm's joints locked, the hand's all free

    teleop = Teleoperator(config)
    # the posture reaches toward -x of the base frame, the workspace of config/retarget.yaml's camera and box
    assert teleop.ik.forward(config.arm.posture).translation[0] < -0.1
    loop = CommandLoop(teleop, CommandLoopSettings(deadman="none"))
    loop.activate(0.0)
    loop.set_measured(config.arm.posture, hand.clip(np.zeros(hand.nq)), 0.0)
    ok, reason = loop.engage(True, 0.0)
    assert ok, reason
    full_lower, full_upper = hand.model.lowerPositionLimit, hand.model.upperPositionLimit
    commands = 0
    for k in range(60):
        t = 0.02 * (k + 1)
        loop.set_measured(loop.arm.last.copy(), loop.hand.last.copy(), t)
        if k % 2 == 0:
            loop.on_frame(CAMERA_FRAMES[k * 10], t, t)
        command = loop.tick(t)
        if command is None:
            continue
        commands += 1
        assert command.hand.shape == (len(config.hand.joints),)
        full = hand.to_pin(command.hand)
        assert np.all(full >= full_lower - 1e-9) and np.all(full <= full_upper + 1e-9)
    assert commands > 30


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_robot_that_cannot_run_is_refused_with_the_reason(name):
    with pytest.raises(ValueError, match=f"robot_config:={name}: .*{REFUSED[name]}"):
        graph.resolve({"robot_config": name})


def test_a_path_is_not_a_registry_name_and_a_meshless_hand_is_refused_in_the_sandbox():
    default = "config/robots/scalehp_ur5e_allegro.yaml"
    assert graph.registry_robot_config(default) == default
    with pytest.raises(ValueError, match=r"robot:=sim: .* mesh files"):
        graph.resolve({"robot_config": "ur5e_leap_hand_right", "robot": "sim"})
    specs = graph.resolve({"robot_config": "ur10_allegro_hand_right", "robot": "sim"})
    assert _node(specs, "sim_node").parameters["robot_configs"] == str(
        cache.cache_dir() / "ur10_allegro_hand_right" / "ur10_allegro_hand_right.yaml"
    )


def test_the_export_cache_is_reused_and_renewed_when_its_sources_change(monkeypatch):
    name = "ur5e_inspire_hand_right"
    first = cache.exported_config(name)
    stamp = first.parent / "stamp.json"
    text, made = first.read_text(), stamp.stat().st_mtime_ns
    assert cache.exported_config(name) == first and stamp.stat().st_mtime_ns == made  # reused
    wanted = cache.stamp(name)
    stale = dict(wanted, packages={**wanted["packages"], "dexi-rs": "0.0.0"})
    stamp.write_text(json.dumps(stale))  # as if made with another dexi-rs
    assert cache.exported_config(name) == first
    assert json.loads(stamp.read_text()) == wanted and first.read_text() == text  # re-exported, the same text


def test_mimic_joints_are_coupled_by_the_chain_rule():
    """RobotModel's Jacobian with respect to the actuated joints is the finite difference of the coupled
    forward kinematics (Inspire: 6 actuated, 6 mimic joints)."""
    path = cache.exported_config("ur5e_inspire_hand_right")
    config = load_robot_config(path)
    hand = RobotModel(config.hand.urdf, config.hand.joints)
    assert hand.nq == 6 and len(hand.mimic_names) == 6
    q = np.random.default_rng(3).uniform(hand.lower, hand.upper)
    tip = hand.frame_id(config.hand.fingertips[1][1])
    pin.computeJointJacobians(hand.model, hand.data, hand.to_pin(q))
    pin.updateFramePlacements(hand.model, hand.data)
    jac = hand.reduce_jacobian(pin.getFrameJacobian(hand.model, hand.data, tip, pin.LOCAL_WORLD_ALIGNED)[:3])
    eps = 1e-6
    numeric = np.column_stack(
        [
            (hand.placement(q + eps * e, tip).translation - hand.placement(q - eps * e, tip).translation) / (2 * eps)
            for e in np.eye(hand.nq)
        ]
    )
    np.testing.assert_allclose(jac, numeric, atol=1e-6)


# -- a real launch ---------------------------------------------------------------------------------------------


def _ros_reason() -> str | None:
    from ros_tooling import missing_reason

    return missing_reason()


@pytest.mark.ros
@pytest.mark.slow
def test_ros2_launch_of_a_registered_robot_drives_its_arm_and_hand_in_the_sandbox(tmp_path, ros):
    """`ros2 launch scalehp_ros teleop.launch.py robot_config:=ur10_allegro_hand_right robot:=sim`: a composed
    robot (example-robot-data's UR10, dexi-rs's Allegro) exported into the cache, retarget_node commanding its
    arm and hand topics with its joints and the sandbox publishing them measured on /joint_states."""
    reason = _ros_reason()
    if reason is not None:
        pytest.skip(reason)
    from geometry_msgs.msg import PoseArray
    from rclpy.node import Node
    from ros_harness import engage_when_ready, spin_until, subscribe
    from ros_tooling import colcon_build, tooling_env
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray
    from trajectory_msgs.msg import JointTrajectory

    name = "ur10_allegro_hand_right"
    (tmp_path / "ws").mkdir()
    install = colcon_build(tmp_path / "ws")
    env = tooling_env(install, XDG_CACHE_HOME=str(tmp_path / "cache"))
    node = Node("robots_launch_probe")
    arm, hand, measured = [], [], set()
    subscribe(node, JointTrajectory, "/retarget_node/arm/joint_trajectory", arm.append)
    subscribe(node, Float64MultiArray, "/retarget_node/hand/commands", hand.append)
    subscribe(node, JointState, "/joint_states", lambda m: measured.update(m.name))
    joints = []
    subscribe(node, PoseArray, "/hand_pose_node/right/joints", joints.append, depth=10)
    log = tempfile.NamedTemporaryFile("w+", prefix="launch_", suffix=".log", delete=False)
    args = [f"robot_config:={name}", "robot:=sim", "deadman:=none", "loop:=true", "rviz:=false"]
    proc = subprocess.Popen(
        ["ros2", "launch", "scalehp_ros", "teleop.launch.py", *args, "robot_state_publisher:=false"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def output() -> str:
            return Path(log.name).read_text(errors="replace")[-4000:]

        assert spin_until(node, lambda: len(measured) > 0, 120.0), output()
        config = load_robot_config(tmp_path / "cache" / "scalehp_ros" / "robots" / name / f"{name}.yaml")
        assert set(config.joint_names) <= measured
        # engaged once the hand is tracked, as an operator would: while MediaPipe loads, the CPU burst can delay the
        # measured state past measured_state_timeout, which holds and disengages the arm (retarget_node says so)
        assert spin_until(node, lambda: len(joints) >= 30, 120.0), output()
        response = engage_when_ready(node, "/retarget_node/engage", 60.0)
        assert response.success, (response, output())
        assert spin_until(node, lambda: len(arm) >= 3 and len(hand) >= 3, 120.0), output()
        # the tracked hand in the clip moves the robot hand: retargeting runs (MediaPipe starts in seconds)
        assert spin_until(node, lambda: len({tuple(np.round(m.data, 3)) for m in hand}) > 5, 120.0), output()
        assert list(arm[-1].joint_names) == list(config.arm.joints)
        assert len(hand[-1].data) == len(config.hand.joints)
        values = np.array(hand[-1].data)
        model = RobotModel(config.hand.urdf, config.hand.joints)
        assert np.all(values >= model.lower - 1e-9) and np.all(values <= model.upper + 1e-9)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        try:
            code = proc.wait(30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        out = Path(log.name).read_text(errors="replace")
        log.close()
        Path(log.name).unlink(missing_ok=True)
        node.destroy_node()
    assert code == 0 and "Traceback" not in out, out[-4000:]
