#!/usr/bin/env bash
# Test tooling only: the real ROS 2 launch system, `ros2` CLI, colcon and tf2_ros, for the tests that run
# `colcon build`, `ros2 launch scalehp_ros teleop.launch.py`, `ros2 topic/node/param/lifecycle` and look
# transforms up through tf2_ros.Buffer.
#
# launch, launch_ros, ros2cli, rosidl_runtime_py and geometry2 (tf2, tf2_py, tf2_ros_py, tf2_msgs) have no
# registry wheel: their upstream sources are in ../shared/vendor/ros2 (Apache-2.0 / BSD-3-Clause, see its
# README). They are installed from there into build/ros2_tooling, never into the project's venv and never
# copied into the repo:
#   registry/    pip --target: the registry packages they import (requirements-ros2-tooling.txt)
#   vendor/      pip --target: the pure-Python ones (launch*, ros2cli verbs, rosidl_runtime_py, tf2_ros)
#   interfaces/  a cmake install prefix: composition_interfaces (imported by launch_ros) and the whole
#                tf2_msgs (msg, srv FrameGraph, action LookupTransform; tf2_ros needs them all, the venv has
#                only TFMessage), built with the rosidl wheels; tf2 (C++) and tf2_py (its CPython extension)
#                built with cmake against the Kilted wheels.
# Tests put that prefix on PYTHONPATH/PATH/LD_LIBRARY_PATH for the processes they start (test/ros_tooling.py).
# Where ../shared is absent (a user's clone) this does nothing and those tests skip with the reason.
# Usage: tools/setup_ros2_tooling.sh [VENV]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$(cd "${1:-.venv}" && pwd)
VENDOR=${SCALEHP_ROS2_VENDOR:-../shared/vendor/ros2}
PREFIX=build/ros2_tooling   # registry/ (pip --target), vendor/ (pip --target), interfaces/ (cmake prefix)
if [ ! -d "$VENDOR" ]; then
  echo "ros2 tooling: $VENDOR is absent; the colcon / ros2 launch / ros2 CLI / tf2_ros tests will skip"
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
  "$VENDOR"/ros2cli_repo/ros2service "$VENDOR"/ros2cli_repo/ros2lifecycle \
  "$VENDOR"/rosidl_runtime_py_repo "$VENDOR"/geometry2_repo/tf2_ros_py
bash tools/build_interfaces.sh composition_interfaces "$VENDOR"/rcl_interfaces_repo/composition_interfaces \
  "$VENV" "$PREFIX/interfaces"

# geometry2: tf2_msgs (all of it), tf2, tf2_py, each configured, built and installed into interfaces/ against
# the venv's wheels and what interfaces/ already holds.
INTERFACES=$(cd "$PREFIX/interfaces" && pwd)
CMAKE_DIR=build/ros2_tooling.cmake   # build trees and logs, kept apart from the installed prefix
rm -rf "$CMAKE_DIR" && mkdir -p "$CMAKE_DIR"
cmake_install() {  # NAME SOURCE_DIR
  local dir="$CMAKE_DIR/$1"
  echo "ros2 tooling: building $1"
  if ! { AMENT_PREFIX_PATH="$INTERFACES:$VENV" CMAKE_PREFIX_PATH="$INTERFACES:$VENV" PATH="$VENV/bin:$PATH" \
         cmake -S "$2" -B "$dir" -DCMAKE_INSTALL_PREFIX="$INTERFACES" -DPython3_EXECUTABLE="$VENV/bin/python" \
           -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release \
         && cmake --build "$dir" -j "$(nproc)" && cmake --install "$dir"; } > "$dir.log" 2>&1; then
    tail -40 "$dir.log"
    echo "ros2 tooling: $1 failed (log: $dir.log)" >&2
    exit 1
  fi
}
cmake_install tf2_msgs "$VENDOR"/geometry2_repo/tf2_msgs
# The Kilted wheels split ament_cmake_ros: tf2 needs only its core (the one adjustment, made on a copy).
cp -r "$VENDOR"/geometry2_repo/tf2 "$CMAKE_DIR/tf2-src"
sed -i 's/find_package(ament_cmake_ros REQUIRED)/find_package(ament_cmake_ros_core REQUIRED)/' \
  "$CMAKE_DIR/tf2-src/CMakeLists.txt"
cmake_install tf2 "$CMAKE_DIR/tf2-src"
cmake_install tf2_py "$VENDOR"/geometry2_repo/tf2_py

# The result works: tf2_ros over the tooling's tf2_msgs and tf2_py, a transform stored and looked up.
PYVER=$("$VENV/bin/python" -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}")')
PYTHONPATH="$PREFIX/vendor:$INTERFACES/lib/$PYVER/site-packages" LD_LIBRARY_PATH="$INTERFACES/lib" \
  "$VENV/bin/python" -c "
import rosidl_runtime_py, tf2_msgs.action, tf2_msgs.srv, tf2_ros
from geometry_msgs.msg import TransformStamped
from rclpy.time import Time
t = TransformStamped(child_frame_id='b')
t.header.frame_id, t.transform.translation.x, t.transform.rotation.w = 'a', 1.5, 1.0
buf = tf2_ros.Buffer()
buf.set_transform_static(t, 'setup_ros2_tooling')
assert buf.lookup_transform('a', 'b', Time()).transform.translation.x == 1.5
"
touch "$PREFIX/.ready"
echo "ros2 tooling: ready in $PREFIX"
