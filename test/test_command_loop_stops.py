"""Issue 20's robot-side rows on the ROS-free CommandLoop: following error, braking on every stop, steady-clock
watchdogs, limits that only tighten, the stop deceleration, strictly increasing trajectory times, engage outside
the URDF limits. Each test names its row; docs/safety.md is the contract they check."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from scalehp_ros.retargeting.command_loop import CommandLoop, CommandLoopSettings
from scalehp_ros.retargeting.robot_config import load_robot_config
from scalehp_ros.retargeting.teleop import Teleoperator

REPO = Path(__file__).resolve().parent.parent
FRAMES = np.load(REPO / "data" / "human_joint_right_mediapipe.npy")
ROTATION = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])
CAMERA_FRAMES = FRAMES @ ROTATION.T + np.array([0.0, 0.05, 0.5])
FAR = np.array([1.0, -1.0, 1.0, -0.5, -1.0, 1.2])  # measured arm start, far from the hand's targets
HAND0 = np.zeros(16)
DT = 0.02
# the documented defaults (docs/safety.md), as constants so that a loop without them fails on behaviour
TOLERANCE, LAG = 0.1, 0.15  # following_error_tolerance (rad), following_error_lag (s)
STOP_DECELERATION = 10.0  # arm_stop_deceleration (rad/s^2)


@pytest.fixture(scope="module")
def robot():
    return load_robot_config(REPO / "config" / "robots" / "scalehp_ur5e_allegro.yaml")


def engaged_loop(robot, start=FAR, **kw) -> CommandLoop:
    loop = CommandLoop(Teleoperator(robot), CommandLoopSettings(**({"deadman": "none"} | kw)))
    loop.activate(0.0)
    loop.set_measured(start, HAND0, 0.0)
    ok, reason = loop.engage(True, 0.0)
    assert ok, reason
    return loop


def drive(loop, t0, seconds, robot_follows=True, frame0=0, deadman=None):
    """Frames at 25 Hz and ticks at 50 Hz (DT) from t0; a robot that reaches each command one tick later (or
    stays frozen); returns [(t, command or None)]."""
    out, frozen = [], None if robot_follows else loop.measured.arm.copy()
    for k in range(round(seconds / DT)):
        t = t0 + (k + 1) * DT
        arm = loop.arm.last.copy() if frozen is None else frozen
        loop.set_measured(arm, loop.hand.last.copy(), t)
        if deadman is not None:
            loop.set_deadman(deadman, t)
        if k % 2 == 0:
            loop.on_frame(CAMERA_FRAMES[(frame0 + k // 2) % len(CAMERA_FRAMES)], t, t)
        out.append((t, loop.tick(t)))
    return out


def stand(loop, q, t0) -> float:
    """The robot stands at q from t0 on (measured states over more than the speed span); the last time."""
    for k in range(4):
        loop.set_measured(q, HAND0, t0 + 0.03 * k)
    return t0 + 0.09


def at_full_speed(robot, **kw):
    """An engaged loop ramping from FAR at its velocity limit (some joint at > 90 % of it)."""
    loop = engaged_loop(robot, **kw)
    for k in range(50):
        [(t, c)] = drive(loop, k * DT, DT, deadman=True, frame0=k)
        if np.max(np.abs(c.arm_velocity) / loop.arm.velocity) > 0.9:
            return loop, t, c
    raise AssertionError("the ramp never reached full speed")


def check_step(prev, c, accel, vmax=None):
    """One command from the previous one: constant acceleration (mean velocity), |dv| <= accel dt."""
    dt = c.dt
    assert np.allclose(c.arm - prev.arm, (prev.arm_velocity + c.arm_velocity) * dt / 2, atol=1e-12)
    assert np.all(np.abs(c.arm_velocity - prev.arm_velocity) <= accel * dt * (1 + 1e-9) + 1e-12)
    if vmax is not None:
        assert np.all(np.abs(c.arm_velocity) <= vmax * (1 + 1e-12))


def test_following_error_holds_disengages_and_reseeds_at_the_measured_state(robot):
    """issue 20 row 1: /joint_states keep arriving but frozen while engaged and the hand streams for 3 s; the
    command must not run away from the robot: beyond the tolerance it holds, disengages, re-seeds from the
    measured state and the status is ERROR naming the joint."""
    loop = engaged_loop(robot)
    vmax = loop.arm.velocity
    ticks = drive(loop, 0.0, 3.0, robot_follows=False)
    bound = TOLERANCE + vmax * (LAG + 2 * DT)
    for _, c in ticks:
        assert np.all(np.abs(c.arm - FAR) <= bound), np.abs(c.arm - FAR)
    assert not loop.state.engaged
    last = ticks[-1][1]
    assert np.allclose(last.arm, FAR) and not np.any(last.arm_velocity)  # re-seeded where the robot is, at rest
    assert "following error" in last.holding and not last.following
    reseeds = [c for _, c in ticks if c.reseeded]
    assert len(reseeds) == 1 and np.allclose(reseeds[0].arm, FAR)
    status = loop.status(ticks[-1][0])
    assert status.level == 2 and "following error" in status.message
    assert any(name in status.message for name in robot.arm.joints)
    # the robot moves again (someone jogged it): a new engagement starts from the measured state at rest
    moved = FAR + 0.05
    t = stand(loop, moved, 3.1)  # and stands there
    assert loop.engage(True, t)[0]
    loop.set_measured(moved, HAND0, t + DT)
    c = loop.tick(t + DT)
    assert np.allclose(c.arm, moved, atol=loop.arm.acceleration[0] * DT**2) and loop.status(t + DT).level != 2
    assert (loop.settings.following_error_tolerance, loop.settings.following_error_lag) == (TOLERANCE, LAG)


def test_a_robot_that_follows_raises_no_following_error(robot):
    """issue 20 row 1: the check must not fire for a robot that tracks the stream with a lag (here 0.1 s)."""
    loop = engaged_loop(robot)
    history = []
    for k in range(150):
        t = (k + 1) * DT
        history.append(loop.arm.last.copy())
        lagged = history[max(0, len(history) - 6)]  # the command of 0.1 s ago
        loop.set_measured(lagged, loop.hand.last, t)
        if k % 2 == 0:
            loop.on_frame(CAMERA_FRAMES[k // 2], t, t)
        c = loop.tick(t)
        assert c.following or k < 2, c.holding
    assert loop.status(3.0).values["following_errors"] == "0"


def test_deactivate_brakes_to_rest_within_the_stop_bound_and_streams_until_v_is_zero(robot):
    """issue 20 row 2: lifecycle deactivate while ramping at speed: the stream goes on, braking within the
    stop deceleration, until v = 0; then it ends."""
    loop, t, moving = at_full_speed(robot)
    loop.deactivate()
    prev, braking = moving, []
    for k in range(100):
        c = loop.tick(t + (k + 1) * DT)
        if c is None:
            break
        check_step(prev, c, loop.arm.stop_deceleration)
        braking.append(c)
        prev = c
    assert braking, "no command after deactivate: the controller keeps the last velocity"
    v0 = np.abs(moving.arm_velocity)
    assert braking[-1].final and not np.any(braking[-1].arm_velocity) and not np.any(braking[-1].hand_velocity)
    assert len(braking) * DT <= np.max(v0 / loop.arm.stop_deceleration) + 2 * DT
    assert loop.tick(t + 10.0) is None and not loop.state.streaming


def test_every_trajectory_ends_at_rest_within_the_stop_bound(robot):
    """issue 20 row 2: the last point of every trajectory message is a braking state at rest, reached within
    the stop deceleration, so a lost stream (crash, Ctrl-C, a gap) stops within bounds."""
    loop = engaged_loop(robot)
    a_stop = loop.arm.stop_deceleration
    for _, c in drive(loop, 0.0, 1.5):
        points = c.trajectory(loop.period)
        times = [p[0] for p in points]
        assert all(b > a for a, b in itertools.pairwise(times))
        assert not np.any(points[-1][2]), "the trajectory ends moving"
        # from the last look-ahead point on, every segment is a parabola within the stop deceleration
        tail = points[-len(c.stop) - 1 :] if c.stop else points[-1:]
        for (t0, q0, v0), (t1, q1, v1) in itertools.pairwise(tail):
            h = t1 - t0
            assert np.allclose(q1 - q0, (v0 + v1) * h / 2, atol=1e-12)
            assert np.all(np.abs(v1 - v0) <= a_stop * h * (1 + 1e-9))
            assert np.all(q1 >= loop.arm.lower) and np.all(q1 <= loop.arm.upper)


def test_watchdogs_treat_a_clock_that_went_back_as_stale(robot):
    """issue 20 row 3: inputs stamped in the future of the watchdog clock (the clock jumped back: sim time,
    NTP) are stale, not fresh: the arm holds."""
    loop = engaged_loop(robot, deadman="bool")
    drive(loop, 0.0, 1.0, deadman=True)
    assert loop.tick(1.01) is not None
    # every input arrives 100 s "later" on a clock that then goes back to 1.05: negative ages
    loop.set_measured(loop.arm.last, HAND0, 101.0)
    loop.set_deadman(True, 101.0)
    c = loop.tick(1.05)
    assert not c.following
    assert {"deadman released", "measured state lost"} <= set(c.holding)
    assert not loop.measured_fresh(1.05) and not loop.deadman_ok(1.05)


def test_a_command_stamp_that_goes_back_disengages(robot):
    """issue 20 row 3: the controller clock (ROS time) going back 100 s: the loop restarts its time base,
    disengages and brakes at the stop deceleration (never commands a negative step)."""
    loop = engaged_loop(robot)
    ticks = drive(loop, 100.0, 0.5)
    prev = ticks[-1][1]
    loop.set_measured(loop.arm.last, HAND0, 100.52)
    c = loop.tick(100.52, stamp=0.52)
    assert not c.following and "clock went back" in c.holding and not loop.state.engaged
    check_step(prev, c, loop.arm.stop_deceleration)


def test_a_lowered_velocity_limit_is_approached_within_the_acceleration_bound(robot):
    """issue 20 row 7: velocity_scale lowered while moving at full speed: the velocity comes down at the
    acceleration bound (never a step), then stays within the new limit."""
    loop, t, prev = at_full_speed(robot)
    loop.configure(loop.settings.replace(velocity_scale=0.1))
    new_limit = loop.arm.velocity
    for k in range(60):
        t += DT
        loop.set_measured(loop.arm.last, loop.hand.last, t)
        if k % 2 == 0:
            loop.on_frame(CAMERA_FRAMES[40 + k // 2], t, t)
        c = loop.tick(t)
        check_step(prev, c, loop.arm.acceleration)
        assert np.all(np.abs(c.arm_velocity) <= np.maximum(new_limit, np.abs(prev.arm_velocity)) + 1e-12)
        prev = c
    assert np.all(np.abs(prev.arm_velocity) <= new_limit * (1 + 1e-12))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("velocity_scale", 0.9),
        ("arm_acceleration", 100.0),
        ("measured_state_timeout", 5.0),
        ("deadman_timeout", 5.0),
        ("tracking_timeout", 5.0),
        ("following_error_tolerance", 1.0),
        ("arm_stop_deceleration", 2.0),
        ("deadman", "none"),
    ],
)
def test_limits_only_tighten_while_active(robot, name, value):
    """issue 20 row 7: loosening a limit at run time is refused with the reason while active and accepted
    while inactive; tightening is accepted at once."""
    loop = engaged_loop(robot, deadman="bool")
    old = loop.settings
    reason = loop.check_settings(old.replace(**{name: value}))
    assert reason is not None and name in reason
    with pytest.raises(ValueError, match=name):
        loop.configure(old.replace(**{name: value}))
    assert loop.settings is old
    if name in ("velocity_scale", "arm_acceleration", "measured_state_timeout", "deadman_timeout"):
        tighter = old.replace(**{name: getattr(old, name) / 2})
        assert loop.check_settings(tighter) is None
        loop.configure(tighter)
    loop.deactivate()
    loop.configure(loop.settings.replace(**{name: value}))
    assert getattr(loop.settings, name) == value


def test_deadman_release_stops_at_the_stop_deceleration(robot):
    """issue 20 row 8: deadman released at full speed: the arm stops at the separate, higher stop deceleration
    (arm_stop_deceleration, default 10 rad/s^2 against the comfort bound's 4), not the comfort one."""
    loop, t, moving = at_full_speed(robot, deadman="bool")
    a_stop = STOP_DECELERATION
    prev, n = moving, 0
    while np.any(prev.arm_velocity):
        t += DT
        loop.set_measured(loop.arm.last, loop.hand.last, t)
        loop.set_deadman(False, t)
        c = loop.tick(t)
        assert "deadman released" in c.holding
        check_step(prev, c, a_stop)
        prev, n = c, n + 1
        assert n < 100
    v0 = np.abs(moving.arm_velocity)
    assert n * DT <= np.max(v0) / a_stop + 2 * DT  # 0.16 s from 1.57 rad/s, against 0.40 s before
    assert np.all(np.abs(prev.arm - moving.arm) <= v0**2 / (2 * a_stop) + v0 * DT)
    assert CommandLoopSettings().arm_stop_deceleration == a_stop > CommandLoopSettings().arm_acceleration


def test_a_tick_whose_clock_has_not_moved_is_skipped(robot):
    """issue 20 row 9: under a 40 Hz /clock (sim time) a 50 Hz loop sees the same stamp twice; that tick is
    skipped, so every message's points and every message's stamp strictly increase."""
    loop = engaged_loop(robot)
    stamps, trajectories = [], []
    for k in range(200):
        now = (k + 1) * DT  # steady clock at 50 Hz
        stamp = np.floor(now * 40.0) / 40.0  # the ROS clock at 40 Hz
        loop.set_measured(loop.arm.last, loop.hand.last, now)
        if k % 2 == 0:
            loop.on_frame(CAMERA_FRAMES[k // 2], now, now)
        c = loop.tick(now, stamp)
        if c is not None:
            stamps.append(c.time)
            trajectories.append(c.trajectory(loop.period))
    assert 150 <= len(stamps) < 200 and loop.state.skipped_ticks == 200 - len(stamps)
    assert all(b > a for a, b in itertools.pairwise(stamps))
    for points in trajectories:
        times = [p[0] for p in points]
        assert times[0] > 0 and all(b > a for a, b in itertools.pairwise(times)), times


def test_same_instant_tick_is_skipped(robot):
    """issue 20 row 9: a command right after a frame at the timer's instant repeats no point time."""
    loop = engaged_loop(robot)
    drive(loop, 0.0, 0.2)
    assert loop.tick(0.3) is not None
    assert loop.tick(0.3) is None


def test_engage_with_a_joint_outside_its_urdf_limits_is_refused_naming_it(robot):
    """issue 20 row 11: an elbow measured at 3.3 rad (> pi) is refused with the joint named (the arm is not
    ramped into the limits: the operator moves it there, then engages)."""
    loop = CommandLoop(Teleoperator(robot), CommandLoopSettings(deadman="none"))
    loop.activate(0.0)
    outside = robot.arm.posture.copy()
    elbow = robot.arm.joints.index("elbow_joint")
    outside[elbow] = 3.3
    loop.set_measured(outside, HAND0, 0.0)
    ok, reason = loop.engage(True, 0.0)
    assert not ok and "elbow_joint" in reason and "3.300" in reason
    assert loop.tick(0.02) is None  # nothing commanded
    inside = outside.copy()
    inside[elbow] = 3.0
    t = stand(loop, inside, 0.1)  # moved inside (jogged), standing
    assert loop.engage(True, t)[0]


def test_a_lagging_robot_is_stopped_not_reseeded_while_it_moves(robot):
    """issue 20 row 1: a robot that moves but lags far behind (a time constant of 0.5 s) trips the
    following error too, but the command is not set to the robot's position at rest while the robot moves (a
    velocity step for it): the arm stops at the stop deceleration, and the command is re-seeded where the robot
    stands once it stands. Engaging while it moves is refused."""
    loop = engaged_loop(robot)
    robot_q = FAR.copy()
    prev, faulted, reseeded = None, None, None
    for k in range(150):
        t = (k + 1) * DT
        if prev is not None and (faulted is None or k < faulted + 5):  # it stands 0.1 s after the fault
            robot_q = robot_q + 0.04 * (prev.arm - robot_q)  # slow: a time constant of 0.5 s
        loop.set_measured(robot_q, HAND0, t)
        if k % 2 == 0:
            loop.on_frame(CAMERA_FRAMES[k // 2], t, t)
        c = loop.tick(t)
        if faulted is None and "following error" in c.holding:
            faulted = k
            assert not c.reseeded and not loop.engage(True, t)[0]  # moving: no re-seed, no engagement
        if faulted is not None and not c.reseeded and prev is not None:
            check_step(prev, c, loop.arm.stop_deceleration)  # a bounded stop, no velocity step
        if c.reseeded:
            reseeded = k
            assert k >= faulted + 5 and np.allclose(c.arm, robot_q)  # once the robot stands
        prev = c
    assert faulted is not None and reseeded is not None and faulted < reseeded
    assert loop.status(3.0).level == 2


def test_a_burst_of_measured_states_does_not_read_as_motion(robot):
    """issue 20 row 1 (the standing check): states that a busy executor delivers in one burst carry arrival
    times microseconds apart; a standing robot with encoder noise must not read as moving."""
    loop = CommandLoop(Teleoperator(robot), CommandLoopSettings(deadman="none"))
    loop.activate(0.0)
    rng = np.random.default_rng(0)
    for k in range(200):  # 20 bursts of 10 states, 0.1 s apart
        t = 0.1 * (k // 10) + 1e-6 * (k % 10)
        loop.set_measured(robot.arm.posture + rng.normal(0.0, 1e-4, 6), HAND0, t)
    assert loop.measured_speed < 0.05
    assert loop.engage(True, 1.95)[0]
