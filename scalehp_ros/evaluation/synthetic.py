"""A kinematic hand generator with cameras and detector-like noise: ground truth for the solver.

Each sample is a hand of random size and proportions (hand length from the pooled anthropometric
distribution in `scalehp_ros.perception.anthropometry`, each bone jittered by a few percent), random articulation
inside the joint-angle limits of the kinematic hand (`scalehp_ros.perception.hand_model`), a random wrist
orientation, a wrist 0.25-1.2 m from a camera with random intrinsics, projected to 2D keypoints. Two noise
models stand in for a detector such as MediaPipe:

- 2D keypoints: Gaussian noise proportional to the hand's size in the image, plus rare outlier joints.
- relative 3D (the detector's root-relative pose): our model of the errors seen on annotated images
  (see README): depth is the weak axis, so the pose's depth is compressed towards the wrist plane, the
  whole hand is tilted by a small random rotation, every joint gets independent noise, larger in z, and
  each bone's length is off by a random factor (detectors get proportions wrong: on the RHD fixtures
  MediaPipe's index proximal phalanx is ~0.5 mean bone lengths long where the ground truth says ~0.85).
  Like a crop-based detector, it reports the pose in the frame looking along the hand's viewing ray.

Angles in radians, lengths in metres, camera optical frame (x right, y down, z forward).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalehp_ros.common.joints import BONES, FINGER_CHAINS, NUM_JOINTS
from scalehp_ros.perception import anthropometry, hand_model
from scalehp_ros.perception.camera import pixels_to_normalized, project, rotation_to_ray

BONE_JITTER = 0.05  # individual deviation of each bone from the population proportions (log-normal sigma)


@dataclass(frozen=True)
class NoiseModel:
    """Detector noise. px_sigma_frac: 2D sigma as a fraction of the hand's 2D diagonal; outlier_prob per
    joint, displaced by outlier_frac of the diagonal; depth_compression range for the relative pose's z;
    tilt_sigma_deg: random rotation of the relative pose; joint_sigma_xy_m / joint_sigma_z_m per joint;
    bone_length_sigma: log-normal sigma of each detected bone's length relative to the true one;
    ray_frame: the detected pose is expressed in the frame looking along the hand's viewing ray (as a
    crop-based detector must; see `canonical.hand_rays`) instead of the camera's axes.
    depth_flip_prob: probability that the whole detected pose is mirrored in depth (z -> -z in the ray frame:
    the monocular Necker reversal, which keeps the 2D projection; a palm tilted away read as tilted towards
    the camera). finger_flip_prob: per finger, probability that its bones beyond the MCP are mirrored in depth
    about the MCP (flexion towards the camera read as away). Both default to 0 (the evaluation's noise); the
    lifter's training noise (`TRAINING_NOISE`) uses them."""

    px_sigma_frac: float = 0.015
    outlier_prob: float = 0.02
    outlier_frac: float = 0.15
    depth_compression: tuple[float, float] = (0.5, 1.0)
    tilt_sigma_deg: float = 10.0
    joint_sigma_xy_m: float = 0.003
    joint_sigma_z_m: float = 0.008
    bone_length_sigma: float = 0.15
    ray_frame: bool = True
    depth_flip_prob: float = 0.0
    finger_flip_prob: float = 0.0


# The learned lifter's training noise (tools/train_lifter.py): the evaluation's model widened (stronger depth
# compression, larger tilts, larger depth noise) plus depth reversals of the whole hand and of single fingers,
# the failures of a monocular detector that keep its 2D projection. The 2D noise varies by chunk in training.
TRAINING_NOISE = NoiseModel(
    depth_compression=(0.3, 1.1),
    tilt_sigma_deg=15.0,
    joint_sigma_z_m=0.012,
    depth_flip_prob=0.1,
    finger_flip_prob=0.1,
)
NOISE_FREE = NoiseModel(0.0, 0.0, 0.0, (1.0, 1.0), 0.0, 0.0, 0.0, 0.0, ray_frame=False)


@dataclass(frozen=True)
class SyntheticBatch:
    """N samples. joints_cam (N,21,3) m; uv (N,21,2) px noisy; uv_true; rel_detected (N,21,3) the noisy
    relative pose in camera axes, wrist at 0, in the detector's arbitrary scale; K (N,3,3); hand_length (N,) m;
    is_left (N,) bool; image_size (N,2) width, height."""

    joints_cam: np.ndarray
    uv: np.ndarray
    uv_true: np.ndarray
    rel_detected: np.ndarray
    K: np.ndarray
    hand_length: np.ndarray
    is_left: np.ndarray
    image_size: np.ndarray


_rot = hand_model.axis_angle_matrices


def _random_rotations(rng: np.random.Generator, n: int) -> np.ndarray:
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack(
        (
            np.stack((1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)), -1),
            np.stack((2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)), -1),
            np.stack((2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)), -1),
        ),
        -2,
    )


