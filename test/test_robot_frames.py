"""The robot descriptions' frames: no name shared with the human hand frames (REP 105, one parent per frame) and
the arm's frames equal ur_description's, checked by forward kinematics with pinocchio."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pinocchio as pin
import pytest

from scalehp_ros.common.joints import JOINT_NAMES
from scalehp_ros.retargeting.robot_config import load_robot_config

REPO = Path(__file__).resolve().parent.parent
URDFS = sorted((REPO / "urdf").glob("*.urdf"))
PI = np.pi

# ur_description (Universal_Robots_ROS2_Description, urdf/ur_macro.xacro + config/ur5e/default_kinematics.yaml,
# nominal UR5e values): joint name -> (parent, child, xyz, rpy) of every joint between base_link and tool0.
UR_DESCRIPTION = {
    "base_link-base_link_inertia": ("base_link", "base_link_inertia", (0, 0, 0), (0, 0, PI)),
    "base_link-base_fixed_joint": ("base_link", "base", (0, 0, 0), (0, 0, PI)),
    "shoulder_pan_joint": ("base_link_inertia", "shoulder_link", (0, 0, 0.1625), (0, 0, 0)),
    "shoulder_lift_joint": ("shoulder_link", "upper_arm_link", (0, 0, 0), (PI / 2, 0, 0)),
    "elbow_joint": ("upper_arm_link", "forearm_link", (-0.425, 0, 0), (0, 0, 0)),
    "wrist_1_joint": ("forearm_link", "wrist_1_link", (-0.3922, 0, 0.1333), (0, 0, 0)),
    "wrist_2_joint": ("wrist_1_link", "wrist_2_link", (0, -0.0997, -2.044881182297852e-11), (PI / 2, 0, 0)),
    "wrist_3_joint": ("wrist_2_link", "wrist_3_link", (0, 0.0996, -2.042830148012698e-11), (PI / 2, PI, PI)),
    "wrist_3-flange": ("wrist_3_link", "flange", (0, 0, 0), (0, -PI / 2, -PI / 2)),
    "flange-tool0": ("flange", "tool0", (0, 0, 0), (PI / 2, PI, PI / 2)),
}
UR_FRAMES = ("base", "base_link_inertia", "shoulder_link", "upper_arm_link", "forearm_link", "wrist_1_link")
UR_FRAMES = (*UR_FRAMES, "wrist_2_link", "wrist_3_link", "flange", "tool0")
ARM_JOINTS = ("shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint", "wrist_1_joint", "wrist_2_joint")
ARM_JOINTS = (*ARM_JOINTS, "wrist_3_joint")
# tool0 in base_link at q = 0 for a UR5e (the x/y/z a UR5e shows in RViz with ur_description at the zero pose:
# x = -(a2 + a3), y = d4 + d6, z = d1 - d5 from UR's DH table; z axis along +y, x axis along +x).
TOOL0_AT_ZERO = np.array([[1, 0, 0, 0.8172], [0, 0, 1, 0.2329], [0, -1, 0, 0.0628], [0, 0, 0, 1]], dtype=float)


def _ur_description_fk(q: dict[str, float]) -> dict[str, np.ndarray]:
    """4x4 pose of every ur_description frame in base_link, walking the joint table above."""
    poses = {"base_link": np.eye(4)}
    pending = dict(UR_DESCRIPTION)
    while pending:
        for name, (parent, child, xyz, rpy) in list(pending.items()):
            if parent not in poses:
                continue
            origin = np.eye(4)
            origin[:3, :3], origin[:3, 3] = pin.rpy.rpyToMatrix(*rpy), xyz
            motion = np.eye(4)
            motion[:3, :3] = pin.rpy.rpyToMatrix(0, 0, q.get(name, 0.0))  # every revolute axis is z
            poses[child] = poses[parent] @ origin @ motion
            del pending[name]
    return poses


def _single_arm_urdfs() -> list[Path]:
    return [u for u in URDFS if "bimanual" not in u.name]


def test_no_robot_link_is_named_like_a_human_hand_frame():
    """issue 20 row 5: the bimanual URDF had right_hand_wrist / left_hand_wrist, the names of the human wrist
    frames hand_pose_node publishes (<frame_prefix><side>_hand_<joint>): two TF parents for one frame."""
    human = {f"{side}_hand_{joint}" for side in ("left", "right") for joint in JOINT_NAMES}
    assert "right_hand_wrist" in human and len(human) == 42
    for urdf in URDFS:
        model = pin.buildModelFromUrdf(str(urdf))
        links = {f.name for f in model.frames if f.type == pin.FrameType.BODY}
        assert len(links) > 20, urdf
        assert not links & human, f"{urdf.name}: links {sorted(links & human)} collide with human hand frames"


def test_robot_configs_name_frames_that_exist():
    """issue 20 row 5: the robot YAMLs follow the renamed hand link (load_robot_config checks every frame)."""
    for path in sorted((REPO / "config" / "robots").glob("scalehp_*.yaml")):
        config = load_robot_config(path)
        assert config.arm.ee_frame.endswith("hand_mount") and config.hand.wrist_link == config.arm.ee_frame


@pytest.mark.parametrize("urdf", _single_arm_urdfs(), ids=lambda p: p.name)
def test_arm_frames_match_ur_description(urdf):
    """issue 20 row 6: this URDF's base_link was UR's controller `base` frame, turned by pi about z from
    ur_description's base_link (what ur_robot_driver publishes). Every ur_description frame must now have the
    same pose in base_link as in ur_description, at q = 0 and at random q."""
    model = pin.buildModelFromUrdf(str(urdf))
    data = model.createData()
    rng = np.random.default_rng(20)
    for k in range(20):
        q = pin.neutral(model) if k == 0 else rng.uniform(model.lowerPositionLimit, model.upperPositionLimit)
        pin.framesForwardKinematics(model, data, q)
        angles = {j: float(q[model.joints[model.getJointId(j)].idx_q]) for j in ARM_JOINTS}
        expected = _ur_description_fk(angles)
        base_link = data.oMf[model.getFrameId("base_link")]
        for frame in UR_FRAMES:
            got = base_link.actInv(data.oMf[model.getFrameId(frame)]).homogeneous
            np.testing.assert_allclose(got, expected[frame], atol=1e-8, err_msg=f"{urdf.name}: {frame} at q={q[:6]}")
        if k == 0:
            tool0 = base_link.actInv(data.oMf[model.getFrameId("tool0")]).homogeneous
            np.testing.assert_allclose(tool0, TOOL0_AT_ZERO, atol=1e-8)


def test_bimanual_arm_frames_match_ur_description():
    """issue 20 row 6: each side of the bimanual robot carries ur_description's frames under its prefix."""
    model = pin.buildModelFromUrdf(str(REPO / "urdf" / "scalehp_bimanual.urdf"))
    data = model.createData()
    q = np.random.default_rng(6).uniform(model.lowerPositionLimit, model.upperPositionLimit)
    pin.framesForwardKinematics(model, data, q)
    for side in ("left", "right"):
        angles = {j: float(q[model.joints[model.getJointId(f"{side}_{j}")].idx_q]) for j in ARM_JOINTS}
        expected = _ur_description_fk(angles)
        base_link = data.oMf[model.getFrameId(f"{side}_base_link")]
        for frame in UR_FRAMES:
            got = base_link.actInv(data.oMf[model.getFrameId(f"{side}_{frame}")]).homogeneous
            np.testing.assert_allclose(got, expected[frame], atol=1e-8, err_msg=f"{side}_{frame}")
        # each arm's `base` (the UR controller frame) is parallel to the pedestal's base_link: the robot
        # faces -x as before
        base = data.oMf[model.getFrameId(f"{side}_base")]
        np.testing.assert_allclose(base.rotation, np.eye(3), atol=1e-8)


def test_single_arm_retargeting_frame_is_the_controller_base():
    """issue 20 row 6: the single-arm robot YAMLs retarget in `base` (UR's controller base frame, the same
    frame in ur_description), so camera poses and workspace boxes keep their meaning on a real UR."""
    for name in ("scalehp_ur5e_allegro.yaml", "scalehp_ur5e_allegro_left.yaml"):
        assert load_robot_config(REPO / "config" / "robots" / name).arm.base_frame == "base"


def test_committed_urdfs_are_the_generator_output():
    """The committed URDFs are exactly what tools/make_robot_urdf.py writes (no hand edits)."""
    code = (
        "import sys; sys.path.insert(0, 'tools'); import make_robot_urdf as m; import json; "
        "print(json.dumps(m.descriptions()))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    for name, text in json.loads(out.stdout).items():
        assert (REPO / "urdf" / name).read_text() == text, name
