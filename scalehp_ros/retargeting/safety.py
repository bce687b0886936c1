"""Command safety: joint position limits, a per-joint velocity clamp and an optional acceleration bound.

Every command leaving the retargeting core goes through JointLimiter.limit: first clipped to the position
limits, then each joint's change since the previous command is clipped to velocity * dt, where dt is the
time the step is granted (capped by the caller at max_step_dt, so a long gap never licenses a big jump). The
previous command starts at a configured, in-limits posture (or the measured state: `reset`), so every
command ever sent is within both limits.

With an acceleration bound `a` the limiter is a ramp, a double integrator: it keeps the commanded velocity
v (rad/s) as state, aims no faster than the speed from which it can still stop at the desired position
braking at `a`, nor faster than a proportional approach |e| / settle_time near it (no bang-bang chatter
while following a moving target), changes v by at most a * dt per step, and moves the position with the
mean of the old and new velocity (constant acceleration within the step). So on every step
|v_k| <= v_max, |v_k - v_{k-1}| <= a dt_k and q_k - q_{k-1} = (v_{k-1} + v_k) dt_k / 2, except where a
position limit itself stops a joint (its velocity becomes 0). Between two commands the path is the parabola
that a cubic spline through (q, v), as joint_trajectory_controller's, reproduces exactly. `brake_target()` is
the position where braking at `a` from the current velocity ends: commanding it holds the arm without a
velocity step (a controlled stop, stop category 2).
"""

from __future__ import annotations

import numpy as np


class JointLimiter:
    """Position and velocity limits of one joint group (rad, rad/s)."""

    def __init__(
        self,
        lower: np.ndarray,
        upper: np.ndarray,
        velocity: np.ndarray,
        initial: np.ndarray,
        acceleration: np.ndarray | None = None,
        settle_time: float = 0.05,
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
        self.set_acceleration(acceleration)
        if not settle_time > 0:
            raise ValueError("settle_time must be positive")
        self.settle_time = float(settle_time)
        self.last = initial.copy()
        self.rate = np.zeros_like(initial)  # rad/s of the last step
        self.position_clamped = 0  # commands where a position limit cut in
        self.velocity_clamped = 0  # commands where the velocity limit cut in
        self.acceleration_clamped = 0  # commands where the acceleration bound cut in

    def set_acceleration(self, acceleration: np.ndarray | float | None) -> None:
        if acceleration is None:
            self.acceleration = None
            return
        acceleration = np.broadcast_to(np.asarray(acceleration, dtype=float), self.lower.shape).copy()
        if np.any(~np.isfinite(acceleration)) or np.any(acceleration <= 0):
            raise ValueError("acceleration limits must be positive and finite")
        self.acceleration = acceleration

    def reset(self, position: np.ndarray) -> None:
        """Start again from `position` (e.g. the measured state, clipped into the limits) at rest."""
        position = np.asarray(position, dtype=float)
        if position.shape != self.last.shape or not np.all(np.isfinite(position)):
            raise ValueError(f"reset position must be {self.last.shape[0]} finite values")
        self.last = np.clip(position, self.lower, self.upper)
        self.rate = np.zeros_like(self.last)

    def brake_target(self) -> np.ndarray:
        """Where braking at the acceleration bound from the current velocity stops (the last command without
        an acceleration bound)."""
        if self.acceleration is None:
            return self.last.copy()
        stop = self.last + self.rate * np.abs(self.rate) / (2.0 * self.acceleration)
        return np.clip(stop, self.lower, self.upper)

    def predict(self, desired: np.ndarray, dt: float, steps: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """(position, velocity) after each of `steps` further steps of dt toward `desired`; state unchanged."""
        saved = (
            self.last.copy(),
            self.rate.copy(),
            self.position_clamped,
            self.velocity_clamped,
            self.acceleration_clamped,
        )
        try:
            out = []
            for _ in range(steps):
                q = self.limit(desired, dt)
                out.append((q, self.rate.copy()))
            return out
        finally:
            (self.last, self.rate, self.position_clamped, self.velocity_clamped, self.acceleration_clamped) = saved

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
            room = np.maximum(distance - direction * v_prev * dt / 2.0, 0.0)  # left after this step's first half
            stoppable = a * (np.sqrt(dt * dt / 4.0 + 2.0 * room / a) - dt / 2.0)  # can still stop at the goal
            speed = np.minimum(np.minimum(self.velocity, stoppable), distance / max(self.settle_time, dt))
            wanted = direction * speed
            rate = np.clip(wanted, v_prev - a * dt, v_prev + a * dt)
            self.acceleration_clamped += bool(np.any(rate != wanted))
            rate = np.clip(rate, -self.velocity, self.velocity)  # velocity limits win (a lowered limit)
            self.velocity_clamped += bool(np.any(self.velocity < distance / dt))
            new = self.last + (v_prev + rate) * dt / 2.0
            outside = (new < self.lower) | (new > self.upper)
            new = np.clip(new, self.lower, self.upper)
            self.rate = np.where(outside, 0.0, rate)  # stopped by a position limit
        self.last = new
        return self.last.copy()


class TrackingMonitor:
    """Tracking state from input arrival times (monotonic seconds): lost after `timeout` without input."""

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
        timed_out = self.last_input is None or now - self.last_input > self.timeout
        if not self.lost and (timed_out or self._reported_lost):
            self.lost = True
            self.losses += 1
        return self.lost

    def age(self, now: float) -> float:
        return float("inf") if self.last_input is None else now - self.last_input
