"""Where the package's files live: config/, urdf/, data/, models/ (the one share-folder lookup).

In a source checkout (or a `pip install -e .`) that is the repository root; after `colcon build` it is
`share/scalehp_ros` found through the ament index. Other packages' share folders (for `package://` URDF
paths) come from the ament index or, for pip-installed cmeel wheels such as example-robot-data, from the
wheel's own `cmeel.prefix/share/`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

PACKAGE = "scalehp_ros"
_SOURCE_ROOT = Path(__file__).resolve().parents[2]
_MARKER = Path("config") / "teleop_graph.yaml"  # a file every share folder of this package has


@cache
def package_share() -> Path:
    """The scalehp_ros share folder: the source tree root when run from a checkout, else the ament index's."""
    if (_SOURCE_ROOT / _MARKER).is_file():
        return _SOURCE_ROOT
    try:
        return ament_share(PACKAGE)
    except LookupError as exc:
        raise FileNotFoundError(f"cannot find the {PACKAGE} share folder (config/, urdf/, data/)") from exc


def share_file(*parts: str) -> Path:
    """A path under the scalehp_ros share folder, e.g. share_file('config', 'retarget.yaml')."""
    return package_share().joinpath(*parts)


def ament_share(package: str) -> Path:
    """Share folder of `package` from the ament index; LookupError where it or the index is missing."""
    try:
        from ament_index_python.packages import get_package_share_directory
    except ImportError as exc:
        raise LookupError("ament_index_python is not installed") from exc
    try:
        return Path(get_package_share_directory(package))
    except (LookupError, OSError, ValueError) as exc:
        raise LookupError(str(exc)) from exc


def package_path(package: str) -> Path:
    """Share folder of any installed package: the ament index, else a cmeel wheel's share/ (pip installs).

    example-robot-data, for instance, ships as a cmeel wheel (share/example-robot-data inside cmeel.prefix)
    without a Python module; importlib.metadata finds its files wherever pip put them. ValueError if absent.
    """
    try:
        return ament_share(package)
    except LookupError:
        pass
    from importlib import metadata

    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError as exc:
        raise ValueError(f"package {package!r} is not installed") from exc
    share = Path(str(dist.locate_file(f"cmeel.prefix/share/{package}")))
    if not share.is_dir():
        raise ValueError(f"package {package!r} is installed but has no share directory at {share}")
    return share
