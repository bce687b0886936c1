"""Command safety: joint position limits, a per-joint velocity clamp and an optional acceleration bound.

Every command leaving the retargeting core goes through a JointLimiter: `limit` clips to the position limits,
then each joint's change since the previous command to velocity * dt, where dt is the time the step is
granted (capped by the caller at max_step_dt, so a long gap never licenses a big jump). The previous command
starts at a configured, in-limits posture (or the measured state: `reset`), so every command ever sent is
within both limits.

With an acceleration bound `a` the limiter is a ramp, a double integrator: it keeps the commanded velocity
v (rad/s) as state, aims no faster than the speed from which it can still stop at the desired position
braking at `a`, nor faster than a proportional approach |e| / settle_time near it (no bang-bang chatter
while following a moving target), changes v by at most a * dt per step, and moves the position with the
mean of the old and new velocity (constant acceleration within the step). So on every step
|v_k| <= v_max, |v_k - v_{k-1}| <= a dt_k and q_k - q_{k-1} = (v_{k-1} + v_k) dt_k / 2. Between two commands
the path is the parabola that a cubic spline through (q, v), as joint_trajectory_controller's, reproduces
exactly. Two refinements keep that true when limits change at run time: a velocity limit lowered below the
current speed is approached at `a` (no velocity step), and no joint runs faster than it can still stop before
its position limit at the stop deceleration (so a lowered `a` cannot carry it into a limit).

`brake(dt, a)` is a controlled stop (stop category 2): every joint decelerates on its own at `a` (the comfort
bound, or a higher stop deceleration) and reaches exactly v = 0, so a stream can end at rest. `stop_points`
is the same stop as trajectory points, the closing brake of every streamed trajectory.
"""

from __future__ import annotations

import numpy as np


def _stoppable(distance: np.ndarray, v_prev: np.ndarray, direction, a: np.ndarray, dt: float) -> np.ndarray:
    """The speed after a step of dt from which braking at `a` still stops within `distance` (rad, >= 0)."""
    room = np.maximum(distance - direction * v_prev * dt / 2.0, 0.0)  # left after this step's first half
    return a * (np.sqrt(dt * dt / 4.0 + 2.0 * room / a) - dt / 2.0)


def stop_points(
    q: np.ndarray, v: np.ndarray, deceleration: np.ndarray | float
) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """A stop from (q, v) at `deceleration` (rad/s^2), every joint on its own: (time s after (q, v), position,
    velocity) at each joint's stop time, the last at rest. Between two points every joint's path is one
    parabola (constant deceleration or at rest), which a cubic spline through the points reproduces exactly.
    Stop times closer than a microsecond are merged. Empty when already at rest."""
    q, v = np.asarray(q, float), np.asarray(v, float)
    a = np.broadcast_to(np.asarray(deceleration, float), v.shape)
    stop_time = np.abs(v) / a
    times: list[float] = []
    for t in np.sort(stop_time[stop_time > 0]):
        if not times or t - times[-1] > 1e-6:
            times.append(float(t))
        else:
            times[-1] = float(t)
    out = []
    for t in times:
        tau = np.minimum(t, stop_time)
        vel = v - np.sign(v) * a * tau
        vel[stop_time <= t] = 0.0
        out.append((t, q + v * tau - np.sign(v) * a * tau * tau / 2.0, vel))
    return out


