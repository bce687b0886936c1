"""config/ros2_controllers.yaml matches the robot config: joint names and order, controller types."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scalehp_ros.retargeting.robot_config import load_robot_config

REPO = Path(__file__).resolve().parent.parent
CONTROLLERS = REPO / "config" / "ros2_controllers.yaml"
ROBOT = REPO / "config" / "robots" / "scalehp_ur5e_allegro.yaml"


def mismatches(controllers: dict, robot) -> list[str]:
    """What differs between a ros2_controllers config and the robot config (empty: they agree)."""
    out = []
    manager = controllers["controller_manager"]["ros__parameters"]
    expected = {
        "arm_controller": ("joint_trajectory_controller/JointTrajectoryController", list(robot.arm.joints)),
        "hand_controller": ("forward_command_controller/ForwardCommandController", list(robot.hand.joints)),
    }
    for name, (kind, joints) in expected.items():
        if manager.get(name, {}).get("type") != kind:
            out.append(f"{name} must be a {kind}")
        got = list(controllers.get(name, {}).get("ros__parameters", {}).get("joints", []))
        if got != joints:
            out.append(f"{name} joints {got} differ from the robot config's {joints} (names and order)")
    if manager.get("joint_state_broadcaster", {}).get("type") != "joint_state_broadcaster/JointStateBroadcaster":
        out.append("a joint_state_broadcaster must publish the measured state")
    arm = controllers["arm_controller"]["ros__parameters"]
    if arm.get("command_interfaces") != ["position"] or "velocity" not in arm.get("state_interfaces", []):
        out.append("the arm controller takes position commands and needs the velocity state (splines)")
    # issue 20 row 2: every streamed trajectory ends with its closing brake at rest (docs/safety.md), so the
    # controller may refuse one that ends moving: with `true` a lost stream froze the arm at speed
    if arm.get("allow_nonzero_velocity_at_trajectory_end") is not False:
        out.append("trajectories end at rest: allow_nonzero_velocity_at_trajectory_end must be false")
    if controllers["hand_controller"]["ros__parameters"].get("interface_name") != "position":
        out.append("the hand controller takes positions")
    return out


@pytest.fixture(scope="module")
def robot():
    return load_robot_config(ROBOT)


def test_controllers_match_the_robot_config(robot):
    assert mismatches(yaml.safe_load(CONTROLLERS.read_text()), robot) == []


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: c["arm_controller"]["ros__parameters"]["joints"].reverse(),  # order
        lambda c: c["arm_controller"]["ros__parameters"]["joints"].__setitem__(2, "elbow"),  # name
        lambda c: c["hand_controller"]["ros__parameters"]["joints"].pop(),  # count
        lambda c: c["hand_controller"]["ros__parameters"]["joints"].insert(0, "wrist_3_joint"),
    ],
)
def test_a_different_joint_name_or_order_is_caught(robot, edit):
    controllers = yaml.safe_load(CONTROLLERS.read_text())
    edit(controllers)
    assert any("differ from the robot config" in m for m in mismatches(controllers, robot))


# joint_trajectory_controller parameter names (ros2_controllers, joint_trajectory_controller/src/
# joint_trajectory_controller_parameters.yaml): Jazzy's switch, and its name since PR 1525 (Kilted and newer).
JAZZY_SWITCH = "open_loop_control"
KILTED_SWITCH = "interpolate_from_desired_state"
UR_TOPIC = "/scaled_joint_trajectory_controller/joint_trajectory"  # ur_robot_driver's trajectory controller


def test_trajectories_start_from_the_desired_state_on_every_release():
    """issue 20 row 12: open_loop_control: false restarted every streamed spline from the measured state
    (ros2_controllers issue 1505); both names of the switch must be set, each release reads its own."""
    arm = yaml.safe_load(CONTROLLERS.read_text())["arm_controller"]["ros__parameters"]
    assert arm.get(JAZZY_SWITCH) is True
    assert arm.get(KILTED_SWITCH) is True


def test_the_ur_driver_controller_topic_is_named():
    """issue 20 row 12: the UR recipe names ur_robot_driver's scaled_joint_trajectory_controller topic, in the
    controllers file and in docs/robots.md with the launch argument that selects it."""
    assert f"arm_command_topic:={UR_TOPIC}" in CONTROLLERS.read_text()
    docs = (REPO / "docs" / "robots.md").read_text()
    assert f"arm_command_topic:={UR_TOPIC}" in docs and "base_frame: base" in docs
