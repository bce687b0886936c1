"""hand_pose_node: camera images in; metric hand TF frames, PoseArrays, markers and diagnostics out.

An optional depth image registered to the colour image (topic `depth`, remap it to e.g.
`/camera/camera/aligned_depth_to_color/image_raw`; REP 118 16UC1 mm or 32FC1 m) is paired with each colour
image by stamp (common.stamp_sync) and handed to the estimator (perception.depth); without one, or while
it is stale, every frame takes the RGB-only path with no added wait.

Service `~/calibrate` (std_srvs/Trigger) starts an ArUco sheet calibration (perception.calibration's
CalibrationSession) over the next frames the node receives and answers at once; when the session ends
(sheet_calibration.seconds or .max_frames) its outcome goes to the log and /diagnostics (`sheet_calibration_*`), and
a profile it measured is put in force (and written to sheet_calibration.profile_out when set).

A thin adapter around scalehp_ros.perception.estimator.HandPoseEstimator: it converts messages and parameters and
never computes geometry itself. Every output carries the input image's header (stamp and frame_id).

Per side, `~/<side>/arm_reference` (geometry_msgs/PointStamped, the image's header, camera optical frame, m)
is the point the arm should follow (`HandPose.arm_reference`: the wrist as the palm places it, its depth
filtered along its viewing ray; retarget_node's `arm_target: arm_reference` reads it), published before the
same hand's `~/<side>/joints`.

Per side, `~/<side>/tracking` (diagnostic_msgs/DiagnosticArray, one status, once per processed image, the
image's header) says whether that hand is tracked in this image, held (not seen for less than
tracking.hold_s of image time: consumers keep its last pose) or lost, with the age of its last good
measurement (docs/hand_tracking.md).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point, PointStamped, PoseArray
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header
from std_srvs.srv import Trigger
from visualization_msgs.msg import MarkerArray

from scalehp_ros.common.joints import SIDES
from scalehp_ros.common.params import Settings, group, param
from scalehp_ros.common.stamp_sync import ApproximateSync
from scalehp_ros.common.stream_stats import RollingPercentiles, StreamStats
from scalehp_ros.perception.calibration import CalibrationSession, SessionResult, SheetSessionSettings
from scalehp_ros.perception.camera import camera_from_info, intrinsics_for_image
from scalehp_ros.perception.estimator import HandPoseEstimator
from scalehp_ros.perception.profile import save_profile
from scalehp_ros.perception.settings import EstimatorConfig
from scalehp_ros.ros.conversions import hand as hand_msgs
from scalehp_ros.ros.conversions.depth import depth_msg_to_metres
from scalehp_ros.ros.conversions.geometry import stamp_seconds
from scalehp_ros.ros.conversions.image import compressed_msg_to_rgb, image_msg_to_rgb, rgb_to_image_msg
from scalehp_ros.ros.diagnostics import OK, STALE, WARN, Diagnostics
from scalehp_ros.ros.diagnostics import status as diagnostic_status
from scalehp_ros.ros.node_main import run_node
from scalehp_ros.ros.parameters import ParameterBinding
from scalehp_ros.ros.tf_publisher import TfPublisher, tf2_frame_id, tf2_header
from scalehp_ros.visualization.skeleton import draw_hands

# Subscriptions: the sensor-data profile with depth 1 (REP 2003): only the newest frame waits; no latency
# backlog builds up. Publishers are reliable (REP 2003), which best-effort and reliable subscribers both match.
SENSOR_QOS_DEPTH1 = QoSProfile(
    reliability=ReliabilityPolicy.BEST_EFFORT,
    durability=DurabilityPolicy.VOLATILE,
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
)
WARN_PERIOD_S = 2.0


@dataclass(frozen=True)
class DepthSyncSettings(Settings):
    """How depth images are paired with colour images (common.stamp_sync): the node's part of `depth.*`."""

    slop_s: float = param(
        0.02,
        "Largest stamp difference of a colour image and the depth image paired with it (s).",
        0.0,
        1.0,
        dynamic=False,
    )
    max_wait_s: float = param(
        0.05, "Longest a colour image waits for its depth image while depth is streaming (s).", 0.0, 1.0, dynamic=False
    )
    timeout_s: float = param(
        0.5,
        "Without a depth image for this long the depth stream is stale: RGB only, no waiting (s).",
        0.05,
        60.0,
        dynamic=False,
    )


