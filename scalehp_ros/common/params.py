"""Settings dataclasses that describe themselves: the one parameter system of the project (ROS-free).

Every tunable is a field of a frozen settings dataclass in the core module that uses it, declared with
`param(default, description, min=..., max=..., choices=...)`. That one declaration is the default, the
unit (in the description), the range and the choices. From it:

- the dataclass validates every value on construction (ValueError naming the field and the problem);
- `parameter_table(cls)` lists the ParamSpecs a ROS node declares as parameters with descriptors
  (scalehp_ros.ros.parameters), flattened through nested settings groups;
- the parameter files in config/ and docs/parameters.md are generated from the same table
  (tools/write_param_files.py) and checked against it by test/test_config_files.py.

Settings may nest. A nested field declared with `group(Cls)` is a named group: its parameters are
`<field name>.<name>` (dotted names, as ROS users know them from ros2_controllers: `depth.window_px`,
`canonical.model_fit.keypoint_sigma`). A nested field declared with a plain `field(default_factory=Cls)`
merges its parameters under the enclosing names (a node's table joins the core's settings and its own).
Names must be unique within one table. A Settings class may list parameters it renamed in `RENAMED`
({old name: new name}): `from_flat` and `replace` accept the old names, and a node refuses them, naming the
new one (scalehp_ros.ros.parameters).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

VECTOR3 = "vector3"  # kind of a tuple[float, float, float] field (a ROS double array of length 3)


@dataclass(frozen=True)
class ParamSpec:
    """Metadata of one parameter: description (with unit), inclusive numeric range or choices, default.

    kind: bool, int, float, str or VECTOR3. dynamic: may change while a node runs.
    """

    name: str
    description: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    default: Any = None
    dynamic: bool = True
    kind: Any = None

    def __post_init__(self) -> None:
        if self.kind is None:
            object.__setattr__(self, "kind", _kind_of(self.default))


def _kind_of(value: Any) -> Any:
    if isinstance(value, tuple):
        return VECTOR3
    return type(value)


def param(
    default: Any,
    description: str,
    min: float | None = None,
    max: float | None = None,
    choices: tuple[str, ...] | None = None,
    dynamic: bool = True,
) -> Any:
    """A settings dataclass field with its parameter metadata (see the module docstring)."""
    meta = {"description": description, "min": min, "max": max, "choices": choices, "dynamic": dynamic}
    return field(default=default, metadata={"param": meta})


def group(cls: type) -> Any:
    """A nested settings group whose parameters are named `<field name>.<parameter name>`."""
    return field(default_factory=cls, metadata={"group": True})


def _prefix(f: dataclasses.Field, prefix: str) -> str:
    """The name prefix of nested field `f`'s parameters: `prefix<field name>.` for a group(), else `prefix`."""
    return f"{prefix}{f.name}." if f.metadata.get("group") else prefix


def validate_value(spec: ParamSpec, value: Any) -> Any:
    """`value` checked against `spec` and normalised to its kind (an int for a float becomes a float, a list
    of three numbers for a vector a tuple); ValueError naming the parameter and the problem otherwise."""
    name, kind = spec.name, spec.kind
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be a bool, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str) or (spec.choices and value not in spec.choices):
            expected = f"one of {spec.choices}" if spec.choices else "a string"
            raise ValueError(f"{name} must be {expected}, got {value!r}")
        return value
    if kind == VECTOR3:
        if isinstance(value, str | bytes) or not hasattr(value, "__len__") or len(value) != 3:
            raise ValueError(f"{name} must be 3 numbers, got {value!r}")
        numbers = tuple(
            _number(ParamSpec(f"{name}[{i}]", "", spec.min, spec.max, default=0.0), v, float)
            for i, v in enumerate(value)
        )
        return numbers
    return _number(spec, value, kind)


def _number(spec: ParamSpec, value: Any, kind: type) -> Any:
    name = spec.name
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if kind is int and not float(value).is_integer():
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if (spec.min is not None and value < spec.min) or (spec.max is not None and value > spec.max):
        raise ValueError(f"{name} must be in [{spec.min}, {spec.max}], got {value!r}")
    return kind(value)


