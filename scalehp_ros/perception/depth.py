"""Depth (optional pipeline stage): a depth image registered to the colour image pins each hand's distance.

Input: a depth image of the colour image's size (HxW, metres; 0 or NaN where the sensor has no value), as
an RGB-D camera publishes it registered to its colour camera (realsense2_camera's
`aligned_depth_to_color/image_raw`, REP 118: 16UC1 millimetres or 32FC1 metres, converted by the node).

Per hand, per frame (`observe`):

1. **Samples** (`sample_depth`): at each keypoint, a (2h+1)^2 window (`depth.window_px`); holes (0, NaN,
   outside the sensor's range) are dropped and a window with too few values (`DEPTH_MIN_VALID_FRACTION`) is
   rejected. A window whose values spread (10-90 %) more than `depth.edge_m` straddles an edge (a finger
   over what is behind it, or flying pixels): with `depth.edge_near` its near cluster (the values up to its
   10th percentile plus `depth.edge_m`, if they are at least `EDGE_NEAR_MIN_FRACTION` of the window) is
   the surface, since the keypoint lies on the hand and the hand is the nearer side (anything else nearer is
   caught by steps 3 and 4, and by the estimator's re-solve); otherwise the window is rejected. The median
   of what is kept is the surface depth.
2. **Joint depth** (`surface_offset`): the joint centre lies behind the visible surface, on the keypoint's
   viewing ray, by the hand's half-thickness there (`SURFACE_OFFSET_M`: published finger breadths and palm
   thickness for the reference hand, scaled with the hand's scale). With `depth.surface_model: ray` the
   ray's path through the body is used: a finger joint's capsule is entered at r / sin(angle between the ray
   and an adjacent bone that comes towards the camera) (a finger pointing at the camera is seen end-on), a
   palm joint's slab at r / |cos(angle between the ray and the palm normal)|, at most `MAX_OBLIQUE_FACTOR`
   r; the bone directions and the palm normal come from the RGB-only solve. `axial`: r along the optical axis.
3. **Self-occlusion** (`depth.self_occlusion`): a joint whose viewing ray passes, in the RGB-only solve,
   through another part of the same hand in front of it (a finger curled over the palm, the back of the
   palm over the fingers) is not sampled: the depth there is the other part's.
4. **Plausibility**: the RGB-only solve of the same frame predicts each joint's depth up to the
   scale's error (ScaleHP: depth is proportional to the scale). A sample further than the band
   (`depth.band_frac` of the distance) from it is rejected (the background, the operator's body, an object
   far in front); the remaining samples vote on one ratio depth / RGB depth (their median, palm joints
   first), and a sample more than `depth.consensus_m` (or 4 sigma) from that ratio's prediction is rejected
   (a nearer object covering part of the hand, a finger seen through a gap). At least
   `depth.min_palm_joints` palm joints must remain, else the hand has no depth this frame.
5. **Noise model**: sigma_z = `depth.noise_per_m` * z^2 (stereo depth: disparity noise times z^2 / (f b);
   0.0036 /m is a RealSense D435 at 848x480 with its 0.08 px subpixel figure: 3.6 mm at 1 m), combined
   with the surface-offset model's own error (`depth.model_sigma_m`, doubled on fingers).

The result (`DepthObservation`) enters the root solve as one more least-squares term per joint with depth
(root_solver: (z_joint - z_measured) / sigma beside the 2D terms), and the median ratio is the frame's
depth-anchored scale for the online calibration (`perception.scale_calibration`), taken only from hands
whose palm faces the camera within `online_scale.max_palm_tilt_deg` (there the palm samples lie on the
slab's face, where the offset model is best). Metres, camera optical frame; keypoints in pixels of the
(distorted) colour image the depth image is registered to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalehp_ros.common.joints import (
    BONE_CHILDREN,
    BONE_PARENTS,
    INDEX_MCP,
    LITTLE_MCP,
    NUM_JOINTS,
    PALM_JOINTS,
    WRIST,
)
from scalehp_ros.common.params import Settings, param
from scalehp_ros.perception.anthropometry import PRIOR_MEAN_BONE_M

IS_PALM = np.zeros(NUM_JOINTS, dtype=bool)
IS_PALM[list(PALM_JOINTS)] = True
DEPTH_MIN_VALID_FRACTION = 0.5  # of a window's pixels, for its median to count
EDGE_NEAR_MIN_FRACTION = 1.0 / 3.0  # of a window's pixels, for the near side of an edge to count
# Joint centre behind the visible surface, metres, for the reference hand (mean bone PRIOR_MEAN_BONE_M):
# half the wrist thickness (about 40 mm), half the hand thickness at the metacarpals (about 30 mm, Pheasant &
# Haslegrave 2006) at the thumb CMC and the knuckles, half the finger breadths at the other joints (thumb:
# MCP, IP, tip; fingers: PIP, DIP, tip).
_FINGER = (0.015, 0.0085, 0.0075, 0.0065)
SURFACE_OFFSET_M = np.array((0.020, 0.015, 0.0105, 0.0095, 0.0085, *(_FINGER * 4)))
SURFACE_OFFSET_M.setflags(write=False)
# A ray grazing a finger or the palm enters it at most this many half-thicknesses before the joint: the body
# is a few half-thicknesses long and wide, and the RGB-only bone directions it is computed from are least
# sure in depth exactly when the ray grazes.
MAX_OBLIQUE_FACTOR = 2.5
OCCLUSION_POINTS = 5  # points sampled along each bone for the self-occlusion test
SURFACE_MODELS = ("ray", "axial")
# The self-occlusion test's geometry, fixed by the skeleton: the inner points of each bone (its ends are the
# joints, which the points nearest them cover within a radius), then the palm's interior (the centroids of
# the wrist-knuckle triangles); and which of those points belong to each joint itself (its own bones, and
# the palm for palm joints), which never count as covering it.
_OCC_T = np.linspace(0.0, 1.0, OCCLUSION_POINTS)[1:-1]
_PALM_RIM = list(PALM_JOINTS[1:])  # thumb CMC, index .. little MCP
_OWN_BONES = (BONE_PARENTS[None, :] == np.arange(NUM_JOINTS)[:, None]) | (
    BONE_CHILDREN[None, :] == np.arange(NUM_JOINTS)[:, None]
)  # (21, 20)
_OCC_OWN = np.concatenate(
    (np.repeat(_OWN_BONES, len(_OCC_T), axis=1), np.repeat(IS_PALM[:, None], len(_PALM_RIM) - 1, axis=1)), axis=1
)  # (21, P)


@dataclass(frozen=True)
class DepthSettings(Settings):
    """Settings of the depth stage (`observe`); used only when a depth image is given."""

    fusion: bool = param(True, "use a registered depth image when one is given (false: RGB only)")
    window_px: int = param(2, "half-size of the depth window at each keypoint (px): (2h+1)^2 pixels", 0, 10)
    min_m: float = param(0.1, "nearest valid depth of the sensor (m)", 0.0, 10.0)
    max_m: float = param(3.0, "farthest valid depth of the sensor (m)", 0.1, 50.0)
    edge_m: float = param(
        0.02, "a window whose depths spread (10-90 %) more than this straddles an edge (m)", 0.001, 1.0
    )
    edge_near: bool = param(True, "at an edge keep the window's near side (the hand), else reject the window")
    surface_model: str = param(
        "ray",
        "joint behind the surface: along the viewing ray through finger or palm, or axial",
        choices=SURFACE_MODELS,
    )
    self_occlusion: bool = param(True, "skip joints another part of the hand covers (by the RGB-only solve)")
    noise_per_m: float = param(
        0.0036, "sensor noise model sigma_z = a z^2, a in 1/m (D435 at 848x480: 0.0036)", 0.0, 0.1
    )
    model_sigma_m: float = param(
        0.005, "error of the surface-to-joint offset model on the palm, doubled on fingers (m)", 0.0005, 0.1
    )
    band_frac: float = param(
        0.4, "plausible band around the RGB-only depth, as a fraction of the distance (scale uncertainty)", 0.02, 1.0
    )
    consensus_m: float = param(
        0.03, "samples further than this (or 4 sigma) from the hand's consensus depth are rejected (m)", 0.005, 0.5
    )
    min_palm_joints: int = param(2, "palm joints with valid depth needed to use depth for a hand", 1, 6)
    fingers: bool = param(True, "also constrain finger joints with their depth (else the palm only)")


@dataclass(frozen=True)
class DepthObservation:
    """Depth terms of N hands for the root solve. z: (N, 21) measured joint depth (m), NaN where none;
    sigma: (N, 21) its standard deviation (m); ratio: (N,) median measured / RGB-only depth over the palm
    (NaN where the hand has no depth: then its z is all NaN); confidence: (N,) [0-1] the fraction of the
    palm joints with valid depth; rejected: (N,) samples rejected by the plausibility tests; palm_facing:
    (N,) |cos| of the angle between the palm normal and the wrist's viewing ray (1: palm or back square to
    the camera, 0: edge-on), from the RGB-only solve."""

    z: np.ndarray
    sigma: np.ndarray
    ratio: np.ndarray
    confidence: np.ndarray
    rejected: np.ndarray
    palm_facing: np.ndarray

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
    h = settings.window_px
    rows, cols = depth.shape
    k = np.arange(-h, h + 1)
    u = np.rint(uv[..., 0]).astype(np.int64)[..., None, None] + k[None, :]
    v = np.rint(uv[..., 1]).astype(np.int64)[..., None, None] + k[:, None]
    inside = (u >= 0) & (u < cols) & (v >= 0) & (v < rows)
    win = depth[np.clip(v, 0, rows - 1), np.clip(u, 0, cols - 1)].astype(np.float64)  # (N, 21, w, w)
    ok = inside & np.isfinite(win) & (win >= settings.min_m) & (win <= settings.max_m)
    win = np.sort(np.where(ok, win, np.inf).reshape(-1, ok.shape[-1] * ok.shape[-2]), axis=-1)  # holes last
    count = ok.reshape(len(win), -1).sum(-1)
    rows_i = np.arange(len(win))

    def pct(q: float) -> np.ndarray:  # the q-quantile of each window's valid values (nearest rank)
        return win[rows_i, np.clip(np.rint(q * (count - 1)).astype(np.int64), 0, win.shape[1] - 1)]

    enough = count >= max(1, DEPTH_MIN_VALID_FRACTION * win.shape[1])
    with np.errstate(invalid="ignore"):
        flat = enough & (pct(0.9) - pct(0.1) <= settings.edge_m)
        out = np.where(flat, pct(0.5), np.nan)
        if settings.edge_near:  # an edge: the near side's median, if the near side is big enough
            edge = enough & ~flat
            near = win <= (pct(0.1) + settings.edge_m)[:, None]  # sorted: a prefix of each row
            n_near = near.sum(-1)
            keep = edge & (n_near >= EDGE_NEAR_MIN_FRACTION * win.shape[1])
            mid = win[rows_i, np.clip((n_near - 1) // 2, 0, win.shape[1] - 1)]
            out = np.where(keep, mid, out)
    return out.reshape(uv.shape[:-1])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _half_thickness(scale: np.ndarray) -> np.ndarray:
    """(N, 21) the body's half-thickness at each joint (m) for hands of mean bone length `scale` (N,) m."""
    return SURFACE_OFFSET_M * (np.asarray(scale, dtype=np.float64) / PRIOR_MEAN_BONE_M)[:, None]


