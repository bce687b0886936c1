"""The robot registry (issue 25): assets from installed packages, dex-retargeting configs read and checked,
composed arm + hand models, mimic joints resolved, and the coverage matrix over the recorded clip."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pinocchio as pin
import pytest

from scalehp_ros.robots import assets
from scalehp_ros.robots.cli import main as cli
from scalehp_ros.robots.compose import compose
from scalehp_ros.robots.coverage import arm_coverage, hand_coverage, load_clip
from scalehp_ros.robots.dexconfig import check_dex_config, read_urdf
from scalehp_ros.robots.handconfigs import all_configs
from scalehp_ros.robots.kinematics import CoupledHand
from scalehp_ros.robots.registry import ARMS, HANDS, ROBOTS, list_json

REPO = Path(__file__).resolve().parent.parent
ARM_ROBOTS = ("ur5e_leap_hand_right", "panda_panda_gripper", "xarm7_inspire_hand_right", "ur10_leap_hand_right")
ARM_ROBOTS = (*ARM_ROBOTS, "z1_allegro_hand_right", "kinova_j2s6s200_ability_hand_right")


def test_list_json_counts_hands_once_with_their_sides(capsys):
    assert cli(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == json.loads(json.dumps(list_json()))
    assert set(data) == {"arms", "hands", "robots"}
    assert len(data["arms"]) >= 5 and len(data["hands"]) >= 7
    names = [h["name"] for h in data["hands"]]
    assert len(names) == len(set(names))
    assert sum(h["sides"] == ["right", "left"] for h in data["hands"]) >= 7


def test_assets_come_from_installed_packages_with_their_licences():
    """Nothing under the repository: every hand URDF is in dexi-rs's folder, every arm but the project's UR5e in
    example-robot-data's; each hand ships its licence file except the Panda gripper (None, documented)."""
    hands_dir = assets.dexi_hands_dir()
    assert "site-packages" in hands_dir.parts  # an installed wheel, not a copy in the repository
    meshes = subprocess.run(
        ["git", "ls-files", "*.stl", "*.STL", "*.obj", "*.dae", "*.glb"], cwd=REPO, capture_output=True, text=True
    )
    assert meshes.returncode != 0 or meshes.stdout == ""  # no mesh committed (outside a git checkout: skipped)
    for hand in HANDS.values():
        for side in hand.sides:
            assert hands_dir in hand.urdf_path(side).parents
        if hand.name == "panda_gripper":
            assert hand.licence is None
        else:
            assert (hands_dir / hand.licence).is_file(), hand.name
    for arm in ARMS.values():
        path = arm.urdf_path()
        assert path.is_file()
        if arm.kind == "erd":
            assert assets.example_robot_data_dir() in path.parents and "site-packages" in path.parts


def test_shipped_hand_configs_are_the_generator_output_and_pass_check():
    configs = all_configs()
    assert len(configs) == sum(len(h.sides) for h in HANDS.values()) >= 15
    for path, text in configs.items():
        assert path.read_text() == text, f"{path.name}: rerun python -m scalehp_ros.robots.handconfigs"
        assert check_dex_config(path) == [], path.name


def test_dex_retargetings_own_configs_are_read_as_they_are():
    try:
        folder = assets.dex_retargeting_configs_dir()
    except assets.AssetError:
        pytest.skip("dex-retargeting (optional) is not installed")
    files = sorted(folder.glob("*.yml"))
    assert len(files) >= 20
    for path in files:
        assert check_dex_config(path) == [], path.name


def _write(tmp_path: Path, body: str, name: str = "cfg.yml") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


