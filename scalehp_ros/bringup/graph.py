"""The teleoperation graph description (config/teleop_graph.yaml), resolved for given launch arguments.

ROS-free: launch/teleop.launch.py turns the resolved NodeSpecs into launch_ros Node actions, and
scalehp_ros.bringup.processes starts them as processes where no launch system is installed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from scalehp_ros.common.share import package_share

GRAPH_FILE = "teleop_graph.yaml"
_VAR = re.compile(r"\$\{([a-z_]+)\}")


_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


@dataclass
class Argument:
    """A launch argument. `boolean` ones accept true/false in any case (and 1/0, yes/no, on/off), as
    launch's own conditions do, and are normalised to "true"/"false" before the graph uses them."""

    name: str
    default: str
    description: str
    choices: tuple[str, ...] = ()
    boolean: bool = False

    def normalise(self, value: str) -> str:
        """The value as the graph uses it; ValueError naming the argument for a value it does not accept."""
        if self.boolean and value != "":  # empty: "not passed", the node's own default applies
            if value.lower() in _TRUE:
                return "true"
            if value.lower() in _FALSE:
                return "false"
            raise ValueError(f"{self.name}:={value!r} is not a boolean (true or false)")
        if self.choices and value not in self.choices:
            raise ValueError(f"{self.name}:={value!r} is not one of {', '.join(self.choices)}")
        return value


@dataclass
class NodeSpec:
    """One process of the graph, with every value resolved."""

    name: str
    package: str
    executable: str
    module: str | None = None  # python -m entry point, for the pip-only bring-up
    ros_only: bool = False  # needs a ROS installation (robot_state_publisher, rviz2, usb_cam)
    params_file: Path | None = None
    parameters: dict[str, object] = field(default_factory=dict)
    remappings: dict[str, str] = field(default_factory=dict)
    arguments: list[str] = field(default_factory=list)
    namespace: str = ""  # relative, e.g. "left" for one side of a two-handed graph; "" = the graph's own namespace

    @property
    def key(self) -> str:
        """Unique name of this process in the graph (namespace and node name, e.g. 'left_retarget_node')."""
        ns = self.namespace.strip("/").replace("/", "_")
        return f"{ns}_{self.name}" if ns else self.name

    def ros_args(self) -> list[str]:
        """Command-line ROS arguments equivalent to this spec (node name, params file, parameters, remaps)."""
        args = ["--ros-args", "-r", f"__node:={self.name}"]
        if self.namespace:  # no enclosing namespace outside launch: a relative one is under the root
            args += ["-r", f"__ns:=/{self.namespace.lstrip('/')}"]
        if self.params_file is not None:
            args += ["--params-file", str(self.params_file)]
        for key, value in self.parameters.items():
            args += ["-p", f"{key}:={_cli_value(value)}"]
        for src, dst in self.remappings.items():
            args += ["-r", f"{src}:={dst}"]
        return args


def _cli_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value == "":
        return "''"
    return str(value)


def load_graph(path: Path | None = None) -> dict:
    path = path or package_share() / "config" / GRAPH_FILE
    data = yaml.safe_load(Path(path).read_text())
    if not isinstance(data, dict) or "arguments" not in data or "nodes" not in data:
        raise ValueError(f"{path}: a graph needs 'arguments' and 'nodes'")
    return data


def arguments(graph: dict | None = None) -> list[Argument]:
    """The launch arguments the graph declares, with defaults, descriptions and choices."""
    graph = graph or load_graph()
    return [
        Argument(
            name,
            str(a.get("default", "")),
            a.get("description", ""),
            tuple(str(c) for c in a.get("choices", ())),
            bool(a.get("boolean", False)),
        )
        for name, a in graph["arguments"].items()
    ]


def robot_urdf(share: Path, robot_config: str) -> Path:
    """URDF of the arm named by a robot YAML (relative to `share` or absolute)."""
    from scalehp_ros.retargeting.robot_config import load_robot_config

    return load_robot_config(share / robot_config, share).arm.urdf


