"""A scripted grasp: a generated hand closing over an object, sent through the robot command interface.

The arm follows a Cartesian path (the palm-convention frame, retargeting.arm_ik on pinocchio, one IK solve
per command at `rate` Hz, warm-started, like retarget_node's stream) and the hand goes from open to closed
in `close_s` seconds, both as position commands to the simulated robot (Simulation.command), which applies
them under the URDF's velocity and effort limits. Steps: above the object, down to the grasp pose (palm
down, fingers forward, the object under the palm), close, lift by `lift_m`. Used by test_simulation and
bench/sim.py.

CLOSED: the hand posture whose thumb, index and middle fingertips meet at one point 0.12 m along the fingers
and 0.06 m out of the palm from the wrist (least squares over the hand's joint limits on the URDF, rounded);
the object's grasp point is put there, so the closing fingers squeeze it. The ring finger curls while
the hand closes (straight while open, so it does not hang below the palm during the descent).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pinocchio as pin

from scalehp_ros.retargeting.arm_ik import ArmIK
from scalehp_ros.retargeting.robot_config import ArmConfig, RobotConfig

# hand.joints order of the project's hands (index, middle, ring, thumb; joints 0..3 each), rad
CLOSED = np.array([-0.47, 0.6, 1.31, 0.95, 0.0, 0.43, 1.53, 1.1, 0.14, 1.2, 1.2, 1.2, 1.4, 0.34, 1.42, 0.0])
# the ring finger is straight while open: curled, it hangs below the palm and tips the object over on the way
# down (measured: ring_link_2 touches the can in the last 2 cm of the descent, a fall or not by chance)
OPEN = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.14, 0.0, 0.0, 0.0, 0.263, 0.0, 0.0, 0.0])
GRASP_POINT = np.array([0.12, 0.0, 0.06])  # m, in the palm-convention frame (x along the fingers, z out of palm)


@dataclass(frozen=True)
class GraspHand:
    """What closes: joint names, open and closed positions (rad or m, in `joints` order) and the grasp point (m,
    in the palm-convention frame of the arm's end effector: the object's grasp point is put there)."""

    joints: tuple[str, ...]
    open: np.ndarray = field(default_factory=lambda: OPEN.copy())
    closed: np.ndarray = field(default_factory=lambda: CLOSED.copy())
    grasp_point: np.ndarray = field(default_factory=lambda: GRASP_POINT.copy())


# The Franka hand of example-robot-data's Panda (robot `panda_franka_hand`): both finger joints (mimic ones in
# the URDF, separate joints in MuJoCo) from 0.04 m open to 0 (the position actuators squeeze the object with
# the URDF's effort); the grasp point between the finger pads, 0.1034 m out of `panda_hand` (its panda_hand_tcp).
# The palm-convention frame in `panda_hand` (FRANKA_HAND_EE_RPY): z out of the palm = the hand's z (approach),
# x = the hand's y (the fingers' axis), so the scripted grasp comes down on the object, the fingers closing
# along the world x.
FRANKA_HAND = GraspHand(
    ("panda_finger_joint1", "panda_finger_joint2"), np.array([0.04, 0.04]), np.zeros(2), np.array([0.0, 0.0, 0.1034])
)
FRANKA_HAND_EE_RPY = (0.0, 0.0, np.pi / 2)


@dataclass
class GraspResult:
    object_start: np.ndarray  # m, world position of the object before
    object_end: np.ndarray  # m, after the lift
    commands: int  # position commands sent (arm and hand each count once per tick)

    @property
    def lifted_m(self) -> float:
        return float(self.object_end[2] - self.object_start[2])


class ScriptedGrasp:
    """Drives one arm + hand of a Simulation; see the module docstring.

    `config`: a robot configuration (its hand closes with the project's Allegro postures, OPEN / CLOSED), or an
    arm configuration with `hand` saying what closes (e.g. a parallel gripper that is part of the arm's URDF).
    """

    def __init__(self, sim, config: RobotConfig | ArmConfig, rate: float = 30.0, hand: GraspHand | None = None):
        self.sim, self.rate = sim, rate
        self.arm = config.arm if isinstance(config, RobotConfig) else config
        if hand is None:
            if not isinstance(config, RobotConfig):
                raise ValueError("an arm configuration needs the GraspHand that closes")
            hand = GraspHand(config.hand.joints)
        self.grasp_hand = hand
        self.ik = ArmIK(self.arm)
        q = sim.joint_state()
        index = {n: i for i, n in enumerate(q.names)}
        self.seed = np.array([q.position[index[j]] for j in self.arm.joints])
        self.pose = self.ik.forward(self.seed)
        self.hand = hand.open.copy()
        self.commands = 0
        # the arm base frame in the world (MuJoCo's world is the URDF root)
        self.world_from_base = self.ik.root_from_base

    def _tick(self) -> None:
        self.sim.command(self.grasp_hand.joints, self.hand)
        self.sim.advance(1.0 / self.rate)
        self.commands += 1

    def move(self, goal: pin.SE3, seconds: float) -> None:
        """Palm-convention frame to `goal` (arm base frame) along the SE3 geodesic."""
        n = max(1, round(seconds * self.rate))
        start = self.pose
        delta = pin.log6(start.actInv(goal))
        for k in range(1, n + 1):
            result = self.ik.solve(start * pin.exp6(delta * (k / n)), self.seed)
            self.seed = result.q
            self.sim.command(self.arm.joints, result.q)
            self._tick()
        self.pose = goal

    def close_hand(self, seconds: float) -> None:
        n = max(1, round(seconds * self.rate))
        opened, closed = self.grasp_hand.open, self.grasp_hand.closed
        for k in range(1, n + 1):
            self.hand = opened + (closed - opened) * (k / n)
            self._tick()

    def hold(self, seconds: float) -> None:
        for _ in range(max(1, round(seconds * self.rate))):
            self._tick()

    def run(self, obj: str, grasp_height_m: float = 0.05, lift_m: float = 0.15, close_s: float = 1.0) -> GraspResult:
        """Grasp `obj` (a scene object name) `grasp_height_m` above its centre and lift it by `lift_m`."""
        start = self.sim.object_position(obj)
        point = self.world_from_base.actInv(start + np.array([0.0, 0.0, grasp_height_m]))
        x, z = np.array([-1.0, 0.0, 0.0]), np.array([0.0, 0.0, -1.0])  # fingers forward (-x), palm down
        rotation = np.column_stack([x, np.cross(z, x), z])  # y = z x x on either hand
        wrist = point - rotation @ self.grasp_hand.grasp_point
        above = pin.SE3(rotation, wrist + np.array([0.0, 0.0, 0.25]))
        self.sim.command(self.grasp_hand.joints, self.hand)
        self.move(above, 2.0)
        self.move(pin.SE3(rotation, wrist + np.array([0.0, 0.0, 0.1])), 1.0)
        self.move(pin.SE3(rotation, wrist), 1.0)
        self.hold(0.3)
        self.close_hand(close_s)
        self.hold(0.5)
        self.move(pin.SE3(rotation, wrist + np.array([0.0, 0.0, lift_m])), 2.0)
        self.hold(1.0)
        return GraspResult(start, self.sim.object_position(obj), self.commands)
