"""Depth (optional pipeline stage): a depth image registered to the colour image pins each hand's distance.

Input: a depth image of the colour image's size (HxW, metres; 0 or NaN where the sensor has no value), as
an RGB-D camera publishes it registered to its colour camera (realsense2_camera's
`aligned_depth_to_color/image_raw`, REP 118: 16UC1 millimetres or 32FC1 metres, converted by the node).

Per hand, per frame (`observe`):

1. **Samples** (`sample_depth`): at each keypoint, a (2h+1)^2 window (`depth_window_px`); holes (0, NaN,
   outside the sensor's range) are dropped; a window with too few values (`DEPTH_MIN_VALID_FRACTION`) or
   whose values spread more than `depth_edge_m` (it straddles an edge: the hand and what is behind it, or
   flying pixels) is rejected; otherwise its median is the visible surface's depth.
2. **Joint depth**: the keypoint's joint lies inside the hand, behind the surface the camera sees, by about
   the hand's half-thickness there (`SURFACE_OFFSET_M`: published finger breadths and palm thickness for
   the reference hand, scaled with the hand's scale).
3. **Plausibility** (`select`): the RGB-only solve of the same frame predicts each joint's depth up to the
   scale's error (ScaleHP: depth is proportional to the scale). A sample further than the band
   (`depth_band_frac` of the distance) from it is rejected (the background, the operator's body, an object
   far in front); the remaining samples vote on one ratio depth / RGB depth (their median, palm joints
   first), and a sample more than `depth_consensus_m` (or 4 sigma) from that ratio's prediction is rejected
   (a nearer object covering part of the hand, a finger seen through a gap). At least
   `depth_min_palm_joints` palm joints must remain, else the hand has no depth this frame.
4. **Noise model**: sigma_z = `depth_noise_per_m` * z^2 (stereo depth: disparity noise times z^2 / (f b);
   0.0036 /m is a RealSense D435 at 848x480 with its 0.08 px subpixel figure: 3.6 mm at 1 m), combined
   with the surface-offset model's own error (`depth_model_sigma_m`, doubled on fingers).

The result (`DepthObservation`) enters the root solve as one more least-squares term per joint with depth
(root_solver: (z_joint - z_measured) / sigma beside the 2D terms), and the median ratio is the frame's
depth-anchored scale for the online calibration (`perception.scale_calibration`). Metres, camera optical
frame; keypoints in pixels of the (distorted) colour image the depth image is registered to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalehp_ros.common.joints import INDEX_MCP, LITTLE_MCP, MIDDLE_MCP, NUM_JOINTS, RING_MCP, WRIST
from scalehp_ros.common.params import Settings, param
from scalehp_ros.perception.anthropometry import PRIOR_MEAN_BONE_M

PALM_JOINTS = (WRIST, 1, INDEX_MCP, MIDDLE_MCP, RING_MCP, LITTLE_MCP)  # wrist, thumb CMC, four MCPs
IS_PALM = np.zeros(NUM_JOINTS, dtype=bool)
IS_PALM[list(PALM_JOINTS)] = True
DEPTH_MIN_VALID_FRACTION = 0.5  # of a window's pixels, for its median to count
# Joint centre behind the visible surface, metres, for the reference hand (mean bone PRIOR_MEAN_BONE_M):
# half the wrist thickness (about 40 mm), half the hand thickness at the metacarpals (about 30 mm, Pheasant &
# Haslegrave 2006) at the thumb CMC and the knuckles, half the finger breadths at the other joints (thumb:
# MCP, IP, tip; fingers: PIP, DIP, tip).
_FINGER = (0.015, 0.0085, 0.0075, 0.0065)
SURFACE_OFFSET_M = np.array((0.020, 0.015, 0.0105, 0.0095, 0.0085, *(_FINGER * 4)))
SURFACE_OFFSET_M.setflags(write=False)


@dataclass(frozen=True)
class DepthSettings(Settings):
    """Settings of the depth stage (`observe`); used only when a depth image is given."""

    depth_fusion: bool = param(True, "use a registered depth image when one is given (false: RGB only)")
    depth_window_px: int = param(2, "half-size of the depth window at each keypoint (px): (2h+1)^2 pixels", 0, 10)
    depth_min_m: float = param(0.1, "nearest valid depth of the sensor (m)", 0.0, 10.0)
    depth_max_m: float = param(3.0, "farthest valid depth of the sensor (m)", 0.1, 50.0)
    depth_edge_m: float = param(
        0.02, "a window whose depths spread (10-90 %) more than this straddles an edge and is rejected (m)", 0.001, 1.0
    )
    depth_noise_per_m: float = param(
        0.0036, "sensor noise model sigma_z = a z^2, a in 1/m (D435 at 848x480: 0.0036)", 0.0, 0.1
    )
    depth_model_sigma_m: float = param(
        0.005, "error of the surface-to-joint offset model on the palm, doubled on fingers (m)", 0.0005, 0.1
    )
    depth_band_frac: float = param(
        0.4, "plausible band around the RGB-only depth, as a fraction of the distance (scale uncertainty)", 0.02, 1.0
    )
    depth_consensus_m: float = param(
        0.03, "samples further than this (or 4 sigma) from the hand's consensus depth are rejected (m)", 0.005, 0.5
    )
    depth_min_palm_joints: int = param(2, "palm joints with valid depth needed to use depth for a hand", 1, 6)
    depth_fingers: bool = param(True, "also constrain finger joints with their depth (else the palm only)")


@dataclass(frozen=True)
class DepthObservation:
    """Depth terms of N hands for the root solve. z: (N, 21) measured joint depth (m), NaN where none;
    sigma: (N, 21) its standard deviation (m); ratio: (N,) median measured / RGB-only depth over the palm
    (NaN where the hand has no depth: then its z is all NaN); confidence: (N,) [0-1] the fraction of the
    palm joints with valid depth; rejected: (N,) samples rejected by the plausibility tests."""

    z: np.ndarray
    sigma: np.ndarray
    ratio: np.ndarray
    confidence: np.ndarray
    rejected: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        """(N,) whether each hand has depth this frame."""
        return np.isfinite(self.ratio)


def validate_depth(depth: object, image_size: tuple[int, int] | None) -> np.ndarray:
    """The depth image as an HxW float array of metres; ValueError for another type, shape or size.
    image_size: (width, height) of the colour image it must be registered to (None: not checked)."""
    if not isinstance(depth, np.ndarray):
        raise ValueError(f"depth must be a numpy array, got {type(depth).__name__}")
    if depth.ndim != 2 or depth.dtype.kind != "f":
        raise ValueError(f"depth must be an HxW float array of metres, got {depth.dtype} {depth.shape}")
    if image_size is not None and (depth.shape[1], depth.shape[0]) != tuple(image_size):
        raise ValueError(
            f"depth image {depth.shape[1]}x{depth.shape[0]} is not the colour image's size "
            f"{image_size[0]}x{image_size[1]}: it must be registered to the colour camera"
        )
    return depth


def sample_depth(depth: np.ndarray, uv: np.ndarray, settings: DepthSettings) -> np.ndarray:
    """Robust surface depth (N, 21) at keypoints uv (N, 21, 2) px; NaN where holes, edges or off the image."""
    h = settings.depth_window_px
    rows, cols = depth.shape
    k = np.arange(-h, h + 1)
    u = np.rint(uv[..., 0]).astype(np.int64)[..., None, None] + k[None, :]
    v = np.rint(uv[..., 1]).astype(np.int64)[..., None, None] + k[:, None]
    inside = (u >= 0) & (u < cols) & (v >= 0) & (v < rows)
    win = depth[np.clip(v, 0, rows - 1), np.clip(u, 0, cols - 1)].astype(np.float64)  # (N, 21, w, w)
    ok = inside & np.isfinite(win) & (win >= settings.depth_min_m) & (win <= settings.depth_max_m)
    win = np.sort(np.where(ok, win, np.inf).reshape(-1, ok.shape[-1] * ok.shape[-2]), axis=-1)  # holes last
    count = ok.reshape(len(win), -1).sum(-1)
    rows_i = np.arange(len(win))

    def pct(q: float) -> np.ndarray:  # the q-quantile of each window's valid values (nearest rank)
        return win[rows_i, np.clip(np.rint(q * (count - 1)).astype(np.int64), 0, win.shape[1] - 1)]

    enough = count >= max(1, DEPTH_MIN_VALID_FRACTION * win.shape[1])
    with np.errstate(invalid="ignore"):
        flat = enough & (pct(0.9) - pct(0.1) <= settings.depth_edge_m)
    out = np.where(flat, pct(0.5), np.nan)
    return out.reshape(uv.shape[:-1])


def observe(
    depth: np.ndarray, uv: np.ndarray, z_rgb: np.ndarray, scale: np.ndarray, settings: DepthSettings
) -> DepthObservation:
    """Depth terms for N hands: keypoints uv (N, 21, 2) px, z_rgb (N, 21) the RGB-only solve's joint depths
    (m), scale (N,) the mean bone length it used (m). See the module docstring."""
    n = len(uv)
    surface = sample_depth(depth, uv, settings)
    z = surface + SURFACE_OFFSET_M * (np.asarray(scale, dtype=np.float64) / PRIOR_MEAN_BONE_M)[:, None]
    sampled = np.isfinite(z)
    if not settings.depth_fingers:
        sampled &= IS_PALM
    z_rgb = np.maximum(z_rgb, 1e-3)
    sigma = np.hypot(settings.depth_noise_per_m * z**2, np.where(IS_PALM, 1.0, 2.0) * settings.depth_model_sigma_m)
    with np.errstate(invalid="ignore"):
        ratio_i = z / z_rgb
        ok = sampled & (np.abs(ratio_i - 1.0) <= settings.depth_band_frac)
    ratio = np.full(n, np.nan)
    for i in range(n):
        tol = np.maximum(settings.depth_consensus_m, 4.0 * sigma[i])
        palm = ok[i] & IS_PALM
        cand = np.flatnonzero(palm if palm.sum() >= settings.depth_min_palm_joints else ok[i])
        if len(cand) == 0:
            continue
        # consensus: the candidate ratio that most palm samples agree with; on a tie the farthest (whatever
        # is in front of a hand only makes its samples nearer)
        support = [
            (int((np.abs(z[i, cand] - ratio_i[i, c] * z_rgb[i, cand]) <= tol[cand]).sum()), ratio_i[i, c]) for c in cand
        ]
        r = max(support)[1]
        ok[i] &= np.abs(z[i] - r * z_rgb[i]) <= tol
        if (ok[i] & IS_PALM).sum() >= settings.depth_min_palm_joints:
            ratio[i] = float(np.median(ratio_i[i, ok[i] & IS_PALM]))
        else:
            ok[i] = False
    rejected = (sampled & ~ok).sum(-1)
    confidence = (ok & IS_PALM).sum(-1) / len(PALM_JOINTS)
    return DepthObservation(np.where(ok, z, np.nan), sigma, ratio, confidence, rejected)
