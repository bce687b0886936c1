"""Learned lifter (canonical pose stage, `CanonicalSettings.lifter`): 2D keypoints + the detector's 3D -> canonical 3D.

A small multilayer perceptron, trained on the project's synthetic hands (`tools/train_lifter.py`, seeded),
shipped as a plain numpy `.npz` (never a pickle) with its SHA-256 in `LIFTER_SHA256`, and run here in numpy
(no torch at run time).

Input per hand, all in the frame looking along the hand's viewing ray (`canonical.hand_rays`; a crop-based
detector's frame, so the input does not depend on where the hand is in the image):
- the 21 keypoints re-projected into that frame's normalised camera, wrist at the origin, divided by their 2D
  mean bone length (42 numbers), and the log of that 2D size (how strong the perspective is);
- the detector's relative 3D pose, canonical (wrist at 0, unit mean bone; 60 numbers without the wrist).
Output: the canonical 3D pose (unit mean bone) in the same ray frame; the caller turns it into camera axes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from scalehp_ros.common.joints import BONE_CHILDREN, BONE_PARENTS, NUM_JOINTS
from scalehp_ros.common.share import share_file
from scalehp_ros.perception.camera import rotation_to_ray

LIFTER_FILE = ("data", "models", "lifter.npz")  # under the package's share folder (common.share)
# SHA-256 of the shipped weights, written by tools/train_lifter.py --write and checked on load
# SHA-256 of the shipped weights: written by tools/train_lifter.py --write, checked on load
LIFTER_SHA256 = "6fbb14fb3f013d2c853c8fb75c152aa524cab9a0b875ae7a89506d0b57becba0"
NUM_FEATURES = 2 * NUM_JOINTS + 1 + 3 * (NUM_JOINTS - 1)


def _unit_mean_bone(rel: np.ndarray) -> np.ndarray:
    size = np.linalg.norm(rel[..., BONE_CHILDREN, :] - rel[..., BONE_PARENTS, :], axis=-1).mean(-1)
    return rel / np.maximum(size, 1e-12)[..., None, None]


def ray_frame_keypoints(xy: np.ndarray, rays: np.ndarray) -> np.ndarray:
    """Keypoints (N, 21, 2) re-projected into the normalised camera looking along each hand's ray (N, 3)."""
    d = np.concatenate((xy, np.ones_like(xy[..., :1])), axis=-1) @ rotation_to_ray(rays)  # rows: R^T d
    return d[..., :2] / d[..., 2:3]


def lifter_features(xy: np.ndarray, rays: np.ndarray, rel3d_ray: np.ndarray) -> np.ndarray:
    """Features (N, NUM_FEATURES): xy (N, 21, 2) normalised keypoints, rays (N, 3), rel3d_ray (N, 21, 3)
    the detector's relative pose in the ray frame (any unit)."""
    p = ray_frame_keypoints(xy, rays)
    p = p - p[:, :1]
    size2d = np.linalg.norm(p[:, BONE_CHILDREN] - p[:, BONE_PARENTS], axis=-1).mean(-1)
    p = p / np.maximum(size2d, 1e-12)[:, None, None]
    det = rel3d_ray - rel3d_ray[:, :1]
    det = _unit_mean_bone(det)[:, 1:]
    n = len(xy)
    return np.concatenate((p.reshape(n, -1), np.log(np.maximum(size2d, 1e-9))[:, None], det.reshape(n, -1)), 1)


class Lifter:
    """The MLP: features -> canonical pose (N, 21, 3) in the ray frame, unit mean bone, wrist at 0.

    weights: name -> array as saved by tools/train_lifter.py: mean, std (feature normalisation) and
    w0, b0, w1, b1, ... (linear layers, ReLU between them; the last layer is linear). The output is added to
    the detector's canonical pose (a residual), then renormalised to unit mean bone.
    """

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.mean = np.asarray(weights["mean"], dtype=np.float64)
        self.std = np.asarray(weights["std"], dtype=np.float64)
        self.layers = []
        k = 0
        while f"w{k}" in weights:
            self.layers.append((np.asarray(weights[f"w{k}"], np.float64), np.asarray(weights[f"b{k}"], np.float64)))
            k += 1
        if not self.layers or self.layers[0][0].shape[1] != NUM_FEATURES or self.layers[-1][0].shape[0] != 60:
            raise ValueError("lifter weights do not match the feature layout (NUM_FEATURES in, 60 out)")

    def __call__(self, features: np.ndarray) -> np.ndarray:
        h = (features - self.mean) / self.std
        for i, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if i < len(self.layers) - 1:
                np.maximum(h, 0.0, out=h)
        det = features[:, -60:].reshape(-1, NUM_JOINTS - 1, 3)
        out = np.zeros((len(features), NUM_JOINTS, 3))
        out[:, 1:] = det + h.reshape(-1, NUM_JOINTS - 1, 3)
        return _unit_mean_bone(out)

    def lift(self, xy: np.ndarray, rays: np.ndarray, rel3d_ray: np.ndarray) -> np.ndarray:
        return self(lifter_features(xy, rays, rel3d_ray))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


_CACHE: dict[str, Lifter] = {}


def lifter_path() -> Path:
    """Where the shipped lifter lives: data/models/lifter.npz in the source tree or the installed share folder."""
    return share_file(*LIFTER_FILE)


def load_lifter(path: Path | None = None, sha256: str | None = None) -> Lifter:
    """The shipped lifter (cached). ValueError when the file is missing or its checksum differs."""
    path = lifter_path() if path is None else path
    sha256 = LIFTER_SHA256 if sha256 is None else sha256
    key = f"{path}:{sha256}"
    if key not in _CACHE:
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"lifter model {path} not found (rebuild: python tools/train_lifter.py --write)")
        digest = sha256_of(path)
        if sha256 and digest != sha256:
            raise ValueError(f"lifter model {path} has SHA-256 {digest}, expected {sha256}")
        with np.load(path, allow_pickle=False) as data:
            _CACHE[key] = Lifter({k: data[k] for k in data.files})
    return _CACHE[key]
