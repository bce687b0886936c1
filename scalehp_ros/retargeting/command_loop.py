"""The command loop: start from the measured state, ramp to the operator's target, hold on any loss (ROS-free).

Teleoperator.solve turns each hand frame into targets (IK solution, hand retargeting). This loop turns targets
into the command stream a robot controller reads, on its own clock (`tick(now)`, called at command_rate and
right after each frame):

- It starts **disengaged** and publishes nothing until the first engagement. `engage(True)` is refused, with
  the reason, when the loop is not active (lifecycle), or when no measured joint state arrived within
  measured_state_timeout (unless simulate_robot: then the commanded state is the robot's state). Engaging
  starts the command at the **measured state**, at rest; re-engaging while the stream still runs continues
  from the current command (it is what the controller tracks).
- Every tick moves the command toward the target through JointLimiters with position, velocity
  (velocity_scale x URDF) and acceleration (arm_acceleration, hand_acceleration) bounds, the granted time
  step being the time since the previous tick, capped at max_step_dt.
- The arm **follows** only while engaged, not on hold (the ~/hold service), the deadman fresh (when one is
  configured), the measured state fresh (unless simulated) and the hand tracked. Otherwise it **holds**: the
  target becomes the point where braking at the acceleration bound stops (no velocity step, so a
  controller sees no jump), and the held command keeps being streamed (no gap). Losing the measured state
  also disengages (a new engagement re-checks it); in relative mode every resumption takes a new clutch
  reference, so the arm never leaps to where the hand went meanwhile.
- Each command carries its velocities, the commands of the last period (`recent`) and a short look-ahead:
  the next lookahead_steps states the ramp itself would produce if the target stayed put. Sent as a
  trajectory delayed by one period (retarget_node), a JointTrajectoryController's cubic splines through
  these (q, v) points reproduce the ramp's own piecewise-parabolic path whenever a message arrives, and
  even a lost stream ends inside the bounds.
Units: radians, rad/s, rad/s^2, seconds (monotonic or ROS time: one clock for all calls).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scalehp_ros.common.params import Settings, param
from scalehp_ros.retargeting.safety import JointLimiter
from scalehp_ros.retargeting.teleop import Status, Target, Teleoperator

DEADMAN_SOURCES = ("none", "bool", "joy")


@dataclass(frozen=True)
class CommandLoopSettings(Settings):
    """Command stream and safety supervision (rad, rad/s^2, seconds)."""

    command_rate: float = param(
        50.0,
        "rate of the command stream (Hz); a command also goes out right after each hand frame",
        5.0,
        500.0,
        dynamic=False,
    )
    arm_acceleration: float = param(4.0, "acceleration bound of every arm joint (rad/s^2)", 0.1, 100.0)
    hand_acceleration: float = param(40.0, "acceleration bound of every hand joint (rad/s^2)", 0.1, 1000.0)
    settle_time: float = param(
        0.05,
        "near the target the ramp closes the gap with this time constant (s): no bang-bang chatter",
        0.005,
        1.0,
    )
    lookahead_steps: int = param(
        2, "trajectory look-ahead: predicted ramp states sent after the command (in command periods)", 0, 20
    )
    measured_state_timeout: float = param(
        0.25, "measured joint state older than this (s): engage refused, an engaged arm holds", 0.01, 5.0
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

    time: float  # s, the tick's time (the message stamp)
    dt: float  # s, the step granted since the previous command
    arm: np.ndarray  # rad
    arm_velocity: np.ndarray  # rad/s
    hand: np.ndarray
    hand_velocity: np.ndarray
    lookahead: list[tuple[np.ndarray, np.ndarray]]  # arm (position, velocity) one, two, ... periods later
    recent: list[tuple[float, np.ndarray, np.ndarray]]  # earlier commands of the last period: (time, q, v)

    def trajectory(self, period: float) -> list[tuple[float, np.ndarray, np.ndarray]]:
        """The arm trajectory of this command, delayed by one period: (time_from_start, q, v) for the commands
        of the last period still ahead, this command at `period`, then the look-ahead one period apart.
        Wherever a controller is on the previous trajectory when this one arrives, its spline to the first
        point follows the same parabola, so irregular or jittered messages leave the executed path unchanged."""
        points = [(t - self.time + period, q, v) for t, q, v in self.recent]
        points.append((period, self.arm, self.arm_velocity))
        points += [((i + 2) * period, q, v) for i, (q, v) in enumerate(self.lookahead)]
        return points

    following: bool
    holding: tuple[str, ...]  # why the arm holds (empty while following)


@dataclass
class _Measured:
    arm: np.ndarray
    hand: np.ndarray
    time: float


@dataclass
class LoopState:
    active: bool = False
    engaged: bool = False
    hold: bool = False
    streaming: bool = False
    refusals: int = 0
    last_refusal: str = ""
    holds: dict[str, int] = field(default_factory=dict)


class CommandLoop:
    """Measured-state start, bounded ramp, deadman, hold; wraps one Teleoperator."""

    def __init__(self, teleop: Teleoperator, settings: CommandLoopSettings | None = None):
        self.teleop = teleop
        self.settings = settings or CommandLoopSettings()
        t = teleop
        self.arm = JointLimiter(t.ik.lower, t.ik.upper, t.arm_limiter.velocity, t.ik.posture)
        self.hand = JointLimiter(t.hand.lower, t.hand.upper, t.hand_limiter.velocity, t.hand_limiter.last)
        self.state = LoopState()
        self.measured: _Measured | None = None
        self.deadman_time: float | None = None
        self.deadman_pressed = False
        self._arm_target: np.ndarray | None = None
        self._hand_target: np.ndarray | None = None
        self._last_time: float | None = None
        self._was_following = False
        self._need_reference = False
        self._knots: list[tuple[float, np.ndarray, np.ndarray]] = []
        self.configure(self.settings)

    def configure(self, settings: CommandLoopSettings) -> None:
        if not isinstance(settings, CommandLoopSettings):
            raise TypeError(f"expected CommandLoopSettings, got {type(settings).__name__}")
        self.settings = settings
        for limiter, accel in ((self.arm, settings.arm_acceleration), (self.hand, settings.hand_acceleration)):
            limiter.set_acceleration(accel)
            limiter.settle_time = settings.settle_time
        self.sync_velocity_limits()

    def configure_teleop(self, settings) -> None:
        """New TeleopSettings for the wrapped Teleoperator; the loop's velocity limits follow."""
        self.teleop.configure(settings)
        self.sync_velocity_limits()

    def sync_velocity_limits(self) -> None:
        """Velocity limits follow the teleoperation settings (velocity_scale x URDF)."""
        self.arm.velocity = self.teleop.arm_limiter.velocity.copy()
        self.hand.velocity = self.teleop.hand_limiter.velocity.copy()

    @property
    def period(self) -> float:
        return 1.0 / self.settings.command_rate

    # inputs -----------------------------------------------------------------------------------------------
    def set_measured(self, arm: np.ndarray, hand: np.ndarray, now: float) -> None:
        arm, hand = np.asarray(arm, dtype=float), np.asarray(hand, dtype=float)
        if arm.shape != self.arm.last.shape or hand.shape != self.hand.last.shape:
            raise ValueError("measured state has the wrong number of joints")
        if not (np.all(np.isfinite(arm)) and np.all(np.isfinite(hand))):
            raise ValueError("measured state contains NaN or inf")
        self.measured = _Measured(arm, hand, now)

    def set_deadman(self, pressed: bool, now: float) -> None:
        self.deadman_pressed, self.deadman_time = bool(pressed), now

    def on_frame(self, joints_camera: np.ndarray, stamp: float, now: float) -> Target:
        """A hand frame: new targets (ValueError for bad input, as Teleoperator.solve)."""
        target = self.teleop.solve(joints_camera, stamp, now, self.arm.last)
        self._arm_target = target.arm
        self._hand_target = target.hand
        return target

    # state ------------------------------------------------------------------------------------------------
    def measured_fresh(self, now: float) -> bool:
        return self.measured is not None and now - self.measured.time <= self.settings.measured_state_timeout

    def deadman_ok(self, now: float) -> bool:
        if self.settings.deadman == "none" or self.settings.simulate_robot:
            return True
        return (
            self.deadman_pressed
            and self.deadman_time is not None
            and now - self.deadman_time <= self.settings.deadman_timeout
        )

    def activate(self, now: float) -> None:
        self.state.active = True
        if self.settings.simulate_robot:
            self.engage(True, now)

    def deactivate(self) -> None:
        """Stop streaming (the lifecycle node deactivates: the controller keeps its last point)."""
        self.state.active = self.state.engaged = self.state.streaming = False
        self._last_time = None

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
        if reason is not None:
            s.refusals += 1
            s.last_refusal = reason
            return False, reason
        if not s.streaming:
            if self.measured is not None:  # simulated without a state: the rest posture
                self.arm.reset(self.measured.arm)
                self.hand.reset(self.measured.hand)
            self._arm_target = self._hand_target = None  # targets computed from the old start are stale
            self.teleop.rearm()
            s.streaming = True
            self._last_time = None
            self._knots = []
        s.engaged = True
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
        if not s.engaged:
            out.append("disengaged")
        if s.hold:
            out.append("hold requested")
        if not self.deadman_ok(now):
            out.append("deadman released")
        if not self.settings.simulate_robot and not self.measured_fresh(now):
            out.append("measured state lost")
        if self.teleop.tick(now):
            out.append("hand lost")
        elif self._arm_target is None:
            out.append("no arm target yet")
        return tuple(out)

    # the stream -------------------------------------------------------------------------------------------
    def tick(self, now: float) -> LoopCommand | None:
        """The next command at time `now`, or None while not streaming (inactive, never engaged)."""
        s = self.state
        if not (s.active and s.streaming):
            return None
        holding = self.hold_reasons(now)
        if "measured state lost" in holding:
            s.engaged = False  # a new engagement re-checks the robot's state
        blocking = [r for r in holding if r != "no arm target yet"]
        if blocking:
            self._need_reference = True
        elif self._need_reference:
            self._need_reference = False
            if self.teleop.settings.arm_mode == "relative":  # a fresh clutch reference: no leap to the hand
                self.teleop.rearm()
                self._arm_target = None
                holding = self.hold_reasons(now)
        following = not holding
        if self._was_following and not following:
            for reason in holding:
                s.holds[reason] = s.holds.get(reason, 0) + 1
        self._was_following = following
        dt = self.period if self._last_time is None else min(now - self._last_time, self.teleop.settings.max_step_dt)
        dt = max(dt, 1e-6)  # two ticks at the same instant: a (nearly) zero step
        self._last_time = now
        if following:
            arm_goal = self._arm_target
            hand_goal = self._hand_target if self._hand_target is not None else self.hand.brake_target()
        else:
            arm_goal, hand_goal = self.arm.brake_target(), self.hand.brake_target()
        arm = self.arm.limit(arm_goal, dt)
        hand = self.hand.limit(hand_goal, dt)
        lookahead = self.arm.predict(arm_goal, self.period, self.settings.lookahead_steps)
        recent = [k for k in self._knots if k[0] > now - self.period]
        self._knots = [*recent, (now, arm, self.arm.rate.copy())]
        return LoopCommand(
            now, dt, arm, self.arm.rate.copy(), hand, self.hand.rate.copy(), lookahead, recent, following, holding
        )

    def status(self, now: float) -> Status:
        base = self.teleop.status(now)
        s = self.state
        holding = self.hold_reasons(now)
        values = dict(base.values)
        values.update(
            {
                "active": str(s.active),
                "engaged": str(s.engaged),
                "streaming": str(s.streaming),
                "hold": str(s.hold),
                "following": str(s.streaming and not holding),
                "holding_because": ", ".join(holding),
                "deadman": self.settings.deadman if not self.settings.simulate_robot else "none (simulated robot)",
                "deadman_ok": str(self.deadman_ok(now)),
                "measured_state": "simulated"
                if self.settings.simulate_robot
                else ("none" if self.measured is None else f"{now - self.measured.time:.3f} s old"),
                "engage_refusals": str(s.refusals),
                "last_refusal": s.last_refusal,
                "arm_acceleration_clamped": str(self.arm.acceleration_clamped),
                "arm_velocity_clamped": str(self.arm.velocity_clamped),
                "arm_position_clamped": str(self.arm.position_clamped),
                "hand_velocity_clamped": str(self.hand.velocity_clamped),
                "hand_position_clamped": str(self.hand.position_clamped),
            }
        )
        if not s.active:
            return Status(1, "inactive (lifecycle): no commands", values)
        if not s.streaming:
            return Status(0, "active, disengaged: call ~/engage to start from the measured state", values)
        if holding:
            level = 1 if any(r in holding for r in ("measured state lost", "hand lost", "deadman released")) else 0
            return Status(level, f"holding: {', '.join(holding)}", values)
        return Status(0, "following the hand", values)
