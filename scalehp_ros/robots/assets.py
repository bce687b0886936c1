"""Where the robot descriptions live: installed packages only, never copies in this repository.

- hands: the `dexi-rs` wheel (MIT) ships dex-retargeting's hand assets in `dexi_rs/resources/assets/robots/hands/`
  (URDFs, meshes and a licence file per hand);
- arms: the `example-robot-data` wheel (cmeel layout: `cmeel.prefix/share/example-robot-data/robots/`);
- dex-retargeting's retargeting YAMLs: the `dex-retargeting` wheel (`dex_retargeting/configs/teleop/*.yml`),
  optional (only for reading its configs as they are; the registry's own configs are in config/hands/).
Nothing is downloaded: a missing package raises AssetError naming the pip package to install.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from scalehp_ros.common.share import package_share


class AssetError(LookupError):
    """A robot asset package is not installed, or a file is missing from it."""


def _module_dir(module: str, pip_name: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise AssetError(f"the {pip_name!r} package is not installed (pip install {pip_name}, see constraints.txt)")
    return Path(next(iter(spec.submodule_search_locations)))


def dexi_hands_dir() -> Path:
    """dexi-rs's hand asset folder (one sub-folder per hand model)."""
    path = _module_dir("dexi_rs", "dexi-rs") / "resources" / "assets" / "robots" / "hands"
    if not path.is_dir():
        raise AssetError(f"dexi-rs is installed but has no hand assets at {path}")
    return path


def example_robot_data_dir() -> Path:
    """example-robot-data's `robots/` folder (one `*_description` folder per robot), from the installed wheel."""
    from importlib import metadata

    try:
        dist = metadata.distribution("example-robot-data")
    except metadata.PackageNotFoundError as exc:
        raise AssetError("the 'example-robot-data' package is not installed (pip install example-robot-data)") from exc
    for file in dist.files or ():
        parts = file.parts
        if "example-robot-data" in parts and "robots" in parts:
            cut = parts.index("robots", parts.index("example-robot-data"))
            path = Path(dist.locate_file(Path(*parts[: cut + 1])))
            if path.is_dir():
                return path
    raise AssetError("example-robot-data is installed but its share/example-robot-data/robots folder was not found")


def dex_retargeting_configs_dir() -> Path:
    """dex-retargeting's teleop configs (`*.yml`), when that optional package is installed."""
    path = _module_dir("dex_retargeting", "dex-retargeting") / "configs" / "teleop"
    if not path.is_dir():
        raise AssetError(f"dex-retargeting is installed but has no configs at {path}")
    return path


def project_dir() -> Path:
    """The scalehp_ros share folder (the repository root in a checkout)."""
    return package_share()


def resolve(kind: str, relative: str) -> Path:
    """An asset path: kind 'dexi' (under dexi_hands_dir), 'erd' (example-robot-data) or 'project'."""
    roots = {"dexi": dexi_hands_dir, "erd": example_robot_data_dir, "project": project_dir}
    if kind not in roots:
        raise ValueError(f"asset kind {kind!r} is not one of {sorted(roots)}")
    path = roots[kind]() / relative
    if not path.is_file():
        raise AssetError(f"{kind} asset {relative} not found at {path}")
    return path
