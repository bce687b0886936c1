"""Any pinocchio robot drawn as a stick figure from forward kinematics (ROS-free, NumPy + OpenCV).

Links are thick lines between consecutive joint origins (model.parents, data.oMi) and from each fixed-joint frame's
parent frame to it (model.frames, data.oMf: URDF fixed links such as fingertips or tool flanges); joints are dots.
A fixed orthographic virtual camera looks at the robot from `azimuth_deg` (about the base z axis, from +x) and
`elevation_deg` (above the base x-y plane) onto a ground grid in the base frame (z up, as in URDF / REP 103).
Segments are drawn far to near. The view is fitted once, at construction, to the workspace swept by sampled
configurations, so the camera stays still while the robot moves.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pinocchio as pin

# RGB colours on the dark panel background of scalehp_ros.visualization.demo_view.
LINK_RGB = np.array([178, 194, 214], dtype=float)
JOINT_RGB = np.array([255, 206, 96], dtype=float)
INACTIVE_LINK_RGB = np.array([105, 108, 114], dtype=float)
INACTIVE_JOINT_RGB = np.array([135, 138, 144], dtype=float)
OUTLINE_RGB = (14, 15, 18)
GRID_RGB = (58, 63, 72)
GRID_AXIS_RGB = {"x": (220, 80, 80), "y": (90, 200, 100), "z": (90, 140, 240)}
# The view frames these quantiles of the sampled workspace (plus the neutral pose): extreme poses may leave
# the panel, typical ones fill it.
FIT_QUANTILES = (0.1, 0.9)
_SHIFT = 4  # cv2 fixed-point bits: sub-pixel line endpoints, so slow motion does not jitter by whole pixels
_ONE = 1 << _SHIFT


def _nice_step(span: float, lines: int = 10) -> float:
    """A 1/2/5 x 10^k step that cuts `span` into about `lines` parts."""
    raw = max(span, 1e-9) / lines
    base = 10 ** math.floor(math.log10(raw))
    return next(m * base for m in (1, 2, 5, 10) if m * base >= raw)


class RobotView:
    """Orthographic stick-figure rendering of one pinocchio model into a panel of `size` = (width, height) px."""

    def __init__(
        self,
        model: pin.Model,
        size: tuple[int, int],
        *,
        azimuth_deg: float = 45.0,
        elevation_deg: float = 25.0,
        fit_samples: int = 200,
        seed: int = 0,
        margin: float = 0.08,
        background_rgb: tuple[int, int, int] = (0, 0, 0),
    ) -> None:
        if not isinstance(model, pin.Model):
            raise ValueError(f"robot model must be a pinocchio.Model, got {type(model).__name__}")
        if model.njoints < 2:
            raise ValueError(f"robot model {model.name!r} has no joints to draw")
        width, height = int(size[0]), int(size[1])
        if width < 32 or height < 32:
            raise ValueError(f"robot panel size must be at least 32x32 px, got {size}")
        if not -90.0 <= elevation_deg <= 90.0:
            raise ValueError(f"elevation_deg must be in [-90, 90], got {elevation_deg}")
        self.model = model
        self.data = model.createData()
        self.size = (width, height)
        self.neutral = pin.neutral(model)

        az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
        # Screen right, screen up and towards-the-viewer unit vectors in the base frame (right x up = towards).
        self._right = np.array([-math.sin(az), math.cos(az), 0.0])
        self._up = np.array([-math.sin(el) * math.cos(az), -math.sin(el) * math.sin(az), math.cos(el)])
        self._towards = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])

        nj = model.njoints
        segments = [(model.parents[i], i) for i in range(1, nj)]
        segments += [
            (nj + frame.parentFrame, nj + f)
            for f, frame in enumerate(model.frames)
            if f > 0 and frame.type == pin.FrameType.FIXED_JOINT
        ]
        rest = self.points(self.neutral)
        lengths = np.array([np.linalg.norm(rest[b] - rest[a]) for a, b in segments])
        # Both kinds of segment are rigid, so zero-length ones (coincident frames) can be dropped once.
        self._segments = np.array([s for s, n in zip(segments, lengths, strict=True) if n > 1e-6], dtype=int)
        ends = {int(b) for a, b in self._segments if b >= nj}
        self._dots = np.array(sorted(set(range(1, nj)) | ends), dtype=int)

        self._fit(rest, fit_samples, seed, margin)
        self.link_px = max(3, round(min(width, height) / 42))
        self.background = self._draw_background(background_rgb)

    # -- kinematics -------------------------------------------------------------------------------------------------
    def points(self, q: np.ndarray) -> np.ndarray:
        """(njoints + nframes, 3) origins of all joints then all frames, base frame, metres, at configuration q."""
        pin.forwardKinematics(self.model, self.data, q)
        pin.updateFramePlacements(self.model, self.data)
        return np.array([m.translation for m in self.data.oMi] + [m.translation for m in self.data.oMf])

    def check_configuration(self, q: np.ndarray) -> np.ndarray:
        """q as a float (nq,) array; ValueError if its shape is wrong or it is not finite."""
        q = np.asarray(q, dtype=float)
        if q.shape != (self.model.nq,):
            raise ValueError(f"q must have shape ({self.model.nq},) for robot {self.model.name!r}, got {q.shape}")
        if not np.all(np.isfinite(q)):
            raise ValueError("q must be finite")
        return q

    def _sample_configurations(self, n: int, seed: int) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        lo = np.where(np.isfinite(self.model.lowerPositionLimit), self.model.lowerPositionLimit, -np.inf)
        hi = np.where(np.isfinite(self.model.upperPositionLimit), self.model.upperPositionLimit, np.inf)
        out = []
        for _ in range(n):
            q = pin.integrate(self.model, self.neutral, rng.uniform(-math.pi, math.pi, self.model.nv))
            out.append(pin.normalize(self.model, np.clip(q, lo, hi)))
        return out

    # -- view -------------------------------------------------------------------------------------------------------
    def _fit(self, rest: np.ndarray, samples: int, seed: int, margin: float) -> None:
        """Fix the view: the neutral pose and the central `FIT_QUANTILES` of the sampled workspace fit the panel."""
        cloud = np.concatenate([self.points(q) for q in self._sample_configurations(samples, seed)])
        lo_q, hi_q = FIT_QUANTILES
        self._ground_z = float(min(0.0, rest[:, 2].min()))
        lo_xy = np.minimum(np.quantile(cloud[:, :2], lo_q, axis=0), rest[:, :2].min(axis=0))
        hi_xy = np.maximum(np.quantile(cloud[:, :2], hi_q, axis=0), rest[:, :2].max(axis=0))
        self.grid_step_m = _nice_step(float(np.max(hi_xy - lo_xy)), 10)
        g = self.grid_step_m
        self._grid_lo = np.floor(lo_xy / g) * g
        self._grid_hi = np.ceil(hi_xy / g) * g
        screen = np.stack([cloud @ self._right, cloud @ self._up], axis=-1)
        keep = [np.quantile(screen, lo_q, axis=0), np.quantile(screen, hi_q, axis=0)]
        fixed_screen = np.stack([rest @ self._right, rest @ self._up], axis=-1)
        s_lo = np.minimum(keep[0], fixed_screen.min(axis=0))
        s_hi = np.maximum(keep[1], fixed_screen.max(axis=0))
        width, height = self.size
        top_band = 0.09 * height  # room for the caption drawn by the caller
        span = np.maximum(s_hi - s_lo, 1e-6)
        self.px_per_m = min(width * (1 - 2 * margin) / span[0], (height * (1 - 2 * margin) - top_band) / span[1])
        self._centre = (s_lo + s_hi) / 2
        self._screen_centre = np.array([width / 2, top_band + (height - top_band) / 2])
        depth = cloud @ self._towards
        self._depth_range = (float(depth.min()), float(max(depth.max(), depth.min() + 1e-6)))

    def project(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) panel pixel coordinates (x right, y down) of (N, 3) base-frame points in metres."""
        screen = np.stack([points @ self._right, points @ self._up], axis=-1) - self._centre
        return self._screen_centre + self.px_per_m * screen * np.array([1.0, -1.0])

    def _draw_background(self, rgb: tuple[int, int, int]) -> np.ndarray:
        width, height = self.size
        bg = np.empty((height, width, 3), np.uint8)
        bg[:] = rgb
        z, g = self._ground_z, self.grid_step_m
        (x0, y0), (x1, y1) = self._grid_lo, self._grid_hi
        lines = [((x, y0, z), (x, y1, z)) for x in np.arange(x0, x1 + g / 2, g)]
        lines += [((x0, y, z), (x1, y, z)) for y in np.arange(y0, y1 + g / 2, g)]
        for a, b in lines:
            pa, pb = self.project(np.array([a, b]))
            cv2.line(bg, _fixed(pa), _fixed(pb), GRID_RGB, 1, cv2.LINE_AA, _SHIFT)
        origin = np.array([0.0, 0.0, z])
        for k, axis in enumerate("xyz"):
            tip = origin.copy()
            tip[k] += 1.5 * g
            pa, pb = self.project(np.array([origin, tip]))
            cv2.line(bg, _fixed(pa), _fixed(pb), GRID_AXIS_RGB[axis], 2, cv2.LINE_AA, _SHIFT)
            cv2.putText(
                bg,
                axis,
                _int(pb + np.array([4.0, -4.0])),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.45,
                GRID_AXIS_RGB[axis],
                1,
                cv2.LINE_AA,
            )
        return bg

    # -- drawing ----------------------------------------------------------------------------------------------------
    def draw(self, panel: np.ndarray, q: np.ndarray | None) -> None:
        """Draw the robot at q (None: neutral pose, greyed) into `panel` (H, W, 3 uint8 RGB) in place.

        `panel` should already hold `self.background` (the ground grid and base axes), which is static.
        """
        if panel.shape != (self.size[1], self.size[0], 3):
            raise ValueError(f"panel must have shape {(self.size[1], self.size[0], 3)}, got {panel.shape}")
        active = q is not None
        pts = self.points(self.check_configuration(q) if active else self.neutral)
        px = self.project(pts)
        depth = pts @ self._towards
        lo, hi = self._depth_range
        near = np.clip((depth - lo) / (hi - lo), 0.0, 1.0)  # 0 far .. 1 near, over the fitted workspace

        link_rgb, joint_rgb = (LINK_RGB, JOINT_RGB) if active else (INACTIVE_LINK_RGB, INACTIVE_JOINT_RGB)
        a, b = self._segments[:, 0], self._segments[:, 1]
        seg_near = (near[a] + near[b]) / 2
        dots = set(self._dots.tolist())
        # Short links (fingers) are drawn thinner than long ones (arm), in proportion to their length up to link_px.
        seg_len = np.linalg.norm(px[b] - px[a], axis=1)
        width = np.clip(0.22 * seg_len, 3.0, self.link_px) * (0.8 + 0.4 * seg_near)
        radius = {}
        for k in range(len(a)):
            for end in (a[k], b[k]):
                radius[end] = max(radius.get(end, 0.0), 0.5 * width[k])
        dots = set(self._dots.tolist())
        # Far to near; each link then its end dots, so a joint shows on top of the links that meet there.
        for k in np.argsort(seg_near):
            thick = max(2, round(width[k]))
            pa, pb = _fixed(px[a[k]]), _fixed(px[b[k]])
            cv2.line(panel, pa, pb, OUTLINE_RGB, thick + 3, cv2.LINE_AA, _SHIFT)
            cv2.line(panel, pa, pb, _shade(link_rgb, seg_near[k]), thick, cv2.LINE_AA, _SHIFT)
            for end in (a[k], b[k]):
                if end in dots:
                    r = max(2.0, 0.9 * radius[end])
                    centre = _fixed(px[end])
                    cv2.circle(panel, centre, round((r + 1.5) * _ONE), OUTLINE_RGB, -1, cv2.LINE_AA, _SHIFT)
                    cv2.circle(panel, centre, round(r * _ONE), _shade(joint_rgb, near[end]), -1, cv2.LINE_AA, _SHIFT)


def _shade(rgb: np.ndarray, near: float) -> tuple[float, float, float]:
    """Depth cue: full colour nearest, 55 % furthest."""
    return tuple(float(c) for c in rgb * (0.55 + 0.45 * near))


def _fixed(p: np.ndarray) -> tuple[int, int]:
    return (round(float(p[0]) * _ONE), round(float(p[1]) * _ONE))


def _int(p: np.ndarray) -> tuple[int, int]:
    return (round(float(p[0])), round(float(p[1])))
