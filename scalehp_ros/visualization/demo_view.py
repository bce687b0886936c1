"""One frame of the demo video, and writing them to an mp4 (ROS-free, NumPy + OpenCV drawing only).

Layout, left to right:
  1. the input image with the 2D hand skeleton (visualization.skeleton.draw_hands), a status text box below it;
  2. the metric 3D hand(s) in the camera optical frame (REP 103: x right, y down, z forward, metres) on a cm grid:
     front view (looking along +z; x right, y down), following the hands smoothly, and top view (looking down
     from -y onto the x-z plane; x right, z up the screen) over the fixed depth range `depth_range_m` with the
     camera's field of view, so depth motion is visible;
  3. the robot at configuration q, from pinocchio forward kinematics (scalehp_ros.visualization.robot_view).

Hands are objects with `joints_cam` ((21, 3) m, camera frame), `joints_2d` ((21, 2) px), `handedness`
('left'/'right') and `scale` (m, mean bone length), e.g. the estimator's HandPose.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import pinocchio as pin

from scalehp_ros.common.joints import BONE_CHILDREN, BONE_PARENTS, NUM_JOINTS, SIDES, WRIST
from scalehp_ros.visualization.robot_view import RobotView
from scalehp_ros.visualization.skeleton import SIDE_COLOURS_RGB, draw_hand

# RGB palette (dark theme).
CANVAS_RGB = (16, 18, 21)
PANEL_RGB = (29, 32, 37)
TITLE_BAR_RGB = (40, 44, 52)
TITLE_RGB = (238, 240, 244)
TEXT_RGB = (205, 210, 218)
DIM_TEXT_RGB = (135, 142, 154)
GRID_MINOR_RGB = (41, 45, 52)
GRID_MAJOR_RGB = (68, 74, 86)
GRID_ZERO_RGB = (96, 104, 120)
FRUSTUM_RGB = (36, 40, 47)
AXIS_RGB = {"x": (235, 95, 95), "y": (100, 210, 110), "z": (100, 150, 245)}
OUTLINE_RGB = (10, 11, 13)
JOINT_DOT_RGB = (235, 237, 240)

# (minor, major) grid steps in metres, finest first; a view uses the finest whose lines are far enough apart.
_GRID_STEPS_M = ((0.01, 0.05), (0.02, 0.10), (0.05, 0.20), (0.10, 0.50), (0.20, 1.00))
_MIN_MINOR_PX, _MIN_MAJOR_PX = 7.0, 45.0
# Views with fewer pixels per metre draw a hand's bones without joint dots (only the wrist's).
_DOTS_MIN_PX_PER_M = 400.0
_SHIFT = 4  # cv2 fixed-point bits for sub-pixel drawing
_ONE = 1 << _SHIFT
_FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class Rect:
    """A pixel rectangle of the composite frame: top-left (x, y), width w, height h."""

    x: int
    y: int
    w: int
    h: int

    def of(self, image: np.ndarray) -> np.ndarray:
        """The view of `image` this rectangle covers (drawing into it is clipped to it)."""
        return image[self.y : self.y + self.h, self.x : self.x + self.w]


@dataclass
class PlaneView:
    """Orthographic view of camera-frame points (m) onto a plot rectangle: two axes kept, one dropped.

    Screen x = plot centre + px_per_m * (p[u_axis] - centre[0]);
    screen y = plot centre + v_sign * px_per_m * (p[v_axis] - centre[1]); v_sign = +1 draws +v downwards.
    """

    plot: Rect
    u_axis: int
    v_axis: int
    v_sign: float
    px_per_m: float
    centre: np.ndarray  # (2,) metres: the (u, v) shown at the centre of the plot

    @property
    def depth_axis(self) -> int:
        """The dropped axis; larger values along it are further from this view's viewer (both views here)."""
        return 3 - self.u_axis - self.v_axis

    def to_px(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) pixel coordinates relative to the plot's top-left corner, of (N, 3) camera-frame points."""
        u = points[..., self.u_axis] - self.centre[0]
        v = points[..., self.v_axis] - self.centre[1]
        return np.stack([self.plot.w / 2 + self.px_per_m * u, self.plot.h / 2 + self.v_sign * self.px_per_m * v], -1)

    def bounds(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """((u_min, u_max), (v_min, v_max)) in metres visible in the plot."""
        hu, hv = self.plot.w / 2 / self.px_per_m, self.plot.h / 2 / self.px_per_m
        return (self.centre[0] - hu, self.centre[0] + hu), (self.centre[1] - hv, self.centre[1] + hv)


class DemoRenderer:
    """Renders demo frames of `size` = (width, height) px, RGB uint8, for one pinocchio robot model.

    robot_model: any pinocchio.Model (e.g. from pin.buildModelFromUrdf); an arm with a hand can be joined with
      pin.appendModel. It is drawn in its base frame, z up, seen from robot_azimuth_deg / robot_elevation_deg.
    camera_hfov_deg: horizontal field of view of the input camera, drawn as the frustum in the top view (optional).
    front_window_m: width of the front view's window in metres (widened to fit two hands far apart).
    depth_range_m: (near, far) camera z range shown by the top view, metres.
    follow_alpha: per-frame smoothing of the front view's window towards the hands (1 = jump, 0 = never move).
    front_centre_m: fixed (x, y) centre of the front view in metres instead of following the hands.
    """

    def __init__(
        self,
        robot_model: pin.Model,
        size: tuple[int, int] = (1920, 720),
        *,
        camera_hfov_deg: float | None = None,
        robot_azimuth_deg: float = 35.0,
        robot_elevation_deg: float = 25.0,
        front_window_m: float = 0.30,
        depth_range_m: tuple[float, float] = (0.2, 1.2),
        follow_alpha: float = 0.25,
        front_centre_m: tuple[float, float] | None = None,
    ) -> None:
        width, height = int(size[0]), int(size[1])
        if width < 640 or height < 360:
            raise ValueError(f"size must be at least 640x360 px, got {size}")
        if camera_hfov_deg is not None and not 1.0 <= camera_hfov_deg < 179.0:
            raise ValueError(f"camera_hfov_deg must be in [1, 179), got {camera_hfov_deg}")
        if not front_window_m > 0:
            raise ValueError(f"front_window_m must be > 0, got {front_window_m}")
        near, far = (float(d) for d in depth_range_m)
        if not 0 <= near < far:
            raise ValueError(f"depth_range_m must be (near, far) with 0 <= near < far, got {depth_range_m}")
        if not 0 < follow_alpha <= 1:
            raise ValueError(f"follow_alpha must be in (0, 1], got {follow_alpha}")
        self.size = (width, height)
        self.camera_hfov_deg = camera_hfov_deg
        self.front_window_m = float(front_window_m)
        self.depth_range_m = (near, far)
        self.follow_alpha = float(follow_alpha)
        self.front_centre_m = None if front_centre_m is None else np.asarray(front_centre_m, dtype=float)

        self._ui = height / 720  # text and margin scale
        self.rects = self._layout(width, height)
        self.front = self._plane_view(self.rects["front"], 0, 1, +1.0)
        self.top = self._plane_view(self.rects["top"], 0, 2, -1.0)
        self.top.px_per_m = self.top.plot.h / (far - near)
        self.top.centre = np.array([0.0, (near + far) / 2])
        self.front.px_per_m = self.front.plot.w / self.front_window_m
        self.front.centre = np.zeros(2) if self.front_centre_m is None else self.front_centre_m.copy()
        self._front_width_m = self.front_window_m
        self._followed = False

        robot_rect = self._content(self.rects["robot"])
        self.robot = RobotView(
            robot_model,
            (robot_rect.w, robot_rect.h),
            azimuth_deg=robot_azimuth_deg,
            elevation_deg=robot_elevation_deg,
            background_rgb=PANEL_RGB,
        )
        self._static = self._draw_static()

    # -- layout -----------------------------------------------------------------------------------------------------
    def _layout(self, width: int, height: int) -> dict[str, Rect]:
        gap = max(4, round(6 * self._ui))
        left_w, mid_w = round(0.40 * width), round(0.26 * width)
        # The image panel is as tall as a 16:9 image at the column's width needs (at most 64 %); status gets the rest.
        image_h = min(round(0.64 * height), round((left_w - gap) * 9 / 16 + self._title_h() + gap))
        half = height // 2

        def inset(x: int, y: int, w: int, h: int) -> Rect:
            return Rect(x + gap // 2, y + gap // 2, w - gap, h - gap)

        return {
            "image": inset(0, 0, left_w, image_h),
            "info": inset(0, image_h, left_w, height - image_h),
            "front": inset(left_w, 0, mid_w, half),
            "top": inset(left_w, half, mid_w, height - half),
            "robot": inset(left_w + mid_w, 0, width - left_w - mid_w, height),
        }

    def _title_h(self) -> int:
        return round(28 * self._ui)

    def _content(self, panel: Rect) -> Rect:
        t = self._title_h()
        return Rect(panel.x, panel.y + t, panel.w, panel.h - t)

    def _plane_view(self, panel: Rect, u_axis: int, v_axis: int, v_sign: float) -> PlaneView:
        content = self._content(panel)
        left, bottom, pad = round(46 * self._ui), round(34 * self._ui), round(10 * self._ui)
        plot = Rect(content.x + left, content.y + pad, content.w - left - pad, content.h - bottom - pad)
        return PlaneView(plot, u_axis, v_axis, v_sign, 1.0, np.zeros(2))

    # -- static parts ---------------------------------------------------------------------------------------------
    def _draw_static(self) -> np.ndarray:
        width, height = self.size
        canvas = np.empty((height, width, 3), np.uint8)
        canvas[:] = CANVAS_RGB
        titles = {
            "image": "Input with 2D hand skeleton",
            "info": "Status",
            "front": "Metric 3D hand: front view (along +z)",
            "top": "Metric 3D hand: top view (from -y)",
            "robot": f"Robot (pinocchio forward kinematics): {self.robot.model.name}",
        }
        for name, rect in self.rects.items():
            rect.of(canvas)[:] = PANEL_RGB
            bar = Rect(rect.x, rect.y, rect.w, self._title_h()).of(canvas)
            bar[:] = TITLE_BAR_RGB
            title = _fit_text(titles[name], rect.w - round(20 * self._ui), 0.55 * self._ui)
            self._text(bar, title, (round(10 * self._ui), round(19 * self._ui)), 0.55, TITLE_RGB)
        self._content(self.rects["robot"]).of(canvas)[:] = self.robot.background
        self._draw_top_background(canvas)
        return canvas

    def _draw_top_background(self, canvas: np.ndarray) -> None:
        view = self.top
        plot = view.plot.of(canvas)
        if self.camera_hfov_deg is not None:
            far = self.depth_range_m[1] * 1.5
            half = far * math.tan(math.radians(self.camera_hfov_deg) / 2)
            fan = view.to_px(np.array([[0.0, 0.0, 0.0], [-half, 0.0, far], [half, 0.0, far]]))
            cv2.fillPoly(plot, [np.round(fan * _ONE).astype(np.int32)], FRUSTUM_RGB, cv2.LINE_AA, _SHIFT)
        self._draw_grid(canvas, view, ("x", "z"))
        if self.camera_hfov_deg is not None:
            for k in (1, 2):
                cv2.line(plot, _fixed(fan[0]), _fixed(fan[k]), DIM_TEXT_RGB, 1, cv2.LINE_AA, _SHIFT)
            label = f"camera FOV {self.camera_hfov_deg:.0f} deg"
            self._text(plot, label, (round(6 * self._ui), view.plot.h - round(8 * self._ui)), 0.4, DIM_TEXT_RGB)

    # -- drawing helpers --------------------------------------------------------------------------------------------
    def _text(
        self, image: np.ndarray, text: str, org: tuple[int, int], scale: float, colour, thickness: int = 1
    ) -> None:
        s = scale * self._ui
        t = max(1, round(thickness * self._ui))
        cv2.putText(image, text, org, _FONT, s, colour, t, cv2.LINE_AA)

    def _outlined_text(self, image: np.ndarray, text: str, org: tuple[int, int], scale: float, colour) -> None:
        """Text on a dark translucent box, legible over video and drawings.

        (Not a thick dark stroke under a thin one: OpenCV 5's fonts change glyph advances with thickness.)
        """
        s, t = scale * self._ui, max(1, round(self._ui))
        (tw, th), base = cv2.getTextSize(text, _FONT, s, t)
        pad = max(2, round(3 * self._ui))
        # Kept whole inside the image: moved in from the edges rather than cut.
        org = (
            int(np.clip(org[0], pad, max(pad, image.shape[1] - tw - pad))),
            int(np.clip(org[1], th + pad, max(th + pad, image.shape[0] - base - pad))),
        )
        x0, y0 = max(0, org[0] - pad), max(0, org[1] - th - pad)
        x1, y1 = min(image.shape[1], org[0] + tw + pad), min(image.shape[0], org[1] + base + pad)
        if x1 > x0 and y1 > y0:
            box = image[y0:y1, x0:x1]
            box[:] = (box * 0.35 + np.array(OUTLINE_RGB) * 0.65).astype(np.uint8)
        cv2.putText(image, text, org, _FONT, s, colour, t, cv2.LINE_AA)

    def _draw_grid(self, canvas: np.ndarray, view: PlaneView, names: tuple[str, str]) -> None:
        """Minor/major grid lines in the plot, major values in cm in the margins, and the axis names."""
        minor, major = next(
            (
                s
                for s in _GRID_STEPS_M
                if s[0] * view.px_per_m >= _MIN_MINOR_PX and s[1] * view.px_per_m >= _MIN_MAJOR_PX
            ),
            _GRID_STEPS_M[-1],
        )
        plot = view.plot.of(canvas)
        (u0, u1), (v0, v1) = view.bounds()
        labels_u, labels_v = [], []
        for axis, lo, hi in ((0, u0, u1), (1, v0, v1)):
            for k in range(math.ceil(lo / minor - 1e-9), math.floor(hi / minor + 1e-9) + 1):
                value = k * minor
                is_major = abs(value / major - round(value / major)) < 1e-6
                colour = GRID_ZERO_RGB if k == 0 else GRID_MAJOR_RGB if is_major else GRID_MINOR_RGB
                p = np.zeros(3)
                p[view.u_axis if axis == 0 else view.v_axis] = value
                if axis == 0:
                    x = view.to_px(p)[0]
                    a, b = (x, 0.0), (x, view.plot.h)
                    if is_major:
                        labels_u.append((x, value))
                else:
                    y = view.to_px(p)[1]
                    a, b = (0.0, y), (view.plot.w, y)
                    if is_major:
                        labels_v.append((y, value))
                cv2.line(plot, _fixed(a), _fixed(b), colour, 1, cv2.LINE_AA, _SHIFT)
        cv2.rectangle(plot, (0, 0), (view.plot.w - 1, view.plot.h - 1), GRID_MAJOR_RGB, 1)
        fs = 0.4 * self._ui
        for x, value in labels_u:
            text = f"{value * 100:.0f}"
            (tw, th), _ = cv2.getTextSize(text, _FONT, fs, 1)
            org = (view.plot.x + round(x) - tw // 2, view.plot.y + view.plot.h + th + round(5 * self._ui))
            self._text(canvas, text, org, 0.4, DIM_TEXT_RGB)
        for y, value in labels_v:
            text = f"{value * 100:.0f}"
            (tw, th), _ = cv2.getTextSize(text, _FONT, fs, 1)
            org = (view.plot.x - tw - round(5 * self._ui), view.plot.y + round(y) + th // 2)
            self._text(canvas, text, org, 0.4, DIM_TEXT_RGB)
        # Axis names under the plot: the horizontal axis at the right end, the vertical axis at the left end.
        u_dir = "right"
        v_dir = "down" if view.v_sign > 0 else "up"
        u_name, v_name = f"{names[0]} [cm] {u_dir}", f"{names[1]} [cm] {v_dir}"
        (tw, _), _ = cv2.getTextSize(u_name, _FONT, 0.45 * self._ui, 1)
        org = (view.plot.x + view.plot.w - tw, view.plot.y + view.plot.h + round(30 * self._ui))
        self._text(canvas, u_name, org, 0.45, AXIS_RGB[names[0]])
        org = (view.plot.x - round(44 * self._ui), view.plot.y + view.plot.h + round(30 * self._ui))
        self._text(canvas, v_name, org, 0.45, AXIS_RGB[names[1]])
        self._text(
            canvas,
            f"grid {minor * 100:g} / {major * 100:g} cm",
            (view.plot.x + round(4 * self._ui), view.plot.y + round(14 * self._ui)),
            0.38,
            DIM_TEXT_RGB,
        )

    # -- per-frame drawing ------------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the followed front-view window (e.g. when a new video starts)."""
        self._followed = False
        self._front_width_m = self.front_window_m
        self.front.centre = np.zeros(2) if self.front_centre_m is None else self.front_centre_m.copy()
        self.front.px_per_m = self.front.plot.w / self.front_window_m

    def render(
        self,
        image_rgb: np.ndarray | None,
        hands: Sequence,
        q: np.ndarray | None = None,
        info: Mapping[str, object] | None = None,
        robot_image: np.ndarray | None = None,
    ) -> np.ndarray:
        """One composite frame, (height, width, 3) uint8 RGB.

        robot_image: (h, w, 3) uint8 RGB view of a simulated robot (sim_node's MuJoCo camera): drawn in the
          robot panel, fitted to its width, in place of the stick figure of q.

        image_rgb: (h, w, 3) uint8 RGB input image, or None (panel says so).
        hands: HandPose-like objects (see the module docstring); [] when no hand was detected.
        q: robot configuration (model.nq,), or None to draw the neutral pose greyed (no command yet).
        info: status lines, key -> value, shown in order (floats with 4 significant digits; put units in the keys).
        """
        hands = [_check_hand(h, k) for k, h in enumerate(hands)]
        if q is not None:
            q = self.robot.check_configuration(q)
        canvas = self._static.copy()
        self._draw_image(canvas, image_rgb, hands)
        self._follow(hands)
        self._draw_grid(canvas, self.front, ("x", "y"))
        self._draw_hands_3d(canvas, self.front, hands, "front")
        self._draw_hands_3d(canvas, self.top, hands, "top")
        if robot_image is not None:
            self._draw_sim(canvas, robot_image)
        else:
            self._draw_robot(canvas, q)
        self._draw_info(canvas, info or {})
        return canvas

    def _draw_sim(self, canvas: np.ndarray, image_rgb: np.ndarray) -> None:
        if image_rgb.dtype != np.uint8 or image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
            raise ValueError(f"robot_image must be HxWx3 uint8, got {image_rgb.dtype} {image_rgb.shape}")
        rect = self.rects["robot"]
        bar = Rect(rect.x, rect.y, rect.w, self._title_h()).of(canvas)
        bar[:] = TITLE_BAR_RGB
        title = _fit_text(f"Robot (MuJoCo): {self.robot.model.name}", rect.w - round(20 * self._ui), 0.55 * self._ui)
        self._text(bar, title, (round(10 * self._ui), round(19 * self._ui)), 0.55, TITLE_RGB)
        panel = self._content(rect).of(canvas)
        ph, pw = panel.shape[:2]
        top = round(56 * self._ui)
        scale = min(pw / image_rgb.shape[1], (ph - top) / image_rgb.shape[0])
        w, h = max(1, round(image_rgb.shape[1] * scale)), max(1, round(image_rgb.shape[0] * scale))
        panel[top : top + h, (pw - w) // 2 : (pw - w) // 2 + w] = cv2.resize(
            image_rgb, (w, h), interpolation=cv2.INTER_LINEAR
        )
        x = round(10 * self._ui)
        self._text(panel, "simulated robot (sim_node), measured joint states", (x, round(22 * self._ui)), 0.5, TEXT_RGB)
        self._text(
            panel, "MuJoCo scene from the project's URDF, table, objects", (x, round(44 * self._ui)), 0.42, DIM_TEXT_RGB
        )

    def _draw_image(self, canvas: np.ndarray, image_rgb: np.ndarray | None, hands: list) -> None:
        area = self._content(self.rects["image"]).of(canvas)
        if image_rgb is None:
            self._text(area, "no image", (area.shape[1] // 2 - 40, area.shape[0] // 2), 0.6, DIM_TEXT_RGB)
            return
        image_rgb = np.asarray(image_rgb)
        if image_rgb.dtype != np.uint8 or image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
            raise ValueError(f"image_rgb must be an (h, w, 3) uint8 RGB image, got {image_rgb.dtype} {image_rgb.shape}")
        h_px, w = image_rgb.shape[:2]
        s = min(area.shape[1] / w, area.shape[0] / h_px)
        tw, th = max(1, round(w * s)), max(1, round(h_px * s))
        x0, y0 = (area.shape[1] - tw) // 2, (area.shape[0] - th) // 2
        # Skeletons are drawn after resizing (crisp lines at panel resolution), with the keypoints scaled to match;
        # the label is ours: draw_hand's outlined label is hard to read on a downscaled image.
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(image_rgb, (tw, th), interpolation=interp)
        for hand in hands:
            pts = hand.joints_2d * np.array([tw / w, th / h_px])
            draw_hand(resized, pts, "", hand.handedness)
            org = (round(pts[:, 0].min()), round(pts[:, 1].min() - 10 * self._ui))
            self._outlined_text(resized, _hand_label(hand), org, 0.5, SIDE_COLOURS_RGB[hand.handedness])
        area[y0 : y0 + th, x0 : x0 + tw] = resized

    def _follow(self, hands: list) -> None:
        """Move the front view's window smoothly towards the hands (its width widens to fit both hands)."""
        if not hands or self.front_centre_m is not None:
            return
        xy = np.concatenate([h.joints_cam[:, :2] for h in hands])
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        aspect = self.front.plot.w / self.front.plot.h
        width = max(self.front_window_m, 1.3 * (hi[0] - lo[0]), 1.3 * (hi[1] - lo[1]) * aspect)
        target = (lo + hi) / 2
        a = 1.0 if not self._followed else self.follow_alpha
        self.front.centre = self.front.centre + a * (target - self.front.centre)
        self._front_width_m += a * (width - self._front_width_m)
        self.front.px_per_m = self.front.plot.w / self._front_width_m
        self._followed = True

    def _draw_hands_3d(self, canvas: np.ndarray, view: PlaneView, hands: list, kind: str) -> None:
        plot = view.plot.of(canvas)
        if not hands:
            text = "no hand detected"
            (tw, _), _ = cv2.getTextSize(text, _FONT, 0.55 * self._ui, 1)
            self._outlined_text(plot, text, ((view.plot.w - tw) // 2, view.plot.h // 2), 0.55, DIM_TEXT_RGB)
            return
        thick = int(np.clip(round(0.004 * view.px_per_m), 3, 6))
        radius = thick * 0.6 + 1
        parents, children = BONE_PARENTS, BONE_CHILDREN
        for hand in sorted(hands, key=lambda h: -h.joints_cam[WRIST, view.depth_axis]):
            pts = view.to_px(hand.joints_cam)
            depth = hand.joints_cam[:, view.depth_axis]
            span = max(float(np.ptp(depth)), 1e-6)
            near = (depth.max() - depth) / span  # 0 far .. 1 near, within this hand
            base = np.array(SIDE_COLOURS_RGB[hand.handedness], dtype=float)
            bone_depth = (depth[parents] + depth[children]) / 2
            for b in np.argsort(-bone_depth):
                n = (near[parents[b]] + near[children[b]]) / 2
                colour = tuple(float(c) for c in base * (0.55 + 0.45 * n))
                cv2.line(plot, _fixed(pts[parents[b]]), _fixed(pts[children[b]]), colour, thick, cv2.LINE_AA, _SHIFT)
            # Joint dots only where bones are long enough on screen for them not to hide the bones.
            joints = np.argsort(-depth) if view.px_per_m >= _DOTS_MIN_PX_PER_M else [WRIST]
            for j in joints:
                r = radius * (1.6 if j == WRIST else 1.0)
                colour = SIDE_COLOURS_RGB[hand.handedness] if j == WRIST else JOINT_DOT_RGB
                cv2.circle(plot, _fixed(pts[j]), round(r * _ONE), colour, -1, cv2.LINE_AA, _SHIFT)
            wrist = hand.joints_cam[WRIST]
            gap = round(8 * self._ui)
            if kind == "front":
                label = _hand_label(hand)
                org = (pts[:, 0].min(), pts[:, 1].min() - gap)
            else:
                label = f"{hand.handedness}  z {wrist[2] * 100:.1f} cm"
                tw = cv2.getTextSize(label, _FONT, 0.45 * self._ui, 1)[0][0]
                right = pts[:, 0].max() + gap
                # Beside the hand, on the right if it fits, else on the left.
                org = (right if right + tw < view.plot.w else pts[:, 0].min() - gap - tw, pts[WRIST, 1] + gap)
            org = (round(org[0]), round(org[1]))
            self._outlined_text(plot, label, org, 0.45, SIDE_COLOURS_RGB[hand.handedness])

    def _draw_robot(self, canvas: np.ndarray, q: np.ndarray | None) -> None:
        panel = self._content(self.rects["robot"]).of(canvas)
        self.robot.draw(panel, q)
        status = "commanded q" if q is not None else "no command: neutral pose"
        x = round(10 * self._ui)
        self._text(panel, status, (x, round(22 * self._ui)), 0.5, TEXT_RGB if q is not None else DIM_TEXT_RGB)
        view = f"orthographic, ground grid {self.robot.grid_step_m * 100:g} cm, {self.robot.model.nq} dof"
        self._text(panel, view, (x, round(44 * self._ui)), 0.42, DIM_TEXT_RGB)

    def _draw_info(self, canvas: np.ndarray, info: Mapping[str, object]) -> None:
        area = self._content(self.rects["info"]).of(canvas)
        line_h = round(26 * self._ui)
        x0, y = round(14 * self._ui), round(30 * self._ui)
        rows = max(1, (area.shape[0] - y - line_h) // line_h)
        col_w = (area.shape[1] - x0) // 2
        for k, (key, value) in enumerate(info.items()):
            col, row = divmod(k, rows)
            if col > 1:
                break
            org = (x0 + col * col_w, y + row * line_h)
            self._text(area, f"{key}".replace("_", " "), org, 0.5, DIM_TEXT_RGB)
            (kw, _), _ = cv2.getTextSize(f"{key}", _FONT, 0.5 * self._ui, 1)
            value_x = org[0] + max(round(150 * self._ui), kw + round(12 * self._ui))
            self._text(area, _format_value(value), (value_x, org[1]), 0.5, TITLE_RGB)
        # Legend of the side colours, bottom row.
        ly = area.shape[0] - round(14 * self._ui)
        x = x0
        for side in SIDES:
            cv2.circle(area, (x + 6, ly - 5), round(6 * self._ui), SIDE_COLOURS_RGB[side], -1, cv2.LINE_AA)
            self._text(area, f"{side} hand", (x + round(18 * self._ui), ly), 0.45, TEXT_RGB)
            x += round(120 * self._ui)


def _hand_label(hand) -> str:
    """'right 18.7 mm': side and ScaleHP scale (mean bone length)."""
    return f"{hand.handedness} {hand.scale * 1e3:.1f} mm"


def _fixed(p) -> tuple[int, int]:
    return (round(float(p[0]) * _ONE), round(float(p[1]) * _ONE))


def _fit_text(text: str, width_px: int, font_scale: float) -> str:
    """`text`, shortened with '...' to fit `width_px` at `font_scale`."""
    if cv2.getTextSize(text, _FONT, font_scale, 1)[0][0] <= width_px:
        return text
    while text and cv2.getTextSize(text + "...", _FONT, font_scale, 1)[0][0] > width_px:
        text = text[:-1]
    return text + "..."


def _format_value(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        return "-" if not math.isfinite(value) else f"{value:.4g}"
    return str(value)


def _check_hand(hand, k: int):
    """The hand back if it has the HandPose attributes with valid shapes and values, else ValueError."""
    for attr in ("joints_cam", "joints_2d", "handedness", "scale"):
        if not hasattr(hand, attr):
            raise ValueError(f"hands[{k}] has no attribute {attr!r} (need joints_cam, joints_2d, handedness, scale)")
    joints_cam = np.asarray(hand.joints_cam, dtype=float)
    joints_2d = np.asarray(hand.joints_2d, dtype=float)
    if joints_cam.shape != (NUM_JOINTS, 3) or not np.all(np.isfinite(joints_cam)):
        raise ValueError(
            f"hands[{k}].joints_cam must be a finite ({NUM_JOINTS}, 3) array in metres, got {joints_cam.shape}"
        )
    if joints_2d.shape != (NUM_JOINTS, 2) or not np.all(np.isfinite(joints_2d)):
        raise ValueError(
            f"hands[{k}].joints_2d must be a finite ({NUM_JOINTS}, 2) array in pixels, got {joints_2d.shape}"
        )
    if hand.handedness not in SIDES:
        raise ValueError(f"hands[{k}].handedness must be one of {SIDES}, got {hand.handedness!r}")
    if not (isinstance(hand.scale, int | float | np.floating) and math.isfinite(hand.scale) and hand.scale > 0):
        raise ValueError(f"hands[{k}].scale must be a positive number of metres, got {hand.scale!r}")
    return hand


class VideoWriter:
    """mp4 writer for RGB uint8 frames (cv2.VideoWriter, fourcc 'mp4v'); the frame size is fixed by the first frame.

    Use as a context manager or call close(). Raises RuntimeError if OpenCV cannot open the file for writing.
    """

    def __init__(self, path: str | os.PathLike, fps: float, fourcc: str = "mp4v") -> None:
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        if len(fourcc) != 4:
            raise ValueError(f"fourcc must be 4 characters, got {fourcc!r}")
        self.path, self.fps, self.fourcc = os.fspath(path), float(fps), fourcc
        self.frames = 0
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None

    def write(self, frame_rgb: np.ndarray) -> None:
        frame = np.asarray(frame_rgb)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frames must be (h, w, 3) uint8 RGB, got {frame.dtype} {frame.shape}")
        size = (frame.shape[1], frame.shape[0])
        if self._writer is None:
            self._writer = cv2.VideoWriter(self.path, cv2.VideoWriter_fourcc(*self.fourcc), self.fps, size)
            if not self._writer.isOpened():
                self._writer = None
                raise RuntimeError(f"OpenCV cannot write {self.path!r} with fourcc {self.fourcc!r} at {size}")
            self._size = size
        elif size != self._size:
            raise ValueError(f"frame size {size} differs from the video's {self._size}")
        self._writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_video(frames: Iterable[np.ndarray], path: str | os.PathLike, fps: float, fourcc: str = "mp4v") -> int:
    """Write RGB uint8 frames to an mp4 at `fps`; returns the number of frames written."""
    with VideoWriter(path, fps, fourcc) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.frames