class JointLimiter:
    """Position, velocity and acceleration limits of one joint group (rad, rad/s, rad/s^2)."""

    def __init__(
        self,
        lower: np.ndarray,
        upper: np.ndarray,
        velocity: np.ndarray,
        initial: np.ndarray,
        acceleration: np.ndarray | None = None,
        settle_time: float = 0.05,
        stop_deceleration: np.ndarray | float | None = None,
    ):
        self.lower = np.asarray(lower, dtype=float)
        self.upper = np.asarray(upper, dtype=float)
        self.velocity = np.asarray(velocity, dtype=float)
        initial = np.asarray(initial, dtype=float)
        if not (self.lower.shape == self.upper.shape == self.velocity.shape == initial.shape):
            raise ValueError("limits and initial command must have the same length")
        if np.any(self.velocity <= 0) or np.any(self.lower > self.upper):
            raise ValueError("velocity limits must be positive and lower <= upper")
        if np.any(initial < self.lower) or np.any(initial > self.upper):
            raise ValueError("the initial command is outside the position limits")
        self.acceleration: np.ndarray | None = None
        self.stop_deceleration: np.ndarray | None = None
        self.set_acceleration(acceleration, stop_deceleration)
        if not settle_time > 0:
            raise ValueError("settle_time must be positive")
        self.settle_time = float(settle_time)
        self.last = initial.copy()
        self.rate = np.zeros_like(initial)  # rad/s of the last step
        self.position_clamped = 0  # commands where a position limit cut in
        self.velocity_clamped = 0  # commands where the velocity limit cut in
        self.acceleration_clamped = 0  # commands where the acceleration bound cut in

    def _vector(self, value, what: str) -> np.ndarray:
        value = np.broadcast_to(np.asarray(value, dtype=float), self.lower.shape).copy()
        if np.any(~np.isfinite(value)) or np.any(value <= 0):
            raise ValueError(f"{what} must be positive and finite")
        return value

    def set_acceleration(
        self, acceleration: np.ndarray | float | None, stop_deceleration: np.ndarray | float | None = None
    ) -> None:
        """The ramp's acceleration bound and the stop deceleration (default: the acceleration bound)."""
        if acceleration is None:
            self.acceleration = self.stop_deceleration = None
            return
        self.acceleration = self._vector(acceleration, "acceleration limits")
        stop = self.acceleration if stop_deceleration is None else self._vector(stop_deceleration, "stop deceleration")
        self.stop_deceleration = np.maximum(stop, self.acceleration)

    def reset(self, position: np.ndarray) -> None:
        """Start again from `position` (e.g. the measured state, clipped into the limits) at rest."""
        position = np.asarray(position, dtype=float)
        if position.shape != self.last.shape or not np.all(np.isfinite(position)):
            raise ValueError(f"reset position must be {self.last.shape[0]} finite values")
        self.last = np.clip(position, self.lower, self.upper)
        self.rate = np.zeros_like(self.last)

    def brake_target(self, deceleration: np.ndarray | float | None = None) -> np.ndarray:
        """Where braking at `deceleration` (default the acceleration bound) from the current velocity stops
        (the last command without an acceleration bound)."""
        a = self.acceleration if deceleration is None else deceleration
        if a is None:
            return self.last.copy()
        stop = self.last + self.rate * np.abs(self.rate) / (2.0 * a)
        return np.clip(stop, self.lower, self.upper)

    def _snapshot(self):
        return (
            self.last.copy(),
            self.rate.copy(),
            self.position_clamped,
            self.velocity_clamped,
            self.acceleration_clamped,
        )

    def _restore(self, saved) -> None:
        (self.last, self.rate, self.position_clamped, self.velocity_clamped, self.acceleration_clamped) = saved

    def predict(
        self, desired: np.ndarray | None, dt: float, steps: int, deceleration: np.ndarray | float | None = None
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """(position, velocity) after each of `steps` further steps of dt toward `desired` (None: braking at
        `deceleration`); the state is unchanged."""
        saved = self._snapshot()
        try:
            out = []
            for _ in range(steps):
                q = self.limit(desired, dt) if desired is not None else self.brake(dt, deceleration)
                out.append((q, self.rate.copy()))
            return out
        finally:
            self._restore(saved)

    def brake(self, dt: float, deceleration: np.ndarray | float | None = None) -> np.ndarray:
        """One step of a controlled stop: every joint's speed falls by `deceleration` * dt (default the
        acceleration bound; without one the joints stop at once), to exactly 0."""
        if not (np.isfinite(dt) and dt > 0):
            raise ValueError(f"command time step must be positive, got {dt}")
        a = self.acceleration if deceleration is None else np.asarray(deceleration, dtype=float)
        if a is None:
            self.rate = np.zeros_like(self.last)
            return self.last.copy()
        v_prev = self.rate
        rate = np.sign(v_prev) * np.maximum(np.abs(v_prev) - a * dt, 0.0)
        new = self.last + (v_prev + rate) * dt / 2.0
        outside = (new < self.lower) | (new > self.upper)
        self.last = np.clip(new, self.lower, self.upper)
        self.rate = np.where(outside, 0.0, rate)
        return self.last.copy()

    def limit(self, desired: np.ndarray, dt: float) -> np.ndarray:
        """The command closest to `desired` within the limits, reachable from the last one in dt seconds."""
        desired = np.asarray(desired, dtype=float)
        if desired.shape != self.last.shape:
            raise ValueError(f"command has shape {desired.shape}, expected {self.last.shape}")
        if not np.all(np.isfinite(desired)):
            raise ValueError("command contains NaN or inf")
        if not (np.isfinite(dt) and dt > 0):
            raise ValueError(f"command time step must be positive, got {dt}")
        clipped = np.clip(desired, self.lower, self.upper)
        self.position_clamped += bool(np.any(clipped != desired))
        error = clipped - self.last
        if self.acceleration is None:
            max_step = self.velocity * dt
            step = np.clip(error, -max_step, max_step)
            self.velocity_clamped += bool(np.any(step != error))
            new = np.clip(self.last + step, self.lower, self.upper)
            self.rate = (new - self.last) / dt
        else:
            # a double integrator: the velocity v changes by at most a * dt per step, the position moves with the
            # mean of the old and new velocity (constant acceleration within the step), so the path between two
            # commands is the parabola a controller's cubic spline through (q, v) reproduces exactly
            a, v_prev = self.acceleration, self.rate
            direction = np.sign(error)
            distance = np.abs(error)
            stoppable = _stoppable(distance, v_prev, direction, a, dt)
            speed = np.minimum(np.minimum(self.velocity, stoppable), distance / max(self.settle_time, dt))
            wanted = direction * speed
            rate = np.clip(wanted, v_prev - a * dt, v_prev + a * dt)
            self.acceleration_clamped += bool(np.any(rate != wanted))
            # a lowered velocity limit: approached at the acceleration bound, never in one step
            cap = np.maximum(self.velocity, np.abs(v_prev) - a * dt)
            self.velocity_clamped += bool(np.any(self.velocity < distance / dt))
            rate = np.clip(rate, -cap, cap)
            # never faster than a stop at the stop deceleration before the position limit allows (only worth
            # computing when a joint is within its stopping distance of a limit: rarely)
            d = self.stop_deceleration
            fast = np.abs(v_prev) + a * dt
            near = fast * (fast / (2.0 * d) + dt)
            if np.any(self.upper - self.last < near) or np.any(self.last - self.lower < near):
                up = _stoppable(np.maximum(self.upper - self.last, 0.0), v_prev, 1.0, d, dt)
                down = _stoppable(np.maximum(self.last - self.lower, 0.0), v_prev, -1.0, d, dt)
                rate = np.clip(rate, np.maximum(-down, v_prev - d * dt), np.minimum(up, v_prev + d * dt))
            new = self.last + (v_prev + rate) * dt / 2.0
            outside = (new < self.lower) | (new > self.upper)
            new = np.clip(new, self.lower, self.upper)
            self.rate = np.where(outside, 0.0, rate)  # stopped by a position limit
        self.last = new
        return self.last.copy()


class TrackingMonitor:
    """Tracking state from input arrival times (steady clock, seconds): lost after `timeout` without input.

    An input from the future (a negative age: the clock went back) counts as lost, never as fresh."""

    def __init__(self, timeout: float):
        if not timeout > 0:
            raise ValueError("tracking timeout must be positive")
        self.timeout = float(timeout)
        self.last_input: float | None = None
        self.lost = True  # nothing tracked yet
        self.losses = 0
        self._reported_lost = False

    def seen(self, now: float) -> None:
        self.last_input = now
        self.lost = False
        self._reported_lost = False

    def report_lost(self) -> None:
        """The source says the target is lost (e.g. hand_pose_node's tracking state): the next check() sees the
        loss at once instead of after `timeout`; the next seen() ends it."""
        self._reported_lost = True

    def check(self, now: float) -> bool:
        """Update and return whether tracking is lost (True right after a loss is detected and afterwards)."""
        if not self.lost and (self._reported_lost or not fresh(self.last_input, now, self.timeout)):
            self.lost = True
            self.losses += 1
        return self.lost

    def age(self, now: float) -> float:
        return float("inf") if self.last_input is None else now - self.last_input


def fresh(time: float | None, now: float, timeout: float) -> bool:
    """Whether an input received at `time` is fresh at `now` (steady seconds): 0 <= age <= timeout. A negative
    age (the clock jumped back, or the input is stamped on another clock) is stale."""
    return time is not None and 0.0 <= now - time <= timeout
