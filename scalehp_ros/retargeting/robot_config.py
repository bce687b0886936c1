"""Robot configuration: a YAML in config/robots/ names the URDF(s), frames, joints and the finger mapping.

The robot is configuration, not code: another arm or hand needs only a new YAML. Loading validates everything
a later stage relies on (URDF files exist, every named link and joint exists, limits are finite, the finger
mapping uses known human keypoints, the retargeting type is one of RETARGETING_TYPES), so a bad file
fails at start-up with a ValueError naming the problem. Lengths in metres, angles in radians.

Configuration is data: this module imports nothing from the retargeting methods. `hand.build_hand_retargeter`
turns a HandConfig into the method it names (the registry lives with the methods, in hand/__init__.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from scalehp_ros.common.joints import JOINT_INDEX, NUM_JOINTS, WRIST
from scalehp_ros.common.share import package_path, package_share

# hand.retargeting.type choices; hand/__init__.py registers one method per name (a test checks they agree)
RETARGETING_TYPES = ("vector", "dexpilot", "position")


@dataclass(frozen=True)
class RetargetingParams:
    """Hand retargeting method (`type`, one of RETARGETING_TYPES), objective and solver settings (metres, radians).

    project_dist, escape_dist, eta1 and eta2 apply to the DexPilot method only.
    """

    type: str = "dexpilot"
    huber_delta: float = 0.02
    norm_delta: float = 4e-3
    project_dist: float = 0.03
    escape_dist: float = 0.05
    eta1: float = 1e-4
    eta2: float = 0.03
    low_pass_alpha: float = 0.2
    max_iterations: int = 20
    tolerance: float = 1e-4


@dataclass(frozen=True)
class ArmConfig:
    urdf: Path
    base_frame: str
    ee_frame: str
    ee_frame_rpy: tuple[float, float, float]
    joints: tuple[str, ...]
    posture: np.ndarray  # rad, in `joints` order


@dataclass(frozen=True)
class HandConfig:
    urdf: Path
    side: str
    wrist_link: str
    wrist_link_rpy: tuple[float, float, float]
    wrist_link_xyz: tuple[float, float, float]  # m: the operator's wrist point in wrist_link
    joints: tuple[str, ...]
    fingertips: tuple[tuple[int, str], ...]  # (human keypoint index, robot link), thumb first if present
    keypoints: tuple[tuple[int, str], ...]  # extra (human index, robot link) pairs for position retargeting
    scaling: float
    retargeting: RetargetingParams = field(default_factory=RetargetingParams)


@dataclass(frozen=True)
class RobotConfig:
    name: str
    source: Path
    arm: ArmConfig
    hand: HandConfig

    @property
    def joint_names(self) -> tuple[str, ...]:
        """All commanded joints, arm first (the JointState order)."""
        return (*self.arm.joints, *self.hand.joints)


def _require(mapping: dict, key: str, where: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise ValueError(f"{where}: missing required key {key!r}")
    return mapping[key]


def _names(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{where}: expected a non-empty list of names, got {value!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"{where}: duplicate names in {value!r}")
    return tuple(value)


def _vector3(value: Any, where: str, expected: str) -> tuple[float, float, float]:
    """Three finite numbers, or ValueError saying what was `expected` (e.g. "[x, y, z] in metres")."""
    if not isinstance(value, list | tuple) or len(value) != 3:
        raise ValueError(f"{where}: expected {expected}, got {value!r}")
    out = tuple(float(v) for v in value)
    if not all(math.isfinite(v) for v in out):
        raise ValueError(f"{where}: non-finite value in {value!r}, expected {expected}")
    return out  # type: ignore[return-value]


def _rpy(value: Any, where: str) -> tuple[float, float, float]:
    return _vector3(value, where, "[roll, pitch, yaw] in radians")


def _xyz(value: Any, where: str) -> tuple[float, float, float]:
    return _vector3(value, where, "[x, y, z] in metres")


def human_index(key: Any, where: str) -> int:
    """A human keypoint given by name (scalehp_ros.common.joints.JOINT_NAMES) or index 0..20."""
    if isinstance(key, bool):
        raise ValueError(f"{where}: bad human keypoint {key!r}")
    if isinstance(key, int):
        if not 0 <= key < NUM_JOINTS:
            raise ValueError(f"{where}: human keypoint index {key} outside 0..{NUM_JOINTS - 1}")
        return key
    if isinstance(key, str) and key in JOINT_INDEX:
        return JOINT_INDEX[key]
    raise ValueError(f"{where}: unknown human keypoint {key!r}; use a name from scalehp_ros.common.joints.JOINT_NAMES")


def _mapping(value: Any, where: str) -> tuple[tuple[int, str], ...]:
    if not isinstance(value, dict) or not value:
        raise ValueError(f"{where}: expected a mapping human keypoint -> robot link, got {value!r}")
    pairs = tuple((human_index(k, where), str(v)) for k, v in value.items())
    if any(k == WRIST for k, _ in pairs):
        raise ValueError(f"{where}: the wrist is the origin of every vector; map it through hand.wrist_link")
    return pairs


def _resolve(path_value: Any, where: str, base: Path) -> Path:
    """A URDF path: package://NAME/rel, absolute, or relative to the scalehp_ros share directory."""
    if not isinstance(path_value, str) or not path_value:
        raise ValueError(f"{where}: expected a URDF path, got {path_value!r}")
    if path_value.startswith("package://"):
        package, _, rel = path_value[len("package://") :].partition("/")
        path = package_path(package) / rel
    else:
        path = Path(path_value).expanduser()
        path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise ValueError(f"{where}: URDF file {path} does not exist")
    return path


