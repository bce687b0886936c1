"""Annotated hand datasets for evaluation: RHD (mmpose JSON layout) and FreiHAND (evaluation layout).

Both loaders return `Sample`s in the project's joint order (joints.JOINT_NAMES) and metres, camera frame.
Files are read with json and OpenCV only (no pickle).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from scalehp_ros.common.joints import NUM_JOINTS, RHD_TO_OPENPOSE


@dataclass(frozen=True)
class Sample:
    """One annotated image: path, K (3, 3) px, joints_cam (21, 3) m, joints_2d (21, 2) px, hand_type or None."""

    image_path: Path
    K: np.ndarray
    joints_cam: np.ndarray
    joints_2d: np.ndarray
    hand_type: str | None = None

    def load_rgb(self) -> np.ndarray:
        bgr = cv2.imread(str(self.image_path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"cannot read image {self.image_path}")
        return np.ascontiguousarray(bgr[:, :, ::-1])


def _project(joints: np.ndarray, K: np.ndarray) -> np.ndarray:
    p = joints @ K.T
    return p[:, :2] / p[:, 2:3]


def load_rhd(path: str | Path) -> list[Sample]:
    """RHD samples from an mmpose-style JSON file, or a folder holding exactly one *.json next to the images.

    Each annotation: joint_cam (21, 3) in millimetres in RHD order (tip first per finger), hand_type; each
    image: file_name, cam_param {focal, princpt}. Converted to metres and our joint order.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if len(files) != 1:
            raise ValueError(f"{path}: expected one annotation *.json, found {len(files)}")
        path = files[0]
    data = json.loads(path.read_text())
    images = {im["id"]: im for im in data["images"]}
    order = list(RHD_TO_OPENPOSE)
    samples = []
    for ann in data["annotations"]:
        im = images[ann["image_id"]]
        (fx, fy), (cx, cy) = im["cam_param"]["focal"], im["cam_param"]["princpt"]
        K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
        joints = np.asarray(ann["joint_cam"], dtype=np.float64)[order] / 1000.0
        if joints.shape != (NUM_JOINTS, 3):
            raise ValueError(f"{path}: annotation {ann.get('id')} has joint_cam of shape {joints.shape}")
        samples.append(Sample(path.parent / im["file_name"], K, joints, _project(joints, K), ann.get("hand_type")))
    return samples


def load_freihand(path: str | Path) -> list[Sample]:
    """FreiHAND evaluation samples: PATH/evaluation_K.json, PATH/evaluation_xyz.json (metres, our joint order)
    and PATH/evaluation/rgb/%08d.jpg."""
    path = Path(path)
    Ks = json.loads((path / "evaluation_K.json").read_text())
    xyz = json.loads((path / "evaluation_xyz.json").read_text())
    if len(Ks) != len(xyz):
        raise ValueError(f"{path}: {len(Ks)} intrinsics but {len(xyz)} joint sets")
    samples = []
    for i, (K, joints) in enumerate(zip(Ks, xyz, strict=True)):
        K = np.asarray(K, dtype=np.float64)
        joints = np.asarray(joints, dtype=np.float64)
        if K.shape != (3, 3) or joints.shape != (NUM_JOINTS, 3):
            raise ValueError(f"{path}: sample {i} has K {K.shape} and xyz {joints.shape}")
        samples.append(Sample(path / "evaluation" / "rgb" / f"{i:08d}.jpg", K, joints, _project(joints, K)))
    return samples
