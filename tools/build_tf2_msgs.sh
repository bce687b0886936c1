#!/usr/bin/env bash
# Build tf2_msgs (TFMessage only) into the venv from tools/tf2_msgs, with the rosidl/ament_cmake wheels.
# The ROS 2 Kilted registry wheels ship no tf2_msgs. Skipped when tf2_msgs already imports
# (a real ROS install, or an earlier build). Usage: tools/build_tf2_msgs.sh [VENV]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$(cd "${1:-.venv}" && pwd)
PY="$VENV/bin/python"

if "$PY" -c 'import tf2_msgs.msg' 2>/dev/null; then
  echo "tf2_msgs: already importable, not rebuilt"
  exit 0
fi

# The wheels' CMake exports hard-code the Python and numpy include directories of the machine that
# built them (/opt/python/cp311-cp311/...). Point them at this venv's interpreter and numpy.
PYINC=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
NPINC=$("$PY" -c 'import numpy; print(numpy.get_include())')
grep -rlE '/opt/python/cp3[0-9]+-cp3[0-9]+' "$VENV"/share/*/cmake/ 2>/dev/null | while read -r f; do
  sed -i -E -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/lib/python3\.[0-9]+/site-packages/numpy/_core/include#${NPINC}#g" \
            -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/include/python3\.[0-9]+#${PYINC}#g" "$f"
done

export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV" PATH="$VENV/bin:$PATH"
BUILD=build/tf2_msgs
rm -rf "$BUILD" && mkdir -p "$(dirname "$BUILD")"
cmake -S tools/tf2_msgs -B "$BUILD" -DCMAKE_INSTALL_PREFIX="$VENV" -DPython3_EXECUTABLE="$PY" \
  -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release > "$BUILD.log" 2>&1 || { cat "$BUILD.log"; exit 1; }
cmake --build "$BUILD" -j "$(nproc)" >> "$BUILD.log" 2>&1 || { tail -50 "$BUILD.log"; exit 1; }
cmake --install "$BUILD" >> "$BUILD.log" 2>&1 || { tail -50 "$BUILD.log"; exit 1; }
"$PY" -c 'import tf2_msgs.msg; tf2_msgs.msg.TFMessage()'
echo "tf2_msgs: built into $VENV"
