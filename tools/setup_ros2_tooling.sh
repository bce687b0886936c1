#!/usr/bin/env bash
# Test tooling only: the real ROS 2 launch system, `ros2` CLI and colcon, for the tests that run
# `colcon build`, `ros2 launch scalehp_ros teleop.launch.py` and `ros2 topic/node/param/lifecycle`.
#
# launch, launch_ros, ros2cli & co. have no registry wheel: their upstream sources are in
# ../shared/vendor/ros2 (Apache-2.0, see its README). They are installed from there into
# build/ros2_tooling (a pip --prefix), never into the project's venv and never copied into the repo;
# composition_interfaces (imported by launch_ros) is built there from its .srv files. Tests put that
# prefix on PYTHONPATH/PATH for the processes they start (test/ros_tooling.py). Where ../shared is absent
# (a user's clone) this does nothing and those tests skip with the reason.
# Usage: tools/setup_ros2_tooling.sh [VENV]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$(cd "${1:-.venv}" && pwd)
VENDOR=${SCALEHP_ROS2_VENDOR:-../shared/vendor/ros2}
PREFIX=build/ros2_tooling   # registry/ (pip --target), vendor/ (pip --target), interfaces/ (cmake prefix)
if [ ! -d "$VENDOR" ]; then
  echo "ros2 tooling: $VENDOR is absent; the colcon / ros2 launch / ros2 CLI tests will skip"
  exit 0
fi
VENDOR=$(cd "$VENDOR" && pwd)
rm -rf "$PREFIX" && mkdir -p "$PREFIX"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --no-input -q)
export PIP_PROGRESS_BAR=off
# --target, never --prefix: a --prefix install may uninstall the venv's own copy of a package it upgrades.
"${PIP[@]}" install --target "$PREFIX/registry" -c constraints.txt -r requirements-ros2-tooling.txt
"${PIP[@]}" install --target "$PREFIX/vendor" --no-deps --no-build-isolation \
  "$VENDOR"/launch_repo/launch "$VENDOR"/launch_repo/launch_xml "$VENDOR"/launch_repo/launch_yaml \
  "$VENDOR"/launch_ros_repo/launch_ros "$VENDOR"/launch_ros_repo/ros2launch \
  "$VENDOR"/ros2cli_repo/ros2cli "$VENDOR"/ros2cli_repo/ros2pkg "$VENDOR"/ros2cli_repo/ros2run \
  "$VENDOR"/ros2cli_repo/ros2topic "$VENDOR"/ros2cli_repo/ros2node "$VENDOR"/ros2cli_repo/ros2param \
  "$VENDOR"/ros2cli_repo/ros2service "$VENDOR"/ros2cli_repo/ros2lifecycle
bash tools/build_interfaces.sh composition_interfaces "$VENDOR"/rcl_interfaces_repo/composition_interfaces \
  "$VENV" "$PREFIX/interfaces"
touch "$PREFIX/.ready"
echo "ros2 tooling: ready in $PREFIX"
