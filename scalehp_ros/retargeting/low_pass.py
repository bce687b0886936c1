"""First-order low-pass filter for joint commands (any unit; the hand retargeting filters radians)."""

from __future__ import annotations

import numpy as np


class LowPassFilter:
    """y <- y + alpha (x - y); alpha in (0, 1], 1 passes the input through. The first input initialises y."""

    def __init__(self, alpha: float):
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"low-pass alpha must be in (0, 1], got {alpha}")
        self.alpha = float(alpha)
        self.y: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        self.y = x.copy() if self.y is None else self.y + self.alpha * (x - self.y)
        return self.y.copy()

    def reset(self) -> None:
        self.y = None
