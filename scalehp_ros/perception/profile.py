"""Operator profiles: one person's measured hand, used for the scale and the canonical pose's bone lengths.

Teleoperation has one operator at a time, so their own hand is the most accurate prior there is. A profile is
a small YAML file (loaded with `yaml.safe_load` and validated; never executed):

    format: scalehp_operator_profile/1
    name: alice                       # who
    date: '2025-12-10'                # when it was measured (ISO 8601 date)
    method: aruco                     # how: ruler | aruco | depth | ground_truth
    notes: 48 frames on the ArUco sheet, keypoint height 0.010 m   # free text (optional)
    hands:                            # each hand measured, by the subject's own side: right and/or left
      right:
        mean_bone_m: 0.04075          # the ScaleHP scale: mean of the 20 bone lengths (must match them, 1 %)
        bone_lengths_m: [0.0301, ...] # 20 lengths in metres, scalehp_ros.common.joints.BONES order
        bone_lengths_sd_m: [...]      # optional: the spread of each length over the frames measured
        frames: 48                    # optional: how many frames were measured

The estimator loads it from the `operator_profile` parameter (a path; empty: none). A detected hand gets the
lengths of its own side, or of the other side when only one was measured (hands are mirror images). Makers:
`profile_from_hand_length` (a ruler, the published proportions), `profile_from_joints` (3D joints: a depth
camera or a data set's ground truth), and `perception.calibration` (the ArUco sheet, `scalehp-calibrate`).
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from scalehp_ros.common.joints import BONES, SIDES, bone_lengths
from scalehp_ros.perception.anthropometry import BONE_PROPORTIONS, mean_bone_from_hand_length

FORMAT = "scalehp_operator_profile/1"
METHODS: tuple[str, ...] = ("ruler", "aruco", "depth", "ground_truth")
BONE_RANGE_M = (0.003, 0.15)  # a plausible keypoint-skeleton bone, metres
_MEAN_TOLERANCE = 0.01  # mean_bone_m must equal the mean of bone_lengths_m within this fraction


@dataclass(frozen=True)
class HandMeasurement:
    """One measured hand: bone_lengths_m (20,) metres (joints.BONES order), optional spread and frame count."""

    bone_lengths_m: tuple[float, ...]
    bone_lengths_sd_m: tuple[float, ...] | None = None
    frames: int | None = None

    @property
    def mean_bone_m(self) -> float:
        return float(np.mean(self.bone_lengths_m))


@dataclass(frozen=True)
class OperatorProfile:
    """A validated operator profile (see the module docstring for the file format)."""

    name: str
    method: str
    hands: dict[str, HandMeasurement]
    date: str = field(default_factory=lambda: _dt.date.today().isoformat())
    notes: str = ""

    def __post_init__(self) -> None:
        _validate(self)

    def measurement(self, side: str) -> HandMeasurement:
        """The measurement of `side` ('left' / 'right'), or of the other side when only that one was measured."""
        if side in self.hands:
            return self.hands[side]
        return next(iter(self.hands.values()))

    def bone_lengths(self, side: str) -> np.ndarray:
        """(20,) metres, joints.BONES order, for a hand of `side`."""
        return np.array(self.measurement(side).bone_lengths_m)

    def mean_bone(self, side: str) -> float:
        """The scale (mean bone length, m) of a hand of `side`."""
        return self.measurement(side).mean_bone_m

    def to_dict(self) -> dict[str, Any]:
        hands: dict[str, Any] = {}
        for side, m in self.hands.items():
            entry: dict[str, Any] = {
                "mean_bone_m": round(m.mean_bone_m, 6),
                "bone_lengths_m": [round(float(v), 6) for v in m.bone_lengths_m],
            }
            if m.bone_lengths_sd_m is not None:
                entry["bone_lengths_sd_m"] = [round(float(v), 6) for v in m.bone_lengths_sd_m]
            if m.frames is not None:
                entry["frames"] = int(m.frames)
            hands[side] = entry
        out: dict[str, Any] = {"format": FORMAT, "name": self.name, "date": self.date, "method": self.method}
        if self.notes:
            out["notes"] = self.notes
        out["hands"] = hands
        return out


def _lengths(values: Any, what: str, lo: float, hi: float) -> tuple[float, ...]:
    if not isinstance(values, list | tuple | np.ndarray) or len(values) != len(BONES):
        raise ValueError(f"{what} must be a list of {len(BONES)} numbers (joints.BONES order)")
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int | float | np.floating | np.integer) or not math.isfinite(v):
            raise ValueError(f"{what}[{i}] must be a finite number, got {v!r}")
        if not lo <= float(v) <= hi:
            raise ValueError(f"{what}[{i}] = {v} m is outside [{lo}, {hi}] m")
        out.append(float(v))
    return tuple(out)


def _validate(p: OperatorProfile) -> None:
    if not isinstance(p.name, str) or not p.name.strip():
        raise ValueError("profile name must be a non-empty string")
    if p.method not in METHODS:
        raise ValueError(f"profile method must be one of {METHODS}, got {p.method!r}")
    try:
        _dt.date.fromisoformat(str(p.date))
    except ValueError as exc:
        raise ValueError(f"profile date must be an ISO 8601 date (YYYY-MM-DD), got {p.date!r}") from exc
    if not isinstance(p.hands, dict) or not p.hands:
        raise ValueError("profile must measure at least one hand (hands: right and/or left)")
    for side, m in p.hands.items():
        if side not in SIDES:
            raise ValueError(f"profile hand must be one of {SIDES}, got {side!r}")
        _lengths(m.bone_lengths_m, f"hands.{side}.bone_lengths_m", *BONE_RANGE_M)
        if m.bone_lengths_sd_m is not None:
            _lengths(m.bone_lengths_sd_m, f"hands.{side}.bone_lengths_sd_m", 0.0, BONE_RANGE_M[1])
        if m.frames is not None and (isinstance(m.frames, bool) or not isinstance(m.frames, int) or m.frames < 1):
            raise ValueError(f"hands.{side}.frames must be a positive integer, got {m.frames!r}")


def profile_from_dict(data: Any, source: str = "profile") -> OperatorProfile:
    """A validated OperatorProfile from parsed YAML; ValueError naming the problem (and `source`)."""
    try:
        if not isinstance(data, dict):
            raise ValueError("not a mapping")
        if data.get("format") != FORMAT:
            raise ValueError(f"format must be {FORMAT!r}, got {data.get('format')!r}")
        unknown = set(data) - {"format", "name", "date", "method", "notes", "hands"}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        hands_in = data.get("hands")
        if not isinstance(hands_in, dict):
            raise ValueError("hands must be a mapping of side -> measurement")
        hands = {}
        for side, entry in hands_in.items():
            if not isinstance(entry, dict) or "bone_lengths_m" not in entry:
                raise ValueError(f"hands.{side} must have bone_lengths_m")
            unknown = set(entry) - {"mean_bone_m", "bone_lengths_m", "bone_lengths_sd_m", "frames"}
            if unknown:
                raise ValueError(f"hands.{side}: unknown keys {sorted(unknown)}")
            lengths = _lengths(entry["bone_lengths_m"], f"hands.{side}.bone_lengths_m", *BONE_RANGE_M)
            sd = entry.get("bone_lengths_sd_m")
            m = HandMeasurement(lengths, None if sd is None else _lengths(sd, f"hands.{side}.bone_lengths_sd_m", 0, 1))
            m = HandMeasurement(m.bone_lengths_m, m.bone_lengths_sd_m, entry.get("frames"))
            if "mean_bone_m" in entry:
                stated = entry["mean_bone_m"]
                if isinstance(stated, bool) or not isinstance(stated, int | float):
                    raise ValueError(f"hands.{side}.mean_bone_m must be a number, got {stated!r}")
                if abs(stated - m.mean_bone_m) > _MEAN_TOLERANCE * m.mean_bone_m:
                    raise ValueError(
                        f"hands.{side}.mean_bone_m {stated} does not match the mean of bone_lengths_m "
                        f"{m.mean_bone_m:.5f}"
                    )
            hands[str(side)] = m
        return OperatorProfile(
            name=str(data.get("name", "")),
            method=str(data.get("method", "")),
            hands=hands,
            date=str(data.get("date", "")),
            notes=str(data.get("notes", "") or ""),
        )
    except ValueError as exc:
        raise ValueError(f"{source}: invalid operator profile: {exc}") from exc


def load_profile(path: str | Path) -> OperatorProfile:
    """Read and validate a profile file (yaml.safe_load); ValueError for a missing or invalid file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"operator profile {path} not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    return profile_from_dict(data, str(path))


