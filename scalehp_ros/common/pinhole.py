"""The ideal pinhole's focal length from a field of view, written once (ROS-free).

A camera whose field of view `fov_deg` spans `size_px` pixels (the image width for a horizontal field of
view, the height for a vertical one) has the focal length f = size_px / (2 tan(fov / 2)) in pixels. Metric
depth from a monocular hand scales with f, so every place that assumes a field of view uses this one formula.
Where the principal point goes is the caller's convention (perception/camera.py: pixel centres, (w - 1) / 2;
MuJoCo and the evaluation's video: w / 2) and stays with the caller.
"""

from __future__ import annotations

import math


def focal_from_fov(size_px: float, fov_deg: float) -> float:
    """Focal length (px) of an ideal pinhole whose field of view `fov_deg` (degrees, in (0, 180)) spans
    `size_px` pixels; ValueError outside that range."""
    if not 0.0 < fov_deg < 180.0:
        raise ValueError(f"field of view must be in (0, 180) degrees, got {fov_deg}")
    return 0.5 * size_px / math.tan(math.radians(fov_deg) / 2.0)
