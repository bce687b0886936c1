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

from scalehp_ros.common.joints import (
    BONE_CHILDREN,
    BONE_PARENTS,
    BONES,
    NUM_JOINTS,
    WRIST,
    bone_lengths,
    mean_bone_length,
)
from scalehp_ros.common.params import Settings, group, param
from scalehp_ros.perception.anthropometry import BONE_PROPORTIONS
from scalehp_ros.perception.camera import rotation_to_ray
from scalehp_ros.perception.lifter import load_lifter
from scalehp_ros.perception.model_fit import FitWeights, fit_hands

# Bone lengths of the canonical pose by `CanonicalSettings.proportions` ((20,) unit mean bone, joints.BONES
# order), None: the detector's own.
PROPORTIONS: dict[str, np.ndarray | None] = {"anthropometric": BONE_PROPORTIONS, "detector": None}
# Where the bone directions come from: the detector's relative pose, or the lifter (2D keypoints + that pose).
# fit: the kinematic hand (perception.hand_model) fitted to the 2D keypoints with the detector's pose as a prior.
CANONICAL_MODELS: tuple[str, ...] = ("detector", "lifter", "fit")


@dataclass(frozen=True)
class ModelFitSettings(Settings):
    """Weights of the kinematic model fit (canonical model 'fit', perception.model_fit's `FitWeights`)."""

    keypoint_sigma: float = param(
        FitWeights.keypoint_sigma,
        "expected 2D keypoint error (fraction of the hand's mean bone length in the image)",
        0.001,
        10.0,
    )
    prior_sigma_xy: float = param(
        FitWeights.prior_sigma_xy,
        "trust in the detector's bone vectors across the image plane (mean bone lengths)",
        0.001,
        10.0,
    )
    prior_sigma_z: float = param(
        FitWeights.prior_sigma_z, "trust in the detector's bone vectors in depth (mean bone lengths)", 0.001, 10.0
    )


@dataclass(frozen=True)
class CanonicalSettings(Settings):
    """Settings of the canonical pose stage (`canonical_from_detector`)."""

    model: str = param(
        "detector",
        "source of the bone directions: detector (MediaPipe's relative 3D), lifter (a small network trained on "
        "synthetic hands, reading the 2D keypoints and that 3D) or fit (a kinematic hand within anatomical joint "
        "limits fitted to the 2D keypoints under perspective, the detector's 3D as a prior)",
        choices=CANONICAL_MODELS,
    )
    proportions: str = param(
        "anthropometric",
        "bone lengths of the canonical pose: anthropometric (published proportions, the model's bone "
        "directions) or detector (the canonical model's own); a scale.operator_profile overrides both",
        choices=tuple(PROPORTIONS),
    )
    ray_align: bool = param(
        True,
        "read the detector's relative pose in the frame looking along the hand's viewing ray, not the optical "
        "axis (bool)",
    )
    model_fit: ModelFitSettings = group(ModelFitSettings)


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


def fit_weights(settings: CanonicalSettings) -> FitWeights:
    """The model fit's weights from the canonical stage's `model_fit` parameters."""
    fit = settings.model_fit
    return FitWeights(fit.keypoint_sigma, fit.prior_sigma_xy, fit.prior_sigma_z)


def canonical_from_detector(
    rel3d: np.ndarray,
    rays: np.ndarray,
    settings: CanonicalSettings,
    xy: np.ndarray | None = None,
    proportions: np.ndarray | None = None,
) -> np.ndarray:
    """Canonical poses (N, 21, 3) in camera axes from the detector's relative poses rel3d (N, 21, 3).

    rays: (N, 3) each hand's viewing ray (camera frame), used when settings.ray_align (and by the lifter).
    xy: (N, 21, 2) normalised keypoints, needed by settings.model 'lifter' and 'fit'. proportions: (20,) or
    (N, 20) bone lengths (unit mean) that override settings.proportions (an operator profile's). With
    'anthropometric' proportions the bones get the published proportions (directions kept).
    """
    R = rotation_to_ray(rays)
    if settings.model == "lifter":
        if xy is None:
            raise ValueError("canonical.model 'lifter' needs the normalised 2D keypoints xy")
        # the lifter reads and writes the ray frame; without ray_align the detector's pose is in camera axes
        rel_ray = rel3d if settings.ray_align else rel3d @ R
        canonical = load_lifter().lift(xy, rays, rel_ray) @ R.transpose(0, 2, 1)
        canonical, _ = canonical_pose(canonical)
    else:
        canonical, _ = canonical_pose(rel3d)
        if settings.ray_align:
            canonical = canonical @ R.transpose(0, 2, 1)
    lengths = PROPORTIONS[settings.proportions] if proportions is None else proportions
    if lengths is not None:
        canonical = with_bone_lengths(canonical, lengths)
    if settings.model == "fit":
        if xy is None:
            raise ValueError("canonical.model 'fit' needs the normalised 2D keypoints xy")
        weights = fit_weights(settings)
        model_lengths = bone_lengths(canonical) if lengths is None else lengths
        canonical = fit_hands(xy, canonical, model_lengths, weights).canonical
    return canonical


def hand_rays(xy: np.ndarray, focal: np.ndarray) -> np.ndarray:
    """Viewing rays (N, 3) through the centres of the hands' keypoint boxes in the image.

    xy: (N, 21, 2) normalised keypoints; focal: (2, 2) linear part of K. The box is the pixel box (the
    keypoints times focal, principal point aside), its centre mapped back to normalised coordinates.
    MediaPipe predicts its 3D landmarks from a crop around the hand, so they cannot depend on where the hand
    is in the image: they are expressed in a frame looking along this ray, not along the optical axis.
    """
    px = xy @ focal.T  # pixels relative to the principal point
    centre = np.linalg.solve(focal, (0.5 * (px.min(axis=1) + px.max(axis=1))).T).T
    return np.concatenate((centre, np.ones((len(centre), 1))), axis=1)