def _own_specs(cls: type, prefix: str = "") -> list[tuple[dataclasses.Field, ParamSpec | None]]:
    """(field, spec named `prefix + field name`) for each field of `cls`; spec None for a nested group."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            out.append((f, None))
            continue
        meta = f.metadata.get("param")
        if meta is None:
            raise TypeError(f"{cls.__name__}.{f.name} is neither a param() field nor a settings group")
        out.append((f, ParamSpec(prefix + f.name, default=f.default, **meta)))
    return out


def parameter_table(cls: type, prefix: str = "") -> tuple[ParamSpec, ...]:
    """Every parameter of settings class `cls`, nested groups flattened in field order, defaults filled in."""
    hints = typing.get_type_hints(cls)
    out: list[ParamSpec] = []
    for f, spec in _own_specs(cls, prefix):
        out.extend(parameter_table(hints[f.name], _prefix(f, prefix)) if spec is None else (spec,))
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise TypeError(f"{cls.__name__}: parameter names must be unique, got duplicates in {names}")
    return tuple(out)


class Settings:
    """Mixin of the settings dataclasses: validation on construction, flat views and flat replace.

    Subclasses are `@dataclass(frozen=True)` whose fields are `param()` fields or nested Settings groups
    (`group(Group)` for a named group, `field(default_factory=Group)` to merge its names; module docstring).
    """

    RENAMED: ClassVar[Mapping[str, str]] = {}  # {old parameter name: new name} that from_flat still accepts

    def __post_init__(self) -> None:
        for f, spec in _own_specs(type(self)):
            if spec is not None:
                object.__setattr__(self, f.name, validate_value(spec, getattr(self, f.name)))

    @classmethod
    def parameters(cls) -> tuple[ParamSpec, ...]:
        return parameter_table(cls)

    def flat(self, prefix: str = "") -> dict[str, Any]:
        """{parameter name: value} over this object and its nested groups."""
        out: dict[str, Any] = {}
        for f, spec in _own_specs(type(self), prefix):
            value = getattr(self, f.name)
            if spec is None:
                out.update(value.flat(_prefix(f, prefix)))
            else:
                out[spec.name] = value
        return out

    @classmethod
    def from_flat(cls, values: Mapping[str, Any]) -> Self:
        """Settings from {parameter name: value}; missing names take their defaults, unknown ones raise.

        A name of `RENAMED` stands for its new name (ValueError when both are given)."""
        new = {cls.RENAMED.get(k, k): v for k, v in values.items()}
        if len(new) != len(values):
            both = sorted(k for k in values if k in cls.RENAMED and cls.RENAMED[k] in values)
            raise ValueError(f"parameter(s) given by their old and new names: {', '.join(both)}")
        table = {s.name: s for s in parameter_table(cls)}
        unknown = sorted(set(new) - set(table))
        if unknown:
            raise ValueError(f"unknown parameter(s) for {cls.__name__}: {', '.join(unknown)}")
        return cls._build(new)

    @classmethod
    def _build(cls, values: Mapping[str, Any], prefix: str = "") -> Self:
        hints = typing.get_type_hints(cls)
        kwargs = {}
        for f, spec in _own_specs(cls, prefix):
            if spec is None:
                # a nested group is a Settings too: its own unchecked constructor, the check ran once above
                kwargs[f.name] = hints[f.name]._build(values, _prefix(f, prefix))  # noqa: SLF001
            elif spec.name in values:
                kwargs[f.name] = values[spec.name]
        try:
            return cls(**kwargs)
        except ValueError as exc:  # a value's message names its field; name the parameter in full
            field_name = str(exc).split(" ", 1)[0].split("[", 1)[0]
            if prefix and field_name in kwargs:
                raise ValueError(f"{prefix}{exc}") from None
            raise

    def replace(self, changes: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Self:
        """A validated copy with flat parameter changes applied (`changes` for dotted names, `kwargs` for the
        others: `config.replace({"depth.window_px": 3})`); ValueError for unknown names or bad values."""
        new = {**(changes or {}), **kwargs}
        new = {type(self).RENAMED.get(k, k): v for k, v in new.items()}
        return type(self).from_flat({**self.flat(), **new})