def _retargeting(raw: dict, where: str) -> RetargetingParams:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected a mapping")
    known = set(RetargetingParams.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
    params = RetargetingParams(**raw)
    if params.type not in RETARGETING_TYPES:
        raise ValueError(f"{where}.type: {params.type!r} is not one of {RETARGETING_TYPES}")
    for name in ("huber_delta", "project_dist", "escape_dist", "eta1", "eta2", "tolerance"):
        value = getattr(params, name)
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValueError(f"{where}.{name}: must be a positive number, got {value!r}")
    if not (isinstance(params.norm_delta, int | float) and params.norm_delta >= 0):
        raise ValueError(f"{where}.norm_delta: must be >= 0, got {params.norm_delta!r}")
    if not 0.0 < params.low_pass_alpha <= 1.0:
        raise ValueError(f"{where}.low_pass_alpha: must be in (0, 1], got {params.low_pass_alpha!r}")
    if params.escape_dist <= params.project_dist:
        raise ValueError(f"{where}: escape_dist must be larger than project_dist")
    if not (isinstance(params.max_iterations, int) and params.max_iterations >= 1):
        raise ValueError(f"{where}.max_iterations: must be a positive integer, got {params.max_iterations!r}")
    return params


def load_robot_config(path: str | Path, share_dir: str | Path | None = None) -> RobotConfig:
    """Load and validate a robot YAML (yaml.safe_load); relative URDF paths resolve against `share_dir`.

    Raises ValueError naming the problem: a missing file or key, an unknown link or joint, a bad mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"robot config {path} does not exist")
    with path.open() as f:
        try:
            raw = yaml.safe_load(f)
        except yaml.YAMLError as exc:
            raise ValueError(f"robot config {path}: not valid YAML: {exc}") from exc
    where = str(path)
    base = Path(share_dir) if share_dir is not None else package_share()
    arm_raw = _require(raw, "arm", where)
    hand_raw = _require(raw, "hand", where)

    arm_joints = _names(_require(arm_raw, "joints", f"{where}: arm"), f"{where}: arm.joints")
    posture = np.asarray(_require(arm_raw, "posture", f"{where}: arm"), dtype=float)
    if posture.shape != (len(arm_joints),) or not np.all(np.isfinite(posture)):
        raise ValueError(f"{where}: arm.posture must hold {len(arm_joints)} finite angles (rad)")
    arm = ArmConfig(
        urdf=_resolve(_require(arm_raw, "urdf", f"{where}: arm"), f"{where}: arm.urdf", base),
        base_frame=str(_require(arm_raw, "base_frame", f"{where}: arm")),
        ee_frame=str(_require(arm_raw, "ee_frame", f"{where}: arm")),
        ee_frame_rpy=_rpy(arm_raw.get("ee_frame_rpy", [0, 0, 0]), f"{where}: arm.ee_frame_rpy"),
        joints=arm_joints,
        posture=posture,
    )
    side = hand_raw.get("side", "right")
    if side not in ("left", "right"):
        raise ValueError(f"{where}: hand.side must be 'left' or 'right', got {side!r}")
    scaling = float(_require(hand_raw, "scaling", f"{where}: hand"))
    if not (math.isfinite(scaling) and 0.1 <= scaling <= 10.0):
        raise ValueError(f"{where}: hand.scaling must be in [0.1, 10], got {scaling}")
    hand = HandConfig(
        urdf=_resolve(_require(hand_raw, "urdf", f"{where}: hand"), f"{where}: hand.urdf", base),
        side=side,
        wrist_link=str(_require(hand_raw, "wrist_link", f"{where}: hand")),
        wrist_link_rpy=_rpy(hand_raw.get("wrist_link_rpy", [0, 0, 0]), f"{where}: hand.wrist_link_rpy"),
        wrist_link_xyz=_xyz(hand_raw.get("wrist_link_xyz", [0, 0, 0]), f"{where}: hand.wrist_link_xyz"),
        joints=_names(_require(hand_raw, "joints", f"{where}: hand"), f"{where}: hand.joints"),
        fingertips=_mapping(_require(hand_raw, "fingertips", f"{where}: hand"), f"{where}: hand.fingertips"),
        keypoints=_mapping(hand_raw["keypoints"], f"{where}: hand.keypoints") if hand_raw.get("keypoints") else (),
        scaling=scaling,
        retargeting=_retargeting(hand_raw.get("retargeting", {}), f"{where}: hand.retargeting"),
    )
    if len(hand.fingertips) < 2:
        raise ValueError(f"{where}: hand.fingertips needs at least two fingers")
    if set(arm.joints) & set(hand.joints):
        raise ValueError(f"{where}: joints {sorted(set(arm.joints) & set(hand.joints))} are in both arm and hand")
    config = RobotConfig(name=str(raw.get("name", path.stem)), source=path, arm=arm, hand=hand)
    _check_names(config)
    return config


def _check_names(config: RobotConfig) -> None:
    """Every named joint and frame must exist in its URDF (and be a 1-DOF joint)."""
    import pinocchio as pin

    for part, urdf, joints, frames in (
        ("arm", config.arm.urdf, config.arm.joints, (config.arm.base_frame, config.arm.ee_frame)),
        (
            "hand",
            config.hand.urdf,
            config.hand.joints,
            (
                config.hand.wrist_link,
                *(link for _, link in config.hand.fingertips),
                *(link for _, link in config.hand.keypoints),
            ),
        ),
    ):
        try:
            model = pin.buildModelFromUrdf(str(urdf))
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f"{config.source}: {part}.urdf {urdf} could not be parsed: {exc}") from exc
        known_joints = {model.names[i]: model.joints[i].nq for i in range(1, model.njoints)}
        for joint in joints:
            if joint not in known_joints:
                raise ValueError(
                    f"{config.source}: {part} joint {joint!r} is not in {urdf.name}; joints: {sorted(known_joints)}"
                )
            if known_joints[joint] != 1:
                raise ValueError(f"{config.source}: {part} joint {joint!r} is not a 1-DOF revolute/prismatic joint")
        known_frames = {f.name for f in model.frames}
        for frame in frames:
            if frame not in known_frames:
                raise ValueError(f"{config.source}: {part} link/frame {frame!r} is not in {urdf.name}")
