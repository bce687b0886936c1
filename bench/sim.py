"""The MuJoCo sandbox, measured: tracking error and lag, real-time factor, per-side retargeting time, and the
whole bimanual loop over real DDS.

Core (no ROS), bimanual scene (urdf/scalehp_bimanual.urdf, 44 joints, 6 objects):
- tracking: every arm and hand joint commanded at 30 Hz along a sine about its rest posture (amplitude 0.3 rad,
  0.5 Hz: peak 0.94 rad/s, inside every velocity limit); error = measured - commanded position sampled at
  each command, after the first second; lag = the shift (in 2 ms steps) that best aligns measured with
  commanded, per joint, median over joints.
- real-time factor of the physics alone and with the 320x240 camera rendered at 10 Hz (EGL on Mesa), same
  30 Hz command stream: simulated seconds per wall second.
- per-side retargeting time: Teleoperator.solve for the left (mirror image of the clip) and the right hand
  (data/human_joint_right_mediapipe.npy), each frame of both, p50 / p95 ms per side.
Node (--dds, under tools/run_isolated.sh): sim_node (bimanual, its defaults: camera at 5 Hz) + retarget_node
under /left and /right (deadman none) + two hand-joint publishers at 30 Hz (stamped at publication); both
sides engaged; over --seconds from 2 s after engaging: sim_node's per-second real-time factor (mean, min) and
the time it lost (could not catch up); its real-time factor since start.
Usage: python bench/sim.py [--dds] [--seconds 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import scalehp_ros.simulation  # noqa: E402,F401  (selects the offscreen GL backend before mujoco loads)
from scalehp_ros.retargeting.robot_config import load_robot_config  # noqa: E402
from scalehp_ros.retargeting.teleop import Teleoperator  # noqa: E402
from scalehp_ros.simulation.sim import Simulation  # noqa: E402

ROBOTS = REPO / "config" / "robots"
DATA = REPO / "data" / "human_joint_right_mediapipe.npy"
RATE = 30.0


def _configs():
    return {s: load_robot_config(ROBOTS / f"scalehp_bimanual_{s}.yaml") for s in ("left", "right")}


def _sim(configs) -> Simulation:
    initial = {j: q for c in configs.values() for j, q in zip(c.arm.joints, c.arm.posture, strict=True)}
    return Simulation(configs["left"].arm.urdf, initial=initial)


def tracking(seconds: float = 6.0) -> dict:
    configs = _configs()
    sim = _sim(configs)
    rest = sim.joint_state().position.copy()
    rest = np.clip(rest, sim.lower + 0.31, sim.upper - 0.31)  # room for the sine inside the limits
    dt = 1.0 / RATE
    steps = round(dt / sim.model.opt.timestep)
    commanded, measured, errors = [], [], []
    for k in range(round(seconds * RATE)):
        q = rest + 0.3 * np.sin(2 * np.pi * 0.5 * k * dt) * np.ones_like(rest)
        sim.command(sim.joint_names, q)
        for _ in range(steps):
            sim.advance(sim.model.opt.timestep)
            commanded.append(sim.target.copy())
            measured.append(sim.joint_state().position)
        if k * dt >= 1.0:
            errors.append(np.abs(sim.joint_state().position - q))
    commanded, measured, errors = np.array(commanded), np.array(measured), np.array(errors)
    skip = round(1.0 / sim.model.opt.timestep)
    lags = []
    for j in range(commanded.shape[1]):
        c, m = commanded[skip:, j], measured[skip:, j]
        costs = [np.mean((m[s:] - c[: len(c) - s]) ** 2) for s in range(0, 50)]
        lags.append(int(np.argmin(costs)) * sim.model.opt.timestep)
    arm = [i for i, n in enumerate(sim.joint_names) if any(k in n for k in ("shoulder", "elbow", "wrist"))]
    hand = [i for i in range(len(sim.joint_names)) if i not in arm]
    return {
        "arm_error_rms_rad": float(np.sqrt(np.mean(errors[:, arm] ** 2))),
        "arm_error_max_rad": float(errors[:, arm].max()),
        "hand_error_rms_rad": float(np.sqrt(np.mean(errors[:, hand] ** 2))),
        "hand_error_max_rad": float(errors[:, hand].max()),
        "arm_lag_ms": float(np.median([lags[i] for i in arm]) * 1e3),
        "hand_lag_ms": float(np.median([lags[i] for i in hand]) * 1e3),
    }


def real_time_factor(seconds: float = 10.0, render_hz: float = 0.0) -> float:
    configs = _configs()
    sim = _sim(configs)
    rest = sim.joint_state().position.copy()
    dt = 1.0 / RATE
    t0 = time.perf_counter()
    next_render = 0.0
    for k in range(round(seconds * RATE)):
        sim.command(sim.joint_names, np.clip(rest + 0.2 * np.sin(k * dt), sim.lower, sim.upper))
        sim.advance(dt)
        if render_hz and sim.time >= next_render:
            sim.render()
            next_render += 1.0 / render_hz
    wall = time.perf_counter() - t0
    sim.close()
    return seconds / wall


def retargeting_time() -> dict:
    configs = _configs()
    frames = np.load(DATA)
    rotation = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])
    right_frames = frames @ rotation.T + np.array([0.0, 0.05, 0.5])
    inputs = {"right": right_frames, "left": right_frames * np.array([-1.0, 1.0, 1.0])}
    out = {}
    for side, config in configs.items():
        teleop = Teleoperator(config)
        times = []
        for k, joints in enumerate(inputs[side]):
            t0 = time.perf_counter()
            teleop.solve(joints, 1.0 + k / RATE, teleop.arm_rest)
            times.append((time.perf_counter() - t0) * 1e3)
        out[f"{side}_retarget_p50_ms"] = float(np.percentile(times, 50))
        out[f"{side}_retarget_p95_ms"] = float(np.percentile(times, 95))
    return out


def dds_loop(seconds: float) -> dict:
    if os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") != "LOCALHOST":
        raise SystemExit("--dds: run under tools/run_isolated.sh (DDS isolation rule)")
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from std_srvs.srv import SetBool

    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    py = sys.executable
    cmds = [
        [py, "-m", "scalehp_ros.ros.sim_node", "--ros-args", "--params-file", "config/sim.yaml",
         "-p", "robot_configs:=config/robots/scalehp_bimanual_left.yaml,config/robots/scalehp_bimanual_right.yaml",
         "-p", "command_prefixes:=/left/retarget_node,/right/retarget_node"],
    ]  # fmt: skip
    for side in ("left", "right"):
        cmds.append(
            [py, "-m", "scalehp_ros.ros.retarget_node", "--ros-args", "-r", f"__ns:=/{side}",
             "--params-file", "config/retarget.yaml", "-p", f"robot_config:=config/robots/scalehp_bimanual_{side}.yaml",
             "-p", f"joints_topic:=/hand_pose_node/{side}/joints", "-p", "autostart:=true", "-p", "deadman:=none",
             "-p", "measured_state_topic:=/joint_states",
             "-p", f"publish_camera_tf:={'true' if side == 'right' else 'false'}"]
        )  # fmt: skip
        cmds.append(
            [py, "test/nodes/hand_joints_publisher.py", "--topic", f"/hand_pose_node/{side}/joints", "--stamp-now"]
            + (["--mirror"] if side == "left" else [])
        )
    procs = [subprocess.Popen(c, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in cmds]
    rclpy.init()
    node = Node("sim_bench")
    last: dict[str, dict[str, str]] = {}
    windows: list[float] = []  # sim_node's per-second real-time factor while measuring
    measuring = [False]

    def on_diag(msg) -> None:
        for s in msg.status:
            last[s.name] = {kv.key: kv.value for kv in s.values}
            if "simulation" in s.name and measuring[0]:
                windows.append(float(last[s.name]["real_time_factor_last_s"]))

    node.create_subscription(DiagnosticArray, "/diagnostics", on_diag, 10)
    executor = SingleThreadedExecutor()
    executor.add_node(node)

    def spin(t: float) -> None:
        end = time.monotonic() + t
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.05)

    try:
        spin(6.0)
        for side in ("left", "right"):
            client = node.create_client(SetBool, f"/{side}/retarget_node/engage")
            client.wait_for_service(timeout_sec=10.0)
            future = client.call_async(SetBool.Request(data=True))
            end = time.monotonic() + 10
            while not future.done() and time.monotonic() < end:
                executor.spin_once(timeout_sec=0.05)
        spin(2.0)
        lost0 = float(next((v["lost_s"] for n, v in last.items() if "simulation" in n), "nan"))
        measuring[0] = True
        spin(seconds)
    finally:
        for p in procs:
            p.send_signal(2)
            p.wait(10)
        node.destroy_node()
        rclpy.try_shutdown()
    out = {}
    for name, values in last.items():
        if "simulation" in name:
            out["node_real_time_factor_since_start"] = float(values["real_time_factor"])
            out["node_lost_s_since_start"] = float(values["lost_s"])
            out["node_lost_s_while_measuring"] = float(values["lost_s"]) - lost0
            out["node_real_time_factor_per_second_min"] = min(windows) if windows else None
            out["node_real_time_factor_per_second_mean"] = float(np.mean(windows)) if windows else None
        for side in ("left", "right"):
            if name.startswith(f"{side}.retarget_node") or f"/{side}/" in name or name.startswith(f"/{side}"):
                for key in ("step_p50_ms", "step_p95_ms", "latency_p50_ms", "latency_p95_ms"):
                    if key in values:
                        out[f"node_{side}_{key}"] = float(values[key])
    out["diagnostic_names"] = sorted(last)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dds", action="store_true", help="also run the whole bimanual loop over DDS")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args(argv)
    result = {**tracking(), **retargeting_time()}
    result["core_real_time_factor"] = real_time_factor()
    result["core_real_time_factor_render_10hz"] = real_time_factor(render_hz=10.0)
    if opts.dds:
        result.update(dds_loop(opts.seconds))
    print(json.dumps(result) if opts.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
