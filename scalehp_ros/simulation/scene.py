"""The MuJoCo scene, generated from the project's own files: nothing is downloaded, nothing hand-written in MJCF.

- The robot: the URDF (urdf/*.urdf, written by tools/make_robot_urdf.py) compiled by MuJoCo's own URDF
  parser (mujoco.MjSpec.from_file); fixed links are fused into their parents, collision shapes are kept
  (primitive boxes, cylinders, spheres), the arm base is welded to the world at the origin.
- Actuators: one position actuator per revolute joint, its control range the URDF's position limits, its
  force range the URDF's effort limit; gains from the joint's effort (ACTUATOR_GAINS). Every robot body
  carries gravity compensation (a real arm controller compensates gravity too), so the gains only have to
  follow the command. The joint's URDF velocity limit is applied by `sim.Simulation` to the setpoint.
- The world: a floor, a table whose top is the robot base's plane (z = 0, the arm stands on the table), and
  a few graspable objects of known size and mass (OBJECTS) in front of each arm (the robot faces -x).
  The robot's own shapes never collide with each other (contype/conaffinity), only with the world.
- A camera (`scene`) looking at the robot and the table from the operator's side, and lights.
Units: metres, kilograms, radians, seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scalehp_ros.common.pinhole import focal_from_fov

# contype / conaffinity: robot geoms touch only the world, world geoms touch the robot and each other
ROBOT_COLLISION = (1, 2)
WORLD_COLLISION = (2, 3)
TABLE_SIZE = (0.4, 1.1, 0.03)  # half sizes (m): the table top, centred at TABLE_CENTRE, its top at z = 0
TABLE_CENTRE = (-0.52, 0.0)  # near edge 0.12 m in front of the arm base (the shoulder turns freely)
FLOOR_Z = -0.75


@dataclass(frozen=True)
class SceneObject:
    """A free rigid body on the table: shape 'box' (half sizes), 'cylinder' (radius, half height) or 'sphere'."""

    name: str
    shape: str
    size: tuple[float, ...]  # MuJoCo half sizes (m)
    xy: tuple[float, float]  # position on the table, in front of the arm (m, arm base frame)
    mass: float  # kg
    rgba: tuple[float, float, float, float]

    @property
    def half_height(self) -> float:
        return {"box": self.size[-1], "cylinder": self.size[-1], "sphere": self.size[0]}[self.shape]


# In front of an arm at its base frame: the graspable cube sits under the rest posture's palm.
OBJECTS = (
    SceneObject("cube", "box", (0.025, 0.025, 0.025), (-0.62, -0.22), 0.08, (0.85, 0.25, 0.2, 1.0)),
    SceneObject("can", "cylinder", (0.025, 0.08), (-0.5, 0.0), 0.1, (0.2, 0.7, 0.3, 1.0)),
    SceneObject("ball", "sphere", (0.03,), (-0.6, 0.2), 0.05, (0.95, 0.8, 0.2, 1.0)),
)


@dataclass(frozen=True)
class ArmMount:
    """Where one arm's base frame sits in the world (the URDF's base frame, metres), for placing its objects."""

    prefix: str  # link/joint name prefix of this arm in the URDF ('' for a single arm, 'left_' / 'right_')
    xyz: tuple[float, float, float]


def _gain(effort: float) -> tuple[float, float]:
    """(kp N m/rad, kv N m s/rad) of a position actuator for a joint of this effort limit (N m)."""
    if effort >= 100.0:  # shoulder and elbow
        return 6000.0, 200.0
    if effort >= 20.0:  # wrists
        return 800.0, 25.0
    return 3.0, 0.08  # fingers (Allegro-like: fractions of a newton metre in practice)


ACTUATOR_GAINS = "kp, kv by URDF effort: >= 100 N m: 6000, 200; >= 20 N m: 800, 25; fingers 3, 0.08"


def _urdf_efforts(urdf: Path) -> dict[str, tuple[float, float]]:
    """{joint name: (effort N m or N, velocity rad/s or m/s)} of the URDF's revolute and prismatic joints."""
    import xml.etree.ElementTree as ET

    out = {}
    for joint in ET.parse(urdf).getroot().iter("joint"):
        limit = joint.find("limit")
        if joint.get("type") in ("revolute", "prismatic") and limit is not None:
            out[joint.get("name")] = (float(limit.get("effort", "0")), float(limit.get("velocity", "0")))
    return out


