"""The MuJoCo sandbox (ROS-free): the project's own URDF, a table and graspable objects, position-controlled
actuators with the URDF's limits; `scene.py` generates the model, `sim.py` runs it.

Importing this package selects MuJoCo's offscreen OpenGL backend (MUJOCO_GL=egl unless already set; it
must be chosen before mujoco is first imported), so rendering works headless on Mesa.
"""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
if os.environ["MUJOCO_GL"] in ("egl", "osmesa"):
    os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])
