"""scalehp-robots: the robot registry on the command line.

scalehp-robots list [--json]        arms, hands (once per model, with sides) and composed robots
scalehp-robots show NAME            an arm, hand or robot: files, joints, licence
scalehp-robots check FILE           explain what is wrong with a dex-retargeting YAML (exit 1 if anything)
scalehp-robots compose NAME [-o F]  the composed URDF of a robot (stdout or F)
scalehp-robots coverage             the coverage matrix over the recorded clip (Markdown tables)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scalehp_ros.robots import assets
from scalehp_ros.robots.registry import ARMS, HANDS, ROBOTS, list_json


def _show(name: str) -> dict:
    if name in ARMS:
        arm = ARMS[name]
        return {"arm": name, "urdf": str(arm.urdf_path()), "flange": arm.flange, "licence": arm.licence,
                "description": arm.description}  # fmt: skip
    if name in HANDS:
        hand = HANDS[name]
        from scalehp_ros.robots.dexconfig import read_urdf

        sides = {}
        for side in hand.sides:
            summary = read_urdf(hand.urdf_path(side))
            sides[side] = {"urdf": str(hand.urdf_path(side)), "config": str(hand.config_path(side)),
                           "joints": len(summary.joints), "actuated": list(summary.actuated),
                           "mimic": {j: m.parent for j, m in summary.mimic.items()}}  # fmt: skip
        licence = str(assets.dexi_hands_dir() / hand.licence) if hand.licence else None
        return {"hand": name, "description": hand.description, "licence": licence, "sides": sides}
    if name in ROBOTS:
        from scalehp_ros.robots.compose import compose

        spec = ROBOTS[name]
        composition = compose(spec)
        return {"robot": name, "arm": spec.arm, "hand": spec.hand, "side": spec.side if spec.hand else None,
                "arm_joints": list(composition.arm_joints), "hand_joints": list(composition.hand_joints),
                "flange": composition.flange, "hand_root": composition.hand_root,
                "renamed": composition.names}  # fmt: skip
    raise SystemExit(f"unknown name {name!r}; see `scalehp-robots list`")


def _coverage() -> str:
    from scalehp_ros.robots.coverage import arm_coverage, hand_coverage, load_clip

    clip = load_clip()
    lines = [
        "| hand | side | actuated / joints | vector error (mm) | limit violations | ms / frame |",
        "|---|---|---|---|---|---|",
    ]
    for hand in HANDS:
        for side in HANDS[hand].sides:
            r = hand_coverage(hand, side, clip)
            lines.append(
                f"| {hand} | {side} | {r.actuated} / {r.joints} | {r.error_mm:.1f} | {r.violations} "
                f"| {r.ms_per_frame:.2f} |"
            )
    lines += ["", "| robot | arm DOF | position error (mm) | orientation error (deg) | limit violations | ms / frame |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for name in ("ur5e_leap_hand_right", "panda_panda_gripper", "xarm7_inspire_hand_right", "ur10_leap_hand_right",
                 "z1_allegro_hand_right", "kinova_j2s6s200_ability_hand_right", "so100"):  # fmt: skip
        try:
            r = arm_coverage(ROBOTS[name], clip)
        except ValueError as exc:
            lines.append(f"| {name} | not supported: {str(exc).splitlines()[0][-90:]} | | | | |")
            continue
        lines.append(
            f"| {name} | {r.dof} | {r.position_error_mm:.3f} | {r.orientation_error_deg:.4f} | {r.violations} "
            f"| {r.ms_per_frame:.2f} |"
        )
    return f"{len(clip)} frames of {assets.project_dir().name}/data/human_joint_right_mediapipe.npy\n\n" + "\n".join(
        lines
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scalehp-robots", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="registered arms, hands and robots")
    listing.add_argument("--json", action="store_true")
    sub.add_parser("show", help="one arm, hand or robot").add_argument("name")
    sub.add_parser("check", help="check a dex-retargeting YAML").add_argument("file", type=Path)
    composing = sub.add_parser("compose", help="write a robot's composed URDF")
    composing.add_argument("name")
    composing.add_argument("-o", "--output", type=Path)
    exporting = sub.add_parser("export", help="composed URDF + robot YAML for retarget_node")
    exporting.add_argument("name")
    exporting.add_argument("folder", type=Path)
    sub.add_parser("coverage", help="coverage matrix over the recorded clip")
    args = parser.parse_args(argv)
    if args.command == "list":
        data = list_json()
        if args.json:
            print(json.dumps(data, indent=2))
        else:
            for key in ("arms", "hands", "robots"):
                print(f"{key}:")
                for item in data[key]:
                    extra = f" ({', '.join(item['sides'])})" if "sides" in item else ""
                    print(f"  {item['name']}{extra}")
        return 0
    if args.command == "show":
        print(json.dumps(_show(args.name), indent=2))
        return 0
    if args.command == "check":
        from scalehp_ros.robots.dexconfig import check_dex_config

        problems = check_dex_config(args.file)
        for problem in problems:
            print(problem)
        if not problems:
            print(f"{args.file}: OK")
        return 1 if problems else 0
    if args.command == "compose":
        from scalehp_ros.robots.compose import compose
        from scalehp_ros.robots.registry import robot

        text = compose(robot(args.name)).urdf
        if args.output:
            args.output.write_text(text)
        else:
            sys.stdout.write(text)
        return 0
    if args.command == "export":
        from scalehp_ros.robots.export import export

        try:
            urdf, config = export(args.name, args.folder)
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(
            f"wrote {urdf}\nwrote {config}\nros2 launch scalehp_ros teleop.launch.py robot_config:={config.resolve()}"
        )
        return 0
    print(_coverage())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