@dataclass(frozen=True)
class TrackingHoldSettings(Settings):
    """The node's part of `tracking.*`: how long a lost hand is reported held on ~/<side>/tracking."""

    hold_s: float = param(
        0.25,
        "A hand not seen for up to this long (image stamps, s) is reported 'held' on ~/<side>/tracking, "
        "then 'lost' (docs/hand_tracking.md).",
        0.0,
        10.0,
    )


@dataclass(frozen=True)
class HandPoseNodeSettings(Settings):
    """The node's own parameters (the estimator's are EstimatorConfig's)."""

    frame_prefix: str = param("", "Prefix of the published joint TF frames: <prefix><side>_hand_<joint>.")
    compressed: bool = param(False, "Subscribe sensor_msgs/CompressedImage on image/compressed instead of image.")
    max_image_pixels: int = param(4096 * 2160, "Frames with more pixels are rejected.", 1, 100_000_000)
    diagnostics_period: float = param(1.0, "Seconds between /diagnostics messages.", 0.1, 60.0, dynamic=False)
    rectified_input: bool = param(
        False,
        "The image topic is rectified (image_rect): use CameraInfo's P[:3, :3] as K and no distortion. False "
        "(image_raw): K, and the keypoints are undistorted with D (plumb_bob, rational_polynomial, equidistant).",
    )
    uncalibrated_hfov_deg: float = param(
        0.0,
        "Horizontal field of view (degrees) of an ideal pinhole used when CameraInfo is uncalibrated (K all "
        "zero, e.g. usb_cam without a calibration file); 0 = refuse such frames (metric depth needs intrinsics).",
        0.0,
        179.0,
    )
    depth: DepthSyncSettings = group(DepthSyncSettings)
    tracking: TrackingHoldSettings = group(TrackingHoldSettings)


@dataclass(frozen=True)
class _AllSettings(Settings):
    estimator: EstimatorConfig = field(default_factory=EstimatorConfig)
    node: HandPoseNodeSettings = field(default_factory=HandPoseNodeSettings)
    sheet_calibration: SheetSessionSettings = group(SheetSessionSettings)


PARAMS = _AllSettings.parameters()
# {old flat name: new name} of every renamed parameter (docs/parameters.md's migration table): refused at start
RENAMED: dict[str, str] = {
    **EstimatorConfig.RENAMED,
    "depth_slop_s": "depth.slop_s",
    "depth_max_wait_s": "depth.max_wait_s",
    "depth_timeout_s": "depth.timeout_s",
    "tracking_hold_s": "tracking.hold_s",
    **{f"sheet_{s.name}": f"sheet_calibration.{s.name}" for s in SheetSessionSettings.parameters()},
}
_ESTIMATOR_NAMES = {p.name for p in EstimatorConfig.parameters()}
_SHEET_PREFIX = "sheet_calibration."
SHEET_POLL_PERIOD_S = 0.1  # a session ends on time even when no frame arrives


