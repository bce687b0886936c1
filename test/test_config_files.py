"""config/*.yaml hold the same defaults the nodes declare, for every parameter (one set of defaults)."""

import pytest
import yaml
from ros_harness import REPO

from scalehp_ros.ros import hand_pose_node, video_source


@pytest.mark.parametrize(
    ("node", "file", "params"),
    [
        ("hand_pose_node", "hand_pose.yaml", hand_pose_node.PARAMS),
        ("video_source", "video_source.yaml", video_source.PARAMS),
    ],
)
def test_yaml_defaults_match_declared_parameters(node, file, params):
    data = yaml.safe_load((REPO / "config" / file).read_text())
    values = data[node]["ros__parameters"]
    assert set(values) == {p.name for p in params}
    for p in params:
        assert values[p.name] == p.default, p.name
        assert type(values[p.name]) is type(p.default), p.name