def palm_normal(joints: np.ndarray) -> np.ndarray:
    """(N, 3) unit normal of the palm plane of hands (N, 21, 3) (sign arbitrary)."""
    w = joints[:, WRIST]
    return _unit(np.cross(joints[:, INDEX_MCP] - w, joints[:, LITTLE_MCP] - w))


def surface_offset(joints: np.ndarray, scale: np.ndarray, model: str = "ray") -> np.ndarray:
    """Depth (N, 21), metres along the optical axis, from the surface the camera sees at each joint's
    keypoint to the joint centre, for hands `joints` (N, 21, 3) (camera frame, m; the RGB-only solve) of
    mean bone length `scale` (N,) m. See the module docstring, step 2."""
    r = _half_thickness(scale)
    if model == "axial":
        return r
    ray = _unit(joints)  # (N, 21, 3) from the camera through each joint
    factor = np.ones_like(r)
    # fingers: each bone at a non-palm joint; the ray enters that bone's capsule before the joint only when
    # the bone comes towards the camera from the joint (cos < 0), at r / sin, or at its far end
    bone = joints[:, BONE_CHILDREN] - joints[:, BONE_PARENTS]  # (N, 20, 3)
    length = np.linalg.norm(bone, axis=-1)
    d = bone / np.maximum(length, 1e-12)[..., None]
    for joint_idx, sign in ((BONE_PARENTS, 1.0), (BONE_CHILDREN, -1.0)):  # the bone as seen from that end
        cos = sign * np.einsum("nbk,nbk->nb", ray[:, joint_idx], d)
        sin = np.sqrt(np.maximum(1.0 - cos**2, 1e-12))
        rj = r[:, joint_idx]
        t = np.minimum(rj / sin, length / np.maximum(-cos, 1e-6) + rj) / rj
        t = np.where((cos < 0) & ~IS_PALM[joint_idx], t, 1.0)
        np.maximum.at(factor.T, joint_idx, t.T)
    # palm joints: the slab, entered at r / |cos(ray, normal)|
    cos_palm = np.abs(np.einsum("njk,nk->nj", ray, palm_normal(joints)))
    factor = np.where(IS_PALM, 1.0 / np.maximum(cos_palm, 1e-6), factor)
    return r * np.minimum(factor, MAX_OBLIQUE_FACTOR) * ray[..., 2]


