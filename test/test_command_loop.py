"""The ROS-free command loop: measured-state start, bounded ramp, hold on every loss, deadman, look-ahead."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalehp_ros.retargeting.command_loop import STOP_REASONS, CommandLoop, CommandLoopSettings
from scalehp_ros.retargeting.robot_config import load_robot_config
from scalehp_ros.retargeting.safety import JointLimiter
from scalehp_ros.retargeting.teleop import Teleoperator, TeleopSettings

REPO = Path(__file__).resolve().parent.parent
FRAMES = np.load(REPO / "data" / "human_joint_right_mediapipe.npy")
ROTATION = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])
CAMERA_FRAMES = FRAMES @ ROTATION.T + np.array([0.0, 0.05, 0.5])
FAR = np.array([1.0, -1.0, 1.0, -0.5, -1.0, 1.2])  # measured arm start, far from the rest posture


@pytest.fixture(scope="module")
def robot():
    return load_robot_config(REPO / "config" / "robots" / "scalehp_ur5e_allegro.yaml")


def make_loop(robot, teleop=None, **kw) -> CommandLoop:
    loop = CommandLoop(Teleoperator(robot, TeleopSettings().replace(**(teleop or {}))), CommandLoopSettings(**kw))
    loop.activate(0.0)
    return loop


def check_bounds(loop: CommandLoop, commands, start_arm, start_velocity=None):
    """Every command within position, velocity and acceleration bounds, moving from the previous one with the
    mean of the two velocities (constant acceleration in between), from `start_arm` (at rest by default)."""
    lim = loop.arm
    q_prev = np.asarray(start_arm, float)
    v_prev = np.zeros(len(q_prev)) if start_velocity is None else np.asarray(start_velocity, float)
    for c in commands:
        v, dt = c.arm_velocity, c.dt
        stop = any(r in STOP_REASONS for r in c.holding)  # a stop brakes at the (higher) stop deceleration
        a = lim.stop_deceleration if stop else lim.acceleration
        assert np.all(c.arm >= lim.lower) and np.all(c.arm <= lim.upper)
        assert np.all(np.abs(v) <= lim.velocity * (1 + 1e-12)), (v, lim.velocity)
        assert np.all(np.abs(v - v_prev) <= a * dt * (1 + 1e-9) + 1e-12), (v - v_prev, a * dt)
        assert np.allclose(c.arm - q_prev, (v + v_prev) * dt / 2, atol=1e-12)
        q_prev, v_prev = c.arm, v


def run(loop, frames, t0, rate=30.0, tick_rate=50.0, seconds=None, deadman=False):
    """Feed frames at `rate` and ticks at `tick_rate` (plus one right after each frame); return the commands."""
    out, t, k = [], t0, 0
    frame_dt, tick_dt = 1.0 / rate, 1.0 / tick_rate
    next_frame, next_tick = t0, t0
    end = t0 + (seconds if seconds is not None else len(frames) * frame_dt)
    while True:
        t = min(next_frame, next_tick)
        if t >= end:  # the next run starts at `end`: time never goes back
            break
        if deadman:
            loop.set_deadman(True, t)
        if loop.measured is not None and not loop.settings.simulate_robot:
            loop.set_measured(loop.arm.last, loop.hand.last, t)  # a perfect robot
        if t == next_frame and frames is not None and k < len(frames):
            loop.on_frame(frames[k], t, t)
            k += 1
            next_frame += frame_dt
            next_tick = t  # a command right after each frame
        if t == next_tick:
            c = loop.tick(t)
            if c is not None:
                out.append(c)
            next_tick = t + tick_dt
        if frames is None or k >= len(frames):
            next_frame = float("inf")
    return out


def test_engage_is_refused_without_a_measured_state_or_while_inactive(robot):
    loop = CommandLoop(Teleoperator(robot), CommandLoopSettings(deadman="none"))
    ok, reason = loop.engage(True, 1.0)
    assert not ok and "not active" in reason
    loop.activate(1.0)
    ok, reason = loop.engage(True, 1.0)
    assert not ok and "no measured joint state" in reason and "none received" in reason
    assert loop.tick(1.0) is None  # disengaged from the start: nothing is commanded
    loop.set_measured(FAR, np.zeros(16), 1.0)
    ok, reason = loop.engage(True, 2.0)  # 1 s old
    assert not ok and "1.00 s ago" in reason
    assert loop.status(2.0).values["engage_refusals"] == "3"
    loop.set_measured(FAR, np.zeros(16), 2.0)
    assert loop.engage(True, 2.0)[0]


def test_engaging_far_from_rest_starts_at_the_measured_state_and_ramps_within_bounds(robot):
    loop = make_loop(robot, deadman="none")
    hand0 = np.full(16, 0.2)
    loop.set_measured(FAR, hand0, 0.0)
    assert loop.engage(True, 0.0)[0]
    commands = run(loop, CAMERA_FRAMES[:150], 0.0)
    first = commands[0]
    assert np.allclose(first.arm, FAR, atol=loop.arm.acceleration[0] * first.dt**2 + 1e-12)  # no jump
    check_bounds(loop, commands, FAR)
    assert any(c.following for c in commands)
    # it got there: the last command is close to the IK target, and the peak speed reached the limit
    assert np.max(np.abs(commands[-1].arm - loop.arm_target)) < 0.05
    speeds = np.array([np.max(np.abs(c.arm_velocity) / loop.arm.velocity) for c in commands])
    assert speeds.max() > 0.5


def test_hold_brakes_to_a_stop_and_keeps_streaming(robot):
    loop = make_loop(robot, deadman="none")
    loop.set_measured(FAR, np.zeros(16), 0.0)
    loop.engage(True, 0.0)
    moving = run(loop, CAMERA_FRAMES[:15], 0.0)  # still ramping fast
    assert np.max(np.abs(moving[-1].arm_velocity)) > 0.3
    loop.set_hold(True)
    held = run(loop, CAMERA_FRAMES[15:100], 0.5)  # the hand keeps moving
    check_bounds_from(loop, held, moving[-1].arm, moving[-1].arm_velocity)  # braking is bounded too
    assert all(not c.following and "hold requested" in c.holding for c in held)
    stop = held[-1].arm
    a, v0 = loop.arm.acceleration, np.abs(moving[-1].arm_velocity)
    assert np.all(np.abs(stop - moving[-1].arm) <= v0 * v0 / (2 * a) + v0 * 0.03 + 1e-6)  # stopped within v^2/2a
    assert np.allclose(held[-10].arm, stop) and np.all(held[-1].arm_velocity == 0)  # held, still streamed
    loop.set_hold(False)
    resumed = run(loop, CAMERA_FRAMES[100:130], 3.5)
    assert resumed[-1].following


def check_bounds_from(loop, commands, q0, v0):
    check_bounds(loop, commands, q0, v0)


@pytest.mark.parametrize("loss", ["deadman", "hand", "measured"])
def test_every_loss_holds_the_arm(robot, loss):
    loop = make_loop(robot, deadman="bool" if loss == "deadman" else "none")
    loop.set_measured(robot.arm.posture, np.zeros(16), 0.0)
    loop.set_deadman(True, 0.0)
    loop.engage(True, 0.0)
    before = run(loop, CAMERA_FRAMES[:60], 0.0, deadman=True)
    assert before[-1].following
    t = 2.0
    commands = []
    for k in range(60):  # 1.2 s at 50 Hz
        t += 0.02
        if loss != "deadman":
            loop.set_deadman(True, t)
        if loss != "measured":
            loop.set_measured(loop.arm.last, loop.hand.last, t)
        if loss != "hand" and k % 2 == 0:
            loop.on_frame(CAMERA_FRAMES[60 + k], t, t)
        commands.append(loop.tick(t))
    assert all(c is not None for c in commands)  # no gap in the stream
    check_bounds_from(loop, commands, before[-1].arm, before[-1].arm_velocity)
    reason = {"deadman": "deadman released", "hand": "hand lost", "measured": "measured state lost"}[loss]
    assert reason in commands[-1].holding and not commands[-1].following
    assert np.allclose(commands[-1].arm, commands[-15].arm)  # at rest, held
    assert reason in loop.status(t).message
    if loss == "measured":
        assert not loop.state.engaged  # a new engagement must re-check the robot


def test_deadman_release_message_holds_at_once_and_stale_heartbeat_holds(robot):
    loop = make_loop(robot, deadman="bool", deadman_timeout=0.2)
    loop.set_measured(robot.arm.posture, np.zeros(16), 0.0)
    loop.engage(True, 0.0)
    loop.on_frame(CAMERA_FRAMES[0], 0.0, 0.0)
    assert "deadman released" in loop.tick(0.01).holding  # never pressed
    loop.set_deadman(True, 0.02)
    loop.set_measured(loop.arm.last, loop.hand.last, 0.02)
    assert loop.tick(0.03).following
    loop.set_deadman(False, 0.04)
    assert "deadman released" in loop.tick(0.05).holding
    loop.set_deadman(True, 0.06)
    assert loop.tick(0.07).following
    loop.set_measured(loop.arm.last, loop.hand.last, 0.3)
    assert "deadman released" in loop.tick(0.3).holding  # 0.24 s without a heartbeat


def test_simulated_robot_engages_on_activation_from_the_rest_posture(robot):
    loop = CommandLoop(Teleoperator(robot), CommandLoopSettings(simulate_robot=True))
    loop.activate(0.0)
    assert loop.state.engaged
    commands = run(loop, CAMERA_FRAMES[:30], 0.0)
    assert np.allclose(commands[0].arm, robot.arm.posture, atol=4.0 * 0.02**2 + 1e-9) and commands[-1].following
    check_bounds(loop, commands, robot.arm.posture)


def test_relative_mode_takes_a_new_reference_after_a_hold(robot):
    loop = make_loop(robot, teleop={"arm_mode": "relative"}, deadman="none")
    loop.set_measured(robot.arm.posture, np.zeros(16), 0.0)
    loop.engage(True, 0.0)
    run(loop, CAMERA_FRAMES[:30], 0.0)
    loop.set_hold(True)
    run(loop, CAMERA_FRAMES[30:200], 1.0)  # the hand wanders while the arm holds
    held = loop.arm.last.copy()
    loop.set_hold(False)
    resumed = run(loop, CAMERA_FRAMES[200:203], 7.0)
    # the reference was retaken where the arm is: the new target is next to the held arm, not where the hand went
    assert np.max(np.abs(loop.arm_target - held)) < 0.1
    assert resumed[-1].following


def test_lookahead_points_continue_the_ramp(robot):
    loop = make_loop(robot, deadman="none", lookahead_steps=3)
    loop.set_measured(FAR, np.zeros(16), 0.0)
    loop.engage(True, 0.0)
    c = run(loop, CAMERA_FRAMES[:10], 0.0)[-1]
    assert len(c.lookahead) == 3
    q_prev, v_prev = c.arm, c.arm_velocity
    for q, v in c.lookahead:  # each look-ahead step obeys the same bounds over one command period
        assert np.allclose(q - q_prev, (v + v_prev) * loop.period / 2)
        assert np.all(np.abs(v - v_prev) <= loop.arm.acceleration * loop.period + 1e-9)
        q_prev, v_prev = q, v
    points = c.trajectory(loop.period)  # delayed by one period: the recent commands, this one, the look-ahead
    times = [t for t, _, _ in points]
    assert times == sorted(times) and times[0] > 0 and len(points) == len(c.recent) + 4 + len(c.stop)
    assert np.array_equal(points[len(c.recent)][1], c.arm) and times[len(c.recent)] == pytest.approx(loop.period)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.tuples(st.floats(-3.0, 3.0), st.floats(1e-4, 0.3), st.booleans()),
        min_size=1,
        max_size=60,
    )
)
def test_ramp_never_exceeds_velocity_or_acceleration(steps):
    lower, upper = np.array([-2.0, -1.0]), np.array([2.0, 1.5])
    velocity, accel = np.array([1.0, 3.0]), np.array([2.0, 10.0])
    limiter = JointLimiter(lower, upper, velocity, np.zeros(2), acceleration=accel)
    q_prev, v_prev = limiter.last.copy(), np.zeros(2)
    for goal, dt, brake in steps:
        desired = limiter.brake_target() if brake else np.array([goal, -goal])
        q = limiter.limit(desired, dt)
        v = limiter.rate
        assert np.all(q >= lower) and np.all(q <= upper)
        assert np.all(np.abs(v) <= velocity * (1 + 1e-12))
        assert np.all(np.abs(q - q_prev) <= velocity * dt * (1 + 1e-12))
        at_limit = (q <= lower) | (q >= upper)  # a position limit stops the joint (velocity 0)
        assert np.all((np.abs(v - v_prev) <= accel * dt * (1 + 1e-9) + 1e-12) | at_limit)
        assert np.all(np.isclose(q - q_prev, (v + v_prev) * dt / 2, atol=1e-12) | at_limit)
        q_prev, v_prev = q, v


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.tuples(st.integers(0, 620), st.floats(0.001, 0.5), st.booleans()), min_size=2, max_size=12))
def test_commands_respect_limits_under_random_jumps_and_garbage(robot, picks):
    """Moved from test_retarget_core with the limits (issue 22 item 3): random jumps of the hand and garbage
    frames never push a command past the position or velocity limits (the step granted: the stamp difference,
    at most max_step_dt)."""
    loop = CommandLoop(Teleoperator(robot), CommandLoopSettings(simulate_robot=True))
    loop.activate(100.0)
    arm_v, hand_v = loop.arm.velocity, loop.hand.velocity
    t, arm_last, hand_last = 100.0, loop.arm.last.copy(), loop.hand.last.copy()
    for index, dt, garbage in picks:
        t += dt
        joints = CAMERA_FRAMES[index] if not garbage else CAMERA_FRAMES[index] * np.array([1.0, np.nan, 1.0])
        try:
            loop.on_frame(joints, t, t)
        except ValueError:
            assert garbage
        c = loop.tick(t)
        assert c.dt == pytest.approx(min(dt, loop.settings.max_step_dt)) or c.dt == pytest.approx(loop.period)
        for q, last, lo, hi, v in (
            (c.arm, arm_last, loop.arm.lower, loop.arm.upper, arm_v),
            (c.hand, hand_last, loop.hand.lower, loop.hand.upper, hand_v),
        ):
            assert np.all(q >= lo) and np.all(q <= hi)
            assert np.all(np.abs(q - last) <= v * c.dt + 1e-9)
        arm_last, hand_last = c.arm, c.hand


def test_tracking_loss_holds_and_is_reported(robot):
    """Moved from test_retarget_core: the hand watchdog is CommandLoop's (issue 22 item 3)."""
    loop = make_loop(robot, deadman="none", tracking_timeout=0.3)
    loop.set_measured(robot.arm.posture, np.zeros(16), 10.0)
    loop.engage(True, 10.0)
    commands = run(loop, CAMERA_FRAMES[:10], 10.0)
    assert loop.status(10.32).level == 0 and commands[-1].following
    loop.set_measured(loop.arm.last, loop.hand.last, 11.0)
    c = loop.tick(11.0)  # 0.7 s without input
    assert "hand lost" in c.holding
    status = loop.status(11.0)
    assert status.level == 1 and "hand lost" in status.message
    assert status.values["tracking_losses"] == "1" and status.values["tracking"] == "lost"
