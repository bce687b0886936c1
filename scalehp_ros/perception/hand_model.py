"""The kinematic hand: joint angles and bone lengths -> the 21 joints (the one model of the project).

Used by the synthetic generator (`evaluation.synthetic` draws angles inside the limits) and by the model fit
of the canonical pose stage (`perception.model_fit`). Hand frame of a right hand: y along the middle finger's
metacarpal, z the palm's normal (x = y cross z), wrist at the origin; a left hand is its mirror image (x -> -x).
The palm is rigid: each wrist->MCP bone (and wrist->thumb CMC) has a fixed direction in the palm plane.

Degrees of freedom (`NUM_DOF` angles, radians, `DOF_NAMES` order): thumb CMC abduction (in the palm plane),
thumb opposition (the metacarpal turned out of the palm), thumb MCP and IP flexion; per long finger (index,
middle, ring, little) MCP abduction, MCP, PIP and DIP flexion. `DOF_LIMITS` are the anatomical ranges the
generator draws from (the thumb's CMC abduction, which the generator leaves at 0, is a modelling assumption).
"""

from __future__ import annotations

import numpy as np

from scalehp_ros.common.joints import BONES, FINGER_CHAINS, FINGERS, NUM_JOINTS

# Directions of the wrist->MCP bones in the palm plane, degrees from the middle finger towards the thumb.
MCP_SPREAD_DEG = {"index": 8.0, "middle": 0.0, "ring": -9.0, "little": -19.0}
# Flexion limits (degrees; positive = flexion), per joint of a long finger: MCP, PIP, DIP.
FLEX_LIMITS_DEG = ((-15.0, 90.0), (0.0, 105.0), (0.0, 80.0))
ABDUCTION_LIMIT_DEG = 15.0
# Thumb: CMC placement, metacarpal direction and flexion ranges (CMC-MCP opposition, MCP, IP).
THUMB_CMC_DEG = 40.0
THUMB_METACARPAL_DEG = 15.0  # the metacarpal's direction in the palm plane, beyond the CMC's
THUMB_OPPOSITION_DEG = (10.0, 70.0)
THUMB_FLEX_LIMITS_DEG = ((0.0, 50.0), (-10.0, 80.0))
THUMB_ABDUCTION_LIMIT_DEG = 20.0  # CMC abduction in the palm plane (modelling assumption)

DOF_NAMES: tuple[str, ...] = (
    "thumb_cmc_abduction",
    "thumb_opposition",
    "thumb_mcp_flexion",
    "thumb_ip_flexion",
    *(f"{f}_{j}" for f in FINGERS[1:] for j in ("mcp_abduction", "mcp_flexion", "pip_flexion", "dip_flexion")),
)
NUM_DOF = len(DOF_NAMES)  # 20
_LIMITS_DEG = [
    (-THUMB_ABDUCTION_LIMIT_DEG, THUMB_ABDUCTION_LIMIT_DEG),
    THUMB_OPPOSITION_DEG,
    *THUMB_FLEX_LIMITS_DEG,
]
for _ in FINGERS[1:]:
    _LIMITS_DEG += [(-ABDUCTION_LIMIT_DEG, ABDUCTION_LIMIT_DEG), *FLEX_LIMITS_DEG]
# (NUM_DOF, 2) lower and upper limit of each angle, radians.
DOF_LIMITS: np.ndarray = np.deg2rad(np.array(_LIMITS_DEG, dtype=np.float64))
DOF_LIMITS.setflags(write=False)


def axis_angle_matrices(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rodrigues: rotations (N, 3, 3) about axes (N, 3) (any length > 0) by angles (N,) radians."""
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    x, y, z = axis[:, 0], axis[:, 1], axis[:, 2]
    zero = np.zeros_like(x)
    k = np.stack((np.stack((zero, -z, y), -1), np.stack((z, zero, -x), -1), np.stack((-y, x, zero), -1)), -2)
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3) + s * k + (1.0 - c) * (k @ k)


def rotation_vectors_to_matrices(rotvec: np.ndarray) -> np.ndarray:
    """Rotations (N, 3, 3) from rotation vectors (N, 3) (axis times angle, radians); zero -> identity."""
    angle = np.linalg.norm(rotvec, axis=-1)
    axis = np.where(angle[:, None] > 1e-12, rotvec, np.array([0.0, 0.0, 1.0]))
    return axis_angle_matrices(axis, angle)


def forward_kinematics(angles: np.ndarray, bone_lengths: np.ndarray) -> np.ndarray:
    """Right-hand joints (N, 21, 3) in the hand frame, wrist at 0, in the unit of bone_lengths.

    angles: (N, NUM_DOF) radians, `DOF_NAMES` order (not clipped to `DOF_LIMITS` here). bone_lengths: (N, 20)
    in joints.BONES order.
    """
    n = len(angles)
    length_of = {c: bone_lengths[:, b] for b, (_, c) in enumerate(BONES)}
    joints = np.zeros((n, NUM_JOINTS, 3))
    z_axis = np.tile([0.0, 0.0, 1.0], (n, 1))
    for k, (finger, chain) in enumerate(FINGER_CHAINS.items()):
        a = angles[:, 4 * k : 4 * k + 4]
        if finger == "thumb":
            base = axis_angle_matrices(z_axis, np.full(n, np.deg2rad(THUMB_CMC_DEG))) @ np.array([0.0, 1.0, 0.0])
            joints[:, chain[0]] = base * length_of[chain[0]][:, None]
            # metacarpal: further out towards the thumb side (plus the CMC abduction), then rotated palmar
            lateral = np.cross(z_axis, base)
            out = axis_angle_matrices(z_axis, np.full(n, np.deg2rad(THUMB_METACARPAL_DEG))) @ np.array([0.0, 1.0, 0.0])
            cmc = axis_angle_matrices(z_axis, np.full(n, np.deg2rad(THUMB_CMC_DEG)) + a[:, 0])
            out = (cmc @ out[:, :, None])[..., 0]
            opp = axis_angle_matrices(lateral, -a[:, 1])
            direction = (opp @ out[:, :, None])[..., 0]
            flex = [np.zeros(n), a[:, 2], a[:, 3]]
        else:
            spread = np.deg2rad(MCP_SPREAD_DEG[finger])
            base = axis_angle_matrices(z_axis, np.full(n, spread)) @ np.array([0.0, 1.0, 0.0])
            joints[:, chain[0]] = base * length_of[chain[0]][:, None]
            direction = (axis_angle_matrices(z_axis, a[:, 0]) @ base[:, :, None])[..., 0]
            flex = [a[:, 1], a[:, 2], a[:, 3]]
        flex_axis = np.cross(direction, z_axis)
        total = np.zeros(n)
        for j, angle in enumerate(flex):
            total = total + angle
            d = (axis_angle_matrices(flex_axis, -total) @ direction[:, :, None])[..., 0]
            joints[:, chain[j + 1]] = joints[:, chain[j]] + d * length_of[chain[j + 1]][:, None]
    return joints