LEAP = "retargeting:\n  type: vector\n  urdf_path: leap_hand/leap_hand_right.urdf\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            LEAP + '  target_origin_link_names: ["base"]\n  target_task_link_names: ["thumb_tip"]\n'
            "  target_link_human_indices: [[0], [4]]\n",
            "link 'thumb_tip' is not in leap_hand_right.urdf (similar: [",
        ),
        (
            LEAP + '  target_origin_link_names: ["base"]\n  target_task_link_names: ["thumb_tip_head"]\n'
            "  target_link_human_indices: [[0], [21]]\n",
            "human index 21 is outside 0..20",
        ),
        (
            LEAP + '  target_origin_link_names: ["base", "base"]\n  target_task_link_names: ["thumb_tip_head"]\n'
            "  target_link_human_indices: [[0, 0], [4, 8]]\n",
            "2 origin links, 1 task links",
        ),
        (
            "retargeting:\n  type: dexpilot\n  urdf_path: inspire_hand/inspire_hand_right.urdf\n"
            '  wrist_link_name: base\n  finger_tip_link_names: ["thumb_tip", "index_tip"]\n'
            '  target_joint_names: ["index_intermediate_joint"]\n',
            "target joint 'index_intermediate_joint' is a mimic joint (it follows 'index_proximal_joint')",
        ),
        (LEAP + "  target_origin_link_names: []\n  speed: 3\n", "unknown keys ['speed']"),
        ("retargeting:\n  type: magic\n  urdf_path: x.urdf\n", "type 'magic' is not one of"),
    ],
)
def test_check_explains_common_mistakes(tmp_path, capsys, body, expected):
    path = _write(tmp_path, body)
    assert cli(["check", str(path)]) == 1
    assert expected in capsys.readouterr().out


def test_check_finds_a_missing_mimic_parent(tmp_path, capsys):
    urdf = (
        '<robot name="h"><link name="base"/><link name="a"/><link name="b"/>'
        '<joint name="j1" type="revolute"><parent link="base"/><child link="a"/><axis xyz="0 0 1"/>'
        '<limit lower="0" upper="1" effort="1" velocity="1"/></joint>'
        '<joint name="j2" type="revolute"><parent link="a"/><child link="b"/><axis xyz="0 0 1"/>'
        '<limit lower="0" upper="1" effort="1" velocity="1"/><mimic joint="j9"/></joint></robot>'
    )
    _write(tmp_path, urdf, "h.urdf")
    path = _write(
        tmp_path,
        "retargeting:\n  type: vector\n  urdf_path: h.urdf\n  target_origin_link_names: [base]\n"
        "  target_task_link_names: [b]\n  target_link_human_indices: [[0], [8]]\n",
    )
    assert cli(["check", str(path)]) == 1
    assert "mimic joint 'j2' follows 'j9', not a movable joint" in capsys.readouterr().out
    good = _write(tmp_path, path.read_text(), "good.yml")
    (tmp_path / "h.urdf").write_text(urdf.replace('<mimic joint="j9"/>', '<mimic joint="j1"/>'))
    assert cli(["check", str(good)]) == 0


@pytest.mark.parametrize("name", sorted(ROBOTS))
def test_every_robot_composes_into_one_pinocchio_model(name):
    spec = ROBOTS[name]
    first, second = compose(spec), compose(spec)
    assert first.urdf == second.urdf  # reproducible
    model = first.model()
    names = [model.names[i] for i in range(1, model.njoints)]
    assert names == [*first.arm_joints, *first.hand_joints] or sorted(names) == sorted(
        [*first.arm_joints, *first.hand_joints]
    )
    assert len(names) == len(set(names))
    assert model.existFrame(first.flange)
    if spec.hand:
        # the hand root sits on the flange with the mount transform (identity here)
        data = model.createData()
        pin.framesForwardKinematics(model, data, pin.neutral(model))
        flange = data.oMf[model.getFrameId(first.flange)]
        root = data.oMf[model.getFrameId(first.hand_root)]
        np.testing.assert_allclose(flange.actInv(root).homogeneous, np.eye(4), atol=1e-9)
    meshes = [Path(m.split('"')[0]) for m in first.urdf.split('filename="')[1:]]
    assert all(m.is_absolute() for m in meshes)
    # example-robot-data ships its arms' meshes; dexi-rs 0.4.1 only those of the Allegro and Fourier hands
    complete = ("example-robot-data", "allegro_hand", "fourier_hand")
    assert all(m.is_file() for m in meshes if any(k in m.parts for k in complete))


