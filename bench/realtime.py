"""Real time on this machine: the whole graph on the bundled clips at their real 30 fps, against perception alone.

Three runs of the demo (scalehp_ros.bringup.demo, real DDS on loopback, each node its own process, summaries
only), one after the other in this one invocation so they share the machine's state:

1. `perception`: the camera (video_source) and hand_pose_node alone: what perception sustains here;
2. `one_hand`: the full graph with the simulated robot (sim_node), one hand (data/human_hand_video.mp4);
3. `two_hands`: the two-hand clip driving both sides of the bimanual robot.

For each: frames processed by hand_pose_node / frames the camera sent (`frames_processed_ratio`), MediaPipe's
own time per frame in that run (`mediapipe_ms_p50/p95`, hand_pose_node's diagnostics), perception latency
(image stamp -> hand joints received) and image -> arm command latency (`command_latency_p50/p95_ms`,
retarget_node's diagnostics), and each process's share of one core while the clip played (`cpu_share`).
The results are ratios within the run: one_hand's frames processed against perception alone's, and its
command latency p95 minus MediaPipe's p95; absolute times carry the machine (`machine` in the JSON).

Targets (issue 23): one hand >= 95 % of what perception alone sustains, command p95 <= MediaPipe p95 + 25 ms;
two hands >= 85 % of frames processed and both hands in >= 90 % of processed frames.

    tools/run_isolated.sh .venv/bin/python bench/realtime.py [--out out/realtime] [--max-frames N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUNS = {
    "perception": ["--nodes", "perception"],
    "one_hand": [],
    "two_hands": ["--hands", "two"],
}
KEYS = (
    "frames",
    "frames_processed",
    "frames_processed_ratio",
    "frames_with_hand",
    "mediapipe_ms_p50",
    "mediapipe_ms_p95",
    "latency_p50_ms",
    "latency_p95_ms",
    "command_latency_p50_ms",
    "command_latency_p95_ms",
    "both_hands_rate",
    "cpu_share",
)


def _commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True)
        return out.stdout.decode().strip() or "unknown"
    except OSError:
        return "unknown"


def run_demo(name: str, extra: list[str], out: Path, max_frames: int) -> dict:
    """One demo run (summary only); its summary's real-time keys."""
    cmd = [sys.executable, "-m", "scalehp_ros.bringup.demo", "--out", str(out / name), "--no-video", *extra]
    if max_frames:
        cmd += ["--max-frames", str(max_frames)]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"realtime: the {name} run failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    summary = json.loads((out / name / "summary.json").read_text())
    return {k: summary.get(k) for k in KEYS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="keep each run's summary and logs here")
    parser.add_argument("--max-frames", type=int, default=0, help="only the first N frames of each clip (0 = all)")
    parser.add_argument("--runs", default=",".join(RUNS), help=f"comma-separated subset of {', '.join(RUNS)}")
    args = parser.parse_args(argv)
    if os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") != "LOCALHOST":
        print("realtime: run it under tools/run_isolated.sh (DDS on loopback only)", file=sys.stderr)
        return 2
    out = args.out or Path(tempfile.mkdtemp(prefix="realtime_"))
    result: dict = {
        "commit": _commit(),
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}",
        "load_average_before": os.getloadavg()[0],
    }
    for name in args.runs.split(","):
        result[name] = run_demo(name, RUNS[name], out, args.max_frames)
        print(f"{name:10s} {json.dumps(result[name])}", file=sys.stderr)
    perception, one, two = result.get("perception"), result.get("one_hand"), result.get("two_hands")
    if perception and one:
        result["one_hand_vs_perception_alone"] = round(
            one["frames_processed_ratio"] / max(perception["frames_processed_ratio"], 1e-9), 3
        )
    if one and one["command_latency_p95_ms"] is not None and one["mediapipe_ms_p95"] is not None:
        result["one_hand_command_p95_over_mediapipe_p95_ms"] = round(
            one["command_latency_p95_ms"] - one["mediapipe_ms_p95"], 1
        )
    if two and two["frames_processed"]:
        result["two_hands_both_in_processed"] = round(
            two["both_hands_rate"] * two["frames"] / two["frames_processed"], 3
        )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
