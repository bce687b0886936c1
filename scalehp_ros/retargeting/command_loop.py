"""The command loop: the one robot state machine (ROS-free). Start from the measured state, ramp to the
operator's target within position / velocity / acceleration bounds, stop within bounds on every loss.

Teleoperator.solve turns each hand frame into targets (IK solution, hand retargeting); it knows no limits and
no state. This loop owns everything that makes the commands safe: engage, hold, the deadman, the measured
state, the following-error check, the watchdogs, the limits and every way a stream ends. It turns the targets
into the command stream a robot controller reads, on its own clock: `tick(now, stamp)`, called at
command_rate and right after each frame. docs/safety.md is the contract (every way motion ends, its bound).

Two clocks: `now` (every input, tick, engage and status call) is a steady clock (time.monotonic, seconds) and
times every watchdog; an age that is negative (the clock went back) counts as stale, never as fresh.
`stamp` is the command's time on the controller's clock (ROS time, sim time included) and times the ramp: the
granted step is the stamp difference, capped at max_step_dt; a tick whose stamp has not moved is skipped (a
40 Hz /clock under a 50 Hz loop), a stamp that went back disengages and restarts the time base.

- It starts **disengaged** and publishes nothing until the first engagement. `engage(True)` is refused, with
  the reason, when the loop is not active (lifecycle), when no measured joint state arrived within
  measured_state_timeout (unless simulate_robot: then the commanded state is the robot's state) or when a
  measured arm joint is outside its URDF limits (named; the arm is not ramped into the limits). Engaging
  starts the command at the **measured state**, at rest; re-engaging while the stream still runs continues
  from the current command (what the controller tracks), except after a following error (re-seeded).
- Every tick moves the command toward the target through JointLimiters: position limits, velocity limits
  (velocity_scale x URDF; a lowered one is approached at the acceleration bound) and the acceleration bound
  (arm_acceleration, hand_acceleration).
- The arm **follows** only while engaged, not on hold (the ~/hold service), the deadman fresh (when one is
  configured), the measured state fresh (unless simulated), the hand tracked and no following error.
  Otherwise it **brakes** to rest, every joint at its own constant deceleration (no velocity step), and the
  held command keeps being streamed (no gap): at the comfort bound for a hold, a lost hand or a disengage, at
  the higher stop deceleration (arm_stop_deceleration, hand_stop_deceleration) for a released deadman, a lost
  measured state, a following error, a clock that went back, deactivate and shutdown. In relative mode every
  resumption takes a new clutch reference, so the arm never leaps to where the hand went meanwhile.
- **Following error**: the measured arm must stay within following_error_tolerance of the commands of the last
  following_error_lag seconds (the controller's and the robot's delay). Beyond it (a robot in protective stop,
  an inactive controller, a wrong command topic) the loop disengages and re-seeds the command at the measured
  state at rest (the robot is not moving; commanding where it is cannot move it), and reports ERROR until the
  next engagement.
- `deactivate()` (lifecycle deactivate, shutdown) brakes to rest at the stop deceleration and keeps streaming
  until v = 0; the command with `final` set is the last.
- Each command carries its velocities, the commands of the last period (`recent`), a short look-ahead (the
  states the ramp itself would produce next if the target stayed put) and a closing brake (`stop`): from the
  last look-ahead state every arm joint stops at the stop deceleration. Sent as a trajectory delayed by one
  period (retarget_node), a JointTrajectoryController's cubic splines through these (q, v) points reproduce the
  ramp's own path whenever a message arrives, and a lost stream (a crash, SIGKILL, a network gap) ends at rest
  within the bounds.
- Limits change at run time only toward safer values (lower velocity_scale, accelerations, timeouts, tolerance,
  max_step_dt); loosening them, the stop decelerations or the deadman source is refused while active
  (`check_settings` says why) and allowed while inactive.
Units: radians, rad/s, rad/s^2, seconds.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from scalehp_ros.common.params import Settings, param
from scalehp_ros.retargeting.safety import JointLimiter, TrackingMonitor, fresh, stop_points
from scalehp_ros.retargeting.teleop import Status, Target, Teleoperator

DEADMAN_SOURCES = ("none", "bool", "joy")
LIMIT_TOLERANCE = 1e-3  # rad: a measured joint this close outside its URDF limit is clipped, not refused
STANDING = 0.05  # rad/s: a measured arm slower than this stands (a following error re-seeds the command there)
SPEED_SPAN = 0.05  # s: the measured arm's speed is taken over at least this span

# reasons to hold that stop at the stop deceleration (the others brake at the comfort acceleration bound)
STOP_REASONS = ("deadman released", "measured state lost", "following error", "clock went back", "deactivated")
# run-time changes: these may only decrease while active (tightening); an increase waits for inactive
TIGHTEN_DOWN = (
    "velocity_scale",
    "arm_acceleration",
    "hand_acceleration",
    "max_step_dt",
    "tracking_timeout",
    "measured_state_timeout",
    "deadman_timeout",
    "following_error_tolerance",
    "following_error_lag",
)
INACTIVE_ONLY = ("arm_stop_deceleration", "hand_stop_deceleration", "deadman", "simulate_robot", "command_rate")


@dataclass(frozen=True)
class CommandLoopSettings(Settings):
    """Command stream and safety supervision (rad, rad/s, rad/s^2, seconds)."""

    command_rate: float = param(
        50.0,
        "rate of the command stream (Hz); a command also goes out right after each hand frame",
        5.0,
        500.0,
        dynamic=False,
    )
    velocity_scale: float = param(
        0.5,
        "fraction of the URDF joint velocity limits commands may use; lowered at run time it is approached at "
        "the acceleration bound, raised only while inactive",
        min=0.01,
        max=1.0,
    )
    max_step_dt: float = param(0.1, "longest time step (s) one command is granted", min=0.005, max=1.0)
    arm_acceleration: float = param(
        4.0, "acceleration bound of every arm joint while following and on a hold (rad/s^2)", 0.1, 100.0
    )
    hand_acceleration: float = param(40.0, "acceleration bound of every hand joint (rad/s^2)", 0.1, 1000.0)
    arm_stop_deceleration: float = param(
        10.0,
        "deceleration of every arm joint on a stop (deadman released, measured state lost, following error, "
        "deactivate, shutdown) and in the closing brake of every trajectory (rad/s^2); keep it within the "
        "arm's stopping capability; at least arm_acceleration; changed only while inactive",
        0.1,
        100.0,
    )
    hand_stop_deceleration: float = param(
        100.0, "deceleration of every hand joint on a stop (rad/s^2); changed only while inactive", 0.1, 1000.0
    )
    settle_time: float = param(
        0.05,
        "near the target the ramp closes the gap with this time constant (s): no bang-bang chatter",
        0.005,
        1.0,
    )
    lookahead_steps: int = param(
        2, "trajectory look-ahead: predicted ramp states sent after the command (in command periods)", 0, 20
    )
    tracking_timeout: float = param(
        0.5, "no hand for this long (s): the arm holds; relative mode takes a new clutch reference", 0.05, 10.0
    )
    measured_state_timeout: float = param(
        0.25, "measured joint state older than this (s): engage refused, an engaged arm stops", 0.01, 5.0
    )
    following_error_tolerance: float = param(
        0.1,
        "largest distance (rad) of a measured arm joint from the commands of the last following_error_lag s; "
        "beyond it the arm disengages and the command is re-seeded at the measured state",
        0.005,
        1.0,
    )
    following_error_lag: float = param(
        0.15,
        "how far (s) the measured state may lag the commands (controller delay, tracking lag, transport)",
        0.0,
        1.0,
    )
    deadman: str = param(
        "bool",
        "deadman input the arm needs to follow: none, bool (std_msgs/Bool heartbeat on deadman_topic, true = "
        "pressed) or joy (sensor_msgs/Joy on deadman_topic, button deadman_button pressed)",
        choices=DEADMAN_SOURCES,
    )
    deadman_timeout: float = param(0.3, "deadman input older than this (s) counts as released", 0.02, 5.0)
    simulate_robot: bool = param(
        False,
        "no robot: the commanded state stands in for the measured one, the node engages on activation and "
        "needs no deadman (simulation, make demo)",
        dynamic=False,
    )


@dataclass
class LoopCommand:
    """One command of the stream (arrays in the robot YAML's joint order)."""

    time: float  # s, the tick's stamp (controller clock: the message stamp)
    dt: float  # s, the step granted since the previous command
    arm: np.ndarray  # rad
    arm_velocity: np.ndarray  # rad/s
    hand: np.ndarray
    hand_velocity: np.ndarray
    lookahead: list[tuple[np.ndarray, np.ndarray]]  # arm (position, velocity) one, two, ... periods later
    recent: list[tuple[float, np.ndarray, np.ndarray]]  # earlier commands of the last period: (time, q, v)
    stop: list[tuple[float, np.ndarray, np.ndarray]]  # closing brake after the look-ahead: (s after it, q, v)
    following: bool
    holding: tuple[str, ...]  # why the arm holds (empty while following)
    reseeded: bool = False  # this command restarts at the measured state (engage, following error)
    final: bool = False  # the last command of the stream (at rest after deactivate)

    def trajectory(self, period: float) -> list[tuple[float, np.ndarray, np.ndarray]]:
        """The arm trajectory of this command, delayed by one period: (time_from_start, q, v) for the commands
        of the last period still ahead, this command at `period`, the look-ahead one period apart, then the
        closing brake to rest. Wherever a controller is on the previous trajectory when this one arrives, its
        spline to the first point follows the same parabola, so irregular or jittered messages leave the
        executed path unchanged; if no message follows, the last point is at rest. Times strictly increase."""
        points = [(t - self.time + period, q, v) for t, q, v in self.recent]
        points.append((period, self.arm, self.arm_velocity))
        points += [((i + 2) * period, q, v) for i, (q, v) in enumerate(self.lookahead)]
        end = points[-1][0]
        points += [(end + t, q, v) for t, q, v in self.stop]
        return points


@dataclass
class _Measured:
    arm: np.ndarray
    hand: np.ndarray
    time: float  # steady s


@dataclass
class LoopState:
    active: bool = False
    engaged: bool = False
    hold: bool = False
    streaming: bool = False
    stopping: bool = False  # deactivated: braking to rest, then the stream ends
    refusals: int = 0
    last_refusal: str = ""
    fault: str = ""  # the following error that disengaged the arm (until the next engagement)
    holds: dict[str, int] = field(default_factory=dict)
    skipped_ticks: int = 0  # ticks whose stamp had not moved
    clock_jumps: int = 0  # ticks whose stamp went back
    following_errors: int = 0


class CommandLoop:
    """The robot state machine around one target solver (Teleoperator): measured-state start, bounded ramp,
    deadman, hold, following error, stops at rest."""

    def __init__(self, teleop: Teleoperator, settings: CommandLoopSettings | None = None):
        self.teleop = teleop
        self.settings = CommandLoopSettings() if settings is None else settings
        t = teleop
        self._arm_velocity = t.ik.robot.velocity.copy()  # URDF, rad/s
        self._hand_velocity = t.hand.robot.velocity.copy()
        self.arm = JointLimiter(t.ik.lower, t.ik.upper, self._arm_velocity, t.arm_rest)
        self.hand = JointLimiter(t.hand.lower, t.hand.upper, self._hand_velocity, t.hand_rest)
        self.state = LoopState()
        self.tracking = TrackingMonitor(self.settings.tracking_timeout)
        self.measured: _Measured | None = None
        self.measured_speed = 0.0  # rad/s, the largest measured arm joint speed over >= SPEED_SPAN seconds
        self._speed_anchor: tuple[float, np.ndarray] | None = None
        self.deadman_time: float | None = None
        self.deadman_pressed = False
        self.following_error = 0.0  # rad, the last check's largest arm joint error
        self._arm_target: np.ndarray | None = None
        self._hand_target: np.ndarray | None = None
        self._last_stamp: float | None = None
        self._was_following = False
        self._need_reference = False
        self._reseed = False
        self._clock_back = False  # the stamp went back: held until the next engagement
        self._knots: list[tuple[float, np.ndarray, np.ndarray]] = []
        self._history: deque[tuple[float, np.ndarray]] = deque()  # (steady s, arm command) for following error
        self._apply(self.settings)

    # settings ---------------------------------------------------------------------------------------------
    def check_settings(self, settings: CommandLoopSettings) -> str | None:
        """Why `settings` may not be applied now (None: they may): while active, limits only tighten."""
        if not self.state.active:
            return None
        old = self.settings
        for name in TIGHTEN_DOWN:
            if getattr(settings, name) > getattr(old, name):
                return (
                    f"{name} may only be lowered while the node is active ({getattr(old, name)} -> "
                    f"{getattr(settings, name)} loosens a limit); raise it while the node is inactive (deactivate, "
                    "set it, activate)"
                )
        for name in INACTIVE_ONLY:
            if getattr(settings, name) != getattr(old, name):
                return f"{name} can only change while the node is inactive (deactivate, set it, activate)"
        return None

    def configure(self, settings: CommandLoopSettings) -> None:
        """New settings; ValueError (the old ones kept) when they loosen a limit while active."""
        if not isinstance(settings, CommandLoopSettings):
            raise TypeError(f"expected CommandLoopSettings, got {type(settings).__name__}")
        reason = self.check_settings(settings)
        if reason is not None:
            raise ValueError(reason)
        self._apply(settings)

    def _apply(self, settings: CommandLoopSettings) -> None:
        self.settings = settings
        for limiter, urdf, accel, stop in (
            (self.arm, self._arm_velocity, settings.arm_acceleration, settings.arm_stop_deceleration),
            (self.hand, self._hand_velocity, settings.hand_acceleration, settings.hand_stop_deceleration),
        ):
            limiter.set_acceleration(accel, stop)
            limiter.settle_time = settings.settle_time
            limiter.velocity = urdf * settings.velocity_scale
        self.tracking.timeout = settings.tracking_timeout

    @property
    def period(self) -> float:
        return 1.0 / self.settings.command_rate

    @property
    def arm_target(self) -> np.ndarray | None:
        """The arm target the loop ramps toward (rad), None before the first frame of this engagement."""
        return None if self._arm_target is None else self._arm_target.copy()

    # inputs -----------------------------------------------------------------------------------------------
    def set_measured(self, arm: np.ndarray, hand: np.ndarray, now: float) -> None:
        """The robot's measured joints (rad), received at `now` (steady s)."""
        arm, hand = np.asarray(arm, dtype=float), np.asarray(hand, dtype=float)
        if arm.shape != self.arm.last.shape or hand.shape != self.hand.last.shape:
            raise ValueError("measured state has the wrong number of joints")
        if not (np.all(np.isfinite(arm)) and np.all(np.isfinite(hand))):
            raise ValueError("measured state contains NaN or inf")
        # over a span of at least SPEED_SPAN: states that arrive in a burst (a busy executor) carry arrival times
        # microseconds apart, and their differences would read as huge speeds
        anchor = self._speed_anchor
        if anchor is None or not 0.0 <= now - anchor[0] < 2.0:
            self._speed_anchor, self.measured_speed = (now, arm), 0.0
        elif now - anchor[0] >= SPEED_SPAN:
            self.measured_speed = float(np.max(np.abs(arm - anchor[1]))) / (now - anchor[0])
            self._speed_anchor = (now, arm)
        self.measured = _Measured(arm, hand, now)

    def set_deadman(self, pressed: bool, now: float) -> None:
        self.deadman_pressed, self.deadman_time = bool(pressed), now

    def on_frame(self, joints_camera: np.ndarray, stamp: float, now: float) -> Target:
        """A hand frame (stamp: the image's, s), received at `now` (steady s): new targets (ValueError for bad
        input, as Teleoperator.solve)."""
        if self.tracking.check(now):  # a loss that no tick noticed yet still retakes the clutch reference
            self._need_reference = True
        target = self.teleop.solve(joints_camera, stamp, self.arm.last)
        self.tracking.seen(now)
        self._arm_target = target.arm
        self._hand_target = target.hand
        return target

    def set_target(self, arm: np.ndarray, hand: np.ndarray, now: float) -> None:
        """Targets from another source than a hand frame (rad; e.g. a planner, a benchmark), received at `now`
        (steady s): the loop ramps to them exactly as to a frame's."""
        arm, hand = np.asarray(arm, dtype=float), np.asarray(hand, dtype=float)
        if arm.shape != self.arm.last.shape or hand.shape != self.hand.last.shape:
            raise ValueError("target has the wrong number of joints")
        if not (np.all(np.isfinite(arm)) and np.all(np.isfinite(hand))):
            raise ValueError("target contains NaN or inf")
        self.tracking.seen(now)
        self._arm_target, self._hand_target = arm, hand

    # state ------------------------------------------------------------------------------------------------
    def measured_fresh(self, now: float) -> bool:
        return self.measured is not None and fresh(self.measured.time, now, self.settings.measured_state_timeout)

    def deadman_ok(self, now: float) -> bool:
        if self.settings.deadman == "none" or self.settings.simulate_robot:
            return True
        return self.deadman_pressed and fresh(self.deadman_time, now, self.settings.deadman_timeout)

    def activate(self, now: float) -> None:
        self.state.active = True
        if self.settings.simulate_robot:
            self.engage(True, now)

    def deactivate(self) -> None:
        """Lifecycle deactivate or shutdown: disengage and brake to rest at the stop deceleration; the stream
        goes on until the arm and the hand are at rest (the command marked `final`), then ends."""
        s = self.state
        s.active = s.engaged = False
        if s.streaming:
            s.stopping = True

    def _out_of_limits(self, arm: np.ndarray) -> str | None:
        lower, upper = self.arm.lower, self.arm.upper
        for name, q, lo, hi in zip(self.teleop.config.arm.joints, arm, lower, upper, strict=True):
            if q < lo - LIMIT_TOLERANCE or q > hi + LIMIT_TOLERANCE:
                return (
                    f"cannot engage: measured {name} is {q:.3f} rad, outside its URDF limits [{lo:.3f}, {hi:.3f}]; "
                    "move it inside the limits (teach pendant, jog) first"
                )
        return None

    def engage(self, on: bool, now: float) -> tuple[bool, str]:
        s = self.state
        if not on:
            s.engaged = False
            return True, "disengaged: the arm brakes to a stop and holds"
        reason = None
        if not s.active:
            reason = "cannot engage: the node is not active (lifecycle: configure, then activate)"
        elif not self.settings.simulate_robot and not self.measured_fresh(now):
            age = "none received" if self.measured is None else f"last {now - self.measured.time:.2f} s ago"
            reason = (
                f"cannot engage: no measured joint state within {self.settings.measured_state_timeout} s "
                f"({age}); is the robot's joint_state_broadcaster publishing on measured_state_topic?"
            )
        elif not self.settings.simulate_robot:
            reason = self._out_of_limits(self.measured.arm)
            if reason is None and (not s.streaming or self._reseed) and self.measured_speed > STANDING:
                reason = (
                    f"cannot engage: the robot is moving ({self.measured_speed:.2f} rad/s); the command starts "
                    "from the measured state at rest, so engage once it stands"
                )
        if reason is not None:
            s.refusals += 1
            s.last_refusal = reason
            return False, reason
        if not s.streaming or self._reseed:
            if self.measured is not None:  # simulated without a state: the rest posture
                self.arm.reset(self.measured.arm)
                self.hand.reset(self.measured.hand)
            self._arm_target = self._hand_target = None  # targets computed from the old start are stale
            self.teleop.reset_reference()
            self._last_stamp = None
            self._knots = []
            self._history.clear()
            self._reseed = False
            s.streaming = True
        self._clock_back = False
        s.stopping = False
        s.engaged = True
        s.fault = ""
        self._need_reference = True
        self._was_following = False
        if self.settings.simulate_robot:
            return True, "engaged (simulated robot)"
        return True, "engaged: ramping from the measured state to the hand"

    def set_hold(self, on: bool) -> tuple[bool, str]:
        self.state.hold = bool(on)
        return True, "hold: the arm brakes to a stop and holds" if on else "hold released"

    def hold_reasons(self, now: float) -> tuple[str, ...]:
        s, out = self.state, []
        if s.stopping:
            out.append("deactivated")
        if s.fault:
            out.append("following error")
        if self._clock_back:
            out.append("clock went back")
        if not s.engaged:
            out.append("disengaged")
        if s.hold:
            out.append("hold requested")
        if not self.deadman_ok(now):
            out.append("deadman released")
        if not self.settings.simulate_robot and not self.measured_fresh(now):
            out.append("measured state lost")
        if self.tracking.check(now):
            out.append("hand lost")
        elif self._arm_target is None:
            out.append("no arm target yet")
        return tuple(out)

    def _check_following(self, now: float) -> bool:
        """Following error: the measured arm against the range of the commands of the last following_error_lag
        seconds before its arrival. Beyond the tolerance: disengage (the arm stops at the stop deceleration);
        once the robot stands still, re-seed the command at the measured state (True). A robot that moves but
        lags is never commanded to its own position at rest (that would be a velocity step for it)."""
        if self.settings.simulate_robot or not self.measured_fresh(now) or not self._history:
            self.following_error = 0.0
            return False
        m = self.measured
        start = m.time - self.settings.following_error_lag
        window = [q for t, q in self._history if t >= start]
        older = [q for t, q in self._history if t < start]
        if older:
            window.append(older[-1])  # the command in force at the window's start
        if not window:
            self.following_error = 0.0
            return False
        commands = np.array(window)
        error = np.maximum(np.maximum(commands.min(axis=0) - m.arm, m.arm - commands.max(axis=0)), 0.0)
        self.following_error = float(error.max())
        if self.following_error <= self.settings.following_error_tolerance:
            return False
        s = self.state
        if not s.fault:
            j = int(np.argmax(error))
            s.fault = (
                f"following error: measured {self.teleop.config.arm.joints[j]} is {error[j]:.3f} rad from the "
                f"commands (tolerance {self.settings.following_error_tolerance} rad); disengaged, the command "
                "re-seeded at the measured state: is the robot in a protective stop, the controller inactive or "
                "the command topic wrong?"
            )
            s.following_errors += 1
            s.engaged = False
            self._reseed = True  # the next engagement starts from the measured state again
        if self.measured_speed > STANDING:
            return False  # brake (a stop reason) until the robot stands
        self.arm.reset(m.arm)
        self._knots = []
        self._history.clear()
        return True

    # the stream -------------------------------------------------------------------------------------------
    def tick(self, now: float, stamp: float | None = None) -> LoopCommand | None:
        """The next command at steady time `now`, stamped `stamp` on the controller's clock (default `now`);
        None while not streaming (inactive, never engaged, stopped) or when the stamp has not moved."""
        s = self.state
        if not s.streaming:
            return None
        stamp = now if stamp is None else stamp
        if self._last_stamp is not None and stamp <= self._last_stamp:
            if stamp == self._last_stamp:
                s.skipped_ticks += 1  # the controller's clock has not moved: same-time points are rejected
                return None
            s.clock_jumps += 1  # the clock went back: a new time base, and the operator engages again
            s.engaged = False
            self._clock_back = True
            self._last_stamp = None
            self._knots = []
        dt = self.period if self._last_stamp is None else min(stamp - self._last_stamp, self.settings.max_step_dt)
        self._last_stamp = stamp
        reseeded = self._check_following(now)
        holding = self.hold_reasons(now)
        if "measured state lost" in holding:
            s.engaged = False  # a new engagement re-checks the robot's state
        blocking = [r for r in holding if r != "no arm target yet"]
        if blocking:
            self._need_reference = True
        elif self._need_reference:
            self._need_reference = False
            if self.teleop.settings.arm_mode == "relative":  # a fresh clutch reference: no leap to the hand
                self.teleop.reset_reference()
                self._arm_target = None
                holding = self.hold_reasons(now)
        following = not holding
        if self._was_following and not following:
            for reason in holding:
                s.holds[reason] = s.holds.get(reason, 0) + 1
        self._was_following = following
        stop = any(r in STOP_REASONS for r in holding)
        arm_decel = self.arm.stop_deceleration if stop else None
        hand_decel = self.hand.stop_deceleration if stop else None
        if reseeded:
            arm = self.arm.last.copy()
        elif following:
            arm = self.arm.limit(self._arm_target, dt)
        else:
            arm = self.arm.brake(dt, arm_decel)
        if following and self._hand_target is not None:
            hand = self.hand.limit(self._hand_target, dt)
        else:
            hand = self.hand.brake(dt, hand_decel)
        arm_velocity, hand_velocity = self.arm.rate.copy(), self.hand.rate.copy()
        steps = self.settings.lookahead_steps
        if following:
            lookahead = self.arm.predict(self._arm_target, self.period, steps)
        else:
            lookahead = self.arm.predict(None, self.period, steps, arm_decel)
        q_end, v_end = lookahead[-1] if lookahead else (arm, arm_velocity)
        closing = stop_points(q_end, v_end, self.arm.stop_deceleration)
        recent = [k for k in self._knots if k[0] > stamp - self.period]
        self._knots = [*recent, (stamp, arm, arm_velocity)]
        self._history.append((now, arm))
        horizon = now - self.settings.following_error_lag - 2.0 * self.settings.max_step_dt
        while len(self._history) > 2 and self._history[1][0] < horizon:
            self._history.popleft()
        final = s.stopping and not np.any(arm_velocity) and not np.any(hand_velocity)
        if final:
            s.streaming = s.stopping = False
            self._last_stamp = None
        return LoopCommand(
            stamp,
            dt,
            arm,
            arm_velocity,
            hand,
            hand_velocity,
            lookahead,
            recent,
            closing,
            following,
            holding,
            reseeded,
            final,
        )

    def status(self, now: float) -> Status:
        s = self.state
        holding = self.hold_reasons(now)
        lost = self.tracking.lost
        values = self.teleop.status_values()
        values.update(
            {
                "active": str(s.active),
                "engaged": str(s.engaged),
                "streaming": str(s.streaming),
                "stopping": str(s.stopping),
                "hold": str(s.hold),
                "following": str(s.streaming and not holding),
                "holding_because": ", ".join(holding),
                "tracking": "lost" if lost else "ok",
                "input_age_s": f"{self.tracking.age(now):.3f}",
                "tracking_losses": str(self.tracking.losses),
                "deadman": self.settings.deadman if not self.settings.simulate_robot else "none (simulated robot)",
                "deadman_ok": str(self.deadman_ok(now)),
                "measured_state": "simulated"
                if self.settings.simulate_robot
                else ("none" if self.measured is None else f"{now - self.measured.time:.3f} s old"),
                "following_error_rad": f"{self.following_error:.4f}",
                "following_errors": str(s.following_errors),
                "last_following_error": s.fault,
                "engage_refusals": str(s.refusals),
                "last_refusal": s.last_refusal,
                "skipped_ticks_clock_not_moved": str(s.skipped_ticks),
                "clock_went_back": str(s.clock_jumps),
                "arm_acceleration_clamped": str(self.arm.acceleration_clamped),
                "arm_velocity_clamped": str(self.arm.velocity_clamped),
                "arm_position_clamped": str(self.arm.position_clamped),
                "hand_velocity_clamped": str(self.hand.velocity_clamped),
                "hand_position_clamped": str(self.hand.position_clamped),
            }
        )
        if s.fault:
            return Status(2, s.fault, values)
        if s.stopping:
            return Status(1, "deactivated: braking to rest, then the stream ends", values)
        if not s.active:
            return Status(1, "inactive (lifecycle): no commands", values)
        if not s.streaming:
            return Status(0, "active, disengaged: call ~/engage to start from the measured state", values)
        if holding:
            warn = ("measured state lost", "hand lost", "deadman released", "clock went back")
            level = 1 if any(r in holding for r in warn) else 0
            return Status(level, f"holding: {', '.join(holding)}", values)
        return Status(0, "following the hand", values)
