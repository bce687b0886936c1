"""Depth fusion (pipeline stage 5, optional): the RGB-only solution refined with a registered depth image.

For the hands with valid depth samples (perception.depth.observe): a second root solve with the joint depths
as a least-squares term, at the hand-size authority's depth scale (perception.hand_size: the online
calibration's running estimate, else the frame's depth-anchored scale); samples that the solved joints lie
well behind (an occluder: a finger curled over the palm, an object) or well in front of are dropped and the
hands solved again. Returns the fused hands and, as events, the frame's depth-anchored scale samples for the
online calibration (the caller feeds them to the authority; nothing here writes files or keeps state).

Frames and units: metres, camera optical frame; keypoints normalised; reprojection errors in pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from scalehp_ros.perception import depth as depth_stage
from scalehp_ros.perception import root_solver
from scalehp_ros.perception.depth import DepthObservation
from scalehp_ros.perception.root_solver import RootSolution
from scalehp_ros.perception.settings import EstimatorConfig

OCCLUDED_M = 0.012  # a depth sample this far (or 3 sigma) nearer than its solved joint is an occluder's


@dataclass(frozen=True)
class Fused:
    """joints (N, 21, 3) m, reprojection errors (N,) px and scales (N,) m of all hands (those without depth
    keep the RGB-only solve); calibration_samples: depth-anchored scales (m) for the online calibration."""

    joints: np.ndarray
    errors: np.ndarray
    scale: np.ndarray
    calibration_samples: list[float] = field(default_factory=list)


def fuse(
    obs: DepthObservation,
    canonical: np.ndarray,
    scale: np.ndarray,
    depth_scale: np.ndarray,
    bone_lengths: np.ndarray | None,
    xy: np.ndarray,
    focal: np.ndarray,
    sol: RootSolution,
    config: EstimatorConfig,
) -> Fused:
    """The depth solve of the hands with valid depth. canonical (N, 21, 3) unit mean bone; scale (N,) m of the
    RGB-only solve `sol`; depth_scale (N,) m the depth solve's (`HandSize.depth_scale`); bone_lengths (N, 20)
    m at `scale` or None."""
    valid = obs.valid
    k = depth_scale[valid] / scale[valid]
    rel = depth_scale[valid, None, None] * canonical[valid]
    held = None if bone_lengths is None else bone_lengths[valid] * k[:, None]
    z, sigma = obs.z[valid], obs.sigma[valid]
    solve = config.root_solve
    dsol = root_solver.solve(rel, xy[valid], focal, solve, bone_lengths=held, depth=(z, sigma))
    with np.errstate(invalid="ignore"):
        r = dsol.joints[..., 2] - z
        bad = (r > np.maximum(3.0 * sigma, OCCLUDED_M)) | (r < -np.maximum(4.0 * sigma, 2.0 * OCCLUDED_M))
    if bad.any():
        z = np.where(bad, np.nan, z)
        dsol = root_solver.solve(rel, xy[valid], focal, solve, bone_lengths=held, depth=(z, sigma))
    samples = []
    cal = config.online_scale
    if cal.enabled:
        # the frame's depth-anchored scale from the samples that survived: scale x measured / RGB-only depth
        z_rgb = sol.joints[valid][..., 2]
        facing = obs.palm_facing[valid] >= math.cos(math.radians(cal.max_palm_tilt_deg))
        for zi, zr, s, f in zip(z, z_rgb, scale[valid], facing, strict=True):
            palm = np.isfinite(zi) & depth_stage.IS_PALM
            if f and palm.sum() >= config.depth.min_palm_joints:
                samples.append(float(s * np.median(zi[palm] / np.maximum(zr[palm], 1e-3))))
    joints, errors = sol.joints.copy(), sol.reprojection_error.copy()
    joints[valid], errors[valid] = dsol.joints, dsol.reprojection_error
    return Fused(joints, errors, np.where(valid, depth_scale, scale), samples)
