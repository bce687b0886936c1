"""scalehp-bringup: start the teleoperation graph where no ROS launch system is installed.

Reads the same description as launch/teleop.launch.py (config/teleop_graph.yaml, via scalehp_ros.bringup.graph)
and starts each node as a `python -m <module> --ros-args ...` process. Nodes that need a ROS installation
(robot_state_publisher, RViz, usb_cam) are skipped with a message. Arguments use launch syntax:

    scalehp-bringup video_file:=/path/clip.mp4 scale_mode:=fixed hand_length_m:=0.185

DDS: this command does not restrict discovery by itself (a real robot may sit on another host); the
project's demo and tests run it under tools/run_isolated.sh, which keeps DDS on loopback.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from scalehp_ros.bringup.graph import NodeSpec, arguments, resolve


class GraphProcesses:
    """The graph's runnable nodes as child processes, with their output in `log_dir/<key>.log` (the node name,
    prefixed by its namespace: `left_retarget_node.log`)."""

    def __init__(self, specs: list[NodeSpec], log_dir: Path | None = None, env: dict[str, str] | None = None):
        self.specs = [s for s in specs if not s.ros_only and s.module]
        self.skipped = [s for s in specs if s.ros_only or not s.module]
        self.log_dir = log_dir
        self.env = env or dict(os.environ)
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, names: set[str] | None = None) -> None:
        """Start the runnable nodes (only those in `names` when given) that are not running yet."""
        for spec in self.specs:
            if (names is not None and spec.key not in names) or spec.key in self.procs:
                continue
            cmd = [sys.executable, "-m", spec.module, *spec.ros_args()]
            out = None
            if self.log_dir is not None:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                out = open(self.log_dir / f"{spec.key}.log", "w")
            self.procs[spec.key] = subprocess.Popen(cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def exited(self) -> dict[str, int]:
        """{name: return code} of the processes that have ended."""
        return {name: p.returncode for name, p in self.procs.items() if p.poll() is not None}

    def cpu_seconds(self) -> dict[str, float]:
        """{name: user + system CPU seconds so far} of the running processes (Linux /proc; {} elsewhere)."""
        tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        out = {}
        for name, p in self.procs.items():
            try:
                # fields after the command name (which may hold spaces), from /proc/<pid>/stat: utime, stime
                fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
                out[name] = (int(fields[11]) + int(fields[12])) / tick
            except (OSError, IndexError, ValueError):
                continue
        return out

    def stop(self, timeout: float = 10.0) -> dict[str, int]:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        deadline = time.monotonic() + timeout
        for p in self.procs.values():
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return {name: p.returncode for name, p in self.procs.items()}


def parse_launch_args(items: list[str]) -> dict[str, str]:
    values = {}
    for item in items:
        if ":=" not in item:
            raise SystemExit(f"arguments are name:=value, got {item!r}")
        key, value = item.split(":=", 1)
        values[key] = value
    return values


def main(argv: list[str] | None = None) -> int:
    declared = "\n".join(f"  {a.name}:={a.default!r:<14} {a.description}" for a in arguments())
    parser = argparse.ArgumentParser(
        description=__doc__ + "\nlaunch arguments:\n" + declared, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("args", nargs="*", help="launch arguments, name:=value")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0 = run on)")
    parser.add_argument("--log-dir", type=Path, default=None, help="write each node's output to DIR/<name>.log")
    opts = parser.parse_args(argv)
    try:
        specs = resolve(parse_launch_args(opts.args))
    except ValueError as exc:
        print(f"scalehp-bringup: {exc}", file=sys.stderr)
        return 2
    graph = GraphProcesses(specs, opts.log_dir)
    for spec in graph.skipped:
        print(
            f"scalehp-bringup: skipping {spec.name} ({spec.package}/{spec.executable}): it needs a ROS 2 "
            "installation; use `ros2 launch scalehp_ros teleop.launch.py` there"
        )
    graph.start()
    print("scalehp-bringup: started " + ", ".join(f"{s.name} (pid {graph.procs[s.name].pid})" for s in graph.specs))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    start = time.monotonic()
    try:
        while not graph.exited() and not (opts.duration and time.monotonic() - start > opts.duration):
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    ended = graph.exited()
    for name, code in ended.items():
        print(f"scalehp-bringup: {name} exited with code {code}; stopping the graph")
    codes = graph.stop()
    return 1 if any(code not in (0, -signal.SIGINT) for name, code in ended.items()) or not codes else 0


if __name__ == "__main__":
    sys.exit(main())