def robot_hand_side(share: Path, robot_config: str) -> str:
    """The side ('left' or 'right') of the hand on the robot named by a robot YAML: the operator hand that drives
    it in the one-hand graph."""
    from scalehp_ros.retargeting.robot_config import load_robot_config

    return load_robot_config(share / robot_config, share).hand.side


def registry_robot_config(value: str, simulated: bool = False) -> str:
    """A robot_config value as the nodes take it: a registered robot's name (`scalehp-robots list`) becomes the
    path of its exported YAML (scalehp_ros.robots.cache, exported on first use); a path is returned as it is.
    ValueError naming the argument when the robot cannot run (e.g. no dexterous hand), or, `simulated`
    (robot:=sim), when its URDF names mesh files that are not installed (MuJoCo needs the collision geometry)."""
    from scalehp_ros.robots.cache import exported_config, is_registry_name, missing_meshes

    if not is_registry_name(value):
        return value
    try:
        path = exported_config(value)
    except ValueError as exc:
        raise ValueError(f"robot_config:={value}: {str(exc).removeprefix(f'{value}: ')}") from exc
    missing = missing_meshes(path.with_suffix(".urdf")) if simulated else []
    if missing:
        raise ValueError(
            f"robot_config:={value} robot:=sim: {len(missing)} mesh files of its URDF are not installed (e.g. "
            f"{Path(missing[0]).name}; dexi-rs ships meshes for the Allegro and Fourier hands only), and the "
            "MuJoCo sandbox needs them"
        )
    return str(path)


def _camera_values(env: dict[str, str]) -> dict[str, str]:
    """Derived values for camera drivers: ${video_device} (/dev/videoN from `device`, default /dev/video0)
    and ${camera_info_url} (file:// URL of `camera_info_file`, as usb_cam and v4l2_camera take it)."""
    device = env.get("device", "")
    video_device = device if device.startswith("/") else f"/dev/video{device or 0}"
    info = env.get("camera_info_file", "")
    url = "" if not info else info if "://" in info else f"file://{Path(info).expanduser().resolve()}"
    return {"video_device": video_device, "camera_info_url": url}


BIMANUAL_CONFIGS = {
    "left": "config/robots/scalehp_bimanual_left.yaml",
    "right": "config/robots/scalehp_bimanual_right.yaml",
}
# direct binding: each side's arm placed in front of the hand that drives it (the camera faces the operator,
# so the operator's right hand is seen on the robot's left, -y); mirror binding: none needed
_DIRECT_OFFSET_Y = {"left": -0.5, "right": 0.5}


def _side_values(env: dict[str, str]) -> dict[str, str]:
    """Derived values for the per-side nodes of `hands:=two` and for sim_node: ${left_joints_topic},
    ${right_joints_topic}, ${left_tracking_topic}, ${right_tracking_topic}, ${left_arm_reference_topic},
    ${right_arm_reference_topic} (which operator hand drives each robot side), ${mirror_input}, ${left_offset},
    ${right_offset}, ${tracked_hands} (frontend.max_hands of hand_pose_node), ${sim_robot_configs},
    ${sim_command_prefixes}.
    The per-side nodes run in a sub-namespace (left, right), so the graph's own topics are named in full from
    the graph's namespace ${ns} (empty, or where the graph was included, e.g. /robot1)."""
    mirror = env.get("binding") == "mirror"
    other = {"left": "right", "right": "left"}
    ns = env.get("ns", "")
    out = {"mirror_input": "true" if mirror else "false"}
    out["tracked_hands"] = env.get("max_hands") or ("2" if env.get("hands") == "two" else "1")
    for side in ("left", "right"):
        hand = other[side] if mirror else side
        out[f"{side}_joints_topic"] = f"{ns}/hand_pose_node/{hand}/joints"
        out[f"{side}_tracking_topic"] = f"{ns}/hand_pose_node/{hand}/tracking"
        out[f"{side}_arm_reference_topic"] = f"{ns}/hand_pose_node/{hand}/arm_reference"
        out[f"{side}_offset"] = f"[0.0, {0.0 if mirror else _DIRECT_OFFSET_Y[side]}, 0.0]"
    if env.get("hands") == "two":
        out["sim_robot_configs"] = f"{BIMANUAL_CONFIGS['left']},{BIMANUAL_CONFIGS['right']}"
        out["sim_command_prefixes"] = "left/retarget_node,right/retarget_node"  # relative: in the graph's namespace
    else:
        out["sim_robot_configs"] = env.get("robot_config", "")
        out["sim_command_prefixes"] = "retarget_node"
    return out


