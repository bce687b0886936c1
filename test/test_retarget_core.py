"""Retargeting core on the real URDFs: configuration errors, FK/IK, hand retargeting, limits, safety, clutch."""

from __future__ import annotations

import importlib.metadata
from dataclasses import replace
from pathlib import Path

import numpy as np
import pinocchio as pin
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from scalehp_ros.common.hand_frames import palm_frame
from scalehp_ros.retargeting.arm_ik import ArmIK
from scalehp_ros.retargeting.dls import bounded_dls
from scalehp_ros.retargeting.hand import RETARGETING_METHODS, build_hand_retargeter
from scalehp_ros.retargeting.robot_config import RETARGETING_TYPES, load_robot_config
from scalehp_ros.retargeting.safety import JointLimiter
from scalehp_ros.retargeting.teleop import Teleoperator, TeleopSettings
from scalehp_ros.retargeting.transforms import in_palm_frame

REPO = Path(__file__).resolve().parent.parent
ROBOT = REPO / "config" / "robots" / "scalehp_ur5e_allegro.yaml"
ERD_ROBOT = REPO / "config" / "robots" / "example_robot_data_ur5_allegro.yaml"
FRAMES = np.load(REPO / "data" / "human_joint_right_mediapipe.npy")


@pytest.fixture(scope="module")
def robot():
    return load_robot_config(ROBOT)


# --- configuration --------------------------------------------------------------------------------------------


def _write_variant(tmp_path: Path, edit) -> Path:
    raw = yaml.safe_load(ROBOT.read_text())
    for part in ("arm", "hand"):
        raw[part]["urdf"] = str(REPO / raw[part]["urdf"])
    edit(raw)
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r["arm"].update(urdf="/nonexistent/robot.urdf"), "does not exist"),
        (lambda r: r["arm"]["joints"].__setitem__(0, "no_such_joint"), "'no_such_joint' is not in"),
        (lambda r: r["hand"].update(wrist_link="no_such_link"), "'no_such_link' is not in"),
        (lambda r: r["hand"]["fingertips"].update(index_tip="nope_tip"), "'nope_tip' is not in"),
        (lambda r: r["hand"]["fingertips"].update(sixth_finger_tip="index_tip"), "unknown human keypoint"),
        (lambda r: r["hand"]["retargeting"].update(type="magic"), "is not one of"),
        (lambda r: r["arm"].pop("ee_frame"), "missing required key 'ee_frame'"),
        (lambda r: r["arm"].update(posture=[0.0, 1.0]), "posture"),
        (lambda r: r["hand"].update(wrist_link_xyz=[0.0, 0.01]), r"wrist_link_xyz: expected \[x, y, z\] in metres"),
    ],
)
def test_configuration_errors_are_clear(tmp_path, edit, message):
    with pytest.raises(ValueError, match=message):
        load_robot_config(_write_variant(tmp_path, edit))


def test_missing_config_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_robot_config(tmp_path / "absent.yaml")


def _erd_installed() -> bool:
    try:
        importlib.metadata.distribution("example-robot-data")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(not _erd_installed(), reason="example-robot-data is not installed")
def test_example_robot_data_robot_needs_only_a_yaml():
    other = load_robot_config(ERD_ROBOT)
    ours = load_robot_config(ROBOT)
    same = replace(ours.hand.retargeting, type="vector", low_pass_alpha=1.0)
    hand_ours, hand_other = build_hand_retargeter(ours.hand, same), build_hand_retargeter(other.hand, same)
    ik = ArmIK(other.arm)
    target = ik.forward(ik.posture + 0.2)
    ik.reset()
    assert ik.solve(target).position_error < 1e-3
    # Same Allegro kinematics in both: the retargeted fingertip vectors agree within a millimetre.
    for joints in FRAMES[:60:6]:
        keypoints = in_palm_frame(joints)
        tips_ours = hand_ours.fingertip_vectors(hand_ours.retarget(keypoints))
        tips_other = hand_other.fingertip_vectors(hand_other.retarget(keypoints))
        assert np.abs(tips_ours - tips_other).max() < 1e-3


# --- palm frame -----------------------------------------------------------------------------------------------


def test_palm_frame_axes_on_real_data():
    # The data's wrist frame has z along the fingers, x out of the palm (dex-retargeting's operator frame).
    rotations = np.array([palm_frame(j)[0] for j in FRAMES])
    assert np.all(np.einsum("nij,nij->n", rotations, rotations) == pytest.approx(3.0))
    assert np.median(rotations[:, 2, 0]) > 0.8  # palm x ~ fingers
    assert np.median(rotations[:, 0, 2]) > 0.8  # palm z ~ out of the palm


