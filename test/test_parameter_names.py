"""Dotted, grouped parameter names and their migration from the flat names used before the groups.

- `EstimatorConfig.from_flat` / `replace` (the public API of scripts and of the real-photo evaluation) accept
  the old flat names as well as the new ones, mapped to the same settings;
- the renaming table is one mapping ({old: new}) whose new names are all declared parameters and whose old
  names are none, and docs/parameters.md prints it (test_config_files checks the page is current);
- hand_pose_node, given an old name by `-p` or by a params file, refuses to start and names the new one.
"""

from __future__ import annotations

import pytest
from ros_harness import NodeProcess

from scalehp_ros.perception.settings import ESTIMATOR_RENAMED, EstimatorConfig

NEW = {s.name for s in EstimatorConfig.parameters()}


def test_from_flat_accepts_the_old_flat_names_as_the_new_ones():
    old = EstimatorConfig.from_flat({"root_placement": "solve", "scale_mode": "fixed", "canonical_model": "lifter"})
    new = EstimatorConfig.from_flat({"placement.mode": "solve", "scale.mode": "fixed", "canonical.model": "lifter"})
    assert old == new
    assert (new.placement.mode, new.scale.mode, new.canonical.model) == ("solve", "fixed", "lifter")
    assert new != EstimatorConfig()  # the names reached their groups: not the defaults
    # every old name, at a non-default valid value where one exists, lands on its new parameter
    config = EstimatorConfig()
    for old_name, new_name in ESTIMATOR_RENAMED.items():
        value = config.flat()[new_name]
        flipped = (not value) if isinstance(value, bool) else value
        assert EstimatorConfig.from_flat({old_name: flipped}).flat()[new_name] == flipped, old_name
    assert config.replace(depth_window_px=4).depth.window_px == 4  # replace maps them too
    assert config.replace({"depth.window_px": 4}) == config.replace(depth_window_px=4)


def test_old_and_new_name_of_one_parameter_together_are_refused():
    with pytest.raises(ValueError, match="old and new names: root_placement"):
        EstimatorConfig.from_flat({"root_placement": "fit", "placement.mode": "solve"})


def test_a_bad_value_is_reported_under_the_new_name():
    with pytest.raises(ValueError, match=r"placement\.mode must be one of"):
        EstimatorConfig.from_flat({"root_placement": "nowhere"})
    with pytest.raises(ValueError, match=r"canonical\.model_fit\.keypoint_sigma must be in"):
        EstimatorConfig.from_flat({"fit_keypoint_sigma": 0.0})


def test_the_renaming_table_maps_every_old_name_to_a_declared_parameter():
    from scalehp_ros.ros import hand_pose_node

    declared = {s.name for s in hand_pose_node.PARAMS}
    assert set(ESTIMATOR_RENAMED.values()) == NEW  # every estimator parameter was renamed into its group
    assert set(hand_pose_node.RENAMED.values()) <= declared
    assert not set(hand_pose_node.RENAMED) & declared  # an old name is never a current one
    assert len(set(hand_pose_node.RENAMED.values())) == len(hand_pose_node.RENAMED)  # one old name per new one
    # "fit" names either the canonical model's fit or the placement's stream fit, each under its own group
    fit_names = [n for n in declared if "fit" in n]
    assert fit_names and all(n.startswith(("canonical.model_fit.", "placement.fit_")) for n in fit_names), fit_names


@pytest.mark.ros
@pytest.mark.parametrize("how", ["-p", "params file"])
def test_hand_pose_node_refuses_an_old_name_and_names_the_new_one(how, tmp_path):
    if how == "-p":
        args = ["--ros-args", "-p", "root_placement:=fit", "-p", "depth_window_px:=3"]
    else:
        path = tmp_path / "old.yaml"
        path.write_text("hand_pose_node:\n  ros__parameters:\n    root_placement: fit\n    depth_window_px: 3\n")
        args = ["--ros-args", "--params-file", str(path)]
    proc = NodeProcess("scalehp_ros.ros.hand_pose_node", *args)
    try:
        code = proc.proc.wait(30.0)
    finally:
        proc.stop()
    out = proc.output()
    assert code == 1, out
    assert "depth_window_px -> depth.window_px" in out and "root_placement -> placement.mode" in out, out
    assert "Traceback" not in out, out