def graph_namespace(namespace: str | None) -> str:
    """The namespace a graph runs in, as a prefix for full topic names: "" (the root) or "/a/b"."""
    ns = (namespace or "").strip("/")
    return f"/{ns}" if ns else ""


def _typed(text: str) -> object:
    """A parameter value from its text, read as YAML scalar ("0.19" -> 0.19, "true" -> True, "" -> "")."""
    if text == "" or "\n" in text:
        return text
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, list) and not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return text
    return text if value is None or isinstance(value, dict) else value


def resolve(
    values: dict[str, str] | None = None,
    graph: dict | None = None,
    share: Path | None = None,
    namespace: str = "",
) -> list[NodeSpec]:
    """NodeSpecs for the given argument values (unknown names and invalid choices raise ValueError).

    `namespace`: where the graph runs (launch's PushRosNamespace, e.g. "robot1"; "" = the root), the derived
    value ${ns}: names that leave a node's own namespace (the per-side nodes' inputs) are built from it."""
    graph = graph or load_graph()
    share = share or package_share()
    declared = {a.name: a for a in arguments(graph)}
    values = dict(values or {})
    unknown = set(values) - set(declared)
    if unknown:
        raise ValueError(f"unknown launch arguments {sorted(unknown)}; known: {sorted(declared)}")
    env = {name: a.normalise(values.get(name, a.default)) for name, a in declared.items()}
    if "robot_config" in env:
        env["robot_config"] = registry_robot_config(env["robot_config"], simulated=env.get("robot") == "sim")
    env["share"] = str(share)
    env["ns"] = graph_namespace(namespace)
    env.update(_camera_values(env))
    env.update(_side_values(env))
    lazy = {"robot_urdf", "robot_description", "hand_side"}

    def sub(text: str) -> str:
        def one(m: re.Match) -> str:
            key = m.group(1)
            if key == "hand_side" and key not in env:
                env["hand_side"] = robot_hand_side(share, env["robot_config"])
            elif key in lazy and key not in env:
                config = BIMANUAL_CONFIGS["left"] if env.get("hands") == "two" else env["robot_config"]
                env["robot_urdf"] = str(robot_urdf(share, config))
                env["robot_description"] = Path(env["robot_urdf"]).read_text()
            if key not in env:
                raise ValueError(f"graph uses ${{{key}}}, which is neither an argument nor a derived value")
            return env[key]

        return _VAR.sub(one, text)

    specs = []
    for node in graph["nodes"]:
        if any(env.get(k) != str(v) for k, v in (node.get("when") or {}).items()):
            continue
        params_file = node.get("params_file")
        specs.append(
            NodeSpec(
                name=node["name"],
                package=node["package"],
                executable=node["executable"],
                module=node.get("module"),
                ros_only=bool(node.get("ros_only", False)),
                params_file=share / "config" / params_file if params_file else None,
                parameters={
                    k: _typed(text) for k, v in (node.get("parameters") or {}).items() if (text := sub(str(v))) != ""
                },
                remappings={sub(k): sub(v) for k, v in (node.get("remappings") or {}).items()},
                arguments=[sub(str(a)) for a in node.get("arguments") or []],
                namespace=sub(str(node.get("namespace", ""))),
            )
        )
    return specs
