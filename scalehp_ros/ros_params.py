"""Declaring and validating ROS parameters from one table per node (descriptors, ranges, choices).

Each node lists its parameters once as ParamSpec rows. `declare()` declares them with ParameterDescriptor
ranges, `check()` validates a proposed change and returns the reason for refusing it. The YAML files in
config/ carry the same defaults for users to copy and edit; test_config_files checks they agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter


@dataclass(frozen=True)
class ParamSpec:
    """One ROS parameter: name, default (its type is the parameter type), meaning and allowed values."""

    name: str
    default: bool | int | float | str | list
    description: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    dynamic: bool = True  # may change at run time

    def descriptor(self) -> ParameterDescriptor:
        text = self.description + (f" One of: {', '.join(self.choices)}." if self.choices else "")
        desc = ParameterDescriptor(name=self.name, description=text, read_only=not self.dynamic)
        if isinstance(self.default, bool):
            return desc
        if isinstance(self.default, int) and (self.min is not None or self.max is not None):
            desc.integer_range = [IntegerRange(from_value=int(self.min), to_value=int(self.max), step=1)]
        elif isinstance(self.default, float):
            # accept integer overrides such as `-p hfov_deg:=60`; check() converts and validates them
            desc.dynamic_typing = True
            if self.min is not None or self.max is not None:
                desc.floating_point_range = [FloatingPointRange(from_value=float(self.min), to_value=float(self.max))]
        return desc

    def check(self, value) -> str | None:
        """None when `value` is acceptable, else the reason it is not."""
        expected = type(self.default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            return f"{self.name} must be a {expected.__name__}, got {value!r}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"{self.name} must be finite, got {value}"
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            return f"{self.name}={value} is outside [{self.min}, {self.max}]"
        if self.choices and value not in self.choices:
            return f"{self.name}={value!r} is not one of {', '.join(self.choices)}"
        return None


def declare(node: Node, specs: Sequence[ParamSpec]) -> dict[str, object]:
    """Declare every parameter of `specs` on `node`; return {name: value} after overrides, validated.

    An invalid value from a params file or the command line is refused with a warning and the default used.
    """
    values = {}
    for spec in specs:
        value = node.declare_parameter(spec.name, spec.default, spec.descriptor()).value
        reason = spec.check(value)
        if not reason and isinstance(spec.default, float) and isinstance(value, int):
            value = float(value)
            node.set_parameters([Parameter(spec.name, value=value)])
        if reason:
            node.get_logger().warning(f"{reason}; using the default {spec.default!r}")
            node.set_parameters([Parameter(spec.name, value=spec.default)])
            value = spec.default
        values[spec.name] = value
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
        reason = spec.check(p.value)
        if reason:
            return SetParametersResult(successful=False, reason=reason)
    return SetParametersResult(successful=True)
