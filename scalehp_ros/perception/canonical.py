"""Canonical pose (pipeline stage 2): root-relative 3D joints normalised to unit mean bone length.

ScaleHP separates a hand's shape and articulation (the canonical pose, dimensionless) from its size (one
scale, the mean bone length in metres): metric root-relative joints = scale * canonical. Input: the
detector's relative 3D pose (any unit, axes parallel to the camera's but looking along the hand's viewing
ray); output: the canonical pose, wrist at the origin, in the camera optical frame's axes (x right, y down,
z forward). `CanonicalSettings` chooses the bone lengths (`PROPORTIONS`) and whether the detector's pose
is turned from the ray's frame into the camera's (`ray_align`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalehp_ros.common.joints import BONE_CHILDREN, BONE_PARENTS, BONES, NUM_JOINTS, WRIST, mean_bone_length
from scalehp_ros.common.params import Settings, param
from scalehp_ros.perception.anthropometry import BONE_PROPORTIONS
from scalehp_ros.perception.camera import rotation_to_ray

# Bone lengths of the canonical pose by `CanonicalSettings.proportions` ((20,) unit mean bone, joints.BONES
# order), None: the detector's own.
PROPORTIONS: dict[str, np.ndarray | None] = {"anthropometric": BONE_PROPORTIONS, "detector": None}


@dataclass(frozen=True)
class CanonicalSettings(Settings):
    """Settings of the canonical pose stage (`canonical_from_detector`)."""

    proportions: str = param(
        "anthropometric",
        "bone lengths of the canonical pose: anthropometric (published proportions, detector's bone "
        "directions) or detector (MediaPipe's own)",
        choices=tuple(PROPORTIONS),
    )
    ray_align: bool = param(
        True,
        "read the detector's relative pose in the frame looking along the hand's viewing ray, not the optical "
        "axis (bool)",
    )


_MIN_MEAN_BONE = 1e-9  # below this the input has collapsed to a point: there is no shape to normalise


def canonical_pose(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split 3D joints (..., 21, 3), any frame and unit, into (canonical (..., 21, 3), mean bone length (...)).

    The canonical pose has the wrist at the origin and a mean bone length of exactly 1; axes are kept.
    Raises ValueError for a wrong shape, non-finite values or a degenerate (zero-size) hand.
    """
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim < 2 or joints.shape[-2:] != (NUM_JOINTS, 3):
        raise ValueError(f"joints must have shape (..., {NUM_JOINTS}, 3), got {joints.shape}")
    if not np.all(np.isfinite(joints)):
        raise ValueError("joints contain non-finite values")
    rel = joints - joints[..., WRIST : WRIST + 1, :]
    size = mean_bone_length(rel)
    if np.any(size < _MIN_MEAN_BONE):
        raise ValueError("degenerate hand: mean bone length is zero")
    return rel / size[..., None, None], size


def with_bone_lengths(canonical: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Rebuild poses (..., 21, 3) down the kinematic tree, keeping each bone's direction, with new lengths.

    lengths: (20,) or (..., 20) in joints.BONES order (e.g. `anthropometry.BONE_PROPORTIONS` for a canonical
    pose with the population's proportions). A zero-length input bone keeps zero length.
    """
    vec = canonical[..., BONE_CHILDREN, :] - canonical[..., BONE_PARENTS, :]
    norm = np.linalg.norm(vec, axis=-1, keepdims=True)
    vec = vec * (np.asarray(lengths)[..., None] / np.maximum(norm, 1e-12))
    out = np.zeros_like(canonical)
    for b, (p, c) in enumerate(BONES):
        out[..., c, :] = out[..., p, :] + vec[..., b, :]
    return out


def canonical_from_detector(rel3d: np.ndarray, rays: np.ndarray, settings: CanonicalSettings) -> np.ndarray:
    """Canonical poses (N, 21, 3) in camera axes from the detector's relative poses rel3d (N, 21, 3).

    rays: (N, 3) each hand's viewing ray (camera frame), used when settings.ray_align. With
    settings.proportions 'anthropometric' the bones get the published proportions (directions kept).
    """
    canonical, _ = canonical_pose(rel3d)
    lengths = PROPORTIONS[settings.proportions]
    if lengths is not None:
        canonical = with_bone_lengths(canonical, lengths)
    if settings.ray_align:
        canonical = canonical @ rotation_to_ray(rays).transpose(0, 2, 1)
    return canonical
