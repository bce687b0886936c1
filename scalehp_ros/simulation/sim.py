"""The simulated robot: MuJoCo physics at a fixed time step behind the interface of a robot driver.

`Simulation.command(names, positions)` sets position targets (what a joint_trajectory_controller or a
forward_position_controller takes); every physics step moves each actuator's setpoint toward its target by
at most the joint's URDF velocity limit times the step (a real driver never jumps either), inside the URDF's
position limits, and the position actuators (force within the URDF's effort) follow the setpoint.
`joint_state()` is the measured state (MuJoCo's qpos / qvel / actuator force), never the command.
`advance(seconds)` steps the physics; `render()` draws the scene camera offscreen (MUJOCO_GL=egl, or osmesa).
Units: metres, radians, seconds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scalehp_ros.common.params import Settings, param
from scalehp_ros.simulation.scene import Scene, build_scene


@dataclass(frozen=True)
class SimSettings(Settings):
    """The sandbox's physics and camera (the node adds its topics and rates)."""

    timestep: float = param(0.002, "physics time step (s)", 0.0005, 0.01, dynamic=False)
    camera_width: int = param(320, "rendered camera image width (px)", 16, 1920, dynamic=False)
    camera_height: int = param(240, "rendered camera image height (px)", 16, 1080, dynamic=False)


@dataclass
class JointStateSample:
    time: float  # s, simulation time
    names: tuple[str, ...]
    position: np.ndarray  # rad
    velocity: np.ndarray  # rad/s
    effort: np.ndarray  # N m, actuator force


def offscreen_gl() -> str:
    """Select MuJoCo's offscreen OpenGL backend before mujoco is imported (EGL unless the caller chose)."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    if os.environ["MUJOCO_GL"] in ("egl", "osmesa"):
        os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])
    return os.environ["MUJOCO_GL"]


class Simulation:
    """One MuJoCo world with the robot, the table and the objects; see the module docstring."""

    def __init__(self, urdf: str | Path, settings: SimSettings | None = None, initial: dict[str, float] | None = None):
        offscreen_gl()
        import mujoco

        self._mj = mujoco
        self.settings = settings or SimSettings()
        self.scene: Scene = build_scene(
            urdf,
            timestep=self.settings.timestep,
            camera_width=self.settings.camera_width,
            camera_height=self.settings.camera_height,
        )
        self.model = self.scene.model
        self.data = mujoco.MjData(self.model)
        self.joint_names = self.scene.joints
        self._index = {name: i for i, name in enumerate(self.joint_names)}
        ids = [mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_JOINT, n) for n in self.joint_names]
        self._qadr = np.array([self.model.jnt_qposadr[j] for j in ids])
        self._dadr = np.array([self.model.jnt_dofadr[j] for j in ids])
        self.lower = self.model.actuator_ctrlrange[:, 0].copy()
        self.upper = self.model.actuator_ctrlrange[:, 1].copy()
        self.velocity_limit = self.scene.velocity.copy()
        start = np.clip(np.zeros(len(self.joint_names)), self.lower, self.upper)
        for name, value in (initial or {}).items():
            start[self._index[name]] = value
        start = np.clip(start, self.lower, self.upper)
        self.data.qpos[self._qadr] = start
        self.setpoint = start.copy()
        self.target = start.copy()
        self.data.ctrl[:] = start
        mujoco.mj_forward(self.model, self.data)
        self.commands = 0
        self._renderer = None
        self._bodies = {n: mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, n) for n in self.scene.objects}

    @property
    def time(self) -> float:
        return float(self.data.time)

    def command(self, names, positions) -> None:
        """Position targets for the named joints (rad), clipped to the URDF limits; ValueError for an unknown
        name, a length mismatch or a non-finite value (the targets are then unchanged)."""
        names = list(names)
        positions = np.asarray(positions, dtype=float)
        if positions.shape != (len(names),):
            raise ValueError(f"{len(names)} joint names but {positions.size} positions")
        if not np.all(np.isfinite(positions)):
            raise ValueError("command contains NaN or inf")
        unknown = [n for n in names if n not in self._index]
        if unknown:
            raise ValueError(f"joints {unknown} are not in the simulated robot")
        idx = np.array([self._index[n] for n in names], dtype=int)
        self.target[idx] = np.clip(positions, self.lower[idx], self.upper[idx])
        self.commands += 1

    def advance(self, seconds: float) -> int:
        """Step the physics by `seconds` (rounded to whole steps); returns the number of steps taken."""
        dt = self.model.opt.timestep
        steps = max(0, round(seconds / dt))
        max_move = self.velocity_limit * dt
        for _ in range(steps):
            self.setpoint += np.clip(self.target - self.setpoint, -max_move, max_move)
            self.data.ctrl[:] = self.setpoint
            self._mj.mj_step(self.model, self.data)
        return steps

    def joint_state(self) -> JointStateSample:
        d = self.data
        return JointStateSample(
            self.time,
            self.joint_names,
            d.qpos[self._qadr].copy(),
            d.qvel[self._dadr].copy(),
            d.actuator_force.copy(),
        )

    def object_position(self, name: str) -> np.ndarray:
        """World position (m) of a free object's centre."""
        return self.data.xpos[self._bodies[name]].copy()

    def render(self) -> np.ndarray:
        """(height, width, 3) uint8 RGB of the scene camera."""
        if self._renderer is None:
            s = self.settings
            self._renderer = self._mj.Renderer(self.model, s.camera_height, s.camera_width)
        self._renderer.update_scene(self.data, camera="scene")
        # shadows and reflections cost ~290 of ~330 ms per 320x240 frame on Mesa's llvmpipe (2 cores): off
        flags = self._renderer.scene.flags
        flags[self._mj.mjtRndFlag.mjRND_SHADOW] = 0
        flags[self._mj.mjtRndFlag.mjRND_REFLECTION] = 0
        return self._renderer.render().copy()

    def render_state(self, positions: dict[str, float]) -> np.ndarray:
        """Render the robot at the given joint positions (rad, by name; others unchanged), kinematically: no
        physics step, the objects where they are. For replaying recorded joint states (the demo)."""
        for name, value in positions.items():
            i = self._index.get(name)
            if i is not None:
                self.data.qpos[self._qadr[i]] = value
        self._mj.mj_forward(self.model, self.data)
        return self.render()

    def intrinsics(self) -> np.ndarray:
        from scalehp_ros.simulation.scene import camera_intrinsics

        cam = self._mj.mj_name2id(self.model, self._mj.mjtObj.mjOBJ_CAMERA, "scene")
        return camera_intrinsics(
            float(self.model.cam_fovy[cam]), self.settings.camera_width, self.settings.camera_height
        )

    def close(self) -> None:
        """Free the offscreen GL context (call before exit: freeing it at interpreter shutdown errors in EGL)."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