def test_palm_frame_rejects_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        palm_frame(np.full((21, 3), np.nan))
    with pytest.raises(ValueError, match="degenerate"):
        palm_frame(np.zeros((21, 3)))
    with pytest.raises(ValueError, match="shape"):
        palm_frame(np.zeros((20, 3)))


# --- arm FK / IK ----------------------------------------------------------------------------------------------


def _dh_forward(q):
    d, a = (0.1625, 0, 0, 0.1333, 0.0997, 0.0996), (0, -0.425, -0.3922, 0, 0, 0)
    alpha = (np.pi / 2, 0, 0, np.pi / 2, -np.pi / 2, 0)
    t = np.eye(4)
    for i in range(6):
        c, s, ca, sa = np.cos(q[i]), np.sin(q[i]), np.cos(alpha[i]), np.sin(alpha[i])
        t = t @ np.array(
            [[c, -s * ca, s * sa, a[i] * c], [s, c * ca, -c * sa, a[i] * s], [0, sa, ca, d[i]], [0, 0, 0, 1]]
        )
    return t


def test_arm_forward_kinematics_matches_ur5e_dh(robot):
    ik = ArmIK(robot.arm)
    tool0 = ik.robot.frame_id("tool0")
    rng = np.random.default_rng(1)
    for _ in range(20):
        q = rng.uniform(ik.lower, ik.upper)
        # ur_description's tool0 (urdf/ was made to match it) is DH frame 6 turned by pi about z
        dh_tool0 = _dh_forward(q) @ np.diag([-1.0, -1.0, 1.0, 1.0])
        assert np.allclose(ik.robot.placement(q, tool0).homogeneous, dh_tool0, atol=1e-8)


def test_ik_reaches_reachable_targets_within_a_millimetre(robot):
    ik = ArmIK(robot.arm)
    rng = np.random.default_rng(2)
    for _ in range(40):
        target = ik.forward(np.clip(ik.posture + rng.uniform(-0.6, 0.6, 6), ik.lower, ik.upper))
        ik.reset()
        result = ik.solve(target)
        assert result.position_error < 1e-3
        assert result.orientation_error < 1e-2
        assert np.all(result.q >= ik.lower) and np.all(result.q <= ik.upper)


def test_ik_unreachable_target_gives_the_closest_pose(robot):
    ik = ArmIK(robot.arm, orientation_weight=0.0, max_iterations=300)
    target = pin.SE3(np.eye(3), np.array([-1.6, 0.9, 0.7]))
    result = ik.solve(target)
    assert np.all(np.isfinite(result.q)) and not result.converged
    assert np.all(result.q >= ik.lower) and np.all(result.q <= ik.upper)

    def distance(q):
        return np.linalg.norm(ik.forward(q).translation - target.translation)

    reached = distance(result.q)
    rng = np.random.default_rng(3)
    # A local minimum: no nearby configuration is closer ...
    nearby = [distance(np.clip(result.q + rng.normal(0, 0.01, 6), ik.lower, ik.upper)) for _ in range(300)]
    assert reached <= min(nearby) + 1e-4
    # ... and the arm is stretched toward the target: within 2 cm of the best of 3000 random configurations
    # (DLS finds the local minimum of the weighted pose error, not always the global one).
    samples = [distance(rng.uniform(ik.lower, ik.upper)) for _ in range(3000)]
    assert reached <= min(samples) + 0.02


# --- hand retargeting -----------------------------------------------------------------------------------------


def test_retargeting_types_are_the_registered_methods():
    assert RETARGETING_TYPES == tuple(RETARGETING_METHODS) == ("vector", "dexpilot", "position")


@pytest.mark.parametrize("kind", list(RETARGETING_METHODS))
def test_each_method_builds_from_the_robot_yaml_and_stays_in_limits(tmp_path, kind):
    config = load_robot_config(_write_variant(tmp_path, lambda r: r["hand"]["retargeting"].update(type=kind)))
    hand = build_hand_retargeter(config.hand)
    assert type(hand) is RETARGETING_METHODS[kind] and hand.params.type == kind
    assert hand.joint_names == config.hand.joints
    for joints in FRAMES[::60]:
        q = hand.retarget(in_palm_frame(joints))
        assert q.shape == (len(config.hand.joints),)
        assert np.all(q >= hand.lower) and np.all(q <= hand.upper)


