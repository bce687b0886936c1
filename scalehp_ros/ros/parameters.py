"""Declaring and validating ROS parameters from ParamSpec tables (descriptors, ranges, choices).

ParamSpec (scalehp_ros.perception.settings) is the one description of a tunable: the estimator's fields and each node's
own parameters are listed once as ParamSpecs. `declare()` declares them with ParameterDescriptor ranges,
`check()` validates a proposed change and returns the reason for refusing it. The YAML files in config/
carry the same defaults for users to copy and edit; test_config_files checks that they agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter

from scalehp_ros.perception.settings import ParamSpec, validate_value

__all__ = ["ParamSpec", "check", "declare", "descriptor"]


def descriptor(spec: ParamSpec) -> ParameterDescriptor:
    """ParameterDescriptor with the description, choices, read-only flag and numeric range of `spec`."""
    text = spec.description + (f" One of: {', '.join(spec.choices)}." if spec.choices else "")
    desc = ParameterDescriptor(name=spec.name, description=text, read_only=not spec.dynamic)
    ranged = spec.min is not None and spec.max is not None
    if isinstance(spec.default, bool):
        return desc
    if isinstance(spec.default, int) and ranged:
        desc.integer_range = [IntegerRange(from_value=int(spec.min), to_value=int(spec.max), step=1)]
    elif isinstance(spec.default, float):
        # accept integer overrides such as `-p hfov_deg:=60`; declare() converts and validates them
        desc.dynamic_typing = True
        if ranged:
            desc.floating_point_range = [FloatingPointRange(from_value=float(spec.min), to_value=float(spec.max))]
    return desc


def _reason(spec: ParamSpec, value) -> str | None:
    try:
        validate_value(spec, value)
    except ValueError as exc:
        return str(exc)
    return None


def declare(node: Node, specs: Sequence[ParamSpec]) -> dict[str, object]:
    """Declare every parameter of `specs` on `node`; return {name: value} after overrides, validated.

    An invalid value from a params file or the command line is refused with a warning and the default used.
    """
    values = {}
    for spec in specs:
        value = node.declare_parameter(spec.name, spec.default, descriptor(spec)).value
        try:
            normalised = validate_value(spec, value)
        except ValueError as exc:
            node.get_logger().warning(f"{exc}; using the default {spec.default!r}")
            normalised = spec.default
        if normalised is not value:
            node.set_parameters([Parameter(spec.name, value=normalised)])
        values[spec.name] = normalised
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
        reason = _reason(spec, p.value)
        if reason:
            return SetParametersResult(successful=False, reason=reason)
    return SetParametersResult(successful=True)
