"""Stop distances and times of the arm from full speed, for the default limits (CommandLoopSettings defaults).

The arm (config/robots/scalehp_ur5e_allegro.yaml, UR5e + Allegro) is engaged at its rest posture and ramped
toward a target 2.5 rad away on every joint (signs alternating, inside the URDF limits) until every joint runs
at its velocity limit (velocity_scale x URDF: 1.57 rad/s at the default 0.5). Then one event ends the motion,
on the CommandLoop (ROS-free, the node's own core) ticking at command_rate with a perfect robot (the measured
state is the last command):

- deadman released: the pedal's message says released (detected at the next tick);
- deadman heartbeat lost: no message at all (detected after deadman_timeout);
- deactivate (lifecycle deactivate, shutdown): the loop brakes and streams until v = 0;
- measured state lost: /joint_states stop (detected after measured_state_timeout);
- hold (~/hold): a requested stop, at the comfort acceleration bound;
- hand lost: no hand for tracking_timeout, then a stop at the comfort bound;
- stream gap (crash, SIGKILL, Ctrl-C, a network gap): no message after the last one; a trajectory controller
  executes the last message: its command, look-ahead and closing brake to rest.

Reported per event: time from the event to rest (s), the largest joint travel (rad) and each joint's, and the
travel of the URDF ee_frame (the tool flange frame of the robot YAML; cm, straight line from where it was at
the event to where it stops). Prints JSON.
Usage: python bench/stop_distance.py [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scalehp_ros.retargeting.command_loop import CommandLoop, CommandLoopSettings  # noqa: E402
from scalehp_ros.retargeting.robot_config import load_robot_config  # noqa: E402
from scalehp_ros.retargeting.teleop import Teleoperator  # noqa: E402

ROBOT = REPO / "config" / "robots" / "scalehp_ur5e_allegro.yaml"
EVENTS = (
    "deadman released",
    "deadman heartbeat lost",
    "deactivate",
    "measured state lost",
    "hold",
    "hand lost",
    "stream gap",
)


def _at_full_speed(config) -> tuple[CommandLoop, float]:
    loop = CommandLoop(Teleoperator(config), CommandLoopSettings(deadman="bool"))
    rest = loop.teleop.arm_rest
    loop.activate(0.0)
    loop.set_measured(rest, loop.hand.last, 0.0)
    loop.set_deadman(True, 0.0)
    ok, reason = loop.engage(True, 0.0)
    assert ok, reason
    far = np.clip(rest + 2.5 * np.array([1, -1, 1, -1, 1, -1]), loop.arm.lower + 0.1, loop.arm.upper - 0.1)
    t = 0.0
    while t < 5.0:
        t += loop.period
        _inputs(loop, t, far)
        c = loop.tick(t)
        if np.all(np.abs(c.arm_velocity) >= loop.arm.velocity * (1 - 1e-9)):
            return loop, t
    raise RuntimeError("the arm never reached full speed on every joint")


def _inputs(loop: CommandLoop, t: float, target=None, deadman=True, measured=True, hand=True) -> None:
    if measured:
        loop.set_measured(loop.arm.last, loop.hand.last, t)
    if deadman:
        loop.set_deadman(True, t)
    if hand:
        loop.set_target(loop.arm_target if target is None else target, loop.hand.last, t)


def measure(event: str, config) -> dict:
    loop, t = _at_full_speed(config)
    ik = loop.teleop.ik
    q0 = loop.arm.last.copy()
    v0 = loop.arm.rate.copy()
    if event == "stream gap":
        c = loop.tick(t + loop.period * 0.5)  # the last message (a frame's tick)
        points = c.trajectory(loop.period)
        q_end = points[-1][1]
        stop_time = points[-1][0] - loop.period + 0.5 * loop.period  # from q0: the message's command is 1/2 tick on
        assert not np.any(points[-1][2])
    else:
        kwargs = {
            "deadman released": {"deadman": False},
            "deadman heartbeat lost": {"deadman": False},
            "deactivate": {},
            "measured state lost": {"measured": False},
            "hold": {},
            "hand lost": {"hand": False},
        }[event]
        if event == "deadman released":
            loop.set_deadman(False, t)
        elif event == "deactivate":
            loop.deactivate()
        elif event == "hold":
            loop.set_hold(True)
        start, k = t, 0
        while True:
            k += 1
            now = start + k * loop.period
            _inputs(loop, now, **kwargs)
            c = loop.tick(now)
            if c is None or (not np.any(c.arm_velocity) and not c.following):
                break
            if k > 2000:
                raise RuntimeError(f"{event}: no stop within 40 s")
        q_end, stop_time = loop.arm.last.copy(), now - start
    travel = np.abs(q_end - q0)
    tool = np.linalg.norm(ik.ee_frame_pose(q_end).translation - ik.ee_frame_pose(q0).translation)
    return {
        "time_s": round(float(stop_time), 3),
        "max_joint_rad": round(float(travel.max()), 3),
        "joint_rad": [round(float(x), 3) for x in travel],
        "tool_cm": round(100.0 * float(tool), 1),
        "speed_rad_s": round(float(np.max(np.abs(v0))), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="(the output is JSON either way)")
    parser.parse_args(argv)
    config = load_robot_config(ROBOT)
    s = CommandLoopSettings()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    result = {
        "commit": commit.stdout.strip() or "unknown",
        "robot": ROBOT.name,
        "settings": {
            name: getattr(s, name)
            for name in (
                "command_rate",
                "velocity_scale",
                "arm_acceleration",
                "arm_stop_deceleration",
                "lookahead_steps",
                "deadman_timeout",
                "measured_state_timeout",
                "tracking_timeout",
            )
        },
        "events": {event: measure(event, config) for event in EVENTS},
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
