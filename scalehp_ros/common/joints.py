"""The hand joint convention used everywhere in the project (the one source of truth).

21 joints in OpenPose / MediaPipe / FreiHAND order: 0 wrist, then per finger from the palm outwards,
thumb (CMC, MCP, IP, tip), index, middle, ring, little (MCP, PIP, DIP, tip).
"""

from __future__ import annotations

import numpy as np

NUM_JOINTS = 21
FINGERS: tuple[str, ...] = ("thumb", "index", "middle", "ring", "little")
_FINGER_JOINTS = {
    "thumb": ("cmc", "mcp", "ip", "tip"),
    "index": ("mcp", "pip", "dip", "tip"),
    "middle": ("mcp", "pip", "dip", "tip"),
    "ring": ("mcp", "pip", "dip", "tip"),
    "little": ("mcp", "pip", "dip", "tip"),
}

JOINT_NAMES: tuple[str, ...] = ("wrist", *(f"{f}_{j}" for f in FINGERS for j in _FINGER_JOINTS[f]))
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}

# FINGER_CHAINS[f] = the 4 joint indices of finger f, palm to tip.
FINGER_CHAINS: dict[str, tuple[int, ...]] = {f: tuple(range(1 + 4 * k, 5 + 4 * k)) for k, f in enumerate(FINGERS)}
# PARENTS[i] = parent joint of joint i (-1 for the wrist): every finger base hangs off the wrist.
PARENTS: tuple[int, ...] = (-1, *(0 if (i - 1) % 4 == 0 else i - 1 for i in range(1, NUM_JOINTS)))
# BONES: (parent, child) for the 20 bones, in child order.
BONES: tuple[tuple[int, int], ...] = tuple((PARENTS[i], i) for i in range(1, NUM_JOINTS))
# The same bones as index arrays (read-only), for vectorised bone vectors: joints[..., BONE_CHILDREN, :] -
# joints[..., BONE_PARENTS, :] is (..., 20, 3) in BONES order.
BONE_PARENTS: np.ndarray = np.array([p for p, _ in BONES])
BONE_CHILDREN: np.ndarray = np.array([c for _, c in BONES])
BONE_PARENTS.setflags(write=False)
BONE_CHILDREN.setflags(write=False)

WRIST = 0
TIPS: tuple[int, ...] = tuple(chain[-1] for chain in FINGER_CHAINS.values())  # 4, 8, 12, 16, 20
THUMB_CMC = 1
INDEX_MCP, MIDDLE_MCP, RING_MCP, LITTLE_MCP = 5, 9, 13, 17
# The rigid palm: wrist, thumb CMC and the four MCPs (they move together; depth, root solve and fits lean on them).
PALM_JOINTS: tuple[int, ...] = (WRIST, THUMB_CMC, INDEX_MCP, MIDDLE_MCP, RING_MCP, LITTLE_MCP)
# The palm frame's plane (common.hand_frames): the rigid palm without the thumb CMC, which the thumb's
# opposition lifts out of the plane of the other five.
PALM_PLANE_JOINTS: tuple[int, ...] = (WRIST, INDEX_MCP, MIDDLE_MCP, RING_MCP, LITTLE_MCP)

SIDES: tuple[str, ...] = ("left", "right")

# RHD stores each finger tip-first; this maps RHD joint order to ours (joints_ours = joints_rhd[RHD_TO_OPENPOSE]).
RHD_TO_OPENPOSE: tuple[int, ...] = (0, 4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9, 16, 15, 14, 13, 20, 19, 18, 17)


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """Lengths of the 20 bones of (..., 21, 3) joints, shape (..., 20), in the joints' unit."""
    return np.linalg.norm(joints[..., BONE_CHILDREN, :] - joints[..., BONE_PARENTS, :], axis=-1)


def mean_bone_length(joints: np.ndarray) -> np.ndarray:
    """Mean of the 20 bone lengths of (..., 21, 3) joints: the ScaleHP hand scale, in the joints' unit."""
    return bone_lengths(joints).mean(axis=-1)


def frame_name(side: str, joint: int | str, prefix: str = "") -> str:
    """TF frame name of a joint, e.g. frame_name('right', 8) == 'right_hand_index_tip'."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    name = JOINT_NAMES[joint] if isinstance(joint, int) else joint
    if name not in JOINT_INDEX:
        raise ValueError(f"unknown joint {joint!r}")
    return f"{prefix}{side}_hand_{name}"
