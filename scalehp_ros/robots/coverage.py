"""Coverage matrix: every registered hand (each side) and every arm with one hand, driven by the recorded clip.

Hands: the clip's 21 MediaPipe keypoints per frame (data/human_joint_right_mediapipe.npy; mirrored in x for a
left hand) are put in the palm frame (scalehp_ros.common.hand_frames.palm_frame) and rotated into the hand's
wrist link by the palm axes found from the hand's own geometry (kinematics.palm_in_wrist: wrist -> middle
fingertip, little -> index fingertip at the zero pose; within 5 deg of the MANO convention for the hands that
follow it, and right for Shadow, Schunk and Fourier, which do not); each config vector (origin
link -> task link vs scaling_factor * human origin -> task keypoint) is retargeted by kinematics.VectorRetargeter
with mimic joints resolved. Reported per hand side: mean vector error (mm), frames with a joint outside its
URDF limits (mimic joints included; must be 0), time per frame (ms).

Arms: the composed arm + hand (compose.py) follows the clip's palm orientation (relative to its first frame)
at the arm's posture pose with the project's damped least-squares IK (retargeting.arm_ik); reported: position
and orientation error, frames with an arm joint outside its limits (must be 0), time per frame.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pinocchio as pin

from scalehp_ros.common.hand_frames import palm_frame
from scalehp_ros.retargeting.arm_ik import ArmIK
from scalehp_ros.retargeting.robot_config import ArmConfig
from scalehp_ros.retargeting.transforms import rpy_matrix
from scalehp_ros.robots import assets
from scalehp_ros.robots.compose import compose
from scalehp_ros.robots.dexconfig import DexConfig, load_dex_config
from scalehp_ros.robots.kinematics import CoupledHand, VectorRetargeter, palm_in_wrist
from scalehp_ros.robots.registry import ARMS, HANDS, RobotSpec

CLIP = "data/human_joint_right_mediapipe.npy"
PALM_IN_MANO_RPY = (0.0, -np.pi / 2, np.pi)  # palm axes (x, y, z) = MANO wrist axes (z, -y, x)
MIRROR_X = np.array([-1.0, 1.0, 1.0])


def palm_rotation(kin: CoupledHand, config: DexConfig, side: str) -> tuple[str, np.ndarray]:
    """(wrist link, palm axes in it): from the hand's geometry (kinematics.palm_in_wrist) when the config has
    at least three wrist -> fingertip vectors, else the hand root with the MANO convention."""
    pairs = [p for p in config.vector_pairs() if p[0] == 0]
    if len(pairs) >= 3:
        return pairs[0][1], palm_in_wrist(kin, pairs[0][1], [p[3] for p in pairs], side)
    return kin.summary.root, rpy_matrix(PALM_IN_MANO_RPY)


def load_clip(path: str | Path | None = None) -> np.ndarray:
    """(T, 21, 3) right-hand keypoints (m)."""
    return np.load(path or assets.project_dir() / CLIP)


def palm_keypoints(frames: np.ndarray, side: str) -> np.ndarray:
    """(T, 21, 3) keypoints in each frame's palm frame; a left hand is the clip mirrored through x = 0."""
    frames = frames * MIRROR_X if side == "left" else frames
    out = np.empty_like(frames)
    for k, joints in enumerate(frames):
        rotation, wrist = palm_frame(joints, side)
        out[k] = (joints - wrist) @ rotation
    return out


@dataclass
class HandRow:
    hand: str
    side: str
    actuated: int
    joints: int
    error_mm: float
    violations: int
    ms_per_frame: float


