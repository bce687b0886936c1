"""ROS parameters from the settings dataclasses' ParamSpec tables: declare, validate, and the params files.

Every node declares its parameters from `Settings.parameters()` tables (scalehp_ros.common.params): the
core's settings (estimator, teleoperation) plus the node's own small settings class. So each parameter's
default, range, choices and description are written once, in the dataclass that uses it.

- `declare()` declares them with ParameterDescriptors (ranges, choices in the description, read-only flag)
  and validates the values that came from params files or the command line;
- `check()` is the on-set-parameters validator: it refuses a bad value with its reason;
- `params_file_text()` writes the config/<node>.yaml files (`python -m scalehp_ros.ros.parameters --write`);
  test_config_files checks that the committed files are exactly what the tables generate.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from pathlib import Path

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter

from scalehp_ros.common.params import VECTOR3, ParamSpec, validate_value

__all__ = ["check", "declare", "descriptor", "params_file_text"]


def descriptor(spec: ParamSpec) -> ParameterDescriptor:
    """ParameterDescriptor with the description, choices, read-only flag and numeric range of `spec`."""
    text = spec.description + (f" One of: {', '.join(spec.choices)}." if spec.choices else "")
    desc = ParameterDescriptor(name=spec.name, description=text, read_only=not spec.dynamic)
    ranged = spec.min is not None and spec.max is not None
    if spec.kind is int and ranged:
        desc.integer_range = [IntegerRange(from_value=int(spec.min), to_value=int(spec.max), step=1)]
    elif spec.kind is float:
        # accept integer overrides such as `-p hfov_deg:=60`; declare() converts and validates them
        desc.dynamic_typing = True
        if ranged:
            desc.floating_point_range = [FloatingPointRange(from_value=float(spec.min), to_value=float(spec.max))]
    return desc


def _ros_value(spec: ParamSpec, value: object) -> object:
    """The value as ROS stores it: vectors as lists of floats."""
    return [float(v) for v in value] if spec.kind == VECTOR3 else value


_RCLPY_PARAMETERS = {"use_sim_time", "start_type_description_service"}  # declared by rclpy itself


def declare(node: Node, specs: Sequence[ParamSpec]) -> dict[str, object]:
    """Declare every parameter of `specs` on `node`; return {name: validated value}.

    A value from a params file or the command line is validated against its spec *before* the parameter is
    declared, and declared already normalised (an int for a float becomes a float), so `ros2 param get`
    shows the value in use, read-only parameters included. An invalid value raises ValueError naming the
    parameter, the value and the rule: the node does not start (run_node logs it and exits with code 1, and
    the launch file shuts the graph down) rather than run on a default the operator did not ask for.
    """
    overrides = getattr(node, "_parameter_overrides", {})  # rclpy keeps the command line / params files here
    values = {}
    for spec in specs:
        value = spec.default
        if spec.name in overrides:
            given = overrides[spec.name].value
            try:
                value = validate_value(spec, given)
            except ValueError as exc:
                raise ValueError(f"invalid parameter {spec.name}:={given!r} for {node.get_name()}: {exc}") from exc
        node.declare_parameter(spec.name, _ros_value(spec, value), descriptor(spec), ignore_override=True)
        values[spec.name] = value
    unknown = sorted(n for n in overrides if n not in values and n not in _RCLPY_PARAMETERS and "." not in n)
    if unknown:  # a typo in a params file or launch argument would otherwise be ignored silently
        node.get_logger().warning(f"ignoring unknown parameter(s) {', '.join(unknown)}")
    return values


def check(specs: Iterable[ParamSpec], params: Iterable[Parameter]) -> SetParametersResult:
    """SetParametersResult for a proposed change: refused, with the reason, if any value is invalid."""
    table = {s.name: s for s in specs}
    for p in params:
        spec = table.get(p.name)
        if spec is None:
            continue
        if not spec.dynamic:
            return SetParametersResult(successful=False, reason=f"{p.name} cannot change at run time")
        try:
            validate_value(spec, p.value)
        except ValueError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
    return SetParametersResult(successful=True)


def changed_values(specs: Iterable[ParamSpec], params: Iterable[Parameter]) -> dict[str, object]:
    """{name: validated value} of the parameters of `specs` among `params` (after check() accepted them)."""
    table = {s.name: s for s in specs}
    return {p.name: validate_value(table[p.name], p.value) for p in params if p.name in table}


def _yaml_scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_yaml_scalar(float(v)) for v in value) + "]"
    return repr(value)


def params_file_text(node_name: str, specs: Sequence[ParamSpec]) -> str:
    """A ROS 2 params file with every parameter of `specs` at its default, each with its description."""
    lines = [
        f"# {node_name} parameters at their defaults. GENERATED from the settings dataclasses by",
        "#   python -m scalehp_ros.ros.parameters --write config",
        "# (test_config_files checks it is current). Copy it to change values for a deployment; the",
        "# defaults themselves live in the dataclasses (README, Parameters).",
        f"{node_name}:",
        "  ros__parameters:",
    ]
    for s in specs:
        extra = []
        if s.choices:
            extra.append(" | ".join(s.choices))
        elif s.min is not None and s.max is not None:
            extra.append(f"[{s.min}, {s.max}]")
        if not s.dynamic:
            extra.append("read-only at run time")
        suffix = f" ({'; '.join(extra)})" if extra else ""
        lines.append(f"    # {s.description}{suffix}")
        lines.append(f"    {s.name}: {_yaml_scalar(s.default)}")
    return "\n".join(lines) + "\n"


def node_tables() -> dict[str, tuple[ParamSpec, ...]]:
    """{node name: parameter table} of the project's nodes (imports them: needs rclpy)."""
    from scalehp_ros.ros import hand_pose_node, recorder_node, retarget_node, sim_node, video_source

    return {
        "hand_pose_node": hand_pose_node.PARAMS,
        "retarget_node": retarget_node.PARAMS,
        "video_source": video_source.PARAMS,
        "recorder_node": recorder_node.PARAMS,
        "sim_node": sim_node.PARAMS,
    }


PARAMS_FILES = {
    "hand_pose_node": "hand_pose.yaml",
    "retarget_node": "retarget.yaml",
    "video_source": "video_source.yaml",
    "recorder_node": "recorder.yaml",
    "sim_node": "sim.yaml",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write config/<node>.yaml from the nodes' parameter tables.")
    parser.add_argument("--write", type=Path, metavar="CONFIG_DIR", required=True)
    args = parser.parse_args(argv)
    for node, specs in node_tables().items():
        path = args.write / PARAMS_FILES[node]
        path.write_text(params_file_text(node, specs))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