def test_mimic_joints_follow_their_parents_and_stay_in_their_limits():
    hand = HANDS["inspire_hand"]
    summary = read_urdf(hand.urdf_path("right"))
    kin = CoupledHand(hand.urdf_path("right"), summary)
    assert kin.nq == 6 and len(summary.joints) == 12
    q = np.random.default_rng(25).uniform(kin.lower, kin.upper)
    full = kin.full(q)
    model = kin.model
    for joint, mimic in summary.mimic.items():
        value = full[model.joints[model.getJointId(joint)].idx_q]
        parent = full[model.joints[model.getJointId(mimic.parent)].idx_q]
        assert value == pytest.approx(mimic.multiplier * parent + mimic.offset)
    for q in np.random.default_rng(1).uniform(kin.lower, kin.upper, (200, kin.nq)):
        assert kin.limit_violations(q) == []


@pytest.fixture(scope="module")
def clip():
    return load_clip()


@pytest.mark.parametrize(("hand", "side"), [(h, s) for h in HANDS for s in HANDS[h].sides])
def test_every_hand_retargets_the_clip_without_a_limit_violation(clip, hand, side):
    row = hand_coverage(hand, side, clip)
    assert row.violations == 0
    assert np.isfinite(row.error_mm) and row.ms_per_frame > 0


@pytest.mark.parametrize("name", ARM_ROBOTS)
def test_every_arm_follows_the_clip_within_its_limits(clip, name):
    row = arm_coverage(
        ROBOTS[name],
        clip,
    )
    assert row.violations == 0
    assert row.position_error_mm < 1.0 and row.orientation_error_deg < 0.1


def _camera_frames() -> np.ndarray:
    """A few clip frames placed in front of the default camera (as test_bimanual does), metres."""
    frames = np.load(REPO / "data" / "human_joint_right_mediapipe.npy")[::60]
    rotation = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])
    return frames @ rotation.T + np.array([0.0, 0.05, 0.5])


@pytest.mark.parametrize("name", ["ur5e_allegro_hand_right", "ur5e_leap_hand_right", "ur5e_shadow_hand_right"])
def test_exported_robot_runs_the_projects_teleoperation(tmp_path, capsys, name):
    """`scalehp-robots export` writes a robot YAML that load_robot_config accepts and the Teleoperator drives."""
    from scalehp_ros.retargeting.robot_config import load_robot_config
    from scalehp_ros.retargeting.teleop import Teleoperator

    assert cli(["export", name, str(tmp_path)]) == 0
    assert f"robot_config:={tmp_path / name}.yaml" in capsys.readouterr().out
    config = load_robot_config(tmp_path / f"{name}.yaml")
    teleop = Teleoperator(config)
    lower, upper = teleop.hand.lower, teleop.hand.upper
    arm = np.asarray(config.arm.posture, dtype=float)
    for k, joints in enumerate(_camera_frames()):
        target = teleop.solve(joints, 1.0 + k / 30, arm)
        arm = target.arm
        assert np.all(target.hand >= lower - 1e-9) and np.all(target.hand <= upper + 1e-9)


def test_export_of_a_hand_with_mimic_joints_commands_its_actuated_joints(tmp_path, capsys):
    """Inspire: 6 actuated of 12 joints; the exported YAML commands the 6, its mimic joints follow them."""
    from scalehp_ros.retargeting.robot_config import load_robot_config

    assert cli(["export", "ur5e_inspire_hand_right", str(tmp_path)]) == 0
    config = load_robot_config(tmp_path / "ur5e_inspire_hand_right.yaml")
    summary = read_urdf(HANDS["inspire_hand"].urdf_path("right"))
    assert config.hand.joints == summary.actuated and len(summary.mimic) == 6


