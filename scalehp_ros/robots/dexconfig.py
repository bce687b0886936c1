"""dex-retargeting's retargeting YAML, read as it is, and checked against its hand URDF.

The format (dex-retargeting `RetargetingConfig`, also read by dexi-rs) is a mapping under `retargeting:` with
`type` (vector | position | dexpilot, any case), `urdf_path` (relative to the hand asset folder),
`target_joint_names`, and per type: vector: `target_origin_link_names`, `target_task_link_names`,
`target_link_human_indices` ([origins, tasks], MediaPipe keypoint indices 0..20); position:
`target_link_names`, `target_link_human_indices` ([indices]); dexpilot: `wrist_link_name`,
`finger_tip_link_names` (thumb first). Common: `scaling_factor`, `low_pass_alpha`, and solver settings
(`normal_delta`, `huber_delta`, `project_dist`, `escape_dist`, `eta1`, `eta2`, `add_dummy_free_joint`,
`ignore_mimic_joint`). Mimic joints (URDF `<mimic>`) are resolved: the commanded joints are the hand's
actuated joints, each mimic joint follows its parent (value = multiplier * parent + offset).

`check_dex_config` explains what is wrong with a config in plain sentences (unknown link or joint, a human
index outside 0..20, lists of different lengths, a mimic joint named as a target, a mimic joint whose parent
is not in the URDF); `load_dex_config` raises ValueError with those sentences.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scalehp_ros.common.joints import NUM_JOINTS

TYPES = ("vector", "position", "dexpilot")
_KNOWN = {
    "type", "urdf_path", "target_joint_names", "target_origin_link_names", "target_task_link_names",
    "target_link_names", "target_link_human_indices", "wrist_link_name", "finger_tip_link_names",
    "scaling_factor", "low_pass_alpha", "normal_delta", "huber_delta", "project_dist", "escape_dist", "eta1",
    "eta2", "add_dummy_free_joint", "ignore_mimic_joint",
}  # fmt: skip


@dataclass(frozen=True)
class Mimic:
    parent: str
    multiplier: float
    offset: float


@dataclass(frozen=True)
class UrdfSummary:
    """Links, movable joints (in file order), their limits and mimic relations of one URDF."""

    path: Path
    name: str
    links: tuple[str, ...]
    joints: tuple[str, ...]  # movable (revolute, prismatic, continuous), file order
    limits: dict[str, tuple[float, float]]  # rad or m
    mimic: dict[str, Mimic]  # mimic joint -> its parent
    root: str

    @property
    def actuated(self) -> tuple[str, ...]:
        """The movable joints that are not mimic joints: what a command sets."""
        return tuple(j for j in self.joints if j not in self.mimic)


def read_urdf(path: str | Path) -> UrdfSummary:
    """Parse a URDF's structure (no meshes loaded); ValueError if it is not a URDF."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise ValueError(f"{path}: not a readable URDF: {exc}") from exc
    if root.tag != "robot":
        raise ValueError(f"{path}: not a URDF (root element <{root.tag}>)")
    links = tuple(link.get("name") for link in root.findall("link"))
    joints, limits, mimic, children = [], {}, {}, set()
    for joint in root.findall("joint"):
        children.add(joint.find("child").get("link"))
        if joint.get("type") not in ("revolute", "prismatic", "continuous"):
            continue
        name = joint.get("name")
        joints.append(name)
        limit = joint.find("limit")
        if joint.get("type") == "continuous" or limit is None:
            limits[name] = (-math.pi, math.pi) if joint.get("type") == "continuous" else (-math.inf, math.inf)
        else:
            limits[name] = (float(limit.get("lower", "0")), float(limit.get("upper", "0")))
        m = joint.find("mimic")
        if m is not None:
            mimic[name] = Mimic(m.get("joint"), float(m.get("multiplier", "1")), float(m.get("offset", "0")))
    roots = [link for link in links if link not in children]
    return UrdfSummary(
        path, root.get("name", path.stem), links, tuple(joints), limits, mimic, roots[0] if roots else ""
    )


