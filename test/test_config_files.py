"""Every YAML in config/ is checked against the code that reads it (one set of defaults, in the dataclasses).

- config/<node>.yaml params files and docs/parameters.md are exactly what the nodes' parameter tables generate
  (tools/write_param_files.py);
- config/teleop_graph.yaml resolves for every argument choice, and every parameter it passes to a node of
  this package is one that node declares, with a valid value;
- config/robots/*.yaml load and validate against their URDFs.
"""

from __future__ import annotations

import importlib.util

import pytest
import yaml
from ros_harness import REPO

from scalehp_ros.bringup import graph
from scalehp_ros.common.params import validate_value
from scalehp_ros.perception.settings import EstimatorConfig
from scalehp_ros.retargeting.robot_config import load_robot_config

_spec = importlib.util.spec_from_file_location("write_param_files", REPO / "tools" / "write_param_files.py")
writer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(writer)
PARAMS_FILES = writer.PARAMS_FILES

RCLPY_PARAMETERS = {"use_sim_time"}  # declared by rclpy itself in every node

CONFIG = REPO / "config"
TABLES = writer.node_tables()
ROBOTS = sorted((CONFIG / "robots").glob("*.yaml"))


def test_every_yaml_is_covered():
    checked = {CONFIG / f for f in PARAMS_FILES.values()} | {CONFIG / graph.GRAPH_FILE} | set(ROBOTS)
    checked.add(CONFIG / "ros2_controllers.yaml")  # test_ros2_controllers.py
    assert set(CONFIG.rglob("*.yaml")) == checked


@pytest.mark.parametrize("node", sorted(PARAMS_FILES))
def test_params_file_is_generated_from_the_parameter_table(node):
    path = CONFIG / PARAMS_FILES[node]
    expected = writer.params_file_text(node, TABLES[node])
    assert path.read_text() == expected, f"{path} is stale: run `{writer.COMMAND}`"
    values = yaml.safe_load(path.read_text())[node]["ros__parameters"]
    table = {s.name: s for s in TABLES[node]}
    assert set(values) == set(table)
    for name, value in values.items():
        assert validate_value(table[name], value) == table[name].default, name


def test_parameters_page_is_generated_from_the_parameter_tables():
    path = REPO / writer.DOCS_PAGE
    expected = writer.parameters_markdown(TABLES, writer.node_renames())
    assert path.read_text() == expected, f"{path} is stale: run `{writer.COMMAND}`"
    for node, specs in TABLES.items():  # every parameter of every node has its row
        for spec in specs:
            assert f"| `{spec.name}` |" in path.read_text(), (node, spec.name)


def test_writer_check_mode_names_a_stale_file(tmp_path):
    for rel, text in writer.expected_files().items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert writer.main(["--check", "--root", str(tmp_path)]) == 0
    (tmp_path / "config" / "sim.yaml").write_text("sim_node: {}\n")
    assert writer.main(["--check", "--root", str(tmp_path)]) == 1


def _graph_variants():
    args = graph.arguments()
    yield {}
    for a in args:
        for choice in a.choices:
            yield {a.name: choice}


@pytest.mark.parametrize("values", list(_graph_variants()), ids=str)
def test_graph_passes_only_declared_valid_parameters(values):
    specs = graph.resolve(values)
    assert specs
    for spec in specs:
        if spec.package != "scalehp_ros":
            continue
        table = {s.name: s for s in TABLES[spec.name]}
        assert spec.params_file is not None and spec.params_file.is_file()
        for name, value in spec.parameters.items():
            if name in RCLPY_PARAMETERS:
                continue
            assert name in table, f"{spec.name} has no parameter {name}"
            validate_value(table[name], value)


def test_graph_scale_mode_choices_are_the_estimators():
    """Launch arguments offer exactly the scale modes the estimator accepts (none without a model)."""
    (arg,) = [a for a in graph.arguments() if a.name == "scale_mode"]
    (spec,) = [s for s in EstimatorConfig.parameters() if s.name == "scale.mode"]
    assert set(arg.choices) == {"", *spec.choices}
    assert "learned" not in arg.choices


@pytest.mark.parametrize("path", ROBOTS, ids=lambda p: p.name)
def test_robot_yaml_loads(path):
    config = load_robot_config(path)
    assert config.joint_names
