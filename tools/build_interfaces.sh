#!/usr/bin/env bash
# Build a ROS 2 interface package from its .msg/.srv files with the rosidl/ament_cmake registry wheels.
# Usage: tools/build_interfaces.sh NAME SOURCE_DIR VENV [INSTALL_PREFIX]
#   The generators and the dependencies (geometry_msgs, rcl_interfaces, ...) come from VENV; the package is
#   installed into INSTALL_PREFIX (default: VENV). Skipped when NAME already imports with that prefix.
# Used for tf2_msgs (no Kilted wheel; run time, into the venv) and composition_interfaces (test tooling only,
# into build/ros2_tooling, see tools/setup_ros2_tooling.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=$1
SRC=$(cd "$2" && pwd)
VENV=$(cd "$3" && pwd)
PREFIX=${4:-$VENV}
mkdir -p "$PREFIX" && PREFIX=$(cd "$PREFIX" && pwd)
PY="$VENV/bin/python"
# importable with working type support: its msg/srv modules load and one type instantiates
CHECK="import importlib, importlib.util as u
mods = [importlib.import_module(f'$NAME.{k}') for k in ('msg', 'srv') if u.find_spec(f'$NAME.{k}')]
assert mods, 'no msg or srv module'
t = next(getattr(m, n) for m in mods for n in dir(m) if n[0].isupper())
(t.Request if hasattr(t, 'Request') else t)()"
PYVER=$("$PY" -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}")')

if PYTHONPATH="$PREFIX/lib/$PYVER/site-packages${PYTHONPATH:+:$PYTHONPATH}" LD_LIBRARY_PATH="$PREFIX/lib" \
   "$PY" -c "$CHECK" 2>/dev/null; then
  echo "$NAME: already importable, not rebuilt"
  exit 0
fi

# The wheels' CMake exports hard-code the Python and numpy include directories of the machine that
# built them (/opt/python/cp311-cp311/...). Point them at this venv's interpreter and numpy.
PYINC=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
NPINC=$("$PY" -c 'import numpy; print(numpy.get_include())')
grep -rlE '/opt/python/cp3[0-9]+-cp3[0-9]+' "$VENV"/share/*/cmake/ 2>/dev/null | while read -r f; do
  sed -i -E -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/lib/python3\.[0-9]+/site-packages/numpy/_core/include#${NPINC}#g" \
            -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/include/python3\.[0-9]+#${PYINC}#g" "$f"
done || true  # nothing left to rewrite (an earlier build did it) is fine

export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV" PATH="$VENV/bin:$PATH"
BUILD=build/$NAME
rm -rf "$BUILD" && mkdir -p "$(dirname "$BUILD")"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_INSTALL_PREFIX="$PREFIX" -DPython3_EXECUTABLE="$PY" \
  -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release > "$BUILD.log" 2>&1 || { cat "$BUILD.log"; exit 1; }
cmake --build "$BUILD" -j "$(nproc)" >> "$BUILD.log" 2>&1 || { tail -50 "$BUILD.log"; exit 1; }
cmake --install "$BUILD" >> "$BUILD.log" 2>&1 || { tail -50 "$BUILD.log"; exit 1; }
PYTHONPATH="$PREFIX/lib/$PYVER/site-packages${PYTHONPATH:+:$PYTHONPATH}" LD_LIBRARY_PATH="$PREFIX/lib" "$PY" -c "$CHECK"
echo "$NAME: built into $PREFIX"