def save_profile(profile: OperatorProfile, path: str | Path) -> Path:
    """Write `profile` as YAML (the format above); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# scalehp_ros operator profile (see scalehp_ros/perception/profile.py)\n"
    text += yaml.safe_dump(profile.to_dict(), sort_keys=False, default_flow_style=None, width=120)
    path.write_text(text)
    return path


def profile_from_hand_length(
    name: str, hand_length_m: float, sides: tuple[str, ...] = SIDES, date: str | None = None
) -> OperatorProfile:
    """A ruler profile: hand length (distal wrist crease to middle fingertip, hand flat, m) with the published
    proportions (`anthropometry`). Equivalent to `scale.mode: fixed` with that hand_length_m."""
    if not (math.isfinite(hand_length_m) and 0.10 <= hand_length_m <= 0.30):
        raise ValueError(f"hand length must be in [0.10, 0.30] m, got {hand_length_m}")
    lengths = tuple(float(v) for v in BONE_PROPORTIONS * mean_bone_from_hand_length(hand_length_m))
    hands = {side: HandMeasurement(lengths) for side in sides}
    kw = {} if date is None else {"date": date}
    notes = f"ruler hand length {hand_length_m:.4f} m, published proportions"
    return OperatorProfile(name=name, method="ruler", hands=hands, notes=notes, **kw)


def profile_from_joints(
    name: str, joints: dict[str, np.ndarray], method: str, notes: str = "", date: str | None = None
) -> OperatorProfile:
    """A profile from measured 3D joints: side -> (M, 21, 3) or (21, 3) metres (any frame). Each bone's length
    is the median over the M observations, its spread their standard deviation."""
    hands = {}
    for side, j in joints.items():
        lengths = bone_lengths(np.asarray(j, dtype=np.float64).reshape(-1, 21, 3))
        sd = tuple(lengths.std(0)) if len(lengths) > 1 else None
        hands[side] = HandMeasurement(tuple(np.median(lengths, axis=0)), sd, len(lengths))
    kw = {} if date is None else {"date": date}
    return OperatorProfile(name=name, method=method, hands=hands, notes=notes, **kw)