def arm_mounts(urdf: Path) -> tuple[ArmMount, ...]:
    """The arms of a project URDF: one at the origin, or 'left_'/'right_' arms at their fixed base joints."""
    import xml.etree.ElementTree as ET

    mounts = []
    for joint in ET.parse(urdf).getroot().iter("joint"):
        child = joint.find("child").get("link")
        if joint.get("type") == "fixed" and child.endswith("base_link") and child != "base_link":
            xyz = tuple(float(v) for v in joint.find("origin").get("xyz").split())
            mounts.append(ArmMount(child[: -len("base_link")], xyz))
    return tuple(mounts) or (ArmMount("", (0.0, 0.0, 0.0)),)


@dataclass(frozen=True)
class Scene:
    """A compiled scene and what the simulation needs to know about it."""

    model: object  # mujoco.MjModel
    joints: tuple[str, ...]  # actuated robot joints, actuator order
    velocity: np.ndarray  # rad/s, URDF velocity limit per actuated joint
    objects: tuple[str, ...]  # free bodies (prefixed per arm: 'right_cube', or 'cube' for one arm)
    object_sizes: dict[str, SceneObject]
    xml: str  # the generated MJCF (for inspection: `python -m scalehp_ros.simulation.scene URDF`)


def build_scene(
    urdf: str | Path,
    objects: tuple[SceneObject, ...] = OBJECTS,
    timestep: float = 0.002,
    camera_width: int = 320,
    camera_height: int = 240,
) -> Scene:
    """Compile the robot URDF with table, objects, actuators, camera and lights into a MuJoCo model."""
    import mujoco

    urdf = Path(urdf)
    limits = _urdf_efforts(urdf)
    spec = mujoco.MjSpec.from_file(str(urdf))
    spec.modelname = urdf.stem
    spec.option.timestep = timestep
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.option.impratio = 10.0  # stiffer friction constraints: held objects do not creep
    spec.visual.global_.offwidth = max(640, camera_width)
    spec.visual.global_.offheight = max(480, camera_height)
    spec.stat.extent = 1.5
    spec.stat.center = [-0.4, 0.0, 0.2]

    robot_bodies = [b for b in spec.worldbody.bodies]
    stack = list(robot_bodies)
    while stack:
        body = stack.pop()
        body.gravcomp = 1.0
        for geom in body.geoms:
            geom.contype, geom.conaffinity = ROBOT_COLLISION
            geom.friction = [1.0, 0.02, 0.001]
        stack.extend(body.bodies)

    joints = []
    for joint in spec.joints:
        if joint.type not in (mujoco.mjtJoint.mjJNT_HINGE, mujoco.mjtJoint.mjJNT_SLIDE) or joint.name not in limits:
            continue
        effort, _ = limits[joint.name]
        kp, kv = _gain(effort)
        joint.armature = 0.1 if effort >= 20.0 else 0.001
        act = spec.add_actuator()
        act.name = joint.name
        act.target = joint.name
        act.trntype = mujoco.mjtTrn.mjTRN_JOINT
        act.set_to_position(kp=kp, kv=kv)
        act.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
        act.ctrlrange = list(joint.range)
        act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
        act.forcerange = [-effort, effort]
        joints.append(joint.name)

    world = spec.worldbody
    world.add_light(pos=[-0.5, 0.0, 2.0], dir=[0, 0, -1], diffuse=[0.7, 0.7, 0.7])
    world.add_light(pos=[-1.5, 1.0, 1.5], dir=[1, -0.6, -1], diffuse=[0.4, 0.4, 0.4])
    floor = world.add_geom(type=mujoco.mjtGeom.mjGEOM_PLANE, size=[3, 3, 0.1], pos=[0, 0, FLOOR_Z])
    floor.rgba = [0.55, 0.6, 0.65, 1]
    floor.contype, floor.conaffinity = WORLD_COLLISION
    mounts = arm_mounts(urdf)
    ys = [m.xyz[1] for m in mounts]
    table_half_y = max(TABLE_SIZE[1] / 2, (max(ys) - min(ys)) / 2 + 0.45)
    table = world.add_geom(
        name="table",
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=[TABLE_SIZE[0], table_half_y, TABLE_SIZE[2]],
        pos=[TABLE_CENTRE[0], (max(ys) + min(ys)) / 2, -TABLE_SIZE[2]],
    )
    table.rgba = [0.6, 0.45, 0.3, 1]
    table.contype, table.conaffinity = WORLD_COLLISION

    shapes = {
        "box": mujoco.mjtGeom.mjGEOM_BOX,
        "cylinder": mujoco.mjtGeom.mjGEOM_CYLINDER,
        "sphere": mujoco.mjtGeom.mjGEOM_SPHERE,
    }
    names, sizes = [], {}
    for mount in mounts:
        side = mount.prefix.rstrip("_")
        for obj in objects:
            # objects beside the cube sit outward of each arm's centre line (mirrored for a left arm)
            y = obj.xy[1] if side != "left" else -obj.xy[1]
            name = f"{mount.prefix}{obj.name}"
            body = world.add_body(
                name=name, pos=[mount.xyz[0] + obj.xy[0], mount.xyz[1] + y, mount.xyz[2] + obj.half_height + 0.001]
            )
            body.add_freejoint()
            geom = body.add_geom(type=shapes[obj.shape], size=list(obj.size) + [0.0] * (3 - len(obj.size)))
            geom.mass = obj.mass
            geom.rgba = list(obj.rgba)
            geom.friction = [1.0, 0.02, 0.001]
            geom.condim = 4
            geom.contype, geom.conaffinity = WORLD_COLLISION
            names.append(name)
            sizes[name] = obj

    # the scene camera: from the operator's side (in front of the robot, -x), above the table
    eye = np.array([-1.55, 0.0, 0.75])
    target = np.array([-0.35, 0.0, 0.1])
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    world.add_camera(name="scene", pos=eye.tolist(), xyaxes=[*right.tolist(), *up.tolist()], fovy=55.0)

    model = spec.compile()
    _colour(model, mujoco)
    velocity = np.array([limits[j][1] for j in joints])
    return Scene(model, tuple(joints), velocity, tuple(names), sizes, spec.to_xml())


def _colour(model, mujoco) -> None:
    """Colours of the robot's collision shapes (the URDF's visual materials are not compiled): arm blue,
    hand dark, fingertips white."""
    for g in range(model.ngeom):
        body = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, model.geom_bodyid[g]) or ""
        if model.geom_bodyid[g] == 0:
            continue
        if model.body_dofnum[model.geom_bodyid[g]] == 6:
            continue  # objects keep their colours
        if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_SPHERE:
            model.geom_rgba[g] = (0.95, 0.95, 0.95, 1)
        elif any(k in body for k in ("index", "middle", "ring", "thumb")) or "wrist_3" in body:
            model.geom_rgba[g] = (0.15, 0.15, 0.17, 1)
        else:
            model.geom_rgba[g] = (0.3, 0.5, 0.85, 1)


def camera_intrinsics(fovy_deg: float, width: int, height: int) -> np.ndarray:
    """3x3 K of a MuJoCo camera (square pixels, vertical field of view fovy)."""
    f = focal_from_fov(height, fovy_deg)
    return np.array([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])


if __name__ == "__main__":
    import sys

    print(build_scene(sys.argv[1] if len(sys.argv) > 1 else "urdf/scalehp_ur5e_allegro.urdf").xml)
