"""Test fixture process: what a robot program does with the real tf2_ros (test tooling, see test/ros_tooling.py).

--static PARENT CHILD X Y Z QX QY QZ QW (repeatable): publish these with tf2_ros.StaticTransformBroadcaster.
--lookup TOPIC: for each PoseArray on TOPIC (hand joints, reliable, deep queue), look up every --pair
TARGET:SOURCE through tf2_ros.Buffer + TransformListener at the PoseArray's stamp (the image stamp), once the
transforms had LOOKUP_DELAY_S to arrive; print one JSON line per stamp: the stamp, the PoseArray's positions
and, per pair, the looked-up translation and rotation (x, y, z, w) or the error. Ends after --count lines
with every lookup answered, or --timeout seconds. Without --lookup it only publishes (until SIGINT).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time

import rclpy
import tf2_ros
from geometry_msgs.msg import PoseArray, TransformStamped
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.time import Time

LOOKUP_DELAY_S = 0.3


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--static", nargs=9, action="append", default=[], metavar="V")
    parser.add_argument("--lookup", default="")
    parser.add_argument("--pair", action="append", default=[], help="TARGET:SOURCE frames")
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()

    rclpy.init()
    signal.signal(signal.SIGTERM, lambda *_: rclpy.try_shutdown())
    node = Node("tf2_probe")
    statics = []
    for parent, child, *values in args.static:
        t = TransformStamped(child_frame_id=child)
        t.header.frame_id, t.header.stamp = parent, node.get_clock().now().to_msg()
        tr, q = t.transform.translation, t.transform.rotation
        tr.x, tr.y, tr.z, q.x, q.y, q.z, q.w = map(float, values)
        statics.append(t)
    if statics:
        broadcaster = tf2_ros.StaticTransformBroadcaster(node)
        broadcaster.sendTransform(statics)
        print(json.dumps({"static": [[t.header.frame_id, t.child_frame_id] for t in statics]}), flush=True)

    pending: list[tuple[float, PoseArray]] = []
    answered = 0
    if args.lookup:
        buffer = tf2_ros.Buffer()
        tf2_ros.TransformListener(buffer, node)
        node.create_subscription(PoseArray, args.lookup, lambda m: pending.append((time.monotonic(), m)), 500)
        pairs = [p.split(":") for p in args.pair]

        def lookups() -> None:
            nonlocal answered
            while pending and time.monotonic() - pending[0][0] >= LOOKUP_DELAY_S:
                _, msg = pending.pop(0)
                out = {
                    "stamp": [msg.header.stamp.sec, msg.header.stamp.nanosec],
                    "frame_id": msg.header.frame_id,
                    "positions": [[p.position.x, p.position.y, p.position.z] for p in msg.poses],
                    "lookups": {},
                }
                ok = True
                for target, source in pairs:
                    try:
                        tf = buffer.lookup_transform(target, source, Time.from_msg(msg.header.stamp)).transform
                    except tf2_ros.TransformException as exc:
                        out["lookups"][f"{target}:{source}"] = {"error": f"{type(exc).__name__}: {exc}"}
                        ok = False
                        continue
                    out["lookups"][f"{target}:{source}"] = {
                        "translation": [tf.translation.x, tf.translation.y, tf.translation.z],
                        "rotation": [tf.rotation.x, tf.rotation.y, tf.rotation.z, tf.rotation.w],
                    }
                answered += ok
                print(json.dumps(out), flush=True)

        node.create_timer(0.05, lookups)
    deadline = time.monotonic() + args.timeout
    try:
        while rclpy.ok() and (not args.lookup or (answered < args.count and time.monotonic() < deadline)):
            rclpy.spin_once(node, timeout_sec=0.05)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0 if not args.lookup or answered >= args.count else 1


if __name__ == "__main__":
    sys.exit(main())
