"""Command safety: joint position limits and a per-joint velocity clamp on every command, input checks.

Every command leaving the retargeting core goes through JointLimiter.limit: first clipped to the position
limits, then each joint's change since the previous command is clipped to velocity * dt, where dt is the
time between the input stamps (capped at max_step_dt, so a long gap never licenses a big jump). The previous
command starts at a configured, in-limits posture, so every command ever sent is within both limits.
"""

from __future__ import annotations

import numpy as np


class JointLimiter:
    """Position and velocity limits of one joint group (rad, rad/s)."""

    def __init__(self, lower: np.ndarray, upper: np.ndarray, velocity: np.ndarray, initial: np.ndarray):
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
        self.last = initial.copy()
        self.position_clamped = 0  # commands where a position limit cut in
        self.velocity_clamped = 0  # commands where the velocity limit cut in

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
        max_step = self.velocity * dt
        step = np.clip(clipped - self.last, -max_step, max_step)
        self.velocity_clamped += bool(np.any(step != clipped - self.last))
        self.last = np.clip(self.last + step, self.lower, self.upper)
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

    def seen(self, now: float) -> None:
        self.last_input = now
        self.lost = False

    def check(self, now: float) -> bool:
        """Update and return whether tracking is lost (True right after a loss is detected and afterwards)."""
        if not self.lost and (self.last_input is None or now - self.last_input > self.timeout):
            self.lost = True
            self.losses += 1
        return self.lost

    def age(self, now: float) -> float:
        return float("inf") if self.last_input is None else now - self.last_input
