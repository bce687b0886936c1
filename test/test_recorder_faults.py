"""recorder_node faults in the running graph over real DDS: unwritable folder, full disk, SIGTERM mid-episode.

A looping video_source and hand_pose_node keep running while recorder_node processes fail around them; each
fault must be reported (service answer, diagnostics), leave a readable bag of what was written, and leave
the graph running. A full disk is a 4 MiB tmpfs where mounting is allowed (root), a size cap otherwise.
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest
from ros_harness import NodeProcess, spin_until
from test_recorder_node import Counter, _call, _specs, _start

from scalehp_ros.recording.bag import BagReader

pytestmark = [pytest.mark.ros, pytest.mark.slow]


@pytest.fixture(scope="module")
def looping_graph(tmp_path_factory):
    """video_source (looping the clip) + hand_pose_node, running while recorders fail around them."""
    import rclpy
    from rclpy.node import Node

    specs = _specs(tmp_path_factory.mktemp("unused"))
    specs["video_source"].parameters.update({"loop": True, "max_width": 640})
    rclpy.init()
    node = Node("fault_test")
    counter = Counter(node)
    procs = [_start(specs["hand_pose_node"]), _start(specs["video_source"])]
    try:
        assert spin_until(node, lambda: counter.counts.get("/hand_pose_node/right/joints", 0) > 5, timeout=60), [
            p.output()[-2000:] for p in procs
        ]
        yield node, counter, procs
    finally:
        for p in procs:
            p.stop()
        node.destroy_node()
        rclpy.try_shutdown()


def _graph_still_runs(node, counter, procs) -> None:
    before = counter.counts.get("/hand_pose_node/right/joints", 0)
    assert spin_until(node, lambda: counter.counts.get("/hand_pose_node/right/joints", 0) > before + 10, timeout=10)
    assert all(p.alive() for p in procs)


def _recorder(out: Path, name: str, **params) -> NodeProcess:
    spec = _specs(out, **params)["recorder_node"]
    spec.name = name
    return _start(spec)


def _wait_diag(node, counter, name, predicate, timeout=20.0) -> dict:
    assert spin_until(node, lambda: predicate(counter.recorder(name)), timeout=timeout), counter.recorder(name)
    return counter.recorder(name)


def _mount(path: Path, options: str) -> bool:
    return (
        os.geteuid() == 0
        and subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True).returncode
        == 0
    )


def test_unwritable_folder_is_reported_and_the_graph_keeps_running(looping_graph, tmp_path):
    from std_srvs.srv import Trigger

    node, counter, procs = looping_graph
    locked = tmp_path / f"ro_{uuid.uuid4().hex[:6]}"
    locked.mkdir()
    mounted = _mount(locked, "size=1m,ro")
    if not mounted:
        locked.chmod(0o500)
        if os.access(locked, os.W_OK):
            pytest.skip("cannot make a folder unwritable here (root without mount)")
    try:
        with _recorder(locked / "episodes", "rec_ro") as rec:
            response = _call(node, node.create_client(Trigger, "/rec_ro/start_episode"))
            assert not response.success and "cannot start" in response.message
            diag = _wait_diag(node, counter, "rec_ro", lambda d: d.get("level") == 2)
            assert "cannot start" in diag["message"] and diag["recording"] == "false"
            _graph_still_runs(node, counter, procs)
            assert rec.alive()
    finally:
        if mounted:
            subprocess.run(["umount", str(locked)], check=False)


def test_full_disk_closes_a_readable_bag_and_the_graph_keeps_running(looping_graph, tmp_path):
    from std_srvs.srv import Trigger

    node, counter, procs = looping_graph
    mnt = tmp_path / f"tiny_{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    mounted = _mount(mnt, "size=4m")
    # raw 640x480 frames fill 4 MiB in a few frames; without mount rights a size cap stands in for the disk
    params = {"image_format": "raw"} if mounted else {"image_format": "raw", "max_bytes": 4 << 20}
    try:
        with _recorder(mnt, "rec_full", **params) as rec:
            response = _call(node, node.create_client(Trigger, "/rec_full/start_episode"))
            assert response.success, response.message
            diag = _wait_diag(
                node, counter, "rec_full", lambda d: d.get("recording") == "false" and d.get("level", 0) > 0
            )
            expected = "No space left" if mounted else "max_bytes"
            assert expected in diag["message"], diag
            assert diag["level"] == (2 if mounted else 1)
            _graph_still_runs(node, counter, procs)
            assert rec.alive()
            with BagReader(response.message) as bag:
                written = bag.topics["/camera/image_raw"][1]
                assert written > 0 and written == len(list(bag.messages({"/camera/image_raw"})))
                assert bag.custom_data["success"] == "false"
                assert bag.custom_data["stop_reason"].startswith("error" if mounted else "limit")
            assert int(diag["written /camera/image_raw"]) >= written
    finally:
        if mounted:
            subprocess.run(["umount", str(mnt)], check=False)


def test_sigterm_mid_episode_closes_the_bag(looping_graph, tmp_path):
    node, counter, procs = looping_graph
    rec = _recorder(tmp_path, "rec_term", start_on_launch=True)
    try:
        # mid-episode: the hand joints are in the bag too (their publisher may match after the camera's)
        diag = _wait_diag(
            node,
            counter,
            "rec_term",
            lambda d: (
                int(d.get("messages_written", 0)) > 60 and int(d.get("written /hand_pose_node/right/joints", 0)) > 0
            ),
        )
        rec.proc.send_signal(signal.SIGTERM)
        assert rec.proc.wait(15) == 0, rec.output()[-3000:]
        _graph_still_runs(node, counter, procs)
    finally:
        rec.stop()
    bag_path = Path(diag["episode"])
    assert "episode closed" in rec.output()
    with BagReader(bag_path) as bag:
        topics = bag.topics
        assert topics["/camera/image_raw/compressed"][1] >= int(diag["written /camera/image_raw/compressed"])
        assert topics["/hand_pose_node/right/joints"][1] > 0
        assert bag.custom_data["stop_reason"] == "node shut down" and bag.custom_data["success"] == "false"
        n = sum(c for _, c in topics.values())
        assert n == len(list(bag.messages()))
