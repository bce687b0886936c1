"""Writes data/two_hand_video.mp4: the bundled one-hand clip beside its own mirror image, a two-hand test clip.

Each frame of data/human_hand_video.mp4 (1280x720, a right hand) is scaled to 640x360; the output frame is
that image on the left and its horizontal mirror (the same hand as a left hand) on the right, 1280x360,
30 fps, MPEG-4 Part 2 (mp4v: the codec this OpenCV build writes). As a person facing the camera shows them,
the right hand appears on the image's left and the left hand on its right. Same licence and copyright as the
source clip (MIT, dex-retargeting; data/README.md). Regenerate with `python tools/make_two_hand_clip.py`.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

DATA = Path(__file__).resolve().parent.parent / "data"
SOURCE = DATA / "human_hand_video.mp4"
OUT = DATA / "two_hand_video.mp4"
HALF = (640, 360)


def two_hand_frame(bgr: np.ndarray) -> np.ndarray:
    """(360, 1280, 3): the frame scaled to 640x360, beside its mirror image."""
    half = cv2.resize(bgr, HALF, interpolation=cv2.INTER_AREA)
    return np.hstack([half, half[:, ::-1]])


def main() -> None:
    source = cv2.VideoCapture(str(SOURCE))
    fps = source.get(cv2.CAP_PROP_FPS) or 30.0
    writer = cv2.VideoWriter(str(OUT), cv2.VideoWriter_fourcc(*"mp4v"), fps, (2 * HALF[0], HALF[1]))
    if not writer.isOpened():
        raise SystemExit(f"cannot write {OUT} with mp4v")
    count = 0
    while True:
        ok, bgr = source.read()
        if not ok:
            break
        writer.write(two_hand_frame(bgr))
        count += 1
    writer.release()
    source.release()
    print(f"wrote {OUT}: {count} frames, {OUT.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