@dataclass(frozen=True)
class DexConfig:
    """One dex-retargeting retargeting config (see the module docstring); lengths in metres."""

    type: str
    urdf_path: str
    target_joint_names: tuple[str, ...] | None
    origin_links: tuple[str, ...] = ()
    task_links: tuple[str, ...] = ()
    human_origins: tuple[int, ...] = ()
    human_tasks: tuple[int, ...] = ()
    wrist_link: str | None = None
    fingertip_links: tuple[str, ...] = ()
    scaling_factor: float = 1.0
    low_pass_alpha: float = 0.1
    extra: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def vector_pairs(self) -> list[tuple[int, str, int, str]]:
        """(human origin, robot origin link, human task, robot task link) of every retargeted vector.

        dexpilot: wrist -> each fingertip and every fingertip pair (thumb first), as dex-retargeting builds them
        (its pinch terms are left out here: the vectors are what a coverage run measures).
        """
        if self.type == "vector":
            return list(zip(self.human_origins, self.origin_links, self.human_tasks, self.task_links, strict=True))
        if self.type == "position":
            return [
                (0, self.wrist_link or "", h, link) for h, link in zip(self.human_tasks, self.task_links, strict=True)
            ]
        tips = (4, 8, 12, 16, 20)[: len(self.fingertip_links)]
        pairs = []
        for i in range(len(self.fingertip_links)):
            for j in range(i + 1, len(self.fingertip_links)):
                pairs.append((tips[j], self.fingertip_links[j], tips[i], self.fingertip_links[i]))
        pairs += [(0, self.wrist_link, tips[i], link) for i, link in enumerate(self.fingertip_links)]
        return pairs


def _parse(raw: Any, where: str) -> tuple[DexConfig | None, list[str]]:
    problems: list[str] = []
    if not isinstance(raw, dict) or not isinstance(raw.get("retargeting"), dict):
        return None, [f"{where}: expected a mapping with a 'retargeting:' section"]
    r = raw["retargeting"]
    unknown = sorted(set(r) - _KNOWN)
    if unknown:
        problems.append(f"{where}: unknown keys {unknown} (known: {sorted(_KNOWN)})")
    kind = str(r.get("type", "")).lower()
    if kind not in TYPES:
        problems.append(f"{where}: type {r.get('type')!r} is not one of {TYPES}")
        return None, problems
    if not isinstance(r.get("urdf_path"), str):
        problems.append(f"{where}: urdf_path is missing")
        return None, problems

    def names(key: str) -> tuple[str, ...]:
        value = r.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{where}: {key} must be a list of names, got {value!r}")
            return ()
        return tuple(value)

    indices = r.get("target_link_human_indices")
    origins: tuple[int, ...] = ()
    tasks: tuple[int, ...] = ()
    origin_links = task_links = fingertips = ()
    wrist = r.get("wrist_link_name")
    if kind == "vector":
        origin_links, task_links = names("target_origin_link_names"), names("target_task_link_names")
        if not (isinstance(indices, list) and len(indices) == 2 and all(isinstance(i, list) for i in indices)):
            problems.append(f"{where}: vector target_link_human_indices must be [[origins...], [tasks...]]")
        else:
            origins, tasks = tuple(indices[0]), tuple(indices[1])
        lengths = {len(origin_links), len(task_links), len(origins), len(tasks)}
        if len(lengths) != 1 or 0 in lengths:
            problems.append(
                f"{where}: {len(origin_links)} origin links, {len(task_links)} task links, {len(origins)} human "
                f"origins and {len(tasks)} human tasks: one of each per retargeted vector"
            )
    elif kind == "position":
        task_links = names("target_link_names")
        if not isinstance(indices, list) or not all(isinstance(i, int) for i in indices):
            problems.append(f"{where}: position target_link_human_indices must be a list of indices")
        else:
            tasks = tuple(indices)
            origins = (0,) * len(tasks)
        if len(tasks) != len(task_links):
            problems.append(f"{where}: {len(task_links)} target links but {len(tasks)} human indices")
    else:
        fingertips = names("finger_tip_link_names")
        if not isinstance(wrist, str):
            problems.append(f"{where}: dexpilot needs wrist_link_name")
        if not 2 <= len(fingertips) <= 5:
            problems.append(f"{where}: dexpilot needs 2 to 5 finger_tip_link_names (thumb first)")
    for i in (*origins, *tasks):
        if not (isinstance(i, int) and not isinstance(i, bool) and 0 <= i < NUM_JOINTS):
            problems.append(f"{where}: human index {i!r} is outside 0..{NUM_JOINTS - 1} (MediaPipe keypoints)")
    joints = names("target_joint_names") if "target_joint_names" in r else None
    scaling = float(r.get("scaling_factor", 1.0))
    alpha = float(r.get("low_pass_alpha", 0.1))
    if not (math.isfinite(scaling) and 0.1 <= scaling <= 10):
        problems.append(f"{where}: scaling_factor {scaling} outside [0.1, 10]")
    if not 0 < alpha <= 1:
        problems.append(f"{where}: low_pass_alpha {alpha} outside (0, 1]")
    extra = {k: r[k] for k in r if k in _KNOWN - {
        "type", "urdf_path", "target_joint_names", "target_origin_link_names", "target_task_link_names",
        "target_link_names", "target_link_human_indices", "wrist_link_name", "finger_tip_link_names",
        "scaling_factor", "low_pass_alpha"}}  # fmt: skip
    config = DexConfig(
        type=kind,
        urdf_path=r["urdf_path"],
        target_joint_names=joints,
        origin_links=origin_links,
        task_links=task_links,
        human_origins=origins,
        human_tasks=tasks,
        wrist_link=wrist if isinstance(wrist, str) else None,
        fingertip_links=fingertips,
        scaling_factor=scaling,
        low_pass_alpha=alpha,
        extra=extra,
    )
    return config, problems


