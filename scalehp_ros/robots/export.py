"""Export a registered robot for retarget_node: the composed URDF and the project's robot YAML next to it.

The YAML (config/robots/ format, retargeting.robot_config) names the composed URDF for both parts, the arm's
root link as `base_frame`, the hand's wrist link (its retargeting config's vector origin) as `ee_frame` and
`wrist_link` with the palm convention in it (found from the hand's geometry, coverage.palm_rotation), the
hand's actuated joints (mimic joints are not commanded: retargeting.robot_model couples them to their parents,
and robot_state_publisher computes them from the URDF's <mimic> tags) and its fingertips (the
config's wrist -> fingertip vectors), `scaling` and vector retargeting. A robot without a dexterous hand or
with an unbounded (continuous) arm joint is refused with that reason.
"""

from __future__ import annotations

from pathlib import Path

import pinocchio as pin
import yaml

from scalehp_ros.common.joints import JOINT_NAMES
from scalehp_ros.robots.compose import compose
from scalehp_ros.robots.coverage import palm_rotation
from scalehp_ros.robots.dexconfig import load_dex_config
from scalehp_ros.robots.kinematics import CoupledHand
from scalehp_ros.robots.registry import ARMS, HANDS, robot


def robot_yaml(name: str, urdf_path: str | Path) -> dict:
    """The robot YAML content of registered robot `name`, its URDF at `urdf_path`."""
    spec = robot(name)
    if spec.hand is None:
        raise ValueError(f"{name}: retarget_node needs a dexterous hand; this robot has none registered")
    composition = compose(spec)
    model = composition.model()
    unbounded = [j for j in composition.arm_joints if model.joints[model.getJointId(j)].nq != 1]
    if unbounded:
        raise ValueError(
            f"{name}: arm joints {unbounded} are continuous (no position limits); the arm IK and the command "
            "limits need bounded 1-DOF joints"
        )
    config, summary = load_dex_config(HANDS[spec.hand].config_path(spec.side))
    rename = composition.names
    actuated = [rename.get(j, j) for j in summary.actuated]
    slow = [
        j
        for j in (*composition.arm_joints, *actuated)
        if model.velocityLimit[model.joints[model.getJointId(j)].idx_v] <= 0
    ]
    if slow:
        raise ValueError(
            f'{name}: joints {slow} have no velocity limit in their URDF (velocity="0"); the command loop '
            "bounds every joint's speed by it, so the robot is not exported"
        )
    pairs = [p for p in config.vector_pairs() if p[0] == 0]
    if len(pairs) < 3:
        raise ValueError(
            f"{name}: its hand config has {len(pairs)} wrist -> fingertip vectors; retarget_node's palm frame "
            "needs at least three (a parallel gripper has none: it is retargeted finger to finger)"
        )
    kin = CoupledHand(HANDS[spec.hand].urdf_path(spec.side), summary)
    _, wrist_from_palm = palm_rotation(kin, config, spec.side)
    wrist = rename.get(pairs[0][1], pairs[0][1])
    root = next(f.name for f in model.frames if f.parentJoint == 0 and f.name != "universe")
    arm = ARMS[spec.arm]
    posture = list(arm.posture) if arm.posture else [0.0] * len(composition.arm_joints)
    rpy = [float(v) for v in pin.rpy.matrixToRpy(wrist_from_palm)]
    return {
        "name": name,
        "arm": {
            "urdf": str(urdf_path),
            "base_frame": root,
            "ee_frame": wrist,
            "ee_frame_rpy": rpy,
            "joints": list(composition.arm_joints),
            "posture": posture,
        },
        "hand": {
            "urdf": str(urdf_path),
            "side": spec.side,
            "wrist_link": wrist,
            "wrist_link_rpy": rpy,
            "joints": actuated,
            "fingertips": {JOINT_NAMES[h]: rename.get(link, link) for _, _, h, link in pairs},
            "scaling": config.scaling_factor,
            "retargeting": {"type": "vector", "low_pass_alpha": config.low_pass_alpha},
        },
    }


def _local_meshes(text: str, mesh_dir: Path) -> str:
    """Mesh paths relative to the URDF, through symbolic links to the installed files in `mesh_dir` (unique names).

    MuJoCo's URDF import keeps only a mesh's file name and looks it up in one folder (<compiler meshdir>);
    the composed robot's meshes come from several packages, so each gets a link named after its index.
    """
    import re

    mesh_dir.mkdir(parents=True, exist_ok=True)
    found: dict[str, str] = {}

    def relink(match: re.Match) -> str:
        source = match.group(1)
        if source not in found:
            name = f"m{len(found):04d}_{Path(source).name}"
            link = mesh_dir / name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(source)
            found[source] = name
        return f'filename="{mesh_dir.name}/{found[source]}"'

    text = re.sub(r'filename="([^"]+)"', relink, text)
    # balanceinertia: some hand URDFs (dexi-rs's Allegro) carry inertias that violate A + B >= C
    tag = (
        f'  <mujoco>\n    <compiler meshdir="{mesh_dir.name}" fusestatic="false" discardvisual="true" '
        'balanceinertia="true"/>\n  </mujoco>\n'
    )
    return _insert_after_robot(text, tag)


def _insert_after_robot(text: str, tag: str) -> str:
    start = text.index("<robot ")
    end = text.index(">", start) + 1
    return text[:end] + "\n" + tag + text[end:].lstrip("\n")


def export_urdf(name: str, folder: str | Path) -> Path:
    """Write `folder/NAME.urdf` (meshes linked into `folder/NAME_meshes/`, MuJoCo compiler block): the composed
    robot for the MuJoCo sandbox and robot_state_publisher, also of a robot retarget_node cannot drive."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    urdf = folder / f"{name}.urdf"
    urdf.write_text(_local_meshes(compose(robot(name)).urdf, folder / f"{name}_meshes"))
    return urdf


def export(name: str, folder: str | Path) -> tuple[Path, Path]:
    """Write `folder/NAME.urdf` and `folder/NAME.yaml`; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    content = robot_yaml(name, (folder / f"{name}.urdf").resolve())
    urdf = export_urdf(name, folder)
    path = folder / f"{name}.yaml"
    header = f"# {name}: exported by `scalehp-robots export {name}` (scalehp_ros/robots/export.py).\n"
    path.write_text(header + yaml.safe_dump(content, sort_keys=False))
    return urdf, path
