"""The scripted grasp (scalehp_ros/simulation/grasp.py) on composed robots in the MuJoCo sandbox: lift per grasp height.

Each robot is exported (scalehp_ros/robots/export.py) into a temporary folder and run like
test/test_robots.py::test_composed_robot_lifts_the_can_in_the_mujoco_sandbox: the arm at its posture, the
scripted grasp of the can at each grasp height (m above its centre), lift 0.15 m. Reports the lift (m) and the
can's horizontal drift (m) per height.
Usage: python bench/robot_grasps.py [--json] [--heights 0.05 0.06 0.07] [NAME ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scalehp_ros.retargeting.robot_config import ArmConfig, load_robot_config  # noqa: E402
from scalehp_ros.robots.compose import compose  # noqa: E402
from scalehp_ros.robots.export import export, export_urdf  # noqa: E402
from scalehp_ros.robots.registry import ARMS, ROBOTS  # noqa: E402
from scalehp_ros.simulation.grasp import FRANKA_HAND, FRANKA_HAND_EE_RPY, ScriptedGrasp  # noqa: E402
from scalehp_ros.simulation.sim import Simulation  # noqa: E402

NAMES = [f"{arm}_allegro_hand_right" for arm in ("ur5e", "ur3", "ur5", "ur10", "xarm7", "panda", "z1")]
NAMES += ["ur5e_allegro_hand_left", "panda_franka_hand"]
# robots whose gripper is part of the arm's URDF (no retargeting config): end-effector frame, its palm
# convention and what closes
GRIPPERS = {"panda_franka_hand": ("panda_hand", FRANKA_HAND_EE_RPY, FRANKA_HAND)}


def lift(name: str, folder: Path, height: float, lift_m: float = 0.15) -> tuple[float, float]:
    """(lift, horizontal drift) of the can in metres for one robot and grasp height."""
    if name in GRIPPERS:
        ee, rpy, hand = GRIPPERS[name]
        urdf, spec = export_urdf(name, folder), ROBOTS[name]
        config = ArmConfig(urdf, "teleop_base", ee, rpy, compose(spec).arm_joints, np.array(ARMS[spec.arm].posture))
        arm = config
    else:
        config, hand = load_robot_config(export(name, folder)[1]), None
        arm = config.arm
    sim = Simulation(arm.urdf, initial=dict(zip(arm.joints, arm.posture, strict=True)))
    try:
        can = next(o for o in sim.scene.objects if o.endswith("can"))
        result = ScriptedGrasp(sim, config, hand=hand).run(can, grasp_height_m=height, lift_m=lift_m)
    finally:
        sim.close()
    return result.lifted_m, float(np.linalg.norm(result.object_end[:2] - result.object_start[:2]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=NAMES, help="registered robots (default: those that grasp)")
    parser.add_argument("--heights", nargs="*", type=float, default=[0.05, 0.06, 0.07])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    out: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="robot_grasps_") as tmp:
        for name in args.names:
            out[name] = []
            for height in args.heights:
                lifted, drift = lift(name, Path(tmp) / name, height)
                out[name].append({"height_m": height, "lift_m": round(lifted, 3), "drift_m": round(drift, 3)})
            if not args.json:
                cells = " / ".join(f"{r['lift_m']:.3f}" for r in out[name])
                print(f"| {name} | {cells} | <= {max(r['drift_m'] for r in out[name]):.3f} |")
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