def _u(rng: np.random.Generator, lo_hi: tuple[float, float], n: int) -> np.ndarray:
    return np.deg2rad(rng.uniform(lo_hi[0], lo_hi[1], n))


def random_operator(rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """One person's hand: (hand length m, the 20 bone lengths m, joints.BONES order), drawn as random_hands
    draws each sample's."""
    hand_length = float(
        np.clip(rng.normal(anthropometry.HAND_LENGTH_PRIOR_M, anthropometry.HAND_LENGTH_PRIOR_SD_M), 0.14, 0.23)
    )
    props = anthropometry.BONE_PROPORTIONS * np.exp(rng.normal(0.0, BONE_JITTER, len(BONES)))
    return hand_length, props * anthropometry.MEAN_BONE_PER_HAND_LENGTH * hand_length


def random_hands(
    rng: np.random.Generator, n: int, operator: tuple[float, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Right hands (N,21,3) in the hand frame (x towards the thumb, y along the middle finger, z palmar),
    wrist at the origin, and their hand lengths (N,) in metres. operator: one person's (hand length, bone
    lengths) (`random_operator`) for every sample, in random poses; default: a new person per sample."""
    hand_length = np.clip(
        rng.normal(anthropometry.HAND_LENGTH_PRIOR_M, anthropometry.HAND_LENGTH_PRIOR_SD_M, n), 0.14, 0.23
    )
    props = anthropometry.BONE_PROPORTIONS * np.exp(rng.normal(0.0, BONE_JITTER, (n, len(BONES))))
    bones = props * (anthropometry.MEAN_BONE_PER_HAND_LENGTH * hand_length)[:, None]
    if operator is not None:
        hand_length = np.full(n, operator[0])
        bones = np.broadcast_to(np.asarray(operator[1], dtype=np.float64), (n, len(BONES))).copy()
    # the angles, drawn in this order per finger (the generator's stream of draws): thumb opposition, MCP, IP;
    # long fingers abduction, PIP, DIP as a fraction of PIP, MCP (DIP follows PIP, as in real hands)
    angles = np.zeros((n, hand_model.NUM_DOF))
    for k, finger in enumerate(FINGER_CHAINS):
        a = angles[:, 4 * k : 4 * k + 4]
        if finger == "thumb":
            a[:, 1] = _u(rng, hand_model.THUMB_OPPOSITION_DEG, n)
            a[:, 2] = _u(rng, hand_model.THUMB_FLEX_LIMITS_DEG[0], n)
            a[:, 3] = _u(rng, hand_model.THUMB_FLEX_LIMITS_DEG[1], n)
        else:
            a[:, 0] = rng.uniform(-1.0, 1.0, n) * np.deg2rad(hand_model.ABDUCTION_LIMIT_DEG)
            a[:, 2] = _u(rng, hand_model.FLEX_LIMITS_DEG[1], n)
            a[:, 3] = np.clip(a[:, 2] * rng.uniform(0.4, 0.9, n), 0.0, np.deg2rad(hand_model.FLEX_LIMITS_DEG[2][1]))
            a[:, 1] = _u(rng, hand_model.FLEX_LIMITS_DEG[0], n)
    joints = hand_model.forward_kinematics(angles, bones)
    return joints, hand_length


def _scale_bones(rel: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Joints (N,21,3) rebuilt down the tree with each bone vector multiplied by factors (N,20)."""
    out = np.zeros_like(rel)
    for b, (p, c) in enumerate(BONES):
        out[:, c] = out[:, p] + (rel[:, c] - rel[:, p]) * factors[:, b, None]
    return out


def _depth_flips(rng: np.random.Generator, det: np.ndarray, noise: NoiseModel) -> np.ndarray:
    """The noise model's depth reversals of the detected poses (N, 21, 3), wrist at 0 (no draws when off)."""
    if noise.finger_flip_prob > 0.0:
        for chain in FINGER_CHAINS.values():
            flip = rng.random(len(det)) < noise.finger_flip_prob
            base = det[flip, chain[0], 2][:, None]
            det[np.ix_(flip, chain[1:], [2])] = (2.0 * base - det[np.ix_(flip, chain[1:])][..., 2])[..., None]
    if noise.depth_flip_prob > 0.0:
        det[rng.random(len(det)) < noise.depth_flip_prob, :, 2] *= -1.0
    return det


def _random_intrinsics(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    sizes = np.array([[640, 480], [1280, 720], [320, 320]], dtype=np.float64)[rng.integers(0, 3, n)]
    hfov = np.deg2rad(rng.uniform(45.0, 90.0, n))
    f = 0.5 * sizes[:, 0] / np.tan(0.5 * hfov)
    K = np.zeros((n, 3, 3))
    K[:, 0, 0] = f
    K[:, 1, 1] = f * rng.uniform(0.99, 1.01, n)
    K[:, 0, 2] = 0.5 * sizes[:, 0] * rng.uniform(0.95, 1.05, n)
    K[:, 1, 2] = 0.5 * sizes[:, 1] * rng.uniform(0.95, 1.05, n)
    K[:, 2, 2] = 1.0
    return K, sizes


def generate(
    n: int,
    noise: NoiseModel = NoiseModel(),
    seed: int = 0,
    operator: tuple[float, np.ndarray] | None = None,
    depth_range: tuple[float, float] = (0.25, 1.2),
) -> SyntheticBatch:
    """Draw n samples (deterministic for a given seed). operator: one person's hand for all samples
    (`random_operator`); depth_range: the wrist's distance from the camera, metres."""
    rng = np.random.default_rng(seed)
    hand, hand_length = random_hands(rng, n, operator)
    is_left = rng.random(n) < 0.5
    hand[is_left, :, 0] *= -1.0  # a left hand is the mirror image of a right one
    R = _random_rotations(rng, n)
    rel = hand @ R.transpose(0, 2, 1)
    K, sizes = _random_intrinsics(rng, n)
    depth = rng.uniform(*depth_range, n)
    # wrist pixel in the central part of the image, then back-projected to the drawn depth
    uv_w = sizes * rng.uniform(0.3, 0.7, (n, 2))
    xy = (uv_w - K[:, :2, 2]) / K[:, [0, 1], [0, 1]]
    wrist = np.concatenate((xy * depth[:, None], depth[:, None]), axis=1)
    joints = rel + wrist[:, None, :]
    # keep every joint in front of the camera
    joints[..., 2] = np.maximum(joints[..., 2], 0.05)
    uv_true = project(joints, K)
    diag = np.linalg.norm(uv_true.max(1) - uv_true.min(1), axis=-1)
    uv = uv_true + rng.normal(size=uv_true.shape) * (noise.px_sigma_frac * diag)[:, None, None]
    outlier = rng.random((n, NUM_JOINTS)) < noise.outlier_prob
    direction = rng.normal(size=(n, NUM_JOINTS, 2))
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    uv = uv + outlier[..., None] * direction * (noise.outlier_frac * diag)[:, None, None]
    # the detector's relative pose: tilted, depth compressed, per-joint noise, arbitrary overall scale
    rel_true = joints - joints[:, :1]
    if noise.ray_frame:
        # a crop-based detector sees the hand along its viewing ray: its pose is in that ray's frame
        centre = 0.5 * (uv_true.min(axis=1) + uv_true.max(axis=1))
        ray = np.concatenate((pixels_to_normalized(centre[:, None], K)[:, 0], np.ones((n, 1))), axis=1)
        rel_true = rel_true @ rotation_to_ray(ray)
    tilt_axis = np.concatenate((rng.normal(size=(n, 2)), np.zeros((n, 1))), axis=1) + 1e-12
    tilt = _rot(tilt_axis, np.deg2rad(rng.normal(0.0, noise.tilt_sigma_deg, n)))
    det = _scale_bones(rel_true, np.exp(rng.normal(0.0, noise.bone_length_sigma, (n, len(BONES)))))
    det = det @ tilt.transpose(0, 2, 1)
    det[..., 2] *= rng.uniform(*noise.depth_compression, n)[:, None]
    det = _depth_flips(rng, det, noise)
    det += rng.normal(size=det.shape) * np.array(
        [noise.joint_sigma_xy_m, noise.joint_sigma_xy_m, noise.joint_sigma_z_m]
    )
    det -= det[:, :1]
    det *= rng.uniform(0.6, 1.0, n)[:, None, None]  # detectors' metric scale is not to be trusted
    return SyntheticBatch(joints, uv, uv_true, det, K, hand_length, is_left, sizes)


# Finger gestures of the fixed-wrist sequences, as joint angles in degrees, hand_model.DOF_NAMES order: the thumb
# (CMC abduction, opposition, MCP, IP), then per long finger (MCP abduction, MCP, PIP, DIP); all inside
# hand_model.DOF_LIMITS, flexed gestures near the upper limits.
_OPEN_FINGER, _FIST_FINGER = (0.0, 0.0, 0.0, 0.0), (0.0, 85.0, 100.0, 75.0)
GESTURES_DEG: dict[str, tuple[float, ...]] = {
    "open": (0.0, 10.0, 0.0, 0.0, *_OPEN_FINGER * 4),
    "fist": (0.0, 65.0, 45.0, 75.0, *_FIST_FINGER * 4),
    "point": (0.0, 65.0, 45.0, 75.0, *_OPEN_FINGER, *_FIST_FINGER * 3),
    "pinch": (0.0, 60.0, 30.0, 35.0, 0.0, 50.0, 55.0, 35.0, *_OPEN_FINGER * 3),
}
# open -> close -> open -> point -> open -> pinch -> open
GESTURE_SEQUENCE = ("open", "fist", "open", "point", "open", "pinch", "open")


@dataclass(frozen=True)
class FixedWristSequence:
    """One hand whose wrist holds still (position and orientation) while its fingers move through
    GESTURE_SEQUENCE. joints_cam (F, 21, 3) m; uv (F, 21, 2) px detected; rel_detected (F, 21, 3); K (3, 3);
    is_left; image_size (width, height) px. The detector's systematic errors (tilt, bone-length factors, depth
    compression) are drawn once per sequence, its per-frame noise (2D, per-joint 3D) every frame."""

    joints_cam: np.ndarray
    uv: np.ndarray
    rel_detected: np.ndarray
    K: np.ndarray
    is_left: bool
    image_size: tuple[int, int]


def fixed_wrist_sequences(
    count: int, frames: int, noise: NoiseModel = NoiseModel(), seed: int = 0
) -> list[FixedWristSequence]:
    """`count` fixed-wrist sequences of `frames` frames (deterministic for a seed): a random person's hand at
    0.3-0.8 m in a random orientation with its palm or back at most 60 degrees from facing the camera, the fingers
    interpolated in joint-angle space through GESTURE_SEQUENCE (open, close, point, pinch)."""
    rng = np.random.default_rng(seed)
    keys = np.deg2rad(np.array([GESTURES_DEG[g] for g in GESTURE_SEQUENCE]))
    s = np.linspace(0.0, len(keys) - 1.0, frames)
    k = np.minimum(s.astype(int), len(keys) - 2)
    angles = keys[k] + (s - k)[:, None] * (keys[k + 1] - keys[k])
    out = []
    for _ in range(count):
        _, bones = random_operator(rng)
        hand = hand_model.forward_kinematics(angles, np.broadcast_to(bones, (frames, len(BONES))))
        is_left = bool(rng.random() < 0.5)
        if is_left:
            hand[..., 0] *= -1.0
        while True:  # the palm's normal (z of the hand frame) within 60 degrees of the optical axis
            R = _random_rotations(rng, 1)[0]
            if abs(R[2, 2]) >= 0.5:
                break
        K, size = _random_intrinsics(rng, 1)
        depth = rng.uniform(0.3, 0.8)
        uv_w = size[0] * rng.uniform(0.4, 0.6, 2)
        xy = (uv_w - K[0, :2, 2]) / K[0, [0, 1], [0, 1]]
        wrist = np.array([xy[0] * depth, xy[1] * depth, depth])
        joints = hand @ R.T + wrist
        joints[..., 2] = np.maximum(joints[..., 2], 0.05)
        Ks = np.broadcast_to(K, (frames, 3, 3))
        uv_true = project(joints, Ks)
        diag = np.linalg.norm(uv_true.max(1) - uv_true.min(1), axis=-1)
        uv = uv_true + rng.normal(size=uv_true.shape) * (noise.px_sigma_frac * diag)[:, None, None]
        rel = joints - joints[:, :1]
        if noise.ray_frame:
            centre = 0.5 * (uv_true.min(axis=1) + uv_true.max(axis=1))
            ray = np.concatenate((pixels_to_normalized(centre[:, None], Ks)[:, 0], np.ones((frames, 1))), axis=1)
            rel = rel @ rotation_to_ray(ray)
        # systematic per sequence: one tilt, one set of bone-length factors, one depth compression
        tilt_axis = np.concatenate((rng.normal(size=2), [0.0])) + 1e-12
        tilt = _rot(tilt_axis[None], np.deg2rad(rng.normal(0.0, noise.tilt_sigma_deg, 1)))[0]
        factors = np.exp(rng.normal(0.0, noise.bone_length_sigma, len(BONES)))
        det = _scale_bones(rel, np.broadcast_to(factors, (frames, len(BONES)))) @ tilt.T
        det[..., 2] *= rng.uniform(*noise.depth_compression)
        det += rng.normal(size=det.shape) * np.array(
            [noise.joint_sigma_xy_m, noise.joint_sigma_xy_m, noise.joint_sigma_z_m]
        )
        det -= det[:, :1]
        det *= rng.uniform(0.6, 1.0)
        out.append(FixedWristSequence(joints, uv, det, K[0], is_left, (int(size[0, 0]), int(size[0, 1]))))
    return out