def self_occluded(joints: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(N, 21) whether another part of the same hand lies on each joint's viewing ray in front of it:
    points along the 20 bones and across the palm, each with the body's half-thickness there, that the ray
    passes within that half-thickness of, nearer to the camera than the joint by more than both
    half-thicknesses. Bones at the joint itself do not count. joints (N, 21, 3) m, scale (N,) m."""
    r = _half_thickness(scale)
    n = len(joints)
    parents, children = joints[:, BONE_PARENTS, None], joints[:, BONE_CHILDREN, None]  # (N, 20, 1, 3)
    pts = (parents + _OCC_T[:, None] * (children - parents)).reshape(n, -1, 3)
    rad = (r[:, BONE_PARENTS, None] + _OCC_T * (r[:, BONE_CHILDREN] - r[:, BONE_PARENTS])[:, :, None]).reshape(n, -1)
    rim = joints[:, _PALM_RIM]
    tri = (joints[:, WRIST, None] + rim[:, :-1] + rim[:, 1:]) / 3.0
    pts = np.concatenate((pts, tri), axis=1)
    rad = np.concatenate((rad, np.repeat(r[:, INDEX_MCP : INDEX_MCP + 1], tri.shape[1], axis=1)), axis=1)
    ray = _unit(joints)  # (N, 21, 3)
    along = np.einsum("njk,npk->njp", ray, pts)  # (N, 21, P) distance of each point along each joint's ray
    perp = np.linalg.norm(pts[:, None] - along[..., None] * ray[:, :, None], axis=-1)
    dist = np.linalg.norm(joints, axis=-1)  # (N, 21)
    covers = (perp < rad[:, None]) & (along < dist[..., None] - r[..., None] - rad[:, None]) & ~_OCC_OWN[None]
    return covers.any(-1)


def observe(
    depth: np.ndarray, uv: np.ndarray, joints_rgb: np.ndarray, scale: np.ndarray, settings: DepthSettings
) -> DepthObservation:
    """Depth terms for N hands: keypoints uv (N, 21, 2) px, joints_rgb (N, 21, 3) the RGB-only solve of the
    same frame (camera frame, m), scale (N,) the mean bone length it used (m). See the module docstring."""
    n = len(uv)
    if n == 0:
        empty = np.zeros((0, NUM_JOINTS))
        return DepthObservation(empty, empty.copy(), np.zeros(0), np.zeros(0), np.zeros(0, dtype=int), np.zeros(0))
    scale = np.asarray(scale, dtype=np.float64)
    surface = sample_depth(depth, uv, settings)
    z = surface + surface_offset(joints_rgb, scale, settings.surface_model)
    sampled = np.isfinite(z)
    if not settings.fingers:
        sampled &= IS_PALM
    if settings.self_occlusion:
        sampled &= ~self_occluded(joints_rgb, scale)
    z_rgb = np.maximum(joints_rgb[..., 2], 1e-3)
    sigma = np.hypot(settings.noise_per_m * z**2, np.where(IS_PALM, 1.0, 2.0) * settings.model_sigma_m)
    with np.errstate(invalid="ignore"):
        ratio_i = z / z_rgb
        ok = sampled & (np.abs(ratio_i - 1.0) <= settings.band_frac)
    ratio = np.full(n, np.nan)
    for i in range(n):
        tol = np.maximum(settings.consensus_m, 4.0 * sigma[i])
        palm = ok[i] & IS_PALM
        cand = np.flatnonzero(palm if palm.sum() >= settings.min_palm_joints else ok[i])
        if len(cand) == 0:
            continue
        # consensus: the candidate ratio that most palm samples agree with; on a tie the farthest (whatever
        # is in front of a hand only makes its samples nearer)
        rc = ratio_i[i, cand]
        support = (np.abs(z[i, cand][None] - rc[:, None] * z_rgb[i, cand][None]) <= tol[cand][None]).sum(-1)
        r = rc[np.lexsort((rc, support))[-1]]
        ok[i] &= np.abs(z[i] - r * z_rgb[i]) <= tol
        if (ok[i] & IS_PALM).sum() >= settings.min_palm_joints:
            ratio[i] = float(np.median(ratio_i[i, ok[i] & IS_PALM]))
        else:
            ok[i] = False
    rejected = (sampled & ~ok).sum(-1)
    confidence = (ok & IS_PALM).sum(-1) / len(PALM_JOINTS)
    facing = np.abs(np.einsum("nk,nk->n", _unit(joints_rgb[:, WRIST]), palm_normal(joints_rgb)))
    return DepthObservation(np.where(ok, z, np.nan), sigma, ratio, confidence, rejected, facing)
