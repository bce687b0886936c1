#!/usr/bin/env bash
# Run a command with DDS kept on loopback (the project's DDS isolation rule):
#  - ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST (Kilted has no ROS_LOCALHOST_ONLY), and
#  - Fast DDS transports from config/fastdds_profile.xml (shared memory + UDP on 127.0.0.1 only), and
#  - inside a private network namespace with only `lo` up, where the machine allows it (unshare -n),
#    so even a misconfigured participant cannot reach another interface.
set -euo pipefail
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
unset ROS_STATIC_PEERS
# Camera-sized best-effort messages need Fast DDS's shared memory with a large segment (see the file);
# its UDP transport is restricted to 127.0.0.1.
export FASTDDS_DEFAULT_PROFILES_FILE="${FASTDDS_DEFAULT_PROFILES_FILE:-$(cd "$(dirname "$0")/.." && pwd)/config/fastdds_profile.xml}"
if [ "${SCALEHP_NO_NETNS:-0}" != 1 ] && command -v unshare >/dev/null \
   && unshare -n sh -c 'ip link set lo up' 2>/dev/null; then
  export SCALEHP_NETNS=1
  exec unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"
fi
echo "run_isolated: no private network namespace here (unshare -n not permitted); relying on" \
     "ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST alone" >&2
exec "$@"
