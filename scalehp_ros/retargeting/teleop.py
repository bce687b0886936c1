"""Teleoperation targets: camera-frame hand joints -> arm and hand joint targets (ROS-free, no limits, no state
machine).

Per frame: the 21 joints (camera optical frame, metres) go to the robot base frame (camera pose in the base
frame), the palm frame is fitted (scalehp_ros.common.hand_frames.palm_frame), the arm mode maps the palm pose to
an end-effector target (clamped to the workspace box, base frame), damped least-squares IK (arm_ik) gives the
arm joints and hand retargeting (hand/) the finger joints. Units: metres, radians, seconds. Arm modes:
- absolute: target = offset * palm pose (a fixed transform applied in the base frame);
- relative: a clutch. The first frame after `reset_reference()` (or the first frame at all) records the palm
  pose and the end-effector pose of the arm's current command; from then on the target moves by motion_scale
  times the palm's translation since that frame, and turns by the palm's rotation since that frame.
The targets are unlimited wishes. Engaging, holding, the deadman, the measured state, every watchdog and every
position / velocity / acceleration limit belong to one state machine, CommandLoop (command_loop.py), which
ramps the commands toward these targets and decides when the clutch reference is taken again.
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
from scalehp_ros.retargeting.transforms import rpy_matrix

ARM_MODES = ("absolute", "relative")


@dataclass(frozen=True)
class TeleopSettings(Settings):
    """Target solver parameters (metres, radians; poses as xyz + URDF rpy), validated on construction. The
    limits and timeouts that make the commands safe are CommandLoopSettings."""

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
class Target:
    """What one frame asks for, before any limit: the command loop ramps toward it."""

    stamp: float  # s, copied from the input
    arm: np.ndarray  # rad, IK solution (config arm.joints order, inside the URDF limits)
    hand: np.ndarray  # rad, hand retargeting result (config hand.joints order, inside the position limits)
    ee_target: pin.SE3  # palm-convention end-effector target in the base frame


@dataclass
class Status:
    level: int  # 0 OK, 1 WARN, 2 ERROR (diagnostic_msgs levels)
    message: str
    values: dict[str, str] = field(default_factory=dict)


def _pose(xyz, rpy) -> pin.SE3:
    return pin.SE3(rpy_matrix(rpy), np.asarray(xyz, dtype=float))


class Teleoperator:
    """The target solver of one robot side: palm frame, arm mode (and its clutch reference), workspace clamp,
    IK and hand retargeting."""

    def __init__(self, config: RobotConfig, settings: TeleopSettings | None = None):
        self.config = config
        self.ik = ArmIK(config.arm)
        self.hand = build_hand_retargeter(config.hand)
        self.rejected = 0
        self.last_error = ""
        self.last_stamp: float | None = None
        self.last_ik_error = 0.0
        self._reference: tuple[pin.SE3, pin.SE3] | None = None
        self._ik_seed: np.ndarray | None = None  # the last IK solution (warm start of the next)
        self.configure(settings or TeleopSettings())

    @property
    def arm_rest(self) -> np.ndarray:
        """The arm's rest posture (rad): the robot YAML's posture, inside the limits."""
        return self.ik.posture.copy()

    @property
    def hand_rest(self) -> np.ndarray:
        """The hand's rest posture (rad): zero, clipped into the limits."""
        return self.hand.robot.clip(np.zeros(self.hand.robot.nq))

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
        if old is not None and old.arm_mode != settings.arm_mode:
            self.reset_reference()

    def set_camera_pose(self, base_from_camera: pin.SE3) -> None:
        """Camera optical frame pose in the robot base frame (e.g. from TF)."""
        self.base_from_camera = base_from_camera

    def reset_reference(self) -> None:
        """Relative mode: the next frame takes a new clutch reference (where the arm's command is then)."""
        self._reference = None
        self._ik_seed = None

    def restart_stream(self) -> None:
        """Forget the previous input stamp: the next frame starts a new stream (e.g. a replay from its start)."""
        self.last_stamp = None
        self.reset_reference()

    def _arm_target(self, palm: pin.SE3, current_arm: np.ndarray) -> pin.SE3:
        s = self.settings
        if s.arm_mode == "absolute":
            target = self.offset * palm
        else:
            if self._reference is None:
                self._reference = (palm.copy(), self.ik.forward(current_arm))
            palm0, ee0 = self._reference
            translation = ee0.translation + s.motion_scale * (palm.translation - palm0.translation)
            rotation = palm.rotation @ palm0.rotation.T @ ee0.rotation
            target = pin.SE3(rotation, translation)
        target.translation = np.clip(target.translation, s.workspace_min, s.workspace_max)
        return target

    def solve(self, joints_camera: np.ndarray, stamp: float, current_arm: np.ndarray) -> Target:
        """Targets (unlimited) for one frame of 21 joints (camera optical frame, metres) stamped `stamp` (s);
        `current_arm` is the arm's current command (rad: the IK's first seed and the relative-mode clutch
        reference).

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
        self.last_stamp = stamp
        palm = pin.SE3(palm_rotation, wrist)
        keypoints = (joints_base - wrist) @ palm_rotation
        target = self._arm_target(palm, current_arm)
        result = self.ik.solve(target, self._ik_seed if self._ik_seed is not None else current_arm)
        self.last_ik_error = result.position_error
        self._ik_seed = result.q
        return Target(stamp, result.q, self.hand.retarget(keypoints), target)

    def status_values(self) -> dict[str, str]:
        """The solver's diagnostics values (CommandLoop.status adds the state machine's)."""
        return {
            "arm_mode": self.settings.arm_mode,
            "rejected_inputs": str(self.rejected),
            "last_rejection": self.last_error,
            "ik_position_error_m": f"{self.last_ik_error:.4f}",
        }
