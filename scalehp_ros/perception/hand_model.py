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

from scalehp_ros.common.joints import FINGER_CHAINS, FINGERS, NUM_JOINTS

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


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a x b for (..., 3) arrays (np.cross costs ten times more on the small batches of the model fit)."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    out[..., 0] = a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1]
    out[..., 1] = a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2]
    out[..., 2] = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return out


def _rotate(v: np.ndarray, axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Vectors v (N, 3) rotated about unit axes (N, 3) by angles (N,) (Rodrigues, without the matrices)."""
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    return v * c + _cross(axis, v) * s + axis * ((axis * v).sum(-1, keepdims=True) * (1.0 - c))


def in_palm(deg: float) -> np.ndarray:
    """The unit vector (3,) in the palm plane, deg degrees from y (the middle finger) towards -x."""
    return np.array([-np.sin(np.deg2rad(deg)), np.cos(np.deg2rad(deg)), 0.0])


_Z = np.array([0.0, 0.0, 1.0])
_LONG = FINGERS[1:]
_LONG_BASES = np.array([in_palm(MCP_SPREAD_DEG[f]) for f in _LONG])  # (4, 3) wrist->MCP directions
_LONG_CHAINS = np.array([FINGER_CHAINS[f] for f in _LONG])  # (4, 4) joint indices, palm to tip
_THUMB = FINGER_CHAINS["thumb"]


def _flexed(direction, across, flex, lengths):
    """Joint offsets (..., 3, 3) from the finger's first joint: bones turned by -cumsum(flex) (..., 3) about
    (direction x z), across = (direction x z) x direction; lengths (..., 3)."""
    total = np.cumsum(flex, axis=-1)[..., None]
    d = direction[..., None, :] * np.cos(total) - across[..., None, :] * np.sin(total)
    return np.cumsum(d * lengths[..., None], axis=-2)


def forward_kinematics(angles: np.ndarray, bone_lengths: np.ndarray) -> np.ndarray:
    """Right-hand joints (N, 21, 3) in the hand frame, wrist at 0, in the unit of bone_lengths.

    angles: (N, NUM_DOF) radians, `DOF_NAMES` order (not clipped to `DOF_LIMITS` here). bone_lengths: (N, 20)
    in joints.BONES order. Flexion turns a bone about (its direction x z) by minus the summed angles.
    """
    n = len(angles)
    joints = np.zeros((n, NUM_JOINTS, 3))
    # thumb: the metacarpal further out towards the thumb side (plus the CMC abduction), then rotated palmar
    z = np.broadcast_to(_Z, (n, 3))
    base = in_palm(THUMB_CMC_DEG)
    out = _rotate(np.broadcast_to(in_palm(THUMB_CMC_DEG + THUMB_METACARPAL_DEG), (n, 3)), z, angles[:, 0])
    direction = _rotate(out, np.broadcast_to(_cross(_Z, base), (n, 3)), -angles[:, 1])
    flex_axis = _cross(direction, _Z)
    flex_axis /= np.sqrt((flex_axis * flex_axis).sum(-1, keepdims=True))
    joints[:, _THUMB[0]] = base * bone_lengths[:, :1]
    flex = np.concatenate((np.zeros((n, 1)), angles[:, 2:4]), axis=1)
    offsets = _flexed(direction, _cross(flex_axis, direction), flex, bone_lengths[:, 1:4])
    joints[:, _THUMB[1:]] = joints[:, _THUMB[0], None] + offsets
    # long fingers, all four at once: the abduction turns the bone in the palm plane, so (direction x z) x
    # direction is z itself
    a = angles[:, 4:].reshape(n, 4, 4)
    lengths = bone_lengths[:, 4:].reshape(n, 4, 4)
    c, s = np.cos(a[..., 0])[..., None], np.sin(a[..., 0])[..., None]
    direction = _LONG_BASES * c + _cross(_Z, _LONG_BASES) * s  # (N, 4, 3)
    mcp = _LONG_BASES * lengths[..., :1]
    joints[:, _LONG_CHAINS[:, 0]] = mcp
    joints[:, _LONG_CHAINS[:, 1:]] = mcp[:, :, None] + _flexed(direction, _Z, a[..., 1:], lengths[..., 1:])
    return joints
