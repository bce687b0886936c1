"""Time per demo frame of visualization.demo_view.DemoRenderer.render, with mp4v encoding of the same frames as the
reference measured in the same run.

Input: frames of the bundled clip (1280x720), one hand from the shipped MediaPipe world landmarks moved through the
camera frustum, and the example-robot-data UR5 with the Allegro right hand appended at tool0 (22 dof) with a
changing configuration. Renders `--frames` frames at each `--size`, after `--warmup` untimed frames.

    PYTHONPATH=$PWD .venv/bin/python bench/demo_view.py --json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from importlib.metadata import distribution
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pinocchio as pin

from scalehp_ros.common.joints import mean_bone_length
from scalehp_ros.visualization.demo_view import DemoRenderer, VideoWriter

REPO = Path(__file__).resolve().parent.parent
K = np.array([[1108.0, 0.0, 640.0], [0.0, 1108.0, 360.0], [0.0, 0.0, 1.0]])  # 60 deg horizontal FOV at 1280 px


def robot_model() -> pin.Model:
    root = Path(distribution("example-robot-data").locate_file("cmeel.prefix/share/example-robot-data/robots"))
    arm = pin.buildModelFromUrdf(str(root / "ur_description/urdf/ur5_robot.urdf"))
    hand = pin.buildModelFromUrdf(str(root / "allegro_hand_description/urdf/allegro_right_hand.urdf"))
    model = pin.appendModel(arm, hand, arm.getFrameId("tool0"), pin.SE3.Identity())
    model.name = "ur5 + allegro_right_hand"
    return model


def inputs(n: int, model: pin.Model) -> list[tuple[np.ndarray, list, np.ndarray, dict]]:
    cap = cv2.VideoCapture(str(REPO / "data/human_hand_video.mp4"))
    landmarks = np.load(REPO / "data/human_joint_right_mediapipe.npy")
    out = []
    for k in range(n):
        ok, bgr = cap.read()
        if not ok:
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, bgr = cap.read()
        joints = landmarks[k % len(landmarks)] + np.array([0.1 * np.sin(k / 20), 0.0, 0.6 + 0.2 * np.sin(k / 35)])
        uvw = joints @ K.T
        hand = SimpleNamespace(
            joints_cam=joints,
            joints_2d=uvw[:, :2] / uvw[:, 2:],
            handedness="right",
            scale=float(mean_bone_length(joints)),
        )
        q = pin.neutral(model) + 0.4 * np.sin(k / 15 + np.arange(model.nq))
        info = {"frame": k, "detected": True, "hand_size_mm": hand.scale * 1e3, "latency_ms": 21.3, "retarget_ms": 1.2}
        out.append((cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), [hand], q, info))
    cap.release()
    return out


def stats_ms(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1e3
    return {"median_ms": float(np.median(ms)), "p95_ms": float(np.percentile(ms, 95)), "n": len(ms)}


def run(size: tuple[int, int], frames: list, warmup: int, model: pin.Model) -> dict:
    renderer = DemoRenderer(model, size, camera_hfov_deg=60.0)
    for image, hands, q, info in frames[:warmup]:
        renderer.render(image, hands, q, info)
    render_s, encode_s = [], []
    with tempfile.TemporaryDirectory() as tmp, VideoWriter(Path(tmp) / "bench.mp4", 30.0) as writer:
        for image, hands, q, info in frames[warmup:]:
            t0 = time.perf_counter()
            frame = renderer.render(image, hands, q, info)
            t1 = time.perf_counter()
            writer.write(frame)
            t2 = time.perf_counter()
            render_s.append(t1 - t0)
            encode_s.append(t2 - t1)
    render, encode = stats_ms(render_s), stats_ms(encode_s)
    return {
        "size": f"{size[0]}x{size[1]}",
        "render": render,
        "mp4v_encode": encode,
        "render_over_encode_median": render["median_ms"] / encode["median_ms"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=200, help="timed frames per size")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--size", action="append", default=None, help="WxH, repeatable (default 1280x720, 1920x720)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    opts = parser.parse_args()
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in (opts.size or ["1280x720", "1920x720"])]
    model = robot_model()
    frames = inputs(opts.frames + opts.warmup, model)
    results = [run(size, frames, opts.warmup, model) for size in sizes]
    for r in results:
        print(
            f"{r['size']}: render median {r['render']['median_ms']:.2f} ms, p95 {r['render']['p95_ms']:.2f} ms; "
            f"mp4v encode median {r['mp4v_encode']['median_ms']:.2f} ms "
            f"(render/encode {r['render_over_encode_median']:.2f}), n={r['render']['n']}"
        )
    if opts.json:
        print(json.dumps({"benchmark": "demo_view", "robot": model.name, "robot_nq": model.nq, "results": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
