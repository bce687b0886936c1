"""The robot registry: arms, hands and the robots composed from them, all read from installed packages.

An arm is a URDF (example-robot-data's, or this project's UR5e) and its flange link; its joints are the movable
joints from the URDF root to the flange (found, not listed). A hand is a dexi-rs asset model with one URDF per
side, its licence file and the retargeting config of each side (config/hands/, dex-retargeting's YAML format).
A robot is an arm + an optional hand + a mount (the hand's root on the flange: xyz in metres, rpy in radians).
`list_json()` is what `scalehp-robots list --json` prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from scalehp_ros.robots import assets

CONFIGS = "config/hands"  # the project's hand retargeting configs (dex-retargeting format), share-relative


@dataclass(frozen=True)
class ArmSpec:
    name: str
    kind: str  # asset kind: 'erd' (example-robot-data) or 'project'
    urdf: str  # relative to the asset root
    flange: str  # link the hand is mounted on (z out of the flange where the arm follows ROS-I's tool0)
    description: str
    licence: str  # where the terms are
    posture: tuple[float, ...] = ()  # rad, a comfortable non-singular pose (IK seed and posture term); () = zeros
    # rad: the composed robot's root `teleop_base` is the arm's root turned by this about z, so that the posture
    # reaches toward -x, the workspace of the project's frames (UR's `base`: config/retarget.yaml's camera pose
    # and workspace box, the MuJoCo sandbox's table); 0 = the arm's own root is the composed root
    base_yaw: float = 0.0

    def urdf_path(self) -> Path:
        return assets.resolve(self.kind, self.urdf)


@dataclass(frozen=True)
class HandSpec:
    name: str
    folder: str  # under dexi-rs's hands/
    urdfs: dict[str, str]  # side -> URDF relative to the hands folder
    licence: str | None  # licence file relative to the hands folder (None: none shipped)
    description: str

    @property
    def sides(self) -> tuple[str, ...]:
        return tuple(self.urdfs)

    def urdf_path(self, side: str) -> Path:
        if side not in self.urdfs:
            raise ValueError(f"hand {self.name!r} has no {side!r} side; sides: {list(self.urdfs)}")
        return assets.resolve("dexi", self.urdfs[side])

    def config_path(self, side: str) -> Path:
        """This side's retargeting config (dex-retargeting format) in config/hands/."""
        suffix = "" if len(self.urdfs) == 1 else f"_{side}"
        return assets.project_dir() / CONFIGS / f"{self.name}{suffix}.yml"


@dataclass(frozen=True)
class RobotSpec:
    name: str
    arm: str
    hand: str | None
    side: str = "right"
    mount_xyz: tuple[float, float, float] = (0.0, 0.0, 0.0)
    mount_rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)


_ERD_UR = "UR (CB3) from ur_description via example-robot-data"
UR_POSTURE = (0.0, -1.9, 1.9, -1.57, -1.57, 0.0)  # rad: palm down in front of the robot
_ERD = "example-robot-data's licence (BSD-3-Clause) and the upstream description's, see its README"
ARMS: dict[str, ArmSpec] = {
    a.name: a
    for a in (
        ArmSpec("ur5e", "project", "urdf/scalehp_ur5e_allegro.urdf", "tool0",
                "UR5e with ur_description's frames (this project's description, hand removed)",
                "Apache-2.0 (this project)", UR_POSTURE),
        ArmSpec("ur3", "erd", "ur_description/urdf/ur3_robot.urdf", "tool0", _ERD_UR, _ERD, UR_POSTURE, math.pi),
        ArmSpec("ur5", "erd", "ur_description/urdf/ur5_robot.urdf", "tool0", _ERD_UR, _ERD, UR_POSTURE, math.pi),
        ArmSpec("ur10", "erd", "ur_description/urdf/ur10_robot.urdf", "tool0", _ERD_UR, _ERD, UR_POSTURE, math.pi),
        ArmSpec("panda", "erd", "panda_description/urdf/panda.urdf", "panda_link8",
                "Franka Emika Panda (its Franka hand removed when another hand is mounted)",
                "panda_description/LICENSE (Apache-2.0)",
                (0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785), math.pi),
        ArmSpec("xarm7", "erd", "xarm_description/urdf/xarm7.urdf", "link7", "UFACTORY xArm7", _ERD,
                (0.0, -0.3, 0.0, 0.6, 0.0, 0.9, 0.0), math.pi),
        ArmSpec("z1", "erd", "z1_description/urdf/z1.urdf", "link06", "Unitree Z1 (gripper removed)", _ERD,
                (0.0, 1.0, -1.0, 0.0, 0.0, 0.0), math.pi),
        ArmSpec("so100", "erd", "so_arm_description/urdf/so100.urdf", "gripper",
                "SO-ARM100 (LeRobot), its jaw gripper kept as the hand", _ERD,
                (0.0, -1.0, 1.0, 0.5, 0.0)),
        ArmSpec("kinova_j2s6s200", "erd", "kinova_description/robots/kinova.urdf", "j2s6s200_end_effector",
                "Kinova Jaco 2 (j2s6s200, fingers removed)", _ERD,
                (0.52, 2.92, 1.0, 4.19, 1.44, 1.31)),  # Kinova's home pose, joint 1 turned toward -x
    )
}  # fmt: skip

