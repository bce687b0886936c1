"""Teleoperation: camera-frame hand joints -> safe arm and hand joint commands (the ROS-free core of the node).

Per frame: the 21 joints (camera optical frame, metres) go to the robot base frame (camera pose in the base
frame), the palm frame is fitted (scalehp_ros.common.hand_frames.palm_frame), the arm mode maps the palm pose to
an end-effector target (clamped to the workspace box, base frame), damped least-squares IK (arm_ik) gives the
arm joints, hand retargeting (hand/) the finger joints, and the JointLimiters (safety) make both safe.
Units: metres, radians, seconds. Arm modes:
- absolute: target = offset * palm pose (a fixed transform applied in the base frame);
- relative: a clutch. `engage(True)` arms it; the first tracked frame after that records the palm pose and the
  end-effector pose; from then on the target moves by motion_scale times the palm's translation since that
  frame, and turns by the palm's rotation since that frame. Tracking lost (no input for tracking_timeout)
  disengages it: the operator must engage again.
While tracking is lost, or in relative mode while disengaged, the arm holds its last command.
Binding: which operator hand drives this robot side is the caller's choice (the node's joints_topic); with
`mirror_input` the hand is first reflected through the plane z = mirror_depth of the camera optical frame (a
mirror between operator and robot), so the operator's right hand becomes a left hand and drives a left robot
hand facing the operator (mirror mode), and the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pinocchio as pin

from scalehp_ros.common.hand_frames import check_joints, palm_frame
from scalehp_ros.common.params import Settings, param
from scalehp_ros.retargeting.arm_ik import ArmIK
from scalehp_ros.retargeting.hand import build_hand_retargeter
from scalehp_ros.retargeting.robot_config import RobotConfig
from scalehp_ros.retargeting.safety import JointLimiter, TrackingMonitor
from scalehp_ros.retargeting.transforms import rpy_matrix

ARM_MODES = ("absolute", "relative")


@dataclass(frozen=True)
class TeleopSettings(Settings):
    """Teleoperation parameters (metres, radians, seconds; poses as xyz + URDF rpy), validated on construction."""

    arm_mode: str = param("absolute", f"arm mode, one of {ARM_MODES}", choices=ARM_MODES)
    camera_xyz: tuple[float, float, float] = param(
        (0.0, 0.0, 0.4), "camera optical frame position in the robot base frame (m)"
    )
    camera_rpy: tuple[float, float, float] = param(
        (-1.5707963, 0.0, 1.5707963),
        "camera optical frame orientation in the robot base frame (URDF roll pitch yaw, rad)",
    )
    offset_xyz: tuple[float, float, float] = param(
        (0.0, 0.0, 0.0), "absolute mode: translation of the fixed offset applied to the palm pose (m, base frame)"
    )
    offset_rpy: tuple[float, float, float] = param((0.0, 0.0, 0.0), "absolute mode: rotation of the fixed offset (rad)")
    motion_scale: float = param(1.0, "relative mode: end-effector translation per palm translation", min=0.01, max=10.0)
    workspace_min: tuple[float, float, float] = param(
        (-0.8, -0.6, 0.1), "lower corner of the end-effector workspace box (m, base frame)"
    )
    workspace_max: tuple[float, float, float] = param(
        (-0.2, 0.6, 0.8), "upper corner of the end-effector workspace box (m, base frame)"
    )
    tracking_timeout: float = param(
        0.5, "no hand for this long (s): hold the last command, disengage the clutch", min=0.05, max=10.0
    )
    max_step_dt: float = param(0.1, "longest time step (s) the velocity clamp grants one command", min=0.005, max=1.0)
    velocity_scale: float = param(0.5, "fraction of the URDF joint velocity limits commands may use", min=0.01, max=1.0)
    mirror_input: bool = param(
        False,
        "mirror binding: reflect the input hand through the plane z = mirror_depth of the camera optical frame "
        "before retargeting (an operator's right hand then drives a left robot hand, as in a mirror)",
    )
    mirror_depth: float = param(
        0.5, "mirror binding: distance of the mirror plane from the camera along its optical axis (m)", min=0.0, max=5.0
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if any(lo >= hi for lo, hi in zip(self.workspace_min, self.workspace_max, strict=True)):
            raise ValueError(
                f"workspace_min {self.workspace_min} must be below workspace_max {self.workspace_max} on every axis"
            )


@dataclass
class Command:
    stamp: float  # s, copied from the input
    dt: float  # s, the time step the velocity clamp allowed for
    arm: np.ndarray  # rad, config arm.joints order
    hand: np.ndarray  # rad, config hand.joints order
    ee_target: pin.SE3 | None  # palm-convention target in the base frame, None while the arm holds
    arm_following: bool


@dataclass
class Target:
    """What one frame asks for, before any limit: the command loop ramps toward it."""

    stamp: float  # s, copied from the input
    dt: float  # s, time since the previous input stamp (at most max_step_dt)
    arm: np.ndarray | None  # rad, IK solution; None while the arm is not to follow (relative mode, disengaged)
    hand: np.ndarray  # rad, hand retargeting result (inside the position limits)
    ee_target: pin.SE3 | None  # palm-convention target in the base frame


@dataclass
class Status:
    level: int  # 0 OK, 1 WARN, 2 ERROR (diagnostic_msgs levels)
    message: str
    values: dict[str, str] = field(default_factory=dict)


def _pose(xyz, rpy) -> pin.SE3:
    return pin.SE3(rpy_matrix(rpy), np.asarray(xyz, dtype=float))


class Teleoperator:
    """Composes the palm frame, arm mode, workspace clamp, IK, hand retargeting and safety for one robot."""

    def __init__(self, config: RobotConfig, settings: TeleopSettings | None = None):
        self.config = config
        self.ik = ArmIK(config.arm)
        self.hand = build_hand_retargeter(config.hand)
        self.tracking = TrackingMonitor(1.0)
        self.engaged = False
        self.engage_requested = False
        self.rejected = 0
        self.last_error = ""
        self.last_stamp: float | None = None
        self.last_ik_error = 0.0
        self.configure(settings or TeleopSettings())
        self.arm_limiter = JointLimiter(
            self.ik.lower, self.ik.upper, self.ik.robot.velocity * self.settings.velocity_scale, self.ik.posture
        )
        hand_rest = self.hand.robot.clip(np.zeros(self.hand.robot.nq))
        self.hand_limiter = JointLimiter(
            self.hand.lower, self.hand.upper, self.hand.robot.velocity * self.settings.velocity_scale, hand_rest
        )
        self._reference: tuple[pin.SE3, pin.SE3] | None = None
        self._ik_seed: np.ndarray | None = None  # the last IK solution (warm start of the next)

    def configure(self, settings: TeleopSettings) -> None:
        """Apply new settings. TeleopSettings validate on construction (`settings.replace(...)` raises ValueError
        for a bad value), so a bad value never gets here and the old settings stay in place."""
        if not isinstance(settings, TeleopSettings):
            raise TypeError(f"expected TeleopSettings, got {type(settings).__name__}")
        base_from_camera = _pose(settings.camera_xyz, settings.camera_rpy)
        offset = _pose(settings.offset_xyz, settings.offset_rpy)
        old = getattr(self, "settings", None)
        self.settings = settings
        self.base_from_camera, self.offset = base_from_camera, offset
        self.tracking.timeout = settings.tracking_timeout
        if old is not None:
            for limiter, robot in ((self.arm_limiter, self.ik.robot), (self.hand_limiter, self.hand.robot)):
                limiter.velocity = robot.velocity * settings.velocity_scale
            if old.arm_mode != settings.arm_mode:
                self.engaged, self.engage_requested, self._reference = False, False, None

    def set_camera_pose(self, base_from_camera: pin.SE3) -> None:
        """Camera optical frame pose in the robot base frame (e.g. from TF)."""
        self.base_from_camera = base_from_camera

    def engage(self, on: bool, now: float) -> tuple[bool, str]:
        """Clutch of the relative mode; engagement takes effect at the next tracked frame."""
        if self.settings.arm_mode != "relative":
            return False, "engage applies to arm_mode 'relative' only"
        if not on:
            self.engaged, self.engage_requested, self._reference = False, False, None
            return True, "disengaged: the arm holds"
        if self.tracking.check(now):
            return False, "cannot engage: no hand is tracked"
        self.engage_requested = True
        return True, "engaging at the next tracked frame"

    def tick(self, now: float) -> bool:
        """Check the tracking timeout (call periodically); returns whether tracking is lost."""
        was_lost = self.tracking.lost
        lost = self.tracking.check(now)
        if lost and not was_lost:
            self.engaged, self.engage_requested, self._reference = False, False, None
        return lost

    def _arm_target(self, palm: pin.SE3, current_arm: np.ndarray) -> pin.SE3 | None:
        s = self.settings
        if s.arm_mode == "absolute":
            target = self.offset * palm
        else:
            if self.engage_requested:
                self._reference = (palm.copy(), self.ik.forward(current_arm))
                self.engaged, self.engage_requested = True, False
            if not self.engaged or self._reference is None:
                return None
            palm0, ee0 = self._reference
            translation = ee0.translation + s.motion_scale * (palm.translation - palm0.translation)
            rotation = palm.rotation @ palm0.rotation.T @ ee0.rotation
            target = pin.SE3(rotation, translation)
        target.translation = np.clip(target.translation, s.workspace_min, s.workspace_max)
        return target

    def solve(self, joints_camera: np.ndarray, stamp: float, now: float, current_arm: np.ndarray) -> Target:
        """Targets (unlimited) for one frame of 21 joints (camera optical frame, metres) stamped `stamp` (s),
        received at `now`; `current_arm` is the arm's current command (the relative-mode clutch reference).

        Raises ValueError for bad input (wrong shape, NaN/inf, degenerate hand, stale stamp); the state is
        then unchanged, so the caller can log it and serve the next frame.
        """
        try:
            joints = check_joints(joints_camera)
            if self.settings.mirror_input:
                joints = joints * (1.0, 1.0, -1.0) + (0.0, 0.0, 2.0 * self.settings.mirror_depth)
            if self.last_stamp is not None and not stamp > self.last_stamp:
                raise ValueError(f"stamp {stamp:.6f} is not newer than the previous one {self.last_stamp:.6f}")
            rotation = self.base_from_camera.rotation
            joints_base = joints @ rotation.T + self.base_from_camera.translation
            palm_rotation, wrist = palm_frame(joints_base, self.config.hand.side)
        except ValueError as exc:
            self.rejected += 1
            self.last_error = str(exc)
            raise
        max_dt = self.settings.max_step_dt
        dt = max_dt if self.last_stamp is None else min(stamp - self.last_stamp, max_dt)
        self.tick(now)  # a loss that no timer noticed yet still disengages the clutch
        self.tracking.seen(now)
        self.last_stamp = stamp
        palm = pin.SE3(palm_rotation, wrist)
        keypoints = (joints_base - wrist) @ palm_rotation
        target = self._arm_target(palm, current_arm)
        arm = None
        if target is not None:
            result = self.ik.solve(target, self._ik_seed if self._ik_seed is not None else current_arm)
            self.last_ik_error = result.position_error
            arm = self._ik_seed = result.q
        return Target(stamp, dt, arm, self.hand.retarget(keypoints), target)

    def rearm(self) -> None:
        """Relative mode: take a new clutch reference at the next tracked frame (after any hold or engage)."""
        self._ik_seed = None
        if self.settings.arm_mode == "relative":
            self.engaged, self.engage_requested, self._reference = False, True, None

    def step(self, joints_camera: np.ndarray, stamp: float, now: float) -> Command:
        """solve() plus the per-frame velocity limits (no command loop): one command per input frame, the time
        between input stamps (at most max_step_dt) granted to each. The node uses CommandLoop instead."""
        frame = self.solve(joints_camera, stamp, now, self.arm_limiter.last)
        desired = frame.arm if frame.arm is not None else self.arm_limiter.last
        arm = self.arm_limiter.limit(desired, frame.dt)
        hand = self.hand_limiter.limit(frame.hand, frame.dt)
        return Command(stamp, frame.dt, arm, hand, frame.ee_target, frame.arm is not None)

    def status(self, now: float) -> Status:
        lost = self.tick(now)
        s = self.settings
        values = {
            "arm_mode": s.arm_mode,
            "engaged": str(self.engaged),
            "tracking": "lost" if lost else "ok",
            "input_age_s": f"{self.tracking.age(now):.3f}",
            "tracking_losses": str(self.tracking.losses),
            "rejected_inputs": str(self.rejected),
            "last_rejection": self.last_error,
            "arm_position_clamped": str(self.arm_limiter.position_clamped),
            "arm_velocity_clamped": str(self.arm_limiter.velocity_clamped),
            "hand_position_clamped": str(self.hand_limiter.position_clamped),
            "hand_velocity_clamped": str(self.hand_limiter.velocity_clamped),
            "ik_position_error_m": f"{self.last_ik_error:.4f}",
        }
        if lost:
            what = "no hand received yet" if self.tracking.last_input is None else "tracking lost"
            return Status(1, f"{what}: holding the last command", values)
        if s.arm_mode == "relative" and not self.engaged:
            return Status(0, "relative mode, disengaged: arm holds, call ~/engage to follow", values)
        return Status(0, "following the hand", values)
