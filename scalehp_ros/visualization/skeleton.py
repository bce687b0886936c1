"""Drawing the 2D hand skeleton on an image, for the debug image and the demo video (ROS-free)."""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from scalehp_ros.common.joints import BONES, FINGER_CHAINS, FINGERS

# RGB colours: one per finger, and one per side for labels (left blue, right orange).
FINGER_COLOURS_RGB: dict[str, tuple[int, int, int]] = {
    "thumb": (230, 80, 80),
    "index": (240, 200, 60),
    "middle": (80, 200, 90),
    "ring": (70, 160, 230),
    "little": (190, 100, 220),
}
SIDE_COLOURS_RGB: dict[str, tuple[int, int, int]] = {"left": (60, 140, 255), "right": (255, 150, 40)}
_FINGER_OF = {j: f for f in FINGERS for j in FINGER_CHAINS[f]}


def draw_hand(image_rgb: np.ndarray, joints_2d: np.ndarray, label: str = "", side: str = "right") -> None:
    """Draw one hand's bones, joints and an optional label in place on an HxWx3 uint8 RGB image (pixels)."""
    pts = np.round(np.asarray(joints_2d, dtype=float)).astype(int)
    scale = max(1, round(min(image_rgb.shape[:2]) / 360))
    for parent, child in BONES:
        colour = FINGER_COLOURS_RGB[_FINGER_OF[child]]
        cv2.line(image_rgb, tuple(pts[parent]), tuple(pts[child]), colour, 2 * scale, cv2.LINE_AA)
    for k, p in enumerate(pts):
        colour = SIDE_COLOURS_RGB.get(side, (255, 255, 255)) if k == 0 else (255, 255, 255)
        cv2.circle(image_rgb, tuple(p), 3 * scale, colour, -1, cv2.LINE_AA)
    if label:
        org = (int(pts[:, 0].min()), max(12, int(pts[:, 1].min()) - 8))
        cv2.putText(image_rgb, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.45 * scale, (0, 0, 0), 3 * scale, cv2.LINE_AA)
        cv2.putText(
            image_rgb,
            label,
            org,
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45 * scale,
            SIDE_COLOURS_RGB.get(side, (255, 255, 255)),
            scale,
            cv2.LINE_AA,
        )


def draw_hands(image_rgb: np.ndarray, hands: Iterable) -> np.ndarray:
    """A copy of `image_rgb` with every HandPose's 2D skeleton and a 'side  size mm' label drawn."""
    out = image_rgb.copy()
    for hand in hands:
        draw_hand(out, hand.joints_2d, f"{hand.handedness} {hand.scale * 1e3:.1f} mm", hand.handedness)
    return out
