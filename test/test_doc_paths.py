"""Every repository path cited in README.md, docs/, bench/README.md, the Python docstrings and the comments of
the configuration and tooling files exists.

A path is cited when it is a Markdown link target, or a `backticked` token / a docstring word that starts with
a top-level folder of the repository (scalehp_ros/, test/, tools/, config/, ...) or with a layer of the package
(perception/, retargeting/, ...: relative to scalehp_ros/). Globs must match at least one file. Paths that are
examples of a user's or a tool's layout rather than files of this repository are listed in NOT_IN_REPO with
the reason.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "scalehp_ros"
TOP = ("scalehp_ros", "test", "tools", "config", "docs", "bench", "launch", "urdf", "data", "resource", ".ci")
LAYERS = tuple(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file())
NOT_IN_REPO = {
    "evaluation/rgb/": "FreiHAND's own folder layout, read by scalehp-eval freihand",
    "config/ur5e/default_kinematics.yaml": "ur_description's calibration file (the UR frames' source)",
    "urdf/ur_macro.xacro": "ur_description's URDF macro (the UR frames' source)",
    "robots/allegro_hand_description/urdf/": "a folder of example-robot-data's package",
    "data/chunk-000/file-000.parquet": "the LeRobot v3.0 layout that scalehp-export writes",
    "ros/rosdistro": "the rosdistro repository (rosdep keys), not a path here",
}
_TOKEN = re.compile(r"`([^`\s]+)`")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_ROOTS = "|".join(re.escape(t) for t in (*TOP, *LAYERS))
_WORD = re.compile(rf"(?<![\w./~-])((?:{_ROOTS})/[\w./*-]*[\w*/])")

MARKDOWN = sorted({REPO / "README.md", REPO / "bench" / "README.md", *(REPO / "docs").glob("*.md")})
SOURCES = sorted(p for d in ("scalehp_ros", "tools", "bench", "test") for p in (REPO / d).rglob("*.py"))
TEXT_FILES = sorted(
    {REPO / "Makefile", REPO / "constraints.txt", REPO / "package.xml", REPO / "setup.py", REPO / "setup.cfg"}
    | {
        p
        for pattern in (
            "config/**/*.yaml",
            "config/*.xml",
            "tools/**/*.sh",
            "tools/**/*.xml",
            "tools/**/*.txt",
            "launch/*.py",
        )
        for p in REPO.glob(pattern)
    }
)


def _exists(path: str, base: Path) -> bool:
    path = path.split("#", 1)[0].removeprefix("./")
    for root in (base, REPO, PACKAGE):
        if any(c in path for c in "*?["):
            if any(root.glob(path.rstrip("/"))):
                return True
        elif (root / path).exists():
            return True
    return False


def _is_repo_path(token: str) -> bool:
    token = token.removeprefix("./")
    if any(c in token for c in "<>{}…$~:=") or "..." in token or "/" not in token:
        return False
    return token.split("/", 1)[0] in (*TOP, *LAYERS)


def markdown_citations(path: Path) -> set[str]:
    text = path.read_text()
    cited = {t for t in _TOKEN.findall(text) if _is_repo_path(t)}
    for link in _LINK.findall(text):
        if not re.match(r"[a-z]+:", link) and not link.startswith("#"):
            cited.add(link)
    return cited


def docstring_citations(path: Path) -> set[str]:
    cited = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node) or ""
            cited.update(w for w in _WORD.findall(doc) if _is_repo_path(w))
    return cited


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(REPO)))
def test_paths_cited_in_markdown_exist(path):
    missing = sorted(c for c in markdown_citations(path) if c not in NOT_IN_REPO and not _exists(c, path.parent))
    assert not missing, f"{path.relative_to(REPO)} cites paths that do not exist: {missing}"


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(line.lstrip("#")) for line in path.read_text().splitlines() if line.startswith("#")}


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(REPO)))
def test_anchors_of_links_between_pages_exist(path):
    """A link `page.md#section` names a heading of that page (a renamed section breaks the link)."""
    broken = []
    for link in _LINK.findall(path.read_text()):
        target, _, anchor = link.partition("#")
        if not anchor or re.match(r"[a-z]+:", link):
            continue
        page = (path.parent / target) if target else path
        if page.suffix == ".md" and page.is_file() and anchor not in _anchors(page):
            broken.append(link)
    assert not broken, f"{path.relative_to(REPO)} links to missing sections: {broken}"


def test_paths_cited_in_docstrings_exist():
    missing = {}
    for path in SOURCES:
        bad = sorted(c for c in docstring_citations(path) if c not in NOT_IN_REPO and not _exists(c, path.parent))
        if bad:
            missing[str(path.relative_to(REPO))] = bad
    assert not missing, f"docstrings cite paths that do not exist: {missing}"


def test_paths_cited_in_configuration_and_tooling_files_exist():
    """Comments in the Makefile, constraints, config YAMLs, shell scripts and package files name real files."""
    missing = {}
    for path in TEXT_FILES:
        words = {w for w in _WORD.findall(path.read_text()) if _is_repo_path(w) and w not in NOT_IN_REPO}
        bad = sorted(w for w in words if not _exists(w, path.parent))
        if bad:
            missing[str(path.relative_to(REPO))] = bad
    assert len(TEXT_FILES) > 10
    assert not missing, f"files cite paths that do not exist: {missing}"


def test_the_checker_sees_citations_and_rejects_a_missing_path(tmp_path):
    assert "docs/architecture.md" in markdown_citations(REPO / "README.md")
    assert "tools/write_param_files.py" in docstring_citations(REPO / "test" / "test_layering.py")
    fake = tmp_path / "x.md"
    fake.write_text("see `tools/no_such_tool.py` and [a](docs/none.md)\n")
    assert {c for c in markdown_citations(fake) if not _exists(c, fake.parent)} == {
        "tools/no_such_tool.py",
        "docs/none.md",
    }