class HandPoseNode(Node):
    def __init__(self) -> None:
        super().__init__("hand_pose_node")
        binding = ParameterBinding(
            self, PARAMS, apply=self._apply_parameters, validate=self._validate_parameters, renamed=RENAMED
        )
        self.params = binding.values  # {name: value in use}, kept current by the binding
        self.estimator = HandPoseEstimator(EstimatorConfig.from_flat(self._estimator_settings(self.params)))
        self.estimator.prepare()  # load MediaPipe before subscribing: the first frames are not dropped

        self.tf = TfPublisher(self)
        self.marker_pub = self.create_publisher(MarkerArray, "~/markers", 10)
        self.joint_pubs = {side: self.create_publisher(PoseArray, f"~/{side}/joints", 10) for side in SIDES}
        self.reference_pubs = {
            side: self.create_publisher(PointStamped, f"~/{side}/arm_reference", 10) for side in SIDES
        }
        self.debug_pub = self.create_publisher(Image, "~/debug_image", 1)  # reliable, newest only
        self.diagnostics = Diagnostics(self, "hand pose pipeline", qualified=True)
        self.processed_pub = self.create_publisher(Header, "~/processed", 10)
        self.tracking_pubs = {side: self.create_publisher(DiagnosticArray, f"~/{side}/tracking", 10) for side in SIDES}
        self.last_tracked: dict[str, float] = {}  # side -> image stamp (s) of its last good measurement
        self.create_subscription(CameraInfo, "camera_info", self._on_camera_info, SENSOR_QOS_DEPTH1)
        self.image_sub = None
        self._subscribe_images()
        p = self.params
        self.sync = ApproximateSync(p["depth.slop_s"], p["depth.max_wait_s"], p["depth.timeout_s"])
        self.create_subscription(Image, "depth", self._on_depth, SENSOR_QOS_DEPTH1)
        self.create_timer(max(0.005, p["depth.max_wait_s"] / 4), self._poll_sync)
        self.depth_state = "none"  # none (never received) | active | stale
        self.depth_frames = 0  # frames processed with depth since the last diagnostics

        self.stats = StreamStats()
        # MediaPipe's own time per processed frame, over about the last 20 s at 30 fps: the real-time
        # benchmark compares the graph's latency against it (bench/realtime.py)
        self.detector_ms = RollingPercentiles(600)
        self.K: np.ndarray | None = None
        self.info_size: tuple[int, int] | None = None
        self.distortion: tuple[str, np.ndarray] | None = None  # lens model and D of image_raw, from CameraInfo
        self.visible: set[str] = set()
        self.last_hands: list = []
        self.problems: dict[str, int] = {}
        self._warned: dict[str, float] = {}
        self.last_problem = ""
        self.sheet_session: CalibrationSession | None = None
        self.sheet_result: SessionResult | None = None  # the last session's outcome, until the next one starts
        self.sheet_written = ""  # where it wrote its profile, or why writing failed
        self.create_service(Trigger, "~/calibrate", self._on_calibrate)
        self.create_timer(SHEET_POLL_PERIOD_S, self._poll_sheet_session)
        self.create_timer(self.params["diagnostics_period"], self._publish_diagnostics)
        self.get_logger().info(f"hand_pose_node ready, TF via {self.tf.backend}")

    def _now(self) -> float:
        """The node clock (simulated time under use_sim_time), seconds: the clock image stamps use."""
        return self.get_clock().now().nanoseconds * 1e-9

    def close(self) -> None:
        """Release MediaPipe (called by run_node on exit)."""
        self.estimator.close()

    # parameters -------------------------------------------------------------------------------------------
    @staticmethod
    def _estimator_settings(params: dict) -> dict:
        return {k: v for k, v in params.items() if k in _ESTIMATOR_NAMES}

    def _validate_parameters(self, new: dict) -> None:
        self.estimator.config.replace(**self._estimator_settings(new))  # ValueError: refused with its reason

    def _apply_parameters(self, new: dict) -> None:
        estimator_changes = self._estimator_settings(new)
        if estimator_changes:
            self.estimator.update_config(**estimator_changes)
        if "compressed" in new:
            self._subscribe_images()
        self.get_logger().info(f"parameters changed: {new}")

    def _subscribe_images(self) -> None:
        if self.image_sub is not None:
            self.destroy_subscription(self.image_sub)
        if self.params["compressed"]:
            self.image_sub = self.create_subscription(
                CompressedImage, "image/compressed", self._on_compressed, SENSOR_QOS_DEPTH1
            )
        else:
            self.image_sub = self.create_subscription(Image, "image", self._on_image, SENSOR_QOS_DEPTH1)

    # inputs -----------------------------------------------------------------------------------------------
    def _problem(self, key: str, message: str, frame_rejected: bool = True) -> None:
        """A bad input: count it for /diagnostics and warn (throttled); the node carries on."""
        self.problems[key] = self.problems.get(key, 0) + 1
        self.last_problem = message
        self.stats.rejected += frame_rejected
        kind = re.sub(r"[+-]?[\d.]+", "#", message)  # the same problem with other numbers is throttled together
        now = time.monotonic()
        if now - self._warned.get(kind, -WARN_PERIOD_S) >= WARN_PERIOD_S:
            self._warned[kind] = now
            self.get_logger().warning(message)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:  # read as image_geometry does, driver defaults included (perception.camera.camera_from_info)
            cam = camera_from_info(msg, self.params["rectified_input"], self.params["uncalibrated_hfov_deg"])
        except ValueError as exc:
            self._problem("bad_camera_info", f"CameraInfo rejected: {exc}")
            return
        self.K, self.info_size, self.distortion = cam.K, cam.size, cam.distortion

    def _on_image(self, msg: Image) -> None:
        self._synced(msg.header, lambda: image_msg_to_rgb(msg, self.params["max_image_pixels"]))

    def _on_compressed(self, msg: CompressedImage) -> None:
        self._synced(msg.header, lambda: compressed_msg_to_rgb(msg, self.params["max_image_pixels"]))

    # depth: paired with the colour images by stamp ---------------------------------------------------------
    def _synced(self, header, decode) -> None:
        for pair in self.sync.add_primary(stamp_seconds(header.stamp), (header, decode), time.monotonic()):
            self._release(pair)

    def _on_depth(self, msg: Image) -> None:
        if self.depth_state != "active":
            self.get_logger().info("depth images arriving: the depth path is used where they pair with colour")
            self.depth_state = "active"
        for pair in self.sync.add_secondary(stamp_seconds(msg.header.stamp), msg, time.monotonic()):
            self._release(pair)

    def _poll_sync(self) -> None:
        now = time.monotonic()
        if self.depth_state == "active" and not self.sync.secondary_active(now):
            self.depth_state = "stale"
            self.get_logger().warning("depth stream stale (no depth image for depth.timeout_s): RGB only")
        if self.sync.waiting:
            for pair in self.sync.poll(now):
                self._release(pair)

    def _release(self, pair) -> None:
        header, decode = pair.primary
        if pair.reason in ("unmatched", "timeout", "out_of_sync"):
            self._problem(
                "depth_unsynchronised",
                f"depth image not paired: nearest depth stamp {pair.offset_s:+.3f} s from the colour image "
                f"(slop {self.sync.slop_s} s); frame processed without depth",
                frame_rejected=False,
            )
        self._process(header, decode, pair.secondary)

    def _depth_for(self, msg: Image | None, rgb: np.ndarray, header) -> np.ndarray | None:
        """The paired depth image in metres, or None (refused with a warning: the frame goes on RGB only)."""
        if msg is None:
            return None
        try:
            if (
                msg.header.frame_id
                and header.frame_id
                and tf2_frame_id(msg.header.frame_id) != tf2_frame_id(header.frame_id)
            ):
                raise ValueError(
                    f"frame_id {msg.header.frame_id!r} is not the colour image's {header.frame_id!r} (use the "
                    "depth registered to colour, e.g. aligned_depth_to_color)"
                )
            depth = depth_msg_to_metres(msg, self.params["max_image_pixels"])
            if depth.shape != rgb.shape[:2]:
                raise ValueError(
                    f"size {depth.shape[1]}x{depth.shape[0]} is not the colour image's {rgb.shape[1]}x{rgb.shape[0]}"
                )
        except ValueError as exc:
            self._problem(
                "bad_depth", f"depth image refused: {exc}; frame processed without depth", frame_rejected=False
            )
            return None
        return depth

    def _process(self, header, decode, depth_msg: Image | None = None) -> None:
        try:
            self._process_frame(header, decode, depth_msg)
        finally:  # every frame taken, with hands, without or refused: lockstep playback waits for this
            self.processed_pub.publish(header)

    def _process_frame(self, header, decode, depth_msg: Image | None) -> None:
        stamp = stamp_seconds(header.stamp)
        arrival = self.stats.on_arrival(stamp, self._now())
        if arrival == "duplicate":
            return
        if arrival == "restart":  # a replayed or looping stream, a simulator reset: start the stream afresh
            self.estimator.reset()
            self.last_tracked.clear()
            self.get_logger().info(
                "image stamps went back: a new stream (replay, loop or reset); tracks and filters restarted",
                throttle_duration_sec=WARN_PERIOD_S,
            )
        if self.K is None:
            self._problem("no_camera_info", "no valid CameraInfo received yet on camera_info; frame skipped")
            return
        try:
            rgb = decode()
            K = intrinsics_for_image(self.K, self.info_size, (rgb.shape[1], rgb.shape[0]))
            depth = self._depth_for(depth_msg, rgb, header)  # sampled at the raw keypoint pixels
            hands = self.estimator.estimate(rgb, K, stamp=stamp, distortion=self.distortion, depth=depth)
            self.detector_ms.add(self.estimator.last_detector_time_s * 1e3)
            self.depth_frames += depth is not None
        except ValueError as exc:
            self._problem("bad_image", f"frame rejected: {exc}")
            return
        except Exception as exc:  # a node never dies on a bad message
            self._problem("internal_error", f"frame failed: {type(exc).__name__}: {exc}")
            return
        self._publish(tf2_header(header), hands, rgb)
        self.stats.on_processed(stamp, self._now())
        if self.sheet_session is not None:
            self._feed_sheet_session(rgb, K, hands)

    # ~/calibrate: the ArUco sheet calibration --------------------------------------------------------------
    def _on_calibrate(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        """Start a sheet calibration over the next frames; refuse while one runs or without intrinsics."""
        now = self._now()
        session = self.sheet_session
        if session is not None:
            response.success = False
            response.message = (
                f"a sheet calibration is already collecting ({session.frames} frames, {session.usable} usable, "
                f"{session.seconds_left(now):.1f} s left); its result goes to /diagnostics"
            )
            return response
        if self.K is None:
            response.success = False
            response.message = "no valid CameraInfo received yet on camera_info: the sheet calibration needs K"
            return response
        sheet = {k.removeprefix(_SHEET_PREFIX): v for k, v in self.params.items() if k.startswith(_SHEET_PREFIX)}
        settings = SheetSessionSettings.from_flat(sheet)
        self.sheet_session = CalibrationSession(settings, now, self.distortion)
        self.sheet_result, self.sheet_written = None, ""
        response.success = True
        response.message = (
            f"collecting: lay the hand flat, fingers straight, on the sheet for {settings.seconds:g} s "
            f"(at most {settings.max_frames} frames); the result goes to /diagnostics "
            "(sheet_calibration_state) and the log"
        )
        self.get_logger().info(f"sheet calibration started: {response.message}")
        return response

    def _feed_sheet_session(self, rgb: np.ndarray, K: np.ndarray, hands: list) -> None:
        try:
            self.sheet_session.add_hands(rgb, K, hands)
        except Exception as exc:  # a node never dies on a bad frame; the session goes on without it
            self._problem("sheet_calibration_frame", f"sheet calibration frame failed: {type(exc).__name__}: {exc}")
        if self.sheet_session.due(self._now()):
            self._end_sheet_session()

    def _poll_sheet_session(self) -> None:
        if self.sheet_session is not None and self.sheet_session.due(self._now()):
            self._end_sheet_session()

    def _end_sheet_session(self) -> None:
        """Finish the session: put a measured profile in force (and write it), log and keep the outcome."""
        session, self.sheet_session = self.sheet_session, None
        try:
            result = session.finish()
        except Exception as exc:
            result = SessionResult("refused", f"calibration failed: {type(exc).__name__}: {exc}")
        self.sheet_result, log = result, self.get_logger()
        if result.profile is None:
            log.warning(f"sheet calibration refused: {result.reason}")
            return
        self.estimator.set_operator_profile(result.profile)
        sizes = ", ".join(
            f"{side} {1000 * scale:.2f} mm (spread {100 * result.spread[side]:.2f} %)"
            for side, scale in result.scale_m.items()
        )
        log.info(f"sheet calibration done from {result.usable} of {result.frames} frames: mean bone {sizes}; in force")
        out = self.params["sheet_calibration.profile_out"]
        if out:
            try:
                self.sheet_written = str(save_profile(result.profile, Path(out).expanduser()))
                log.info(f"sheet calibration profile written to {self.sheet_written}")
            except OSError as exc:
                self.sheet_written = f"not written: {exc}"
                log.error(f"sheet calibration profile {out} {self.sheet_written}")

    def _sheet_diagnostics(self) -> dict[str, str]:
        session, result = self.sheet_session, self.sheet_result
        if session is not None:
            values = {
                "sheet_calibration_state": "collecting",
                "sheet_calibration_frames": f"{session.usable}/{session.frames}",
                "sheet_calibration_seconds_left": f"{session.seconds_left(self._now()):.1f}",
            }
            if session.last is not None:
                values["sheet_calibration_last_frame"] = session.last.reason or "ok"
            return values
        if result is None:
            return {"sheet_calibration_state": "idle"}
        values = {
            "sheet_calibration_state": result.state,
            "sheet_calibration_frames": f"{result.usable}/{result.frames}",
        }
        if result.reason:
            values["sheet_calibration_reason"] = result.reason
        for side, scale in result.scale_m.items():
            values[f"sheet_calibration_{side}_scale_m"] = f"{scale:.5f}"
            values[f"sheet_calibration_{side}_spread"] = f"{result.spread[side]:.4f}"
        if self.sheet_written:
            values["sheet_calibration_profile_written"] = self.sheet_written
        return values

    # outputs ----------------------------------------------------------------------------------------------
    def _publish(self, header, hands, rgb: np.ndarray) -> None:
        best = {}
        for hand in hands:  # one hand per side: the most confident
            if hand.handedness not in best or hand.confidence > best[hand.handedness].confidence:
                best[hand.handedness] = hand
        prefix = self.params["frame_prefix"]
        transforms, marker_hands = [], []
        for side, hand in best.items():
            positions, quats = hand_msgs.joint_poses(hand.joints_cam, side)  # frames computed once per hand
            transforms += hand_msgs.transforms(header, positions, quats, side, prefix)
            x, y, z = (float(v) for v in hand.arm_reference)
            self.reference_pubs[side].publish(PointStamped(header=header, point=Point(x=x, y=y, z=z)))
            self.joint_pubs[side].publish(hand_msgs.pose_array(header, positions, quats))
            marker_hands.append((side, hand.joints_cam, self._label(side, hand)))
        self.tf.send(transforms)
        gone = self.visible - set(best)
        if marker_hands or gone:
            self.marker_pub.publish(hand_msgs.marker_array(header, marker_hands, gone))
        self.visible = set(best)
        self.last_hands = list(best.values())
        self._publish_tracking(header, set(best))
        if self.debug_pub.get_subscription_count() > 0:
            debug = rgb_to_image_msg(draw_hands(rgb, self.last_hands))
            debug.header = header
            self.debug_pub.publish(debug)

    def _publish_tracking(self, header, seen: set[str]) -> None:
        """Each side's tracking state for this image on ~/<side>/tracking (docs/hand_tracking.md): level OK
        'tracked', WARN 'held', STALE 'lost'; values state, age_s (image time since the last good measurement,
        s; 'inf' if never) and last_tracked_stamp."""
        stamp = stamp_seconds(header.stamp)
        hold = self.params["tracking.hold_s"]
        for side in SIDES:
            if side in seen:
                self.last_tracked[side] = stamp
            last = self.last_tracked.get(side)
            age = float("inf") if last is None else max(0.0, stamp - last)
            if side in seen:
                level, state = OK, "tracked"
            elif age <= hold:
                level, state = WARN, "held"
            else:
                level, state = STALE, "lost"
            values = {"state": state, "age_s": f"{age:.3f}" if last is not None else "inf"}
            values["last_tracked_stamp"] = f"{last:.9f}" if last is not None else ""
            name = f"{self.get_fully_qualified_name()}: {side} hand tracking"
            report = diagnostic_status(name, level, state, values, hardware_id=header.frame_id)
            self.tracking_pubs[side].publish(DiagnosticArray(header=header, status=[report]))

    def _label(self, side: str, hand) -> str:
        label = f"{side} hand {hand.scale * 1e3:.1f} mm"
        if hand.depth_used:
            label += ", depth"
        cal = self.estimator.calibration_status().get("operator")
        if cal is not None and cal.scale is not None:
            label += f", calibration {cal.state} {cal.scale * 1e3:.1f} mm"
        return label

    def _publish_diagnostics(self) -> None:
        s = self.stats.summary(self._now())
        if self.K is None:
            level, message = WARN, "waiting for a valid CameraInfo"
        elif self.problems and self.last_problem:
            level, message = WARN, self.last_problem
        else:
            level, message = OK, "ok"
        values = {
            "input_fps": f"{s['input_fps']:.1f}",
            "processed_fps": f"{s['processed_fps']:.1f}",
            "frames_received": str(s["received"]),
            "frames_processed": str(s["processed"]),
            "frames_dropped": str(s["dropped"]),
            "frames_rejected": str(s["rejected"]),
            "frames_duplicate_stamp": str(s["duplicates"]),
            "stream_restarts": str(s["restarts"]),
            "latency_p50_ms": f"{s['latency_p50_ms']:.1f}",
            "latency_p95_ms": f"{s['latency_p95_ms']:.1f}",
            "hands_detected": str(len(self.last_hands)),
            "scale_mode": str(self.params["scale.mode"]),
        }
        detector = self.detector_ms.summary()
        if detector is not None:
            values["mediapipe_ms_p50"], values["mediapipe_ms_p95"] = (f"{v:.1f}" for v in detector)
        values["depth_stream"] = self.depth_state
        values["depth_frames_used"] = str(self.depth_frames)
        self.depth_frames = 0
        for hand in self.last_hands:
            values[f"{hand.handedness}_scale_m"] = f"{hand.scale:.4f}"
            values[f"{hand.handedness}_depth_used"] = str(hand.depth_used).lower()
        cal = self.estimator.calibration_status().get("operator")
        if cal is not None and cal.scale is not None:
            values["calibration_state"] = cal.state
            values["calibration_scale_m"] = f"{cal.scale:.5f}"
            values["calibration_rel_se"] = f"{cal.rel_se:.4f}"
            values["calibration_frames"] = str(cal.frames)
        if self.estimator.calibration_written:
            values["calibration_profile_written"] = self.estimator.calibration_written
        if self.estimator.calibration_error:
            values["calibration_error"] = self.estimator.calibration_error
        values.update(self._sheet_diagnostics())
        for key, count in sorted(self.problems.items()):
            values[f"problem_{key}"] = str(count)
        self.diagnostics.publish(level, message, values)
        self.problems.clear()
        self.last_problem = ""


def main(args: list[str] | None = None) -> int:
    return run_node(HandPoseNode, args, "hand_pose_node")


if __name__ == "__main__":
    raise SystemExit(main())
