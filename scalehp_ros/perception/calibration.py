"""Operator calibration on a printed ArUco sheet: a few seconds of frames -> an operator profile (ROS-free core).

The operator lays one hand flat (fingers straight, thumb out) on a printed sheet with ArUco markers of known
size around its border (`SheetSpec`; `render_sheet` / `write_sheet_pdf` make it, `scalehp-calibrate sheet`
writes it). In every frame:

1. the markers give the sheet's pose in the camera (`cv2.solvePnP` on their corners, metres);
2. each hand keypoint's viewing ray is intersected with the plane `sheet_calibration.keypoint_height_m` above the sheet
   (the joints of a flat hand lie about half a finger's thickness above the paper): metric 3D keypoints;
3. the frame is kept only if the hand is flat (straight fingers in the plane, and the detector's own 3D
   pose flat when given) and lies on the sheet; its 20 bone lengths are recorded.

`Calibrator.finish` takes each bone's median over the kept frames (its spread: their standard deviation) and
refuses, with the reason (`CalibrationError`), a bad sheet (markers not found), a hand not flat, too few
frames or an unstable measurement. The result is an `OperatorProfile` (method 'aruco') to save with
`profile.save_profile` or to hand to `HandPoseEstimator.set_operator_profile`. `CalibrationSession` bounds
one calibration over a stream (a duration and a frame count, `SheetSessionSettings`) and reports how it ended
(`SessionResult`); the scalehp-calibrate command and hand_pose_node's `~/calibrate` service both run one.

The keypoints come from the caller (MediaPipe's 2D keypoints and relative 3D, or, in tests, the projection
of a synthetic hand), so the core needs no detector. Units: metres, pixels; camera optical frame.
Sheet frame: origin at the page's top-left corner, x right, y down the page, z into the page.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from scalehp_ros.common.joints import FINGER_CHAINS, NUM_JOINTS, PALM_JOINTS, bone_lengths
from scalehp_ros.common.params import Settings, param
from scalehp_ros.common.pinhole import focal_from_fov
from scalehp_ros.perception.camera import Distortion, normalize_pixels, validate_distortion, validate_intrinsics
from scalehp_ros.perception.profile import HandMeasurement, OperatorProfile

if TYPE_CHECKING:
    from scalehp_ros.perception.estimator import HandPose

ARUCO_DICTIONARY = "DICT_4X4_50"


@dataclass(frozen=True)
class SheetSpec:
    """The printed sheet: page size and each marker's id and top-left corner (metres, sheet frame).

    Default: A4 portrait, eight 30 mm markers (ids 0-7) at the corners and edge middles, 12 mm from the
    edges; the hand goes in the free middle (about 16 x 22 cm).
    """

    page_m: tuple[float, float] = (0.210, 0.297)
    marker_m: float = 0.030
    margin_m: float = 0.012
    dictionary: str = ARUCO_DICTIONARY

    def markers(self) -> dict[int, tuple[float, float]]:
        """marker id -> top-left corner (x, y) on the page, metres."""
        w, h = self.page_m
        xs = (self.margin_m, 0.5 * (w - self.marker_m), w - self.margin_m - self.marker_m)
        ys = (self.margin_m, 0.5 * (h - self.marker_m), h - self.margin_m - self.marker_m)
        spots = [(x, y) for y in ys for x in xs if not (x == xs[1] and y == ys[1])]  # all but the centre
        return dict(enumerate(spots))

    def corners(self, marker_id: int) -> np.ndarray:
        """(4, 3) corners of a marker in the sheet frame (z = 0), in ArUco's order: TL, TR, BR, BL."""
        x, y = self.markers()[marker_id]
        s = self.marker_m
        return np.array([[x, y, 0.0], [x + s, y, 0.0], [x + s, y + s, 0.0], [x, y + s, 0.0]])


def _aruco():
    import cv2

    if not hasattr(cv2, "aruco"):  # pragma: no cover - opencv without the contrib aruco module
        raise RuntimeError("this OpenCV has no aruco module (opencv-python-headless >= 4.7 has it)")
    return cv2, cv2.aruco


