"""Writes the project's robot descriptions (urdf/): UR5e-like 6-DOF arms with Allegro-like 16-DOF hands.

- urdf/scalehp_ur5e_allegro.urdf: one arm with a right hand on its flange (the default robot);
- urdf/scalehp_ur5e_allegro_left.urdf: the same arm with a left hand;
- urdf/scalehp_bimanual.urdf: two arms side by side on a common `base_link` (a pedestal), the robot's right
  arm (right hand) at y = +MOUNT_Y and its left arm (left hand) at y = -MOUNT_Y; the robot faces -x, its
  workspace, as the single arm does. Every link and joint of a side is prefixed `left_` / `right_`.

Arm frames are ur_description's (Universal_Robots_ROS2_Description): `base_link` (REP 103: x toward the
workspace), `base_link_inertia` and `base` (both `base_link` turned by pi about z; `base` is the UR controller's
base frame), shoulder_link ... wrist_3_link, `flange` and `tool0`, with ur_description's joint origins, so FK
from `base_link` to any of them equals ur_robot_driver's TF. In the single-arm URDFs the root is `base` (the
MuJoCo world and the retargeting base frame: x away from the workspace), with `base_link` below it; in the
bimanual URDF each side's `<side>_base_link` is mounted on the pedestal turned by pi, so `<side>_base` is parallel
to the pedestal's `base_link`. The hand hangs below `tool0` at `hand_mount` (not `hand_wrist`: with a side prefix
that would be `right_hand_wrist`, the name of the human wrist frame hand_pose_node publishes, REP 105).

The left hand is a true mirror of the right one, not a relabelled copy: every frame below the hand's palm
(hand_palm: z along the fingers, x out of the palm, y toward the index finger) is reflected through the
palm's x-z plane (M = diag(1, -1, 1): frame T -> M T M, geometry centres -> M c) and every joint axis a
becomes -M a, so that the same joint angle gives the mirror image (M R_a(q) M = R_{-Ma}(q)) and the joint
limits stay those of the right hand (flexion positive on both). test/test_bimanual.py checks the forward
kinematics of the two hands against each other through M for random joint angles.

Run `python tools/make_robot_urdf.py` after changing a number here; the URDFs are the committed output (the
robot descriptions robot_state_publisher, RViz, the retargeting core and the MuJoCo sandbox load). Only
primitive geometry.

Sources of the numbers (facts, not code, taken from):
- Arm kinematics: Universal Robots, "DH parameters for calculations of kinematics and dynamics" (UR5e):
  d1=0.1625, a2=-0.425, a3=-0.3922, d4=0.1333, d5=0.0997, d6=0.0996 m, alpha = (pi/2, 0, 0, pi/2, -pi/2, 0);
  https://www.universal-robots.com/articles/ur/application-installation/dh-parameters-for-calculations-of-kinematics-and-dynamics/
  The same page gives the link masses and centres of mass used below (in the DH frame of each link).
- Arm limits: UR5e technical specification (all joints +-360 deg, 180 deg/s; base/shoulder/elbow 150 Nm,
  wrists 28 Nm) and Universal_Robots_ROS2_Description (its ur5e joint_limits.yaml), which limits the elbow to
  +-pi (self-collision).
- Hand kinematics, limits (rad), velocity limit 7 rad/s, masses: allegro_hand_description (Allegro Hand V4, Wonik
  Robotics, BSD), as shipped in example-robot-data 6.0.0 (robots/allegro_hand_description/urdf/
  allegro_right_hand.urdf). Link and joint names are our own.
- Inertias: solid cylinder / box formulas for the primitive shapes with the published masses (approximation).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

URDF_DIR = Path(__file__).resolve().parent.parent / "urdf"
PI = math.pi
MOUNT_Y = 0.35  # m: each arm's base from the bimanual robot's centre line (the right arm at +y)
MIRROR = np.diag([1.0, -1.0, 1.0])  # the left hand: reflection through the hand_palm x-z plane

# UR5e DH parameters (standard DH: T_i = Rz(theta_i) Tz(d_i) Tx(a_i) Rx(alpha_i)).
DH_D = (0.1625, 0.0, 0.0, 0.1333, 0.0997, 0.0996)
DH_A = (0.0, -0.425, -0.3922, 0.0, 0.0, 0.0)
DH_ALPHA = (PI / 2, 0.0, 0.0, PI / 2, -PI / 2, 0.0)
ARM_JOINTS = ("shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint", "wrist_1_joint", "wrist_2_joint")
ARM_JOINTS = (*ARM_JOINTS, "wrist_3_joint")
ARM_LINKS = ("shoulder_link", "upper_arm_link", "forearm_link", "wrist_1_link", "wrist_2_link", "wrist_3_link")
ARM_LIMIT = (2 * PI, 2 * PI, PI, 2 * PI, 2 * PI, 2 * PI)
ARM_VELOCITY = (PI,) * 6
ARM_EFFORT = (150.0, 150.0, 150.0, 28.0, 28.0, 28.0)
ARM_MASS = (3.761, 8.058, 2.846, 1.37, 1.3, 0.365)
ARM_COM = ((0, -0.02561, 0.00193), (0.2125, 0, 0.11336), (0.15, 0, 0.0265), (0, -0.0018, 0.01634))
ARM_COM = (*ARM_COM, (0, 0.0018, 0.01634), (0, 0, -0.001159))
ARM_RADIUS = (0.060, 0.060, 0.045, 0.045, 0.045, 0.045)
# ur_description's joint origins (xyz, rpy) of the six arm joints: Universal_Robots_ROS2_Description
# urdf/ur_macro.xacro with config/ur5e/default_kinematics.yaml (the nominal UR5e values, i.e. the DH table above;
# the two ~2e-11 m z terms of wrist_2/wrist_3 there are rounding and left out). shoulder_pan_joint's parent is
# base_link_inertia = base_link turned by pi about z.
UR_JOINT_ORIGINS = (
    ((0.0, 0.0, DH_D[0]), (0.0, 0.0, 0.0)),
    ((0.0, 0.0, 0.0), (PI / 2, 0.0, 0.0)),
    ((DH_A[1], 0.0, 0.0), (0.0, 0.0, 0.0)),
    ((DH_A[2], 0.0, DH_D[3]), (0.0, 0.0, 0.0)),
    ((0.0, -DH_D[4], 0.0), (PI / 2, 0.0, 0.0)),
    ((0.0, DH_D[5], 0.0), (PI / 2, PI, PI)),
)
# ur_description link frame i = DH frame i-1 turned by theta_i, then moved LINK_Z[i] along its z axis.
LINK_Z = (DH_D[0], 0.0, 0.0, DH_D[3], DH_D[4], DH_D[5])

# Allegro V4 fingers (right hand). Per finger: mount xyz/rpy on the palm, segment lengths, limits, masses.
FINGER_SEGMENTS = (0.0164, 0.054, 0.0384, 0.0267)  # joint_0 -> joint_1 -> joint_2 -> joint_3 -> tip
FINGER_LIMITS = ((-0.47, 0.47), (-0.196, 1.61), (-0.174, 1.709), (-0.227, 1.618))
FINGER_MASSES = (0.0119, 0.065, 0.0355, 0.0096)
FINGER_AXES = ("0 0 1", "0 1 0", "0 1 0", "0 1 0")
FINGERS = {
    "index": ((0.0, 0.0435, -0.001542), (-0.08726646255, 0.0, 0.0)),
    "middle": ((0.0, 0.0, 0.0007), (0.0, 0.0, 0.0)),
    "ring": ((0.0, -0.0435, -0.001542), (0.08726646255, 0.0, 0.0)),
}
THUMB_MOUNT = ((-0.0182, 0.019333, -0.045987), (0.0, -1.65806278845, -1.5707963259))
THUMB_OFFSETS = ((-0.027, 0.005, 0.0399), (0.0, 0.0, 0.0177), (0.0, 0.0, 0.0514), (0.0, 0.0, 0.0423))
THUMB_LIMITS = ((0.263, 1.396), (-0.105, 1.163), (-0.189, 1.644), (-0.162, 1.719))
THUMB_MASSES = (0.0176, 0.0119, 0.038, 0.0388)
THUMB_AXES = ("-1 0 0", "0 0 1", "0 1 0", "0 1 0")
HAND_VELOCITY, HAND_EFFORT = 7.0, 15.0
TIP_MASS, TIP_RADIUS = 0.0168, 0.012
FINGER_WIDTH = (0.0196, 0.0275)
PALM_MASS, PALM_SIZE = 0.4154, (0.0408, 0.1130, 0.095)  # palm box, x thickness, y width, z height (wrist->knuckles)


def _fmt(values) -> str:
    return " ".join(f"{0.0 if abs(v) < 1e-12 else v:.10g}" for v in values)


def _rot_x(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _matrix(rpy) -> np.ndarray:
    """Rotation matrix of URDF rpy (R = Rz(yaw) Ry(pitch) Rx(roll))."""
    r, p, y = rpy
    cr, sr, cp, sp, cy, sy = math.cos(r), math.sin(r), math.cos(p), math.sin(p), math.cos(y), math.sin(y)
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    return rz @ ry @ rx


def _mirror(xyz, rpy=(0.0, 0.0, 0.0)) -> tuple[tuple[float, ...], tuple[float, float, float]]:
    """A frame (xyz, rpy) reflected by MIRROR: T -> M T M."""
    return tuple(MIRROR @ np.asarray(xyz, dtype=float)), _rpy(MIRROR @ _matrix(rpy) @ MIRROR)


def _mirror_axis(axis: str) -> str:
    """Joint axis of the mirrored joint: -M a (the same angle turns the mirror image)."""
    a = -MIRROR @ np.array([float(v) for v in axis.split()])
    return " ".join(f"{0.0 if v == 0 else v:g}" for v in a)


def _rpy(matrix: np.ndarray) -> tuple[float, float, float]:
    """URDF rpy (fixed-axis X, Y, Z) of a rotation matrix, not at gimbal lock."""
    pitch = math.asin(-max(-1.0, min(1.0, matrix[2, 0])))
    roll = math.atan2(matrix[2, 1], matrix[2, 2])
    yaw = math.atan2(matrix[1, 0], matrix[0, 0])
    return roll, pitch, yaw


def _cylinder_inertia(mass: float, radius: float, length: float, axis: str) -> tuple[float, ...]:
    """(ixx, iyy, izz) of a solid cylinder about its centre, with its axis along `axis`."""
    along = 0.5 * mass * radius**2
    across = mass * (3 * radius**2 + length**2) / 12
    return {"x": (along, across, across), "y": (across, along, across), "z": (across, across, along)}[axis]


def _box_inertia(mass: float, size: tuple[float, float, float]) -> tuple[float, ...]:
    x, y, z = size
    return (mass * (y * y + z * z) / 12, mass * (x * x + z * z) / 12, mass * (x * x + y * y) / 12)


def _inertial(mass: float, xyz, diag) -> str:
    return (
        f'    <inertial>\n      <origin xyz="{_fmt(xyz)}" rpy="0 0 0"/>\n      <mass value="{mass:.6g}"/>\n'
        f'      <inertia ixx="{diag[0]:.6g}" ixy="0" ixz="0" iyy="{diag[1]:.6g}" iyz="0" izz="{diag[2]:.6g}"/>\n'
        "    </inertial>\n"
    )


def _shape(kind: str, geometry: str, xyz, rpy=(0, 0, 0), material: str = "grey") -> str:
    origin = f'<origin xyz="{_fmt(xyz)}" rpy="{_fmt(rpy)}"/>'
    geom = f"<geometry>{geometry}</geometry>"
    body = f"      {origin}\n      {geom}\n"
    if kind == "visual":
        body += f'      <material name="{material}"/>\n'
    return f"    <{kind}>\n{body}    </{kind}>\n"


def _both(geometry: str, xyz, rpy=(0, 0, 0), material: str = "grey") -> str:
    return _shape("visual", geometry, xyz, rpy, material) + _shape("collision", geometry, xyz, rpy)


def _link(name: str, body: str = "") -> str:
    return f'  <link name="{name}">\n{body}  </link>\n'


def _joint(name, kind, parent, child, xyz, rpy, axis=None, limit=None) -> str:
    text = f'  <joint name="{name}" type="{kind}">\n    <parent link="{parent}"/>\n    <child link="{child}"/>\n'
    text += f'    <origin xyz="{_fmt(xyz)}" rpy="{_fmt(rpy)}"/>\n'
    if axis is not None:
        text += f'    <axis xyz="{axis}"/>\n'
    if limit is not None:
        lower, upper, effort, velocity = limit
        text += f'    <limit lower="{lower:.10g}" upper="{upper:.10g}" '
        text += f'effort="{effort:g}" velocity="{velocity:.10g}"/>\n'
    return text + "  </joint>\n"


def arm(prefix: str = "", root: bool = True) -> str:
    """One arm with ur_description's frames (base_link, base_link_inertia, base, *_link, flange, tool0).

    Joint origins are ur_description's (urdf/ur_macro.xacro with config/ur5e/default_kinematics.yaml), so every
    frame named like one of ur_description's has the same transform from `base_link` at every q; `base_link` is
    REP 103 (x forward, away from the controller's `base`), `base` and `base_link_inertia` are `base_link`
    turned by pi about z. root=True: `base` (the UR controller's base frame, DH frame 0) is the URDF root, so
    the description's root frame (the MuJoCo world) stays the controller frame; the joint base -> base_link
    is ur_description's base_link -> base joint reversed (the same transform: Rz(pi) is its own inverse).
    root=False: `base_link` is mounted by the caller and `base` hangs below it, as in ur_description.
    Link i's frame is DH frame i-1 turned by theta_i and moved by LINK_Z[i] along its z axis.
    """
    n = prefix
    out = _link(f"{n}base_link")
    yaw_pi = (0.0, 0.0, PI)
    out += _joint(
        f"{n}base_link-base_link_inertia", "fixed", f"{n}base_link", f"{n}base_link_inertia", (0, 0, 0), yaw_pi
    )
    out += _link(
        f"{n}base_link_inertia",
        _both('<cylinder radius="0.075" length="0.02"/>', (0, 0, 0.01), material="grey")
        + _inertial(4.0, (0, 0, 0.01), _cylinder_inertia(4.0, 0.075, 0.02, "z")),
    )
    if root:
        out = (
            _link(f"{n}base")
            + _joint(f"{n}base-base_link_fixed_joint", "fixed", f"{n}base", f"{n}base_link", (0, 0, 0), (0, 0, PI))
            + out
        )
    else:
        out += _joint(f"{n}base_link-base_fixed_joint", "fixed", f"{n}base_link", f"{n}base", (0, 0, 0), (0, 0, PI))
        out += _link(f"{n}base")
    parent = f"{n}base_link_inertia"
    for i in range(6):
        d, a, alpha, r = DH_D[i], DH_A[i], DH_ALPHA[i], ARM_RADIUS[i]
        # Geometry in the DH-based frame (the part of the DH transform after the joint rotation: Tz(d) Tx(a)
        # Rx(alpha)), moved into the ur_description link frame by -LINK_Z[i] along z.
        dz = -LINK_Z[i]
        body = _both(f'<cylinder radius="{r}" length="{2 * r}"/>', (0, 0, dz), material="blue")
        if d > 0:
            body += _both(f'<cylinder radius="{r * 0.9:.4g}" length="{d}"/>', (0, 0, d / 2 + dz))
        if a != 0:
            body += _both(f'<cylinder radius="{r * 0.9:.4g}" length="{abs(a)}"/>', (a / 2, 0, d + dz), (0, PI / 2, 0))
        com = np.array([0.0, 0.0, d + dz]) + np.array([a, 0.0, 0.0]) + _rot_x(alpha) @ np.array(ARM_COM[i])
        length, axis = (abs(a), "x") if a != 0 else (max(d, 2 * r), "z")
        body += _inertial(ARM_MASS[i], com, _cylinder_inertia(ARM_MASS[i], r, length, axis))
        xyz, rpy = UR_JOINT_ORIGINS[i]
        limit = (-ARM_LIMIT[i], ARM_LIMIT[i], ARM_EFFORT[i], ARM_VELOCITY[i])
        out += _joint(n + ARM_JOINTS[i], "revolute", parent, n + ARM_LINKS[i], xyz, rpy, "0 0 1", limit)
        out += _link(n + ARM_LINKS[i], body)
        parent = n + ARM_LINKS[i]
    # ROS-Industrial flange (x out of the flange) and tool0 (z out of the flange; DH frame 6), as ur_description
    out += _joint(f"{n}wrist_3-flange", "fixed", parent, f"{n}flange", (0, 0, 0), (0, -PI / 2, -PI / 2))
    out += _link(f"{n}flange")
    out += _joint(f"{n}flange-tool0", "fixed", f"{n}flange", f"{n}tool0", (0, 0, 0), (PI / 2, PI, PI / 2))
    out += _link(f"{n}tool0")
    return out


def hand(prefix: str = "", side: str = "right") -> str:
    # hand_mount: at the flange, in the human palm-frame convention used by scalehp_ros.retargeting.transforms
    # (x toward the middle finger, z out of the palm, y = z x x); hand_palm: the Allegro base frame
    # (z along the fingers, x out of the palm, y toward the index finger), at the knuckle line.
    # Both conventions are the same on either side (the palm frame's y = z x x points toward the thumb on a
    # left hand), so only what lies below hand_palm is mirrored for the left hand.
    n = prefix
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    left = side == "left"

    def frame(xyz, rpy=(0.0, 0.0, 0.0)):
        return _mirror(xyz, rpy) if left else (tuple(xyz), tuple(rpy))

    def axis_of(axis: str) -> str:
        return _mirror_axis(axis) if left else axis

    swap = (0.0, -PI / 2, PI)  # rotation with columns (z, -y, x): maps one convention to the other
    # hand_mount is DH frame 6 turned by `swap`; ur_description's tool0 is DH frame 6 turned by pi about z, so
    # from tool0 the rotation is Rz(pi) Rz(pi) Ry(-pi/2) = Ry(-pi/2).
    mount = (0.0, -PI / 2, 0.0)
    out = _joint(f"{n}tool0-hand_mount_fixed_joint", "fixed", f"{n}tool0", f"{n}hand_mount", (0, 0, 0), mount)
    out += _link(f"{n}hand_mount")
    out += _joint(
        f"{n}hand_mount-hand_palm_fixed_joint", "fixed", f"{n}hand_mount", f"{n}hand_palm", (PALM_SIZE[2], 0, 0), swap
    )
    palm_centre = (-0.0093, 0.0, -PALM_SIZE[2] / 2)
    out += _link(
        f"{n}hand_palm",
        _both(f'<box size="{_fmt(PALM_SIZE)}"/>', palm_centre, material="black")
        + _inertial(PALM_MASS, palm_centre, _box_inertia(PALM_MASS, PALM_SIZE)),
    )
    finger = (FINGER_SEGMENTS, FINGER_LIMITS, FINGER_MASSES, FINGER_AXES)
    chains = {name: (mount, *finger) for name, mount in FINGERS.items()}
    thumb_lengths = tuple(float(np.linalg.norm(o)) for o in THUMB_OFFSETS)
    chains["thumb"] = (THUMB_MOUNT, thumb_lengths, THUMB_LIMITS, THUMB_MASSES, THUMB_AXES)
    for finger, (mount, lengths, limits, masses, axes) in chains.items():
        parent, xyz, rpy = f"{n}hand_palm", mount[0], mount[1]
        for k in range(4):
            link = f"{n}{finger}_link_{k}"
            nxt = THUMB_OFFSETS[k] if finger == "thumb" else (0.0, 0.0, lengths[k])
            size = (*FINGER_WIDTH, max(abs(nxt[2]), 0.01))
            centre = frame((nxt[0] / 2, nxt[1] / 2, nxt[2] / 2))[0]
            body = _both(f'<box size="{_fmt(size)}"/>', centre, material="black")
            body += _inertial(masses[k], centre, _box_inertia(masses[k], size))
            limit = (limits[k][0], limits[k][1], HAND_EFFORT, HAND_VELOCITY)
            origin = frame(xyz, rpy)
            out += _joint(f"{n}{finger}_joint_{k}", "revolute", parent, link, *origin, axis_of(axes[k]), limit)
            out += _link(link, body)
            parent, xyz, rpy = link, nxt, (0.0, 0.0, 0.0)
        tip = f"{n}{finger}_tip"
        out += _joint(f"{n}{finger}_tip_fixed_joint", "fixed", parent, tip, frame(xyz)[0], (0, 0, 0))
        tip_body = _both(f'<sphere radius="{TIP_RADIUS}"/>', (0, 0, 0), material="white")
        tip_body += _inertial(TIP_MASS, (0, 0, 0), (0.4 * TIP_MASS * TIP_RADIUS**2,) * 3)
        out += _link(tip, tip_body)
    return out


# MuJoCo's URDF import: keep every link a body. Fusing the fixed links (its default) misplaces the centre of
# mass of a body that absorbs massless links with rotated joint origins (flange, tool0, hand_mount: 5-13 cm off
# for wrist_3 + palm, against pinocchio and the unfused model). Ignored by urdfdom and pinocchio.
MUJOCO = '  <mujoco>\n    <compiler fusestatic="false" discardvisual="true"/>\n  </mujoco>\n'

MATERIALS = (
    '  <material name="grey"><color rgba="0.7 0.7 0.7 1"/></material>\n'
    '  <material name="blue"><color rgba="0.2 0.4 0.8 1"/></material>\n'
    '  <material name="black"><color rgba="0.15 0.15 0.15 1"/></material>\n'
    '  <material name="white"><color rgba="0.95 0.95 0.95 1"/></material>\n'
)


def _header(name: str) -> str:
    return (
        '<?xml version="1.0"?>\n'
        "<!-- Generated by tools/make_robot_urdf.py (edit that file, not this one); sources of every number are\n"
        "     listed in its docstring: UR5e DH parameters, masses and limits from Universal Robots, hand kinematics,\n"
        "     limits and masses from the BSD allegro_hand_description (Wonik Robotics). Primitive geometry only. -->\n"
        f'<robot name="{name}">\n' + MUJOCO + MATERIALS
    )


def bimanual() -> str:
    """Two arms on a common base_link: a pedestal box under both arm bases, the right arm at y = +MOUNT_Y."""
    pedestal = (0.3, 2 * MOUNT_Y + 0.3, 0.05)
    out = _link(
        "base_link",
        _both(f'<box size="{_fmt(pedestal)}"/>', (0, 0, -pedestal[2] / 2), material="grey")
        + _inertial(20.0, (0, 0, -pedestal[2] / 2), _box_inertia(20.0, pedestal)),
    )
    for side, y in (("right", MOUNT_Y), ("left", -MOUNT_Y)):
        prefix = f"{side}_"
        out += _joint(
            f"base_link-{prefix}base_link_fixed_joint",
            "fixed",
            "base_link",
            f"{prefix}base_link",
            (0, y, 0),
            (0, 0, PI),
        )  # each arm's base_link (x toward its workspace) turned by pi: its `base` parallel to the pedestal
        out += arm(prefix, root=False) + hand(prefix, side)
    return out


def descriptions() -> dict[str, str]:
    """File name -> URDF text of every robot description the project ships."""
    return {
        "scalehp_ur5e_allegro.urdf": _header("scalehp_ur5e_allegro") + arm() + hand() + "</robot>\n",
        "scalehp_ur5e_allegro_left.urdf": _header("scalehp_ur5e_allegro_left")
        + arm()
        + hand(side="left")
        + "</robot>\n",
        "scalehp_bimanual.urdf": _header("scalehp_bimanual") + bimanual() + "</robot>\n",
    }


def main() -> None:
    URDF_DIR.mkdir(exist_ok=True)
    for name, text in descriptions().items():
        (URDF_DIR / name).write_text(text)
        print(f"wrote {URDF_DIR / name}")


if __name__ == "__main__":
    main()
