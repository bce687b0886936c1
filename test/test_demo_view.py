"""Demo frame renderer: layout, metric placement of the 3D hand views, robot FK drawing on real URDFs, mp4 output.

Hands are real MediaPipe world landmarks of the shipped clip (data/human_joint_right_mediapipe.npy, wrist frame,
metres) placed at a known camera-frame translation; the robots are real URDFs from example-robot-data.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pinocchio as pin
import pytest

from scalehp_ros.common.joints import mean_bone_length
from scalehp_ros.visualization.demo_view import GRID_ZERO_RGB, PANEL_RGB, DemoRenderer, VideoWriter, write_video
from scalehp_ros.visualization.robot_view import RobotView
from scalehp_ros.visualization.skeleton import SIDE_COLOURS_RGB

DATA = Path(__file__).resolve().parents[1] / "data"
SIZE = (1280, 720)
K = np.array([[900.0, 0.0, 640.0], [0.0, 900.0, 360.0], [0.0, 0.0, 1.0]])


def _robots_dir() -> Path:
    try:
        root = Path(distribution("example-robot-data").locate_file("cmeel.prefix/share/example-robot-data/robots"))
    except PackageNotFoundError:
        pytest.skip("example-robot-data is not installed")
    if not root.is_dir():
        pytest.skip(f"example-robot-data robots not found at {root}")
    return root


@pytest.fixture(scope="module")
def ur5() -> pin.Model:
    return pin.buildModelFromUrdf(str(_robots_dir() / "ur_description/urdf/ur5_robot.urdf"))


@pytest.fixture(scope="module")
def allegro() -> pin.Model:
    return pin.buildModelFromUrdf(str(_robots_dir() / "allegro_hand_description/urdf/allegro_right_hand.urdf"))


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    cap = cv2.VideoCapture(str(DATA / "human_hand_video.mp4"))
    ok, bgr = cap.read()
    cap.release()
    assert ok, "cannot read the demo clip"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def make_hand(translation, side: str = "right", frame: int = 0) -> SimpleNamespace:
    """A HandPose-like hand: real landmarks (wrist frame) shifted to `translation` (m, camera frame)."""
    rel = np.load(DATA / "human_joint_right_mediapipe.npy")[frame]
    if side == "left":
        rel = rel * np.array([-1.0, 1.0, 1.0])
    joints_cam = rel + np.asarray(translation, dtype=float)
    uvw = joints_cam @ K.T
    return SimpleNamespace(
        joints_cam=joints_cam,
        joints_2d=uvw[:, :2] / uvw[:, 2:],
        handedness=side,
        scale=float(mean_bone_length(joints_cam)),
    )


def changed(a: np.ndarray, b: np.ndarray, threshold: int = 40) -> np.ndarray:
    """Boolean mask of the pixels where two frames differ noticeably."""
    return np.abs(a.astype(int) - b.astype(int)).sum(axis=-1) > threshold


def centroid(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    assert len(xs) > 0, "nothing drawn"
    return np.array([xs.mean(), ys.mean()])


def side_mask(region: np.ndarray, side: str) -> np.ndarray:
    """Pixels of the side's colour at any of the renderer's depth shades (55-100 %)."""
    rgb = np.array(SIDE_COLOURS_RGB[side], dtype=float)
    px = region.astype(float)
    norm = np.linalg.norm(px, axis=-1)
    cos = (px @ rgb) / np.maximum(norm * np.linalg.norm(rgb), 1e-6)
    return (cos > 0.995) & (norm > 0.5 * np.linalg.norm(rgb))


def side_pixels(region: np.ndarray, side: str) -> int:
    return int(np.count_nonzero(side_mask(region, side)))


@pytest.fixture(scope="module")
def renderer(ur5) -> DemoRenderer:
    return DemoRenderer(ur5, SIZE, camera_hfov_deg=70.0, front_window_m=0.5, front_centre_m=(0.0, 0.0))


def test_frame_shape_dtype_and_panels_with_0_1_2_hands(renderer, image, ur5):
    q = pin.neutral(ur5) + 0.3
    empty = renderer.render(image, [], None, {})
    one = renderer.render(image, [make_hand((0.05, 0.0, 0.6))], q, {"frame": 1})
    two = renderer.render(image, [make_hand((0.08, 0.0, 0.6)), make_hand((-0.08, 0.0, 0.5), "left")], q, {})
    for frame in (empty, one, two):
        assert frame.shape == (SIZE[1], SIZE[0], 3) and frame.dtype == np.uint8
    r = renderer.rects
    for name in ("image", "front", "top", "robot", "info"):
        assert changed(r[name].of(one), r[name].of(empty)).sum() > 100, name
    for name in ("front", "top"):
        assert side_pixels(r[name].of(one), "right") > 30
        assert side_pixels(r[name].of(one), "left") == 0
        assert side_pixels(r[name].of(two), "left") > 30 and side_pixels(r[name].of(two), "right") > 30
    # With no hand, the image panel is just the resized input (nothing drawn on the picture itself).
    assert side_pixels(r["front"].of(empty), "right") == 0


def test_q_none_draws_neutral_pose_greyed(renderer, ur5):
    greyed = renderer.render(None, [], None, {})
    coloured = renderer.render(None, [], pin.neutral(ur5), {})
    robot = renderer.rects["robot"]
    diff = changed(robot.of(greyed), robot.of(coloured), 20)
    assert diff.sum() > 500  # same pose, other colours (+ status line)
    # Same silhouette: the neutral pose is drawn in both.
    bg = np.array(PANEL_RGB)
    drawn_g = np.abs(robot.of(greyed).astype(int) - bg).sum(-1) > 60
    drawn_c = np.abs(robot.of(coloured).astype(int) - bg).sum(-1) > 60
    assert (drawn_g & drawn_c).sum() > 0.6 * drawn_c.sum()


def joint_dots(region: np.ndarray) -> np.ndarray:
    """The hand's joint dots: the only near-white pixels in a plot (grid, labels and bones are not)."""
    return (region > 200).all(axis=-1)