def check_against_urdf(config: DexConfig, urdf: UrdfSummary, where: str) -> list[str]:
    """What in `config` does not fit `urdf` (empty: it fits)."""
    problems = []
    links = set(urdf.links)
    named = [*config.origin_links, *config.task_links, *config.fingertip_links]
    if config.wrist_link:
        named.append(config.wrist_link)
    for link in dict.fromkeys(named):
        if link not in links:
            close = sorted(k for k in links if link.split("_")[0] in k)[:6]
            problems.append(
                f"{where}: link {link!r} is not in {urdf.path.name}" + (f" (similar: {close})" if close else "")
            )
    for joint, m in urdf.mimic.items():
        if m.parent not in urdf.joints:
            problems.append(
                f"{where}: {urdf.path.name}: mimic joint {joint!r} follows {m.parent!r}, "
                "not a movable joint of the URDF"
            )
    for joint in config.target_joint_names or ():
        if joint not in urdf.joints:
            problems.append(f"{where}: target joint {joint!r} is not a movable joint of {urdf.path.name}")
        elif joint in urdf.mimic:
            problems.append(
                f"{where}: target joint {joint!r} is a mimic joint (it follows {urdf.mimic[joint].parent!r}); "
                "name its parent instead"
            )
    return problems


def parse_dex_config(text: str, where: str = "<config>") -> tuple[DexConfig | None, list[str]]:
    """Parse YAML text (yaml.safe_load): the config (None if unusable) and the problems found without a URDF."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, [f"{where}: not valid YAML: {exc}"]
    return _parse(raw, where)


def check_dex_config(path: str | Path, hands_dir: str | Path | None = None) -> list[str]:
    """Every problem of a dex-retargeting YAML (its URDF resolved under `hands_dir`, default dexi-rs's)."""
    path = Path(path)
    if not path.is_file():
        return [f"{path}: no such file"]
    config, problems = parse_dex_config(path.read_text(), str(path))
    if config is None:
        return problems
    urdf_path = _urdf_path(config, path, hands_dir)
    if urdf_path is None:
        return [
            *problems,
            f"{path}: urdf_path {config.urdf_path!r} found neither next to the config nor in the hand assets",
        ]
    return problems + check_against_urdf(config, read_urdf(urdf_path), str(path))


def _urdf_path(config: DexConfig, source: Path | None, hands_dir: str | Path | None) -> Path | None:
    candidates = []
    if Path(config.urdf_path).is_absolute():
        candidates.append(Path(config.urdf_path))
    if source is not None:
        candidates.append(source.parent / config.urdf_path)
    if hands_dir is None:
        from scalehp_ros.robots.assets import AssetError, dexi_hands_dir

        try:
            hands_dir = dexi_hands_dir()
        except AssetError:
            hands_dir = None
    if hands_dir is not None:
        candidates.append(Path(hands_dir) / config.urdf_path)
    return next((c for c in candidates if c.is_file()), None)


def load_dex_config(path: str | Path, hands_dir: str | Path | None = None) -> tuple[DexConfig, UrdfSummary]:
    """The config and its hand URDF's summary, or ValueError listing every problem."""
    path = Path(path)
    problems = check_dex_config(path, hands_dir)
    if problems:
        raise ValueError("\n".join(problems))
    config, _ = parse_dex_config(path.read_text(), str(path))
    assert config is not None
    urdf = _urdf_path(config, path, hands_dir)
    assert urdf is not None
    return DexConfig(**{**config.__dict__, "source": path}), read_urdf(urdf)
