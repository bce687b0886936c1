"""ROS parameters from the settings dataclasses' ParamSpec tables: declare, validate, and the params files.

Every node declares its parameters from `Settings.parameters()` tables (scalehp_ros.common.params): the
core's settings (estimator, teleoperation) plus the node's own small settings class. So each parameter's
default, range, choices and description are written once, in the dataclass that uses it.

- `declare()` declares them with ParameterDescriptors (ranges, choices in the description, read-only flag)
  and validates the values that came from params files or the command line;
- `check()` is the on-set-parameters validator: it refuses a bad value with its reason;
- `ParameterBinding` puts both on a node: every node binds its parameters with it, once.

The params files config/<node>.yaml and docs/parameters.md are rendered from the same tables by
tools/write_param_files.py, outside the package (it imports every node; nodes import this module).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter

from scalehp_ros.common.params import VECTOR3, ParamSpec, validate_value

__all__ = ["ParameterBinding", "changed_values", "check", "declare", "descriptor"]


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
_RCLPY_PREFIXES = ("qos_overrides.",)  # rclpy's own dotted parameters (QoS overrides of publishers/subscriptions)


def _overrides(node: Node) -> dict[str, Parameter]:
    """{name: Parameter} given to `node` by params files and `-p` arguments.

    rclpy (9.1 here) has no public getter for them; declaring with the override would do for known names,
    but the refusal of renamed parameters and the unknown-name warning need the names that are not declared.
    This is the one place that reads the node's override table.
    """
    return dict(getattr(node, "_parameter_overrides", {}))


def declare(node: Node, specs: Sequence[ParamSpec], renamed: Mapping[str, str] | None = None) -> dict[str, object]:
    """Declare every parameter of `specs` on `node`; return {name: validated value}.

    A value from a params file or the command line is validated against its spec *before* the parameter is
    declared, and declared already normalised (an int for a float becomes a float), so `ros2 param get`
    shows the value in use, read-only parameters included. An invalid value, or a parameter given by an old
    name of `renamed` ({old: new}), raises ValueError naming the parameter (and its new name): the node does not
    start (run_node logs it and exits with code 1, and the launch file shuts the graph down) rather than run on
    a default the operator did not ask for.
    """
    overrides = _overrides(node)
    old = sorted(n for n in overrides if renamed and n in renamed)
    if old:
        moves = ", ".join(f"{n} -> {renamed[n]}" for n in old)
        raise ValueError(f"renamed parameter(s) for {node.get_name()}: {moves}; use the new names (docs/parameters.md)")
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
    unknown = sorted(
        n for n in overrides if n not in values and n not in _RCLPY_PARAMETERS and not n.startswith(_RCLPY_PREFIXES)
    )
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


class ParameterBinding:
    """A node's parameters, bound once: declared from `specs`, validated on every change, applied by the node.

    - on construction every parameter is declared (declare(): overrides validated, renamed names refused,
      unknown names warned about) and `values` holds {name: value in use};
    - the on-set-parameters callback refuses a change of a read-only parameter or an invalid value (check()),
      then asks `validate({name: new value})` for the node's own rules (cross-field rules, lifecycle state): it
      returns a reason to refuse, or None; a ValueError or NotImplementedError it raises refuses too;
    - after a change is accepted, `values` is updated and `apply({name: new value})` called (when given).

    The callbacks run in rclpy's parameter service, after the node's constructor: they may use node state.
    """

    def __init__(
        self,
        node: Node,
        specs: Sequence[ParamSpec],
        *,
        apply: Callable[[dict[str, object]], None] | None = None,
        validate: Callable[[dict[str, object]], str | None] | None = None,
        renamed: Mapping[str, str] | None = None,
    ) -> None:
        self.specs = tuple(specs)
        self.values = declare(node, self.specs, renamed)
        self._apply, self._validate = apply, validate
        node.add_on_set_parameters_callback(self._on_set)
        node.add_post_set_parameters_callback(self._on_post_set)

    def _on_set(self, params: list[Parameter]) -> SetParametersResult:
        result = check(self.specs, params)
        if not result.successful or self._validate is None:
            return result
        try:
            reason = self._validate(changed_values(self.specs, params))
        except (ValueError, NotImplementedError) as exc:
            reason = str(exc)
        if reason:
            result.successful, result.reason = False, reason
        return result

    def _on_post_set(self, params: list[Parameter]) -> None:
        new = changed_values(self.specs, params)
        if not new:
            return
        self.values.update(new)
        if self._apply is not None:
            self._apply(new)