def test_unknown_retargeting_type_is_rejected_by_build(robot):
    with pytest.raises(ValueError, match="is not one of"):
        build_hand_retargeter(robot.hand, replace(robot.hand.retargeting, type="magic"))


@pytest.mark.parametrize("kind", list(RETARGETING_METHODS))
def test_hand_retargeting_tracks_the_human_vectors(robot, kind):
    hand = build_hand_retargeter(robot.hand, replace(robot.hand.retargeting, type=kind, low_pass_alpha=1.0))
    rest = 0.5 * (hand.lower + hand.upper)
    errors, rest_errors = [], []
    for joints in FRAMES[::10]:
        keypoints = in_palm_frame(joints)
        q = hand.retarget(keypoints)
        assert np.all(q >= hand.lower) and np.all(q <= hand.upper)
        errors.append(hand.fingertip_error(q, keypoints))
        rest_errors.append(hand.fingertip_error(rest, keypoints))
    assert np.mean(errors) < 0.5 * np.mean(rest_errors)
    assert np.mean(errors) < 0.015


def test_dexpilot_closes_a_pinch(robot):
    hand = build_hand_retargeter(robot.hand, replace(robot.hand.retargeting, type="dexpilot", low_pass_alpha=1.0))
    keypoints = in_palm_frame(FRAMES[0])
    keypoints[4] = keypoints[8] + np.array([0.0, 0.0, 0.01])  # thumb tip 1 cm from the index tip
    for _ in range(5):
        q = hand.retarget(keypoints)
    tips = hand.fingertip_vectors(q)
    assert hand.projected[0]
    assert np.linalg.norm(tips[0] - tips[1]) < 0.02  # robot thumb and index tips meet


finite = st.floats(-0.3, 0.3, allow_nan=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(noise=arrays(np.float64, (21, 3), elements=finite), scale=st.sampled_from([0.0, 0.3, 1.0, 5.0]))
def test_hand_commands_stay_in_limits_for_adversarial_keypoints(robot, noise, scale):
    hand = build_hand_retargeter(robot.hand)
    keypoints = in_palm_frame(FRAMES[0]) * scale + noise
    q = hand.retarget(keypoints)
    assert np.all(np.isfinite(q)) and np.all(q >= hand.lower) and np.all(q <= hand.upper)


# --- safety ---------------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    commands=st.lists(
        st.tuples(arrays(np.float64, 3, elements=st.floats(-1e6, 1e6, allow_nan=False)), st.floats(1e-4, 10.0)),
        min_size=1,
        max_size=30,
    )
)
def test_joint_limiter_never_exceeds_position_or_velocity_limits(commands):
    lower, upper, velocity = np.array([-1.0, -2.0, 0.2]), np.array([1.0, 0.5, 1.4]), np.array([0.5, 3.0, 7.0])
    limiter = JointLimiter(lower, upper, velocity, np.array([0.0, 0.0, 0.3]))
    last = limiter.last.copy()
    for desired, dt in commands:
        out = limiter.limit(desired, dt)
        assert np.all(out >= lower) and np.all(out <= upper)
        assert np.all(np.abs(out - last) <= velocity * dt + 1e-12)
        last = out


def test_joint_limiter_rejects_nan_and_bad_steps():
    limiter = JointLimiter(np.array([-1.0]), np.array([1.0]), np.array([1.0]), np.array([0.0]))
    for bad, dt in ((np.array([np.nan]), 0.1), (np.array([np.inf]), 0.1), (np.array([0.5]), 0.0)):
        with pytest.raises(ValueError):
            limiter.limit(bad, dt)
    assert limiter.last[0] == 0.0


def _camera_frames():
    rotation = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])
    return FRAMES @ rotation.T + np.array([0.0, 0.05, 0.5])


def _settings(**kw) -> TeleopSettings:
    return TeleopSettings().replace(**kw)


def test_teleop_settings_defaults_are_valid():
    defaults = TeleopSettings()
    assert defaults.replace() == defaults  # every default passes validation
    assert all(lo < hi for lo, hi in zip(defaults.workspace_min, defaults.workspace_max, strict=True))
    specs = {s.name: s for s in TeleopSettings.parameters()}
    assert specs["arm_mode"].choices == ("absolute", "relative")
    assert all(spec.description for spec in specs.values())


