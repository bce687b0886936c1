"""Compose a registered robot: the arm's URDF with everything below its flange removed, the hand's URDF attached to
the flange by a fixed joint (the mount), mesh paths made absolute (so the text works from any folder).

An arm with a `base_yaw` hangs below a new root link `teleop_base`, turned by it about z, so that every
registered robot reaches toward -x of its root like the project's UR (`base`, x away from the workspace).
Hand names that collide with the arm's (e.g. a hand link `base` on a UR arm) get the prefix `hand_`; `names`
maps the hand URDF's names to the composed ones. The output is deterministic: the same installed packages give
the same text. Units: metres, radians.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pinocchio as pin

from scalehp_ros.robots import assets
from scalehp_ros.robots.registry import ARMS, HANDS, RobotSpec

HAND_PREFIX = "hand_"
BASE_LINK = "teleop_base"  # the composed root above an arm turned by ArmSpec.base_yaw (x away from the workspace)


@dataclass
class Composition:
    name: str
    urdf: str  # the composed URDF text
    arm_joints: tuple[str, ...]  # root -> flange, in order
    hand_joints: tuple[str, ...]  # the hand's movable joints (composed names)
    flange: str
    hand_root: str | None  # composed name of the hand's root link
    names: dict[str, str] = field(default_factory=dict)  # hand URDF name -> composed name

    def model(self) -> pin.Model:
        """The pinocchio model of the composed robot (every movable joint free)."""
        return pin.buildModelFromXML(self.urdf)


def _absolute_meshes(root: ET.Element, urdf: Path) -> None:
    for mesh in root.iter("mesh"):
        filename = mesh.get("filename", "")
        if filename.startswith("package://"):
            package, _, rel = filename[len("package://") :].partition("/")
            if package == "example-robot-data":
                path = assets.example_robot_data_dir().parent / rel
            else:
                path = urdf.parent / rel
        elif filename.startswith("file://"):
            path = Path(filename[len("file://") :])
        else:
            path = Path(filename) if Path(filename).is_absolute() else urdf.parent / filename
        mesh.set("filename", str(path.resolve()))


def _children(root: ET.Element) -> dict[str, list[ET.Element]]:
    out: dict[str, list[ET.Element]] = {}
    for joint in root.findall("joint"):
        out.setdefault(joint.find("parent").get("link"), []).append(joint)
    return out


def _chain(root: ET.Element, tip: str) -> list[str]:
    """Movable joints from the URDF root to `tip`, root first."""
    parent_joint = {j.find("child").get("link"): j for j in root.findall("joint")}
    names, link = [], tip
    while link in parent_joint:
        joint = parent_joint[link]
        if joint.get("type") != "fixed":
            names.append(joint.get("name"))
        link = joint.find("parent").get("link")
    return names[::-1]


def _prune_below(root: ET.Element, link: str) -> None:
    children = _children(root)
    stack = list(children.get(link, []))
    drop_links = set()
    while stack:
        joint = stack.pop()
        child = joint.find("child").get("link")
        drop_links.add(child)
        root.remove(joint)
        stack.extend(children.get(child, []))
    for element in list(root.findall("link")):
        if element.get("name") in drop_links:
            root.remove(element)


def _bound_continuous(arm_root: ET.Element, joints: tuple[str, ...]) -> None:
    """Continuous arm joints whose <limit> gives lower and upper (e.g. the Kinova Jaco 2's +-2 pi) become revolute
    joints with those limits: the arm IK and the command limits need bounded joints, and the description's own
    range is a subset of what the joint can do."""
    for joint in arm_root.findall("joint"):
        limit = joint.find("limit")
        if (
            joint.get("name") in joints
            and joint.get("type") == "continuous"
            and limit is not None
            and limit.get("lower") is not None
            and limit.get("upper") is not None
        ):
            joint.set("type", "revolute")


def _origin(joint: ET.Element) -> pin.SE3:
    origin = joint.find("origin")
    xyz = [float(v) for v in (origin.get("xyz", "0 0 0") if origin is not None else "0 0 0").split()]
    rpy = [float(v) for v in (origin.get("rpy", "0 0 0") if origin is not None else "0 0 0").split()]
    return pin.SE3(pin.rpy.rpyToMatrix(*rpy), np.array(xyz))


def _set_origin(joint: ET.Element, pose: pin.SE3) -> None:
    origin = joint.find("origin")
    if origin is None:
        origin = ET.SubElement(joint, "origin")
    origin.set("xyz", " ".join(f"{v:.10g}" for v in pose.translation))
    origin.set("rpy", " ".join(f"{v:.10g}" for v in pin.rpy.matrixToRpy(pose.rotation)))


def _turn_root(arm_root: ET.Element, arm: str, yaw: float) -> None:
    """Put the arm below a new root link BASE_LINK, turned by `yaw` (rad) about z.

    An empty root link (e.g. example-robot-data's `world` of the xArm and Z1) is replaced by BASE_LINK, its
    joints re-parented with the turn folded into their origins: MuJoCo's URDF import takes a link named
    `world` for its world body and would drop the turn above it.
    """
    links = {e.get("name"): e for e in arm_root.findall("link")}
    if BASE_LINK in links:
        raise ValueError(f"arm {arm}: it has a link named {BASE_LINK!r} already")
    children = {j.find("child").get("link") for j in arm_root.findall("joint")}
    (root,) = [n for n in links if n not in children]
    turn = pin.SE3(pin.rpy.rpyToMatrix(0.0, 0.0, yaw), np.zeros(3))
    base = ET.Element("link", {"name": BASE_LINK})
    arm_root.insert(0, base)
    if len(links[root]) == 0:
        arm_root.remove(links[root])
        for joint in arm_root.findall("joint"):
            if joint.find("parent").get("link") == root:
                joint.find("parent").set("link", BASE_LINK)
                _set_origin(joint, turn * _origin(joint))
        return
    joint = ET.Element("joint", {"name": f"{BASE_LINK}-{root}", "type": "fixed"})
    ET.SubElement(joint, "parent", {"link": BASE_LINK})
    ET.SubElement(joint, "child", {"link": root})
    _set_origin(joint, turn)
    arm_root.insert(1, joint)


def compose(spec: RobotSpec) -> Composition:
    """The composed robot of a registry entry (see the module docstring)."""
    arm = ARMS[spec.arm]
    arm_path = arm.urdf_path()
    arm_root = ET.parse(arm_path).getroot()
    for element in list(arm_root):
        if element.tag in ("mujoco", "gazebo", "transmission", "ros2_control"):
            arm_root.remove(element)
    _absolute_meshes(arm_root, arm_path)
    link_names = {link.get("name") for link in arm_root.findall("link")}
    if arm.flange not in link_names:
        raise ValueError(f"arm {arm.name}: flange link {arm.flange!r} is not in {arm_path.name}")
    if spec.hand is not None:
        _prune_below(arm_root, arm.flange)
    arm_joints = tuple(_chain(arm_root, arm.flange))
    _bound_continuous(arm_root, arm_joints)
    out = ET.Element("robot", {"name": spec.name})
    if arm.base_yaw:
        _turn_root(arm_root, arm.name, arm.base_yaw)
    for element in arm_root:
        out.append(copy.deepcopy(element))
    names: dict[str, str] = {}
    hand_joints: tuple[str, ...] = ()
    hand_root_name = None
    if spec.hand is not None:
        hand = HANDS[spec.hand]
        hand_path = hand.urdf_path(spec.side)
        hand_root = ET.parse(hand_path).getroot()
        _absolute_meshes(hand_root, hand_path)
        taken = {e.get("name") for e in out if e.tag in ("link", "joint", "material")}
        for element in hand_root:
            if element.tag in ("link", "joint") and element.get("name") in taken:
                names[element.get("name")] = HAND_PREFIX + element.get("name")
        hand_links = [e.get("name") for e in hand_root.findall("link")]
        child_links = {j.find("child").get("link") for j in hand_root.findall("joint")}
        roots = [n for n in hand_links if n not in child_links]
        if len(roots) != 1:
            raise ValueError(f"hand {hand.name}: expected one root link, found {roots}")
        for element in hand_root:
            if element.tag == "material" and element.get("name") in taken:
                continue
            element = copy.deepcopy(element)
            if element.tag in ("link", "joint"):
                element.set("name", names.get(element.get("name"), element.get("name")))
            if element.tag == "joint":
                for tag in ("parent", "child"):
                    node = element.find(tag)
                    node.set("link", names.get(node.get("link"), node.get("link")))
                mimic = element.find("mimic")
                if mimic is not None:
                    mimic.set("joint", names.get(mimic.get("joint"), mimic.get("joint")))
            out.append(element)
        hand_root_name = names.get(roots[0], roots[0])
        mount = ET.SubElement(out, "joint", {"name": f"{arm.flange}-{hand_root_name}_mount", "type": "fixed"})
        ET.SubElement(mount, "parent", {"link": arm.flange})
        ET.SubElement(mount, "child", {"link": hand_root_name})
        xyz = " ".join(f"{v:.10g}" for v in spec.mount_xyz)
        rpy = " ".join(f"{v:.10g}" for v in spec.mount_rpy)
        ET.SubElement(mount, "origin", {"xyz": xyz, "rpy": rpy})
        movable = [j for j in hand_root.findall("joint") if j.get("type") in ("revolute", "prismatic", "continuous")]
        hand_joints = tuple(names.get(j.get("name"), j.get("name")) for j in movable)
    if spec.hand is None:  # the arm's own end effector (e.g. SO-ARM's jaw) is the hand
        chain = set(arm_joints)
        hand_joints = tuple(
            j.get("name") for j in out.findall("joint") if j.get("type") != "fixed" and j.get("name") not in chain
        )
    ET.indent(out)
    text = '<?xml version="1.0"?>\n<!-- Composed by scalehp_ros.robots.compose from installed packages. -->\n'
    text += ET.tostring(out, encoding="unicode") + "\n"
    return Composition(spec.name, text, arm_joints, hand_joints, arm.flange, hand_root_name, names)


def flange_pose(composition: Composition, q_arm: np.ndarray | None = None) -> pin.SE3:
    """Pose of the flange in the URDF root at arm joints q_arm (default zeros), other joints at zero."""
    model = composition.model()
    data = model.createData()
    q = pin.neutral(model)
    if q_arm is not None:
        for name, value in zip(composition.arm_joints, q_arm, strict=True):
            q[model.joints[model.getJointId(name)].idx_q] = value
    pin.framesForwardKinematics(model, data, q)
    return data.oMf[model.getFrameId(composition.flange)].copy()
