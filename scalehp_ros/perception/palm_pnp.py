"""Palm placement by perspective-n-point: an operator profile's palm, rigid, fitted to the 2D palm keypoints.

With an operator profile (perception.profile) the palm's bones are the operator's own, measured in the
detector's keypoint convention when the profile comes from the ArUco sheet (perception.calibration): a
detector whose keypoints sit wider than an annotated skeleton (MediaPipe's palm spans ~7 % more, issue 24) is
measured that wide. The palm (wrist and the four long fingers' MCPs) is the hand's rigid part, so its
calibrated shape fixes the hand's distance from its 2D palm keypoints: `place_palm` is a perspective-n-point
fit with the rotation taken from the detector's palm (Kabsch) and the translation solved in closed form, so
neither the detector's palm shape nor the fingers' articulation moves it. A free 6-DOF PnP of the five
keypoints (OpenCV's IPPE, planar target) was tried first: with the synthetic detector's 2D noise (1.5 % of
the hand's size per keypoint) its depth was off by 17.5 % on average and it found no solution in front of the
camera for 12 % of the hands, against 5.0 % with the detector's rotation (200 synthetic hands, true palm).

`palm_template` builds the palm: the kinematic model's rigid palm (perception.hand_model: each wrist->MCP bone
in the palm plane at its fixed spread, `hand_model.MCP_SPREAD_DEG`) with the profile's wrist->MCP lengths.
Applied by the estimator after the placement stage when `placement.palm_pnp` is on and a profile is in force
(`PlacementSettings.palm_pnp`; docs/accuracy.md shows it on the synthetic sheet renders).

Frames and units: hand frame (hand_model: y along the middle metacarpal, z the palm's normal; a left hand
mirrored in x) and camera optical frame, metres; keypoints normalised (K^-1 applied).
"""

from __future__ import annotations

import numpy as np

from scalehp_ros.common.joints import NUM_JOINTS, PALM_PLANE_JOINTS, WRIST
from scalehp_ros.perception import hand_model, root_solver

PALM: tuple[int, ...] = PALM_PLANE_JOINTS  # the rigid palm without the thumb (common.joints)
PALM_WEIGHTS = np.zeros(NUM_JOINTS)
PALM_WEIGHTS[list(PALM)] = 1.0
PALM_WEIGHTS.setflags(write=False)


def palm_template(bone_lengths: np.ndarray, is_left: bool) -> np.ndarray:
    """(5, 3) the `PALM` keypoints in the hand frame (m, wrist at 0, z = 0: a planar palm) of a hand with bone
    lengths (20,) m (joints.BONES order; only the wrist->MCP bones matter)."""
    bones = np.asarray(bone_lengths, dtype=np.float64)
    rest = hand_model.forward_kinematics(np.zeros((1, hand_model.NUM_DOF)), bones[None])[0]
    palm = rest[list(PALM)]
    return palm * np.array([-1.0, 1.0, 1.0]) if is_left else palm


def place_palm(template: np.ndarray, xy: np.ndarray, detected_palm: np.ndarray) -> np.ndarray | None:
    """(5, 3) the template's palm placed in the camera frame (m): turned as the detector's palm
    `detected_palm` (5, 3), camera axes, any placement (the rotation that best aligns the template's centred
    points with it, Kabsch), and moved so that it projects onto the palm keypoints xy (21, 2) normalised (only
    `PALM`'s rows; the closed-form least-squares translation of the root solve). None where the keypoints
    admit no placement in front of the camera."""
    obj = np.asarray(template, dtype=np.float64)
    det = np.asarray(detected_palm, dtype=np.float64)
    if not (np.isfinite(obj).all() and np.isfinite(det).all() and np.isfinite(xy).all()):
        return None
    a, b = obj - obj.mean(axis=0), det - det.mean(axis=0)
    u, _, vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(u @ vt))
    R = (u @ np.diag([1.0, 1.0, d]) @ vt).T  # a @ R.T ~ b
    rel = np.zeros((NUM_JOINTS, 3))
    rel[list(PALM)] = (obj - obj[0]) @ R.T
    try:
        t = root_solver.solve_translation(rel, xy, PALM_WEIGHTS)
    except ValueError:
        return None
    placed = rel[list(PALM)] + t
    return placed if placed[:, 2].min() > 0.0 else None


def place_hands(
    joints: np.ndarray, bone_lengths: np.ndarray, sides: list[str], xy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The placed hands (N, 21, 3) m moved rigidly so that each palm's centroid is where `place_palm` puts the
    profile's palm (bone_lengths (N, 20) m, sides 'left'/'right', keypoints xy (N, 21, 2) normalised), and
    each PnP palm's wrist (N, 3) m: the arm reference. A hand without a PnP placement stays where it was (its
    wrist as the reference)."""
    moved = np.array(joints, dtype=np.float64, copy=True)
    wrists = moved[:, WRIST].copy()
    for i, side in enumerate(sides):
        detected = moved[i, list(PALM)]
        palm = place_palm(palm_template(bone_lengths[i], side == "left"), xy[i], detected)
        if palm is None:
            continue
        moved[i] += palm.mean(axis=0) - detected.mean(axis=0)
        wrists[i] = palm[0]
    return moved, wrists