def hand_coverage(hand: str, side: str, frames: np.ndarray) -> HandRow:
    """Retarget `frames` (T, 21, 3 right-hand keypoints) onto one hand side; see the module docstring."""
    spec = HANDS[hand]
    config, summary = load_dex_config(spec.config_path(side))
    kin = CoupledHand(spec.urdf_path(side), summary)
    pairs = config.vector_pairs()
    solver = VectorRetargeter(kin, [p[1] for p in pairs], [p[3] for p in pairs], low_pass_alpha=config.low_pass_alpha)
    wrist, wrist_from_palm = palm_rotation(kin, config, side)
    root_from_palm = kin.placement(0.5 * (kin.lower + kin.upper), wrist).rotation @ wrist_from_palm
    origin = np.array([p[0] for p in pairs])
    task = np.array([p[2] for p in pairs])
    errors, violations, times = [], 0, []
    for keypoints in palm_keypoints(frames, side):
        target = config.scaling_factor * (keypoints[task] - keypoints[origin]) @ root_from_palm.T
        tic = time.perf_counter()
        q = solver.solve(target)
        times.append(time.perf_counter() - tic)
        errors.append(np.linalg.norm(solver.vectors(q) - target, axis=1).mean())
        violations += bool(kin.limit_violations(q))
    return HandRow(
        hand, side, kin.nq, len(summary.joints), 1e3 * float(np.mean(errors)), violations, 1e3 * float(np.median(times))
    )


@dataclass
class ArmRow:
    robot: str
    arm: str
    hand: str | None
    dof: int
    position_error_mm: float
    orientation_error_deg: float
    violations: int
    ms_per_frame: float


def arm_coverage(spec: RobotSpec, frames: np.ndarray, workdir: str | Path | None = None) -> ArmRow:
    """Drive the composed arm's hand mount through the clip's palm orientations (see the module docstring)."""
    arm = ARMS[spec.arm]
    composition = compose(spec)
    folder = Path(workdir or tempfile.mkdtemp(prefix="scalehp_robots_"))
    urdf = folder / f"{spec.name}.urdf"
    urdf.write_text(composition.urdf)
    model = composition.model()
    posture = np.asarray(arm.posture or np.zeros(len(composition.arm_joints)), dtype=float)
    ids = [model.getJointId(j) for j in composition.arm_joints]
    posture = np.clip(posture, [model.lowerPositionLimit[model.joints[i].idx_q] for i in ids],
                      [model.upperPositionLimit[model.joints[i].idx_q] for i in ids])  # fmt: skip
    ee, ee_rpy = composition.flange, (0.0, 0.0, 0.0)
    if spec.hand:
        config, summary = load_dex_config(HANDS[spec.hand].config_path(spec.side))
        kin = CoupledHand(HANDS[spec.hand].urdf_path(spec.side), summary)
        wrist, wrist_from_palm = palm_rotation(kin, config, spec.side)
        ee, ee_rpy = composition.names.get(wrist, wrist), tuple(pin.rpy.matrixToRpy(wrist_from_palm))
    root = next(f.name for f in model.frames if f.parentJoint == 0 and f.name != "universe")
    ik = ArmIK(ArmConfig(urdf, root, ee, ee_rpy, composition.arm_joints, posture))
    start = ik.forward(posture)
    rotations = [palm_frame(f * MIRROR_X if spec.side == "left" else f, spec.side)[0] for f in frames]
    pos_err, rot_err, times, violations = [], [], [], 0
    seed = posture
    for rotation in rotations:
        target = pin.SE3(start.rotation @ rotations[0].T @ rotation, start.translation)
        tic = time.perf_counter()
        result = ik.solve(target, seed)
        times.append(time.perf_counter() - tic)
        seed = result.q
        pos_err.append(result.position_error)
        rot_err.append(result.orientation_error)
        violations += bool(np.any(result.q < ik.lower - 1e-9) or np.any(result.q > ik.upper + 1e-9))
    return ArmRow(
        spec.name, spec.arm, spec.hand, len(composition.arm_joints), 1e3 * float(np.mean(pos_err)),
        float(np.degrees(np.mean(rot_err))), violations, 1e3 * float(np.median(times)),
    )  # fmt: skip