def _shift(renderer: DemoRenderer, view_name: str, a, b) -> np.ndarray:
    """Pixel motion of the hand's joint dots in one view when the hand moves from a to b (m, camera frame)."""
    view = getattr(renderer, view_name)
    for t in (a, b):  # premise: the whole hand is inside the view's window
        px = view.to_px(make_hand(t).joints_cam)
        assert (px > 10).all() and (px < np.array([view.plot.w, view.plot.h]) - 10).all()
    fa = view.plot.of(renderer.render(None, [make_hand(a)], None, {}))
    fb = view.plot.of(renderer.render(None, [make_hand(b)], None, {}))
    assert joint_dots(fa).sum() > 20
    return centroid(joint_dots(fb)) - centroid(joint_dots(fa))


def test_top_view_is_metric_and_fixed(ur5):
    # Fixed window: px_per_m follows from the plot height and the depth range alone. A narrow depth range makes
    # the hand large enough for its joint dots to be drawn.
    renderer = DemoRenderer(ur5, SIZE, depth_range_m=(0.45, 0.85))
    near, far = renderer.depth_range_m
    assert renderer.top.px_per_m == pytest.approx(renderer.top.plot.h / (far - near))
    k = renderer.top.px_per_m
    dx = _shift(renderer, "top", (0.0, 0.0, 0.5), (0.05, 0.0, 0.5))
    assert dx == pytest.approx([0.05 * k, 0.0], abs=1.0)
    assert renderer.top.bounds()[1] == pytest.approx((0.45, 0.85))
    dz = _shift(renderer, "top", (0.0, 0.0, 0.5), (0.0, 0.0, 0.6))
    assert dz == pytest.approx([0.0, -0.10 * k], abs=1.0)  # further away = up the screen
    dy = _shift(renderer, "top", (0.0, 0.0, 0.5), (0.0, 0.04, 0.5))
    assert np.abs(dy).max() < 0.5  # y is the top view's viewing direction


def test_front_view_is_metric_with_a_fixed_centre(renderer):
    assert renderer.front.px_per_m == pytest.approx(renderer.front.plot.w / 0.5)
    k = renderer.front.px_per_m
    dx = _shift(renderer, "front", (0.0, 0.0, 0.6), (0.05, 0.0, 0.6))
    assert dx == pytest.approx([0.05 * k, 0.0], abs=1.0)
    dy = _shift(renderer, "front", (0.0, 0.0, 0.6), (0.0, 0.03, 0.6))
    assert dy == pytest.approx([0.0, 0.03 * k], abs=1.0)  # y down the screen


