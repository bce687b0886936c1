#!/usr/bin/env bash
# Create or refresh the pip-only environment in .venv (no ROS install needed). Idempotent.
# Order matters: torch first (exactly 2.13.0 resolves to the local CPU wheel; anything that pulls torch
# before it would fetch several GB of CUDA), then everything else, then mediapipe without its
# dependencies (it asks for opencv-contrib-python, a second, GUI build of cv2 that would overwrite
# opencv-python-headless in the same cv2/ folder; its real runtime imports are in requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --no-input -q)
export PIP_PROGRESS_BAR=off

"${PIP[@]}" install -c constraints.txt torch
"${PIP[@]}" install -c constraints.txt -r requirements.txt
"${PIP[@]}" install -c constraints.txt --no-deps mediapipe
"${PIP[@]}" install --no-deps --no-build-isolation --config-settings editable_mode=compat -e .
bash tools/build_interfaces.sh tf2_msgs tools/tf2_msgs "$VENV"
"$VENV/bin/python" -m scalehp_ros.perception.model_bundle build
"$VENV/bin/python" -c "import rclpy, tf2_msgs.msg, visualization_msgs.msg, diagnostic_msgs.msg, pinocchio, mediapipe, torch, cv2, scipy"
echo "environment ready: $VENV"
