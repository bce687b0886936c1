"""The safety contract (docs/safety.md) as a property: CommandLoop driven through random sequences of every event
that can end or change motion, with position, velocity, acceleration and following-error bounds checked on
every command (issue 20, "What to build": the random-event property test; bounded examples for CI)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scalehp_ros.retargeting.command_loop import STOP_REASONS, CommandLoop, CommandLoopSettings
from scalehp_ros.retargeting.robot_config import load_robot_config
from scalehp_ros.retargeting.teleop import Teleoperator

REPO = Path(__file__).resolve().parent.parent
FRAMES = np.load(REPO / "data" / "human_joint_right_mediapipe.npy")
ROTATION = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])
CAMERA_FRAMES = FRAMES @ ROTATION.T + np.array([0.0, 0.05, 0.5])
FAR = np.array([1.0, -1.0, 1.0, -0.5, -1.0, 1.2])


@pytest.fixture(scope="module")
def robot():
    return load_robot_config(REPO / "config" / "robots" / "scalehp_ur5e_allegro.yaml")


# each switch mostly back to the state in which the arm follows, so that most examples spend time moving
MOSTLY_TRUE, MOSTLY_FALSE = st.sampled_from([True, True, False]), st.sampled_from([False, False, True])
EVENTS = st.one_of(
    st.tuples(st.just("ticks"), st.integers(1, 40), st.floats(0.004, 0.05)),  # n ticks of this period
    st.tuples(st.just("jump"), st.integers(0, len(CAMERA_FRAMES) - 1)),  # the hand jumps to another frame
    st.tuples(st.just("deadman"), MOSTLY_TRUE),  # pressed (heartbeat at every tick) or released
    st.tuples(st.just("hand"), MOSTLY_TRUE),  # frames arrive (every other tick) or not
    st.tuples(st.just("hold"), MOSTLY_FALSE),
    st.tuples(st.just("engage"), MOSTLY_TRUE),
    st.tuples(st.just("freeze"), MOSTLY_FALSE),  # /joint_states keep coming but frozen (protective stop)
    st.tuples(st.just("measured"), MOSTLY_TRUE),  # /joint_states arrive or not
    st.tuples(st.just("gap"), st.floats(0.05, 1.0)),  # no tick for this long (a stalled node, a lost stream)
    st.tuples(st.just("limit"), st.sampled_from(["velocity_scale", "arm_acceleration"]), st.floats(0.3, 2.0)),
    st.tuples(st.just("lifecycle"), MOSTLY_TRUE),  # activate / deactivate
    st.tuples(st.just("clock"), st.sampled_from(["stall", "back"])),  # the stamp does not move / goes back
)


def _following_bound(loop: CommandLoop) -> np.ndarray:
    s = loop.settings
    return s.following_error_tolerance + loop.arm.velocity * (s.following_error_lag + 2 * s.max_step_dt) + 1e-9


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(EVENTS, min_size=5, max_size=80), frozen_start=st.booleans())
# every way motion ends, at least once, besides the random sequences
@example(events=[("ticks", 30, 0.02), ("lifecycle", False), ("ticks", 30, 0.02)], frozen_start=False)
@example(events=[("ticks", 60, 0.02)], frozen_start=True)
@example(
    events=[
        ("ticks", 25, 0.02),
        ("deadman", False),
        ("ticks", 10, 0.02),
        ("deadman", True),
        ("hold", True),
        ("ticks", 10, 0.02),
        ("hold", False),
        ("ticks", 10, 0.02),
        ("clock", "back"),
        ("engage", True),
        ("ticks", 20, 0.02),
        ("limit", "velocity_scale", 0.3),
        ("ticks", 10, 0.02),
        ("measured", False),
        ("ticks", 20, 0.02),
    ],
    frozen_start=False,
)
@example(
    events=[("ticks", 20, 0.02), ("clock", "stall"), ("gap", 0.5), ("hand", False), ("ticks", 40, 0.02)],
    frozen_start=False,
)
def test_random_event_sequences_keep_every_bound(robot, events, frozen_start):
    loop = CommandLoop(Teleoperator(robot), CommandLoopSettings(deadman="bool"))
    arm, hand = loop.arm, loop.hand
    now = stamp = frame_stamp = 0.0
    robot_q = FAR.copy()  # where the robot is; it reaches each command one tick later unless frozen
    frozen, publishing = frozen_start, True
    loop.activate(now)
    loop.set_measured(robot_q, np.zeros(16), now)
    loop.set_deadman(True, now)
    loop.engage(True, now)
    prev = (arm.last.copy(), arm.rate.copy())  # the state the next command departs from
    seen: set[str] = set()
    stop_left = None  # after deactivate: the granted time (s) within which the stream must end at rest
    deadman, hand_visible, frame, ticks = True, True, 0, 0
    for kind, *args in [*events, ("ticks", 60, 0.02)]:
        if kind == "gap":
            now += args[0]
            stamp += args[0]
            kind, args = "ticks", [1, 0.02]
        if kind == "clock":
            kind, args = "ticks", [1, 0.0 if args[0] == "stall" else -5.0]
        for _ in range(args[0] if kind == "ticks" else 0):
            now += args[1] if args[1] > 0 else 0.02  # the steady clock always moves
            stamp += args[1]
            ticks += 1
            if publishing:
                loop.set_measured(robot_q, hand.last, now)
            if deadman:
                loop.set_deadman(True, now)
            if hand_visible and ticks % 2 == 0:
                frame = (frame + 1) % len(CAMERA_FRAMES)
                frame_stamp += 0.04
                loop.on_frame(CAMERA_FRAMES[frame], frame_stamp, now)
            if not (np.array_equal(prev[0], arm.last) and np.array_equal(prev[1], arm.rate)):
                # the only change between ticks: an engagement (re-)seeded at the measured state, at rest
                assert np.allclose(arm.last, np.clip(loop.measured.arm, arm.lower, arm.upper))
                assert not np.any(arm.rate)
                prev = (arm.last.copy(), arm.rate.copy())
            was_streaming = loop.state.streaming
            c = loop.tick(now, stamp)
            if c is None:
                assert not was_streaming or args[1] == 0.0
                continue
            seen.update(c.holding)
            seen.update(["following"] if c.following else [])
            seen.update(["reseeded"] if c.reseeded else [])
            seen.update(["final"] if c.final else [])
            # positions inside the limits; the trajectory's times increase and it ends at rest
            assert np.all(c.arm >= arm.lower) and np.all(c.arm <= arm.upper)
            points = c.trajectory(loop.period)
            assert all(b[0] > a[0] for a, b in itertools.pairwise(points)) and points[0][0] > 0
            assert not np.any(points[-1][2])
            q_prev, v_prev = prev
            if c.reseeded:  # following error: the command restarts where the robot is, at rest
                assert np.allclose(c.arm, np.clip(robot_q, arm.lower, arm.upper)) and not np.any(c.arm_velocity)
            else:
                stop = any(r in STOP_REASONS for r in c.holding)
                a = arm.stop_deceleration if stop else arm.acceleration
                assert np.allclose(c.arm - q_prev, (v_prev + c.arm_velocity) * c.dt / 2, atol=1e-9)
                assert np.all(np.abs(c.arm_velocity - v_prev) <= a * c.dt * (1 + 1e-9) + 1e-12)
                cap = np.maximum(arm.velocity, np.abs(v_prev))  # a lowered limit is approached, not stepped
                assert np.all(np.abs(c.arm_velocity) <= cap * (1 + 1e-12))
            if publishing and loop.measured_fresh(now):  # the command never runs away from the robot
                assert np.all(np.abs(c.arm - robot_q) <= _following_bound(loop)), np.abs(c.arm - robot_q)
            if stop_left is not None:
                assert not c.following
                stop_left -= c.dt
                assert c.final or stop_left >= 0, "the stream did not end at rest within the stop bound"
            if c.final:
                assert not np.any(c.arm_velocity) and not np.any(c.hand_velocity) and not loop.state.streaming
                stop_left = None
            prev = (c.arm.copy(), c.arm_velocity.copy())
            if not frozen:
                robot_q = c.arm.copy()
        if kind == "jump":
            frame = args[0]
        elif kind == "deadman":
            deadman = args[0]
            loop.set_deadman(deadman, now)
        elif kind == "hand":
            hand_visible = args[0]
        elif kind == "hold":
            loop.set_hold(args[0])
        elif kind == "engage":
            loop.engage(args[0], now)
            if loop.state.engaged:
                stop_left = None
        elif kind == "freeze":
            frozen = args[0]
        elif kind == "measured":
            publishing = args[0]
        elif kind == "limit":
            name, factor = args
            top = 1.0 if name == "velocity_scale" else 100.0
            new = loop.settings.replace(**{name: min(getattr(loop.settings, name) * factor, top)})
            if getattr(new, name) > getattr(loop.settings, name) and loop.state.active:
                with pytest.raises(ValueError, match=name):
                    loop.configure(new)
            else:
                loop.configure(new)
        elif kind == "lifecycle":
            if args[0]:
                loop.activate(now)
            else:
                if loop.state.streaming and np.any(arm.rate):
                    seen.add("deactivated while moving")
                loop.deactivate()
                if loop.state.stopping and stop_left is None:
                    t_stop = max(
                        np.max(np.abs(arm.rate) / arm.stop_deceleration),
                        np.max(np.abs(hand.rate) / hand.stop_deceleration),
                    )
                    stop_left = t_stop + loop.settings.max_step_dt + 1e-9
    assert not loop.state.stopping  # after the trailing ticks a deactivated stream has ended at rest
    SEEN.update(seen)


SEEN: set[str] = set()


def test_the_random_events_reached_every_case():
    """The property test above is not vacuous: its examples followed the hand, re-seeded on a following error,
    ended a deactivated stream at rest and held for every reason (runs after it, in file order)."""
    if not SEEN:
        pytest.skip("runs after test_random_event_sequences_keep_every_bound")
    wanted = {"following", "reseeded", "final", "following error", "deadman released", "hold requested"}
    wanted |= {"deactivated while moving", "clock went back", "hand lost", "measured state lost"}
    assert wanted <= SEEN, wanted - SEEN