def test_front_view_grid_is_at_its_metric_place(ur5):
    r = DemoRenderer(ur5, SIZE, front_window_m=0.4, front_centre_m=(0.023, -0.011))
    plot = r.front.plot.of(r.render(None, [], None, {})).astype(float)
    k = r.front.px_per_m
    # The x = 0 and y = 0 lines are drawn in GRID_ZERO_RGB, brighter than every other grid line.
    closeness = -np.abs(plot - np.array(GRID_ZERO_RGB)).sum(-1)
    column = np.argmax(closeness[plot.shape[0] // 4 : 3 * plot.shape[0] // 4].mean(axis=0)[2:-2]) + 2
    row = np.argmax(closeness[:, plot.shape[1] // 4 : 3 * plot.shape[1] // 4].mean(axis=1)[2:-2]) + 2
    assert column == pytest.approx(r.front.plot.w / 2 - 0.023 * k, abs=1.0)
    assert row == pytest.approx(r.front.plot.h / 2 + 0.011 * k, abs=1.0)


def test_front_view_follows_the_hand(ur5):
    r = DemoRenderer(ur5, SIZE, follow_alpha=1.0)
    base = r.front.plot.of(r.render(None, [], None, {}))
    fa = r.front.plot.of(r.render(None, [make_hand((0.0, 0.0, 0.6))], None, {}))
    fb = r.front.plot.of(r.render(None, [make_hand((0.05, 0.02, 0.6))], None, {}))
    hand_a = side_pixels(fa, "right")
    # The window jumped with the hand (alpha 1): the hand stays in place, the grid moved under it.
    assert hand_a > 50 and side_pixels(fb, "right") == pytest.approx(hand_a, rel=0.1)
    xy = make_hand((0.05, 0.02, 0.6)).joints_cam[:, :2]
    assert r.front.centre == pytest.approx((xy.min(0) + xy.max(0)) / 2)  # centred on the hand's x-y box
    assert changed(fa, fb).sum() > 0 and changed(fb, base).sum() > 0
    # With smoothing the window moves part of the way per frame.
    s = DemoRenderer(ur5, SIZE, follow_alpha=0.25)
    s.render(None, [make_hand((0.0, 0.0, 0.6))], None, {})
    before = s.front.centre.copy()
    target = make_hand((0.1, 0.0, 0.6)).joints_cam[:, :2]
    s.render(None, [make_hand((0.1, 0.0, 0.6))], None, {})
    goal = (target.min(0) + target.max(0)) / 2
    assert s.front.centre == pytest.approx(before + 0.25 * (goal - before))


def test_robot_panel_follows_q(renderer, ur5):
    robot = renderer.rects["robot"]
    q0 = pin.neutral(ur5)
    q1 = np.array([0.4, -1.2, 1.4, -1.0, -1.57, 0.3])
    f0 = renderer.render(None, [], q0, {})
    f1 = renderer.render(None, [], q1, {})
    assert changed(robot.of(f0), robot.of(f1)).sum() > 500
    outside = np.ones(f0.shape[:2], bool)
    outside[robot.y : robot.y + robot.h, robot.x : robot.x + robot.w] = False
    assert not changed(f0, f1, 0)[outside].any()
    # The tool flange is drawn where the FK + view projection puts it, and was not there before.
    view = renderer.robot
    tip = view.project(view.points(q1)[ur5.njoints + ur5.getFrameId("wrist_3_link") :][:1])[0]
    content = renderer._content(robot)
    x, y = round(tip[0]) + content.x, round(tip[1]) + content.y
    bg = renderer._static[y - 1 : y + 2, x - 1 : x + 2].astype(int)
    assert np.abs(f1[y - 1 : y + 2, x - 1 : x + 2].astype(int) - bg).sum(-1).min() > 60


@pytest.mark.parametrize("which", ["ur5", "allegro", "ur5+allegro"])
def test_real_urdfs(which, ur5, allegro):
    model = {"ur5": ur5, "allegro": allegro, "ur5+allegro": None}[which]
    if model is None:
        model = pin.appendModel(ur5, allegro, ur5.getFrameId("tool0"), pin.SE3.Identity())
    r = DemoRenderer(model, SIZE, robot_azimuth_deg=-60.0, robot_elevation_deg=35.0)
    rng = np.random.default_rng(1)
    q = np.clip(
        pin.neutral(model) + rng.uniform(-0.5, 0.5, model.nq), model.lowerPositionLimit, model.upperPositionLimit
    )
    robot = r.rects["robot"]
    empty = r._static
    frame = r.render(None, [], q, {})
    drawn = changed(robot.of(frame), robot.of(empty))
    assert drawn.sum() > 1000
    # Every joint origin lands inside the panel for a pose near neutral.
    px = r.robot.project(r.robot.points(q)[1 : model.njoints])
    assert (px >= 0).all() and (px[:, 0] < r.robot.size[0]).all() and (px[:, 1] < r.robot.size[1]).all()


def test_robot_view_segments_cover_joints_and_fixed_links(ur5, allegro):
    # Allegro: 16 joint links + 4 fingertip fixed links; UR5: 6 joint links + ee_link and tool0 fixed links.
    assert len(RobotView(allegro, (300, 300))._segments) == 20
    assert len(RobotView(ur5, (300, 300))._segments) == 8


def test_info_overlay_changes_only_the_info_panel(renderer):
    a = renderer.render(None, [], None, {"frame": 7, "latency_ms": 12.5, "detected": True})
    b = renderer.render(None, [], None, {"frame": 8, "latency_ms": 12.5, "detected": True})
    info = renderer.rects["info"]
    mask = changed(a, b, 0)
    assert mask[info.y : info.y + info.h, info.x : info.x + info.w].any()
    mask[info.y : info.y + info.h, info.x : info.x + info.w] = False
    assert not mask.any()


def test_bad_input_is_a_clear_value_error(renderer, ur5, image):
    hand = make_hand((0.0, 0.0, 0.6))
    with pytest.raises(ValueError, match="q must have shape"):
        renderer.render(image, [], np.zeros(3), {})
    with pytest.raises(ValueError, match="q must be finite"):
        renderer.render(image, [], np.full(6, np.nan), {})
    with pytest.raises(ValueError, match="joints_cam"):
        renderer.render(image, [SimpleNamespace(**{**vars(hand), "joints_cam": np.zeros((20, 3))})], None, {})
    with pytest.raises(ValueError, match="handedness"):
        renderer.render(image, [SimpleNamespace(**{**vars(hand), "handedness": "both"})], None, {})
    with pytest.raises(ValueError, match="scale"):
        renderer.render(image, [SimpleNamespace(**{**vars(hand), "scale": -1.0})], None, {})
    with pytest.raises(ValueError, match="no attribute 'joints_2d'"):
        renderer.render(image, [SimpleNamespace(joints_cam=hand.joints_cam)], None, {})
    with pytest.raises(ValueError, match="uint8"):
        renderer.render(image.astype(np.float32), [], None, {})
    with pytest.raises(ValueError, match=r"pinocchio\.Model"):
        DemoRenderer("ur5.urdf", SIZE)
    with pytest.raises(ValueError, match="size"):
        DemoRenderer(ur5, (320, 200))


def test_write_and_read_back_a_10_frame_mp4(tmp_path, ur5, image):
    r = DemoRenderer(ur5, (640, 360), camera_hfov_deg=70.0)
    frames = [
        r.render(image, [make_hand((0.01 * k, 0.0, 0.6), frame=10 * k)], pin.neutral(ur5) + 0.1 * k, {"frame": k})
        for k in range(10)
    ]
    path = tmp_path / "demo.mp4"
    assert write_video(frames, path, fps=30) == 10
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened()
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(30.0)
    read = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        read.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    assert len(read) == 10
    assert read[0].shape == frames[0].shape
    # Lossy codec: each frame read back is close to the frame written, and closer to it than to the others.
    errors = np.array([[np.abs(a.astype(int) - b.astype(int)).mean() for b in frames] for a in read])
    assert (np.diag(errors) < 6.0).all()
    assert (np.argmin(errors, axis=1) == np.arange(10)).all()


def test_video_writer_rejects_bad_frames(tmp_path):
    with VideoWriter(tmp_path / "x.mp4", 30) as w:
        w.write(np.zeros((360, 640, 3), np.uint8))
        with pytest.raises(ValueError, match="differs"):
            w.write(np.zeros((360, 642, 3), np.uint8))
        with pytest.raises(ValueError, match="uint8"):
            w.write(np.zeros((360, 640), np.uint8))
    with pytest.raises(ValueError, match="fps"):
        VideoWriter(tmp_path / "y.mp4", 0)
