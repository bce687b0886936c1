"""Helpers for tests that use real DDS: isolated environment, distinct domain ids, node processes.

Every process that initialises rclpy under the test suite gets ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
(the project's DDS isolation rule); `make test` additionally runs the suite in a private network namespace.

A test that counts or checks what a node sent reads it with `subscribe()`: reliable, keep-last READER_DEPTH
(1000), so a loaded machine that spins the test's executor late cannot drop what the test counts. Best-effort
or shallow readers are for tests *about* that QoS only, and say so.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DISCOVERY_VAR = "ROS_AUTOMATIC_DISCOVERY_RANGE"
_domain_lock = None  # held for the life of the test process


def allocate_domain_id() -> int:
    """Reserve a ROS_DOMAIN_ID (1..100) not used by another concurrent test process on this machine."""
    global _domain_lock
    start = os.getpid() % 100
    for k in range(100):
        domain = 1 + (start + k) % 100
        handle = open(Path(tempfile.gettempdir()) / f"scalehp_ros_domain_{domain}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        _domain_lock = handle
        return domain
    raise RuntimeError("no free ROS_DOMAIN_ID in 1..100 for this test process")


LANE_VAR = "SCALEHP_TEST_LANE"  # "fast": `make test-fast`, the ROS-free lane


def require_localhost_discovery() -> None:
    """Raise unless DDS discovery is restricted to localhost in this process (and never in the fast lane)."""
    if os.environ.get(LANE_VAR) == "fast":
        raise RuntimeError(
            "this test starts ROS (rclpy or a node process) but ran in `make test-fast`, the ROS-free lane: "
            "mark it with @pytest.mark.ros (or pytestmark = pytest.mark.ros)"
        )
    if os.environ.get(DISCOVERY_VAR) != "LOCALHOST":
        raise RuntimeError(
            f"DDS isolation rule: rclpy initialised with {DISCOVERY_VAR}={os.environ.get(DISCOVERY_VAR)!r}. "
            "Run the tests with `make test` (or tools/run_isolated.sh), which sets it to LOCALHOST."
        )


def ros_env(**extra: str) -> dict[str, str]:
    """Environment for a child ROS process: localhost discovery, this test's domain id, repo on sys.path."""
    require_localhost_discovery()
    env = dict(os.environ)
    env.update(
        {
            DISCOVERY_VAR: "LOCALHOST",
            "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p),
            "PYTHONUNBUFFERED": "1",
            "RCUTILS_COLORIZED_OUTPUT": "0",
        }
    )
    env.update(extra)
    return env


class NodeProcess:
    """A ROS node running as a separate process (python -m MODULE or a script), stopped with SIGINT.

    Output goes to a temporary log file, readable through `.output()` for assertions and failure messages.
    """

    def __init__(self, target: str, *args: str, env: dict[str, str] | None = None):
        self._final_output: str | None = None
        self._log = tempfile.NamedTemporaryFile("w+", prefix="node_", suffix=".log", delete=False)
        cmd = [sys.executable, *([target] if target.endswith(".py") else ["-m", target]), *args]
        self.cmd = cmd
        self.proc = subprocess.Popen(
            cmd, env=env or ros_env(), stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True
        )

    def output(self) -> str:
        if self._final_output is not None:
            return self._final_output
        return Path(self._log.name).read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 5.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()
        self._final_output = Path(self._log.name).read_text(errors="replace")
        return self.proc.returncode

    def __enter__(self) -> NodeProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        Path(self._log.name).unlink(missing_ok=True)


READER_DEPTH = 1000  # messages a test reader keeps before the oldest is overwritten


def reader_qos(depth: int = READER_DEPTH, latched: bool = False):
    """QoS of a test reader: reliable, keep-last `depth`; `latched` adds transient-local (e.g. /tf_static)."""
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(
        depth=depth,
        history=HistoryPolicy.KEEP_LAST,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )


def subscribe(node, msg_type, topic: str, callback: Callable, depth: int = READER_DEPTH, latched: bool = False):
    """A subscription with the test reader QoS (reader_qos); returns it."""
    return node.create_subscription(msg_type, topic, callback, reader_qos(depth, latched))


def spin_until(node, predicate: Callable[[], bool], timeout: float, executor=None) -> bool:
    """Spin `node` with a single-threaded executor until `predicate()` holds or `timeout` seconds pass."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    own = executor is None
    if own:
        executor = SingleThreadedExecutor()
        executor.add_node(node)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and rclpy.ok():
            if predicate():
                return True
            executor.spin_once(timeout_sec=0.05)
        return predicate()
    finally:
        if own:
            executor.remove_node(node)
            executor.shutdown()


def engage_when_ready(node, service: str, timeout: float = 30.0):
    """Call a retarget_node's `service` (~/engage, std_srvs/SetBool true) until it accepts or `timeout` seconds
    pass; returns the last response. The clutch refuses until the node itself holds a fresh measured joint
    state, which on a loaded machine comes later than the test's own reader sees the robot: each subscription
    discovers the publisher on its own."""
    from std_srvs.srv import SetBool

    client = node.create_client(SetBool, service)
    try:
        assert client.wait_for_service(timeout_sec=timeout), f"{service} not offered within {timeout} s"
        deadline = time.monotonic() + timeout
        while True:
            future = client.call_async(SetBool.Request(data=True))
            assert spin_until(node, future.done, timeout), f"{service}: no answer within {timeout} s"
            response = future.result()
            if response.success or time.monotonic() > deadline:
                return response
            spin_until(node, lambda: False, 0.3)
    finally:
        node.destroy_client(client)