HANDS: dict[str, HandSpec] = {
    h.name: h
    for h in (
        HandSpec("ability_hand", "ability_hand", {s: f"ability_hand/ability_hand_{s}.urdf" for s in ("right", "left")},
                 "ability_hand/LICENSE.txt", "PSYONIC Ability Hand (6 actuated of 10 joints, mimic)"),
        HandSpec("allegro_hand", "allegro_hand", {s: f"allegro_hand/allegro_hand_{s}.urdf" for s in ("right", "left")},
                 "allegro_hand/LICENSE", "Wonik Allegro Hand V4 (16 joints)"),
        HandSpec("inspire_hand", "inspire_hand", {s: f"inspire_hand/inspire_hand_{s}.urdf" for s in ("right", "left")},
                 "inspire_hand/LICENSE.txt", "Inspire RH56 (6 actuated of 12 joints, mimic)"),
        HandSpec("leap_hand", "leap_hand", {s: f"leap_hand/leap_hand_{s}.urdf" for s in ("right", "left")},
                 "leap_hand/LICENSE.txt", "LEAP Hand (16 joints)"),
        HandSpec("schunk_svh_hand", "schunk_hand",
                 {s: f"schunk_hand/schunk_svh_hand_{s}.urdf" for s in ("right", "left")},
                 "schunk_hand/LICENSE", "Schunk SVH (9 actuated of 20 joints, mimic)"),
        HandSpec("shadow_hand", "shadow_hand", {s: f"shadow_hand/shadow_hand_{s}.urdf" for s in ("right", "left")},
                 "shadow_hand/LICENSE", "Shadow Dexterous Hand (24 joints)"),
        HandSpec("fourier_hand_6dof", "fourier_hand",
                 {"right": "fourier_hand/base_urdf/fourier_right_hand_6dof.urdf",
                  "left": "fourier_hand/base_urdf/fourier_left_hand_6dof.urdf"},
                 "fourier_hand/LICENSE", "Fourier FDH-6 (6 actuated of 11 joints, mimic)"),
        HandSpec("panda_gripper", "panda_gripper", {"right": "panda_gripper/panda_gripper_glb.urdf"}, None,
                 "Franka parallel gripper (no licence file in dexi-rs; panda_description's Apache-2.0 covers Franka's "
                 "description in example-robot-data)"),
    )
}  # fmt: skip

ROBOTS: dict[str, RobotSpec] = {
    r.name: r
    for r in (
        *(
            RobotSpec(f"ur5e_{h}" + (f"_{s}" if len(HANDS[h].sides) > 1 else ""), "ur5e", h, s)
            for h in HANDS
            for s in HANDS[h].sides
        ),
        RobotSpec("panda_panda_gripper", "panda", "panda_gripper"),
        RobotSpec("xarm7_inspire_hand_right", "xarm7", "inspire_hand", "right"),
        RobotSpec("ur10_leap_hand_right", "ur10", "leap_hand", "right"),
        RobotSpec("z1_allegro_hand_right", "z1", "allegro_hand", "right"),
        RobotSpec("panda_allegro_hand_right", "panda", "allegro_hand", "right"),
        RobotSpec("xarm7_allegro_hand_right", "xarm7", "allegro_hand", "right"),
        RobotSpec("ur5_allegro_hand_right", "ur5", "allegro_hand", "right"),
        RobotSpec("ur10_allegro_hand_right", "ur10", "allegro_hand", "right"),
        RobotSpec("ur3_allegro_hand_right", "ur3", "allegro_hand", "right"),
        RobotSpec("kinova_j2s6s200_ability_hand_right", "kinova_j2s6s200", "ability_hand", "right"),
        RobotSpec("so100", "so100", None),
        RobotSpec("panda_franka_hand", "panda", None),  # the Panda's own Franka hand (parallel gripper)
    )
}


def robot(name: str) -> RobotSpec:
    """A registered robot, or ValueError listing the names."""
    if name not in ROBOTS:
        raise ValueError(f"unknown robot {name!r}; registered: {sorted(ROBOTS)}")
    return ROBOTS[name]


def list_json() -> dict[str, list]:
    """{"arms": [...], "hands": [...], "robots": [...]}: hands once per model with their sides."""
    return {
        "arms": [{"name": a.name, "description": a.description, "flange": a.flange} for a in ARMS.values()],
        "hands": [{"name": h.name, "sides": list(h.sides), "description": h.description} for h in HANDS.values()],
        "robots": [
            {"name": r.name, "arm": r.arm, "hand": r.hand, "side": r.side if r.hand else None} for r in ROBOTS.values()
        ],
    }