def render_sheet(spec: SheetSpec = SheetSpec(), px_per_mm: float = 300 / 25.4) -> np.ndarray:
    """The sheet as a grey uint8 image (white page, black markers and a hand outline box); 300 dpi default."""
    cv2, aruco = _aruco()
    dictionary = aruco.getPredefinedDictionary(getattr(aruco, spec.dictionary))
    w, h = (round(v * 1000 * px_per_mm) for v in spec.page_m)
    page = np.full((h, w), 255, np.uint8)
    size = round(spec.marker_m * 1000 * px_per_mm)
    for marker_id, (x, y) in spec.markers().items():
        c, r = round(x * 1000 * px_per_mm), round(y * 1000 * px_per_mm)
        page[r : r + size, c : c + size] = aruco.generateImageMarker(dictionary, marker_id, size, borderBits=1)
    inner = round((spec.margin_m + spec.marker_m + 0.01) * 1000 * px_per_mm)
    cv2.rectangle(page, (inner, inner), (w - inner, h - inner), 190, max(1, round(px_per_mm * 0.5)))
    text = f"scalehp-calibrate: {spec.dictionary}, markers {spec.marker_m * 1000:.0f} mm - print at 100 %"
    cv2.putText(page, text, (inner, h - inner // 3), cv2.FONT_HERSHEY_SIMPLEX, px_per_mm * 0.12, 0, 1, cv2.LINE_AA)
    return page


def write_sheet_pdf(path: str | Path, spec: SheetSpec = SheetSpec(), px_per_mm: float = 300 / 25.4) -> Path:
    """Write the sheet as a one-page PDF of the page's exact size (print at 100 %, no scaling)."""
    page = render_sheet(spec, px_per_mm)
    h, w = page.shape
    wpt, hpt = (v / 0.0254 * 72 for v in spec.page_m)
    data = zlib.compress(page.tobytes(), 9)
    content = f"q {wpt:.3f} 0 0 {hpt:.3f} 0 0 cm /Im0 Do Q".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {wpt:.3f} {hpt:.3f}] /Resources << /XObject << /Im0 4 0 R >> >> "
        f"/Contents 5 0 R >>".encode(),
        f"<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray /BitsPerComponent 8 "
        f"/Filter /FlateDecode /Length {len(data)} >>\nstream\n".encode()
        + data
        + b"\nendstream",
        f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path = Path(path)
    path.write_bytes(bytes(out))
    return path


@dataclass(frozen=True)
class CalibrationSettings(Settings):
    """Settings of the ArUco sheet calibration (`Calibrator`)."""

    marker_size_m: float = param(0.030, "printed ArUco marker side, measured on the print (m)", 0.005, 0.2)
    keypoint_height_m: float = param(
        0.010, "height of a flat hand's keypoints above the sheet (about half a finger's thickness) (m)", 0.0, 0.05
    )
    min_markers: int = param(2, "markers that must be found for a frame's sheet pose", 1, 8)
    min_frames: int = param(10, "frames with a flat hand on the sheet needed for a profile", 3, 1000)
    max_marker_error_px: float = param(2.0, "largest mean reprojection error of the marker corners (px)", 0.1, 20)
    min_finger_straightness: float = param(
        0.93, "a long finger's MCP-to-tip distance over its bone lengths' sum, for a flat hand [0-1]", 0.5, 1.0
    )
    max_detector_flatness: float = param(
        0.6, "largest distance of a detector 3D joint from the detector's palm plane, in mean bone lengths", 0.01, 5.0
    )
    max_scale_spread: float = param(0.05, "largest spread (SD / mean) of the per-frame scale accepted", 0.001, 1.0)


class CalibrationError(ValueError):
    """A calibration refused; the message says why (and what to change)."""


@dataclass
class FrameResult:
    """What one frame gave: ok, or the reason it was not used; the sheet's pose and the bone lengths (m)."""

    ok: bool
    reason: str = ""
    markers: int = 0
    side: str | None = None
    lengths: np.ndarray | None = None
    joints_cam: np.ndarray | None = None


@dataclass
class Calibrator:
    """Accumulates frames of a hand on the sheet and turns them into an operator profile.

    K: (3, 3) intrinsics of the images. distortion: their lens model as CameraInfo gives it, a
    (distortion_model, D) pair (None: pinhole images); marker corners and keypoints are undistorted with it.
    Use: `add_frame(...)` per frame, then `finish(name)`.
    """

    K: np.ndarray
    settings: CalibrationSettings = field(default_factory=CalibrationSettings)
    sheet: SheetSpec | None = None
    frames: list[FrameResult] = field(default_factory=list)
    distortion: Distortion | None = None

    def __post_init__(self) -> None:
        self.K = validate_intrinsics(self.K)
        self.distortion = validate_distortion(self.distortion)
        if self.sheet is None:
            self.sheet = SheetSpec(marker_m=self.settings.marker_size_m)
        _, aruco = _aruco()
        params = aruco.DetectorParameters()
        params.cornerRefinementMethod = aruco.CORNER_REFINE_SUBPIX
        self._detector = aruco.ArucoDetector(
            aruco.getPredefinedDictionary(getattr(aruco, self.sheet.dictionary)), params
        )

    def _undistort(self, uv: np.ndarray) -> np.ndarray:
        """Pixels (N, 2) of the distorted image -> pixels of the ideal pinhole camera K (identity without D)."""
        if self.distortion is None:
            return uv
        xy = normalize_pixels(uv, self.K, self.distortion)
        return xy @ self.K[:2, :2].T + self.K[:2, 2]

    def sheet_pose(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, float]:
        """(R (3, 3), t (3,), markers found, corner reprojection error px) of the sheet in the camera.

        image: HxWx3 RGB or HxW grey uint8. CalibrationError when too few markers are found or they do not fit.
        """
        cv2, _ = _aruco()
        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        corners, ids, _ = self._detector.detectMarkers(grey)
        known = self.sheet.markers()
        obj, img = [], []
        for c, marker_id in zip(corners, [] if ids is None else ids.ravel(), strict=True):
            if int(marker_id) in known:
                obj.append(self.sheet.corners(int(marker_id)))
                img.append(c.reshape(4, 2))
        needed = self.settings.min_markers
        if len(obj) < needed:
            raise CalibrationError(
                f"markers not found: {len(obj)} of the sheet's markers visible, {needed} needed "
                "(print the sheet at 100 %, light it evenly, keep it all in view)"
            )
        obj_pts, img_pts = np.concatenate(obj), self._undistort(np.concatenate(img).astype(np.float64))
        ok, rvec, tvec = cv2.solvePnP(obj_pts, img_pts, self.K, None, flags=cv2.SOLVEPNP_IPPE)  # coplanar
        if not ok:
            raise CalibrationError("markers not found: the sheet's pose could not be solved from its markers")
        proj, _ = cv2.projectPoints(obj_pts, rvec, tvec, self.K, None)
        err = float(np.linalg.norm(proj.reshape(-1, 2) - img_pts, axis=1).mean())
        if err > self.settings.max_marker_error_px:
            raise CalibrationError(
                f"markers do not fit a flat sheet ({err:.1f} px corner error): is the sheet flat and the size right?"
            )
        return cv2.Rodrigues(rvec)[0], tvec.ravel(), len(obj), err

    def keypoints_on_sheet(self, uv: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
        """(21, 3) camera-frame points where the keypoints' rays (uv (21, 2) px) meet the plane
        keypoint_height_m above the sheet (towards the camera)."""
        rays = np.linalg.solve(self.K, np.concatenate((uv, np.ones((len(uv), 1))), axis=1).T).T
        n = R[:, 2]  # the sheet's z axis (into the page) in the camera frame
        lam = (n @ t - self.settings.keypoint_height_m) / (rays @ n)
        return lam[:, None] * rays

    def add_frame(
        self, image: np.ndarray, uv: np.ndarray | None, rel3d: np.ndarray | None = None, side: str = "right"
    ) -> FrameResult:
        """Measure one frame: image (RGB or grey uint8), uv (21, 2) px the hand's keypoints (None: no hand
        found), rel3d (21, 3) the detector's relative 3D (optional, checks flatness), side 'left'/'right'."""
        s = self.settings
        try:
            R, t, count, _ = self.sheet_pose(image)
        except CalibrationError as exc:
            return self.record(FrameResult(False, str(exc)))
        if uv is None:
            return self.record(FrameResult(False, "no hand found", count))
        uv = np.asarray(uv, dtype=np.float64)
        if uv.shape != (NUM_JOINTS, 2) or not np.all(np.isfinite(uv)):
            raise ValueError(f"uv must be (21, 2) finite pixels, got {uv.shape}")
        joints = self.keypoints_on_sheet(self._undistort(uv), R, t)
        on_sheet = (joints - t) @ R  # sheet frame
        w, h = self.sheet.page_m
        if (
            np.any(on_sheet[:, 0] < 0)
            or np.any(on_sheet[:, 0] > w)
            or np.any(on_sheet[:, 1] < 0)
            or np.any(on_sheet[:, 1] > h)
        ):
            return self.record(FrameResult(False, "hand not on the sheet", count, side))
        lengths = bone_lengths(joints)
        for finger, chain in FINGER_CHAINS.items():
            if finger == "thumb":
                continue
            ends = np.linalg.norm(joints[chain[-1]] - joints[chain[0]])
            if ends < s.min_finger_straightness * lengths[np.array(chain[1:]) - 1].sum():
                return self.record(FrameResult(False, f"hand not flat: {finger} finger bent", count, side))
        if rel3d is not None:
            rel = np.asarray(rel3d, dtype=np.float64)
            palm = rel[list(PALM_JOINTS)] - rel[list(PALM_JOINTS)].mean(axis=0)
            normal = np.linalg.svd(palm)[2][-1]
            height = np.abs((rel - rel[list(PALM_JOINTS)].mean(axis=0)) @ normal).max()
            if height > s.max_detector_flatness * bone_lengths(rel).mean():
                return self.record(FrameResult(False, "hand not flat: the detector sees it curved", count, side))
        return self.record(FrameResult(True, "", count, side, lengths, joints))

    def record(self, result: FrameResult) -> FrameResult:
        """Keep `result` as this calibration's latest frame (counted in `frames`) and return it."""
        self.frames.append(result)
        return result

    def finish(self, name: str, notes: str = "") -> OperatorProfile:
        """The profile from the frames so far (one measurement per side seen), or CalibrationError saying why not."""
        s = self.settings
        good = [f for f in self.frames if f.ok]
        if len(good) < s.min_frames:
            reasons = Counter(f.reason for f in self.frames if not f.ok)
            why = "; ".join(f"{r} ({n} frames)" for r, n in reasons.most_common(3)) or "no frames given"
            raise CalibrationError(
                f"too few frames: {len(good)} of {len(self.frames)} usable, {s.min_frames} needed; rejected: {why}"
            )
        hands = {}
        for side in sorted({f.side for f in good}):
            lengths = np.stack([f.lengths for f in good if f.side == side])
            if len(lengths) < s.min_frames:
                continue
            scales = lengths.mean(axis=1)
            spread = float(scales.std() / scales.mean())
            if spread > s.max_scale_spread:
                raise CalibrationError(
                    f"unstable measurement: the {side} hand's scale varies by {100 * spread:.1f} % over the frames "
                    f"(limit {100 * s.max_scale_spread:.1f} %); hold the hand still and flat"
                )
            hands[side] = HandMeasurement(tuple(np.median(lengths, axis=0)), tuple(lengths.std(axis=0)), len(lengths))
        if not hands:
            raise CalibrationError(f"too few frames of any one hand ({s.min_frames} needed)")
        notes = notes or (
            f"ArUco sheet, {len(good)} of {len(self.frames)} frames, "
            f"keypoint height {s.keypoint_height_m:.3f} m, markers {self.sheet.marker_m * 1000:.1f} mm"
        )
        return OperatorProfile(name=name, method="aruco", hands=hands, notes=notes)

    def scale_spread(self) -> dict[str, float]:
        """side -> SD / mean of the per-frame scale over the usable frames (the measurement's spread)."""
        out = {}
        for side in {f.side for f in self.frames if f.ok}:
            scales = np.array([f.lengths.mean() for f in self.frames if f.ok and f.side == side])
            out[side] = float(scales.std() / scales.mean())
        return out


@dataclass(frozen=True)
class SheetSessionSettings(Settings):
    """Settings of one sheet calibration over a stream (`CalibrationSession`): its budget, the profile's name
    and file, and the `Calibrator`'s settings."""

    calibrator: CalibrationSettings = field(default_factory=CalibrationSettings)
    seconds: float = param(5.0, "how long a sheet calibration collects frames (s)", 0.1, 600.0)
    max_frames: int = param(150, "a sheet calibration ends early once it has received this many frames", 1, 100_000)
    operator_name: str = param("operator", "the operator's name written into a sheet calibration's profile")
    profile_out: str = param(
        "", "operator profile YAML a successful sheet calibration writes (~ expanded); empty = not written"
    )


@dataclass(frozen=True)
class SessionResult:
    """How a sheet calibration ended. state: 'done' (profile set) or 'refused' (reason says why).

    scale_m / spread: per measured side, the profile's mean bone length (m) and the per-frame scale's SD / mean.
    frames / usable: frames received and frames with a flat hand on the sheet.
    """

    state: str
    reason: str = ""
    profile: OperatorProfile | None = None
    scale_m: dict[str, float] = field(default_factory=dict)
    spread: dict[str, float] = field(default_factory=dict)
    frames: int = 0
    usable: int = 0


class CalibrationSession:
    """One sheet calibration over a stream of frames, bounded by a duration and a frame count (ROS-free).

    The caller (hand_pose_node's ~/calibrate, the scalehp-calibrate command) feeds each frame it receives with
    `add_frame` / `add_hands`, and ends the session with `finish` once `due(now_s)`; times are seconds on any
    one clock (the node's clock, the video's time), starting at `start_s`. The first frame's K fixes the
    intrinsics; a frame with other intrinsics is not used.
    """

    def __init__(
        self, settings: SheetSessionSettings | None = None, start_s: float = 0.0, distortion: Distortion | None = None
    ) -> None:
        self.settings = SheetSessionSettings() if settings is None else settings
        self.start_s = float(start_s)
        self.distortion = validate_distortion(distortion)
        self.calibrator: Calibrator | None = None
        self.last: FrameResult | None = None

    @property
    def frames(self) -> int:
        """Frames received so far."""
        return 0 if self.calibrator is None else len(self.calibrator.frames)

    @property
    def usable(self) -> int:
        """Frames so far with a flat hand on the sheet."""
        return 0 if self.calibrator is None else sum(f.ok for f in self.calibrator.frames)

    def due(self, now_s: float) -> bool:
        """The budget is spent: `seconds` since start_s, or `max_frames` frames received."""
        s = self.settings
        return now_s - self.start_s >= s.seconds or self.frames >= s.max_frames

    def seconds_left(self, now_s: float) -> float:
        return max(0.0, self.settings.seconds - (now_s - self.start_s))

    def add_frame(
        self, image: np.ndarray, K: np.ndarray, uv: np.ndarray | None, rel3d: np.ndarray | None, side: str
    ) -> FrameResult:
        """One frame: image (RGB or grey uint8), K (3, 3) its intrinsics, the hand's keypoints uv (21, 2) px
        (None: no hand), rel3d (21, 3) its 3D shape (any origin and scale, for the flatness check; optional),
        side 'left'/'right'. See `Calibrator.add_frame`."""
        if self.calibrator is None:
            self.calibrator = Calibrator(K, self.settings.calibrator, distortion=self.distortion)
        elif not np.allclose(validate_intrinsics(K), self.calibrator.K):
            self.last = self.calibrator.record(FrameResult(False, "the camera intrinsics changed during the session"))
            return self.last
        self.last = self.calibrator.add_frame(image, uv, rel3d, side)
        return self.last

    def add_hands(self, image: np.ndarray, K: np.ndarray, hands: Sequence[HandPose]) -> FrameResult:
        """One frame with the estimator's hands: the most confident one is measured (its detector keypoints
        joints_2d and, for flatness, its 3D joints_cam); none: a frame without a hand."""
        if not hands:
            return self.add_frame(image, K, None, None, "right")
        hand = max(hands, key=lambda h: h.confidence)
        return self.add_frame(image, K, hand.joints_2d, hand.joints_cam, hand.handedness)

    def finish(self) -> SessionResult:
        """The session's outcome: 'done' with the profile (method 'aruco', named operator_name), or
        'refused' with the reason (`Calibrator.finish`'s CalibrationError)."""
        if self.calibrator is None:
            return SessionResult(
                "refused",
                "too few frames: no frames received during the session (is the camera streaming?)",
            )
        frames, usable = self.frames, self.usable
        try:
            profile = self.calibrator.finish(self.settings.operator_name)
        except CalibrationError as exc:
            return SessionResult("refused", str(exc), frames=frames, usable=usable)
        spread = self.calibrator.scale_spread()
        scale = {side: profile.mean_bone(side) for side in profile.hands}
        return SessionResult("done", "", profile, scale, {k: spread[k] for k in scale}, frames, usable)


# -- the scalehp-calibrate command ---------------------------------------------------------------------------


def _intrinsics(args: argparse.Namespace, width: int, height: int) -> np.ndarray:
    if args.K is not None:
        fx, fy, cx, cy = args.K
        return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    f = focal_from_fov(width, args.hfov_deg)
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def _run_video(args: argparse.Namespace) -> OperatorProfile:
    import cv2

    from scalehp_ros.perception.frontend import FrontendSettings, MediaPipeFrontend

    source = int(args.video) if args.video.isdigit() else args.video
    cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        raise CalibrationError(f"cannot open video {args.video}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    frontend = MediaPipeFrontend(FrontendSettings(max_hands=1))
    settings = SheetSessionSettings(
        CalibrationSettings(marker_size_m=args.marker_mm / 1000.0, keypoint_height_m=args.keypoint_height_mm / 1000.0),
        seconds=args.seconds,
        max_frames=max(1, round(args.seconds * fps)),
        operator_name=args.name,
    )
    session = CalibrationSession(settings)
    K = None
    try:
        index = 0
        while not session.due(index / fps):
            ok, bgr = cap.read()
            if not ok:
                break
            rgb = np.ascontiguousarray(bgr[:, :, ::-1])
            K = _intrinsics(args, rgb.shape[1], rgb.shape[0]) if K is None else K
            dets = frontend.detect(rgb, round(index * 1000.0 / fps))
            det = dets[0] if dets else None
            if det is None:
                session.add_frame(rgb, K, None, None, "right")
            else:
                session.add_frame(rgb, K, det.uv, det.rel3d, det.handedness)
            index += 1
    finally:
        cap.release()
        frontend.close()
    if session.frames == 0:
        raise CalibrationError(f"no frames read from {args.video}")
    result = session.finish()
    if result.profile is None:
        raise CalibrationError(result.reason)
    for side, scale in result.scale_m.items():
        print(f"{side}: scale {1000 * scale:.2f} mm (mean bone), spread {100 * result.spread[side]:.2f} %")
    return result.profile


def main(argv: list[str] | None = None) -> int:
    from scalehp_ros.perception.profile import profile_from_hand_length, save_profile

    defaults = CalibrationSettings()
    parser = argparse.ArgumentParser(prog="scalehp-calibrate", description="Make an operator profile (hand size).")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("sheet", help="write the ArUco calibration sheet (PNG and/or PDF, A4, print at 100 %)")
    p.add_argument("--png", type=Path, default=None)
    p.add_argument("--pdf", type=Path, default=Path("scalehp_calibration_sheet.pdf"))
    p = sub.add_parser("ruler", help="a profile from a ruler hand length (wrist crease to middle fingertip)")
    p.add_argument("--hand-length-m", type=float, required=True)
    p = sub.add_parser("run", help="measure a hand lying flat on the printed sheet (video file or camera index)")
    p.add_argument("video", help="video file, or a camera index such as 0")
    p.add_argument("--seconds", type=float, default=SheetSessionSettings().seconds)
    p.add_argument("--hfov-deg", type=float, default=60.0, help="horizontal field of view when --K is not given")
    p.add_argument("--K", type=float, nargs=4, metavar=("FX", "FY", "CX", "CY"), default=None)
    p.add_argument(
        "--marker-mm",
        type=float,
        default=1000 * defaults.marker_size_m,
        help="marker side as measured on the print",
    )
    p.add_argument("--keypoint-height-mm", type=float, default=1000 * defaults.keypoint_height_m)
    for p in sub.choices.values():
        if p.prog.endswith(("ruler", "run")):
            p.add_argument("--name", required=True, help="the operator's name")
            p.add_argument("--out", type=Path, required=True, help="profile YAML to write")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "sheet":
            if args.png is not None:
                _aruco()[0].imwrite(str(args.png), render_sheet())
                print(f"wrote {args.png}")
            write_sheet_pdf(args.pdf)
            print(f"wrote {args.pdf} (print at 100 %, check a marker measures {1000 * SheetSpec().marker_m:.0f} mm)")
            return 0
        profile = profile_from_hand_length(args.name, args.hand_length_m) if args.cmd == "ruler" else _run_video(args)
        save_profile(profile, args.out)
        print(f"wrote {args.out}")
    except (ValueError, CalibrationError) as exc:
        print(f"scalehp-calibrate: refused: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