def test_export_refuses_a_hand_without_velocity_limits(tmp_path, capsys):
    """dexi-rs's Fourier URDF gives velocity="0" (and effort="0") for every joint: nothing to bound a command."""
    assert cli(["export", "ur5e_fourier_hand_6dof_right", str(tmp_path)]) == 1
    assert "no velocity limit" in capsys.readouterr().err


def _joint_trajectory(hand: str, side: str, frames: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Unfiltered actuated joints (rad) of one hand side over `frames`, names without their side prefix."""
    from scalehp_ros.robots.coverage import palm_keypoints, palm_rotation
    from scalehp_ros.robots.dexconfig import load_dex_config
    from scalehp_ros.robots.kinematics import VectorRetargeter

    spec = HANDS[hand]
    config, summary = load_dex_config(spec.config_path(side))
    kin = CoupledHand(spec.urdf_path(side), summary)
    pairs = config.vector_pairs()
    solver = VectorRetargeter(kin, [p[1] for p in pairs], [p[3] for p in pairs], low_pass_alpha=1.0)
    wrist, wrist_from_palm = palm_rotation(kin, config, side)
    rotation = kin.placement(0.5 * (kin.lower + kin.upper), wrist).rotation @ wrist_from_palm
    origin, task = np.array([p[0] for p in pairs]), np.array([p[2] for p in pairs])
    out = [
        solver.solve(config.scaling_factor * (k[task] - k[origin]) @ rotation.T) for k in palm_keypoints(frames, side)
    ]
    names = [n.removeprefix(f"{side}_").removeprefix(f"{side[0].upper()}_") for n in kin.joint_names]
    return names, np.array(out)


@pytest.mark.parametrize(
    ("hand", "max_rad", "mean_rad"),
    [("ability_hand", 1e-4, 1e-5), ("shadow_hand", 1e-4, 1e-5), ("fourier_hand_6dof", 0.03, 0.01),
     ("inspire_hand", 0.15, 0.01)],
)  # fmt: skip
def test_left_hand_on_the_mirrored_clip_moves_like_the_right_one(clip, hand, max_rad, mean_rad):
    """Left = the true mirror: the mirrored clip on the left hand gives the right hand's joint angles (measured:
    Ability and Shadow exact to the solver tolerance, Fourier 0.025 rad, Inspire 0.11 rad at most; dexi-rs's
    LEAP, Allegro and Schunk SVH left URDFs are not exact mirrors of their right ones, 1-4 rad apart on some
    frames, see docs/robots.md)."""
    right_names, right = _joint_trajectory(hand, "right", clip[::5])
    left_names, left = _joint_trajectory(hand, "left", clip[::5])
    left = left[:, [left_names.index(n) for n in right_names]]
    difference = np.abs(right - left)
    assert difference.max() <= max_rad and difference.mean() <= mean_rad


@pytest.mark.parametrize("hand", ["ability_hand", "allegro_hand", "inspire_hand", "leap_hand"])
@pytest.mark.parametrize("side", ["right", "left"])
def test_palm_axes_from_the_geometry_agree_with_the_mano_convention(hand, side):
    """The palm frame found from fingertip positions is within 6 deg of the MANO axes these dex-retargeting
    hands are built in (a check of palm_in_wrist; Shadow, Schunk SVH and Fourier are not in MANO axes)."""
    from scalehp_ros.retargeting.transforms import rpy_matrix
    from scalehp_ros.robots.coverage import PALM_IN_MANO_RPY, palm_rotation
    from scalehp_ros.robots.dexconfig import load_dex_config

    config, summary = load_dex_config(HANDS[hand].config_path(side))
    _, found = palm_rotation(CoupledHand(HANDS[hand].urdf_path(side), summary), config, side)
    mano = rpy_matrix(PALM_IN_MANO_RPY)
    angle = np.degrees(np.arccos(np.clip((np.trace(found.T @ mano) - 1) / 2, -1, 1)))
    assert angle < 6.0


@pytest.mark.parametrize(
    ("name", "min_lift_m"),
    [("ur5e_allegro_hand_right", 0.10), ("ur3_allegro_hand_right", 0.10), ("ur5_allegro_hand_right", 0.10),
     ("ur10_allegro_hand_right", 0.10), ("xarm7_allegro_hand_right", 0.10), ("panda_allegro_hand_right", 0.10),
     ("z1_allegro_hand_right", 0.09)],
)  # fmt: skip
def test_composed_robot_lifts_the_can_in_the_mujoco_sandbox(tmp_path, name, min_lift_m):
    """Exported (composed URDF with dexi-rs's Allegro meshes linked, robot YAML) and run in the project's MuJoCo
    sandbox: the scripted grasp lifts the can by 0.15 m and holds it. Measured lifts at grasp heights 0.05, 0.06
    and 0.07 m: 0.15-0.16 m with the UR arms and the xArm7, 0.14-0.15 m with the Panda, 0.105-0.116 m with the
    Z1, whose palm-down wrist cannot rise above about 0.29 m at 0.38 m out (its reach). Only the Allegro has
    meshes in dexi-rs 0.4.1 and the scripted closing posture is the Allegro's (docs/robots.md)."""
    from scalehp_ros.retargeting.robot_config import load_robot_config
    from scalehp_ros.robots.export import export
    from scalehp_ros.simulation.grasp import ScriptedGrasp
    from scalehp_ros.simulation.sim import Simulation

    _, path = export(name, tmp_path)
    config = load_robot_config(path)
    sim = Simulation(config.arm.urdf, initial=dict(zip(config.arm.joints, config.arm.posture, strict=True)))
    can = next(o for o in sim.scene.objects if o.endswith("can"))
    result = ScriptedGrasp(sim, config).run(can, lift_m=0.15)
    assert result.object_start[2] == pytest.approx(0.08, abs=3e-3)
    assert result.lifted_m > min_lift_m, result
    assert np.linalg.norm(result.object_end[:2] - result.object_start[:2]) < 0.05


@pytest.mark.parametrize("height", [0.05, 0.06])
def test_panda_with_its_franka_hand_lifts_the_can_in_the_mujoco_sandbox(tmp_path, height):
    """example-robot-data's Panda with its own parallel gripper (collision boxes on the finger pads): the
    scripted grasp comes down on the can and closes the fingers (measured lift 0.144 m at grasp heights 0.05
    and 0.06 m; at 0.07 m the pads hold only the can's top centimetre and it falls, docs/robots.md)."""
    from scalehp_ros.retargeting.robot_config import ArmConfig
    from scalehp_ros.robots.export import export_urdf
    from scalehp_ros.simulation.grasp import FRANKA_HAND, FRANKA_HAND_EE_RPY, ScriptedGrasp
    from scalehp_ros.simulation.sim import Simulation

    urdf = export_urdf("panda_franka_hand", tmp_path)
    composition = compose(ROBOTS["panda_franka_hand"])
    assert set(FRANKA_HAND.joints) == set(composition.hand_joints)
    posture = np.array(ARMS["panda"].posture)
    arm = ArmConfig(urdf, "teleop_base", "panda_hand", FRANKA_HAND_EE_RPY, composition.arm_joints, posture)
    sim = Simulation(urdf, initial=dict(zip(arm.joints, posture, strict=True)))
    can = next(o for o in sim.scene.objects if o.endswith("can"))
    result = ScriptedGrasp(sim, arm, hand=FRANKA_HAND).run(can, grasp_height_m=height, lift_m=0.15)
    assert result.lifted_m > 0.10, result
    assert np.linalg.norm(result.object_end[:2] - result.object_start[:2]) < 0.05