def test_relative_mode_clutch_reference(robot):
    """The target solver's clutch (issue 22 item 3: the Teleoperator only solves targets; when the reference is
    retaken is CommandLoop's decision, tested in test_command_loop)."""
    teleop = Teleoperator(robot, _settings(arm_mode="relative", motion_scale=0.5))
    frames = _camera_frames()
    current = robot.arm.posture
    first = teleop.solve(frames[0], 1.0, current)
    ee0 = teleop.ik.forward(current).translation
    assert np.allclose(first.ee_target.translation, ee0, atol=1e-9)  # the reference is where the arm is
    moved = frames[0] + np.array([0.04, 0.0, 0.0])  # hand 4 cm to the camera's right
    target = teleop.solve(moved, 1.033, current)
    shift = teleop.base_from_camera.rotation @ np.array([0.04, 0.0, 0.0]) * 0.5
    assert np.allclose(target.ee_target.translation - ee0, shift, atol=1e-6)
    # a new reference: the next frame maps to where the arm's command is now, not where the hand went
    elsewhere = target.arm
    teleop.reset_reference()
    again = teleop.solve(moved, 1.066, elsewhere)
    assert np.allclose(again.ee_target.translation, teleop.ik.forward(elsewhere).translation, atol=1e-9)


def test_teleoperator_is_a_target_solver_without_limits_or_engage(robot):
    """Issue 22 item 3: one robot state machine. The Teleoperator has no limiter, no engage, no clock; the
    limits, engage, hold and deadman live in CommandLoop alone."""
    teleop = Teleoperator(robot, _settings())
    for name in ("engage", "step", "tick", "arm_limiter", "hand_limiter", "tracking", "engaged"):
        assert not hasattr(teleop, name), name
    assert not {"velocity_scale", "max_step_dt", "tracking_timeout"} & {s.name for s in TeleopSettings.parameters()}
    target = teleop.solve(_camera_frames()[0], 1.0, robot.arm.posture)
    assert np.all(target.arm >= teleop.ik.lower) and np.all(target.arm <= teleop.ik.upper)
    with pytest.raises(ValueError, match="not newer"):
        teleop.solve(_camera_frames()[1], 1.0, robot.arm.posture)
    teleop.restart_stream()  # a replay from its start
    teleop.solve(_camera_frames()[1], 0.5, robot.arm.posture)


def test_workspace_box_clamps_targets(robot):
    teleop = Teleoperator(robot, _settings(offset_xyz=(5.0, 5.0, 5.0)))
    target = teleop.solve(_camera_frames()[0], 1.0, robot.arm.posture)
    assert np.allclose(target.ee_target.translation, teleop.settings.workspace_max)


def test_invalid_settings_are_rejected_and_old_ones_kept(robot):
    teleop = Teleoperator(robot, _settings())
    old = teleop.settings
    for bad in (
        {"arm_mode": "sideways"},
        {"workspace_min": (0.0, 0.0, 0.5), "workspace_max": (1.0, 1.0, 0.4)},
        {"motion_scale": 20.0},
        {"camera_xyz": (0.0, float("nan"), 0.0)},
        {"offset_rpy": (0.0, 0.0)},
    ):
        with pytest.raises(ValueError):
            teleop.configure(teleop.settings.replace(**bad))
        with pytest.raises(ValueError):
            TeleopSettings(**bad)
        assert teleop.settings is old
    teleop.configure(old.replace(arm_mode="relative", motion_scale=0.25))
    assert teleop.settings.arm_mode == "relative" and teleop.settings.motion_scale == 0.25


# --- bounded damped least squares -----------------------------------------------------------------------------


def test_bounded_dls_finds_the_projected_minimum_of_a_quadratic():
    # data(q) = 0.5 |A q - b|^2 with its unconstrained minimum outside the box: the result is the box optimum.
    a = np.array([[2.0, 0.3, 0.0], [0.0, 1.0, 0.2], [0.1, 0.0, 1.5]])
    b = np.array([3.0, -2.0, 0.5])
    lower, upper = np.full(3, -0.5), np.full(3, 0.5)

    def evaluate(q):
        r = a @ q - b
        return 0.5 * float(r @ r), r

    def linearise(q, r):
        return a.T @ a, a.T @ r

    for freeze in (False, True):
        result = bounded_dls(
            evaluate,
            linearise,
            np.zeros(3),
            lower,
            upper,
            max_iterations=200,
            max_step=0.3,
            damping=1e-4,
            freeze_at_bounds=freeze,
            relative_decrease=1e-14,
        )
        assert np.all(result.q >= lower) and np.all(result.q <= upper)
        rng = np.random.default_rng(4)
        samples = rng.uniform(lower, upper, (2000, 3))
        assert result.cost <= min(evaluate(q)[0] for q in samples) + 1e-6
