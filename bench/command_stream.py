"""Jerk of the commanded arm path, before vs after the streaming change, in one run on the same data.

Data: data/human_joint_right_mediapipe.npy (621 frames, the retargeting clip), placed 0.5 m in front of the
camera as in the tests, one frame per 1/30 s, through the same Teleoperator (default settings and robot).

- before: one command per frame (the Teleoperator's target through a position + velocity JointLimiter, the
  time between frames granted, at most max_step_dt), sent as a one-point JointTrajectory without velocities,
  time_from_start = the frame interval (the previous retarget_node).
- after: CommandLoop (position, velocity and acceleration bounds; default settings, deadman none) at
  command_rate plus one command right after each frame, each sent as the command and its look-ahead with
  velocities (the node's stream).

The commanded joint path is what a joint_trajectory_controller makes of each stream, sampled at its update
rate (500 Hz, config/ros2_controllers.yaml): every new message replaces the rest of the old one and starts
from the controller's current desired state; points with positions only are joined linearly, points with
velocities by cubic Hermite splines (JTC's spline rules). Jerk = third finite difference of the 500 Hz samples
(rad/s^3), RMS and p99 over the 6 arm joints and all samples after the first second (the engage ramp).
Usage: python bench/command_stream.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scalehp_ros.retargeting.command_loop import CommandLoop, CommandLoopSettings  # noqa: E402
from scalehp_ros.retargeting.robot_config import load_robot_config  # noqa: E402
from scalehp_ros.retargeting.safety import JointLimiter  # noqa: E402
from scalehp_ros.retargeting.teleop import Teleoperator  # noqa: E402

DATA = REPO / "data" / "human_joint_right_mediapipe.npy"
ROBOT = REPO / "config" / "robots" / "scalehp_ur5e_allegro.yaml"
RATE = 30.0  # input frames per second
CONTROL_HZ = 500.0
SKIP_S = 1.0


def camera_frames() -> np.ndarray:
    rotation = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])
    return np.load(DATA) @ rotation.T + np.array([0.0, 0.05, 0.5])


def _evaluate(segments, t: float, q_rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position, velocity) at time t of a list of segments (t0, t1, q0, v0, q1, v1 or None)."""
    for t0, t1, q0, v0, q1, v1 in segments:
        if t <= t1:
            h = t1 - t0
            if h <= 0:
                return q1.copy(), (v1 if v1 is not None else np.zeros_like(q1)).copy()
            s = min(max((t - t0) / h, 0.0), 1.0) if h > 0 else 1.0
            if v1 is None:  # positions only: linear
                return q0 + s * (q1 - q0), (q1 - q0) / h if h > 0 else np.zeros_like(q0)
            h00, h10, h01, h11 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s, -2 * s**3 + 3 * s**2, s**3 - s**2
            d00, d10, d01, d11 = 6 * s**2 - 6 * s, 3 * s**2 - 4 * s + 1, -6 * s**2 + 6 * s, 3 * s**2 - 2 * s
            q = h00 * q0 + h10 * h * v0 + h01 * q1 + h11 * h * v1
            return q, (d00 * q0 + d10 * h * v0 + d01 * q1 + d11 * h * v1) / h
    if segments:  # past the end: hold the last point
        return segments[-1][4].copy(), np.zeros_like(q_rest)
    return q_rest.copy(), np.zeros_like(q_rest)


def simulate(messages: list[tuple[float, list]], q0: np.ndarray, end: float, stamped: bool) -> np.ndarray:
    """The controller's desired positions at CONTROL_HZ for a stream of (publish time, [(time_from_start,
    position, velocity or None)]) messages. Each message replaces the rest of the current trajectory and starts
    from the controller's desired state: at the message's stamp (stamped: the node's command time), or at the
    first update that sees it (zero stamp: "start on receipt")."""
    segments, out, k = [], [], 0
    for t in np.arange(0.0, end, 1.0 / CONTROL_HZ):
        while k < len(messages) and messages[k][0] <= t:
            start = messages[k][0] if stamped else t
            q, v = _evaluate(segments, start, q0)
            new, t0 = [], start
            for tfs, q1, v1 in messages[k][1]:
                new.append((t0, start + tfs, q, v, q1, v1))
                t0, q, v = start + tfs, q1, (v1 if v1 is not None else np.zeros_like(q1))
            segments = new
            k += 1
        out.append(_evaluate(segments, t, q0)[0])
    return np.array(out)


def jerk(path: np.ndarray) -> dict[str, float]:
    h = 1.0 / CONTROL_HZ
    j = np.abs(np.diff(path[int(SKIP_S * CONTROL_HZ) :], n=3, axis=0)) / h**3
    return {"rms": float(np.sqrt(np.mean(j**2))), "p99": float(np.percentile(j, 99))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args(argv)
    config = load_robot_config(ROBOT)
    frames = camera_frames()
    end = len(frames) / RATE

    before_teleop = Teleoperator(config)
    defaults = CommandLoopSettings(deadman="none", simulate_robot=True)
    ik = before_teleop.ik
    limiter = JointLimiter(ik.lower, ik.upper, ik.robot.velocity * defaults.velocity_scale, before_teleop.arm_rest)
    q0 = limiter.last.copy()
    before = []
    for k, joints in enumerate(frames):
        t = k / RATE
        dt = defaults.max_step_dt if k == 0 else min(1.0 / RATE, defaults.max_step_dt)
        arm = limiter.limit(before_teleop.solve(joints, t, limiter.last).arm, dt)
        before.append((t, [(dt, arm, None)]))

    loop = CommandLoop(Teleoperator(config), defaults)
    loop.activate(0.0)
    period = loop.period
    after, next_tick = [], 0.0
    for k, joints in enumerate(frames):
        t_frame = k / RATE
        while next_tick < t_frame:
            c = loop.tick(next_tick)
            after.append((next_tick, c))
            next_tick += period
        loop.on_frame(joints, t_frame, t_frame)
        after.append((t_frame, loop.tick(t_frame)))
        next_tick = t_frame + period
    after_msgs = [(t, c.trajectory(period)) for t, c in after]
    result = {"frames": len(frames)}
    jb = jerk(simulate(before, q0, end, stamped=False))
    ja = jerk(simulate(after_msgs, q0, end, stamped=True))
    ja_receipt = jerk(simulate(after_msgs, q0, end, stamped=False))
    result.update(
        {
            "before_rms_rad_s3": round(jb["rms"], 1),
            "before_p99_rad_s3": round(jb["p99"], 1),
            "after_rms_rad_s3": round(ja["rms"], 1),
            "after_p99_rad_s3": round(ja["p99"], 1),
            "ratio_rms_before_over_after": round(jb["rms"] / ja["rms"], 1),
            "after_zero_stamp_rms_rad_s3": round(ja_receipt["rms"], 1),
            "ratio_rms_before_over_after_zero_stamp": round(jb["rms"] / ja_receipt["rms"], 1),
            "commands_before": len(before),
            "commands_after": len(after),
        }
    )
    if opts.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
