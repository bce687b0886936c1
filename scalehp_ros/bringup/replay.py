"""scalehp-replay BAG: publish a recorded episode's camera topics so the whole graph reruns on them.

The camera images and CameraInfo of the bag go out on the topics they were recorded from
(`/camera/image_raw`, `/camera/camera_info`), with their original header stamps and frame ids, so every
output of the graph carries the same stamps as in the live run and can be compared message by message.
A JPEG-recorded image (`/camera/image_raw/compressed`) is decoded and published as rgb8 Image; with
`--compressed` it goes out as the CompressedImage it is (for `hand_pose_node compressed:=true`).
CameraInfo goes out as the recorded bytes.

Pacing: `--rate 1` (default) keeps the recorded timing (log times), `--rate 2` twice as fast;
`--rate 0` is as fast as the graph keeps up: each frame is sent once hand_pose_node has answered the
previous one (its PoseArray with that stamp arrives) or after `--frame-timeout` seconds (a frame without a
hand has no answer).

    tools/run_isolated.sh scalehp-bringup camera:=usb &   # or any graph without a camera node
    tools/run_isolated.sh scalehp-replay episodes/episode_20250101_120000_000000000

Run it under tools/run_isolated.sh in the project (DDS on loopback), like the graph.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from scalehp_ros.recording.bag import BagReader

CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"


def camera_topics(bag: BagReader, image_topic: str) -> dict[str, str]:
    """{recorded topic: type} of the camera streams to replay (image raw or compressed, and CameraInfo)."""
    wanted = {image_topic, f"{image_topic}/compressed"}
    out = {}
    for topic, (msgtype, _) in bag.topics.items():
        if topic in wanted or msgtype == CAMERA_INFO:
            out[topic] = msgtype
    if not any(t in (IMAGE, COMPRESSED) for t in out.values()):
        raise ValueError(f"{bag.path}: no camera image topic ({image_topic} or {image_topic}/compressed) in the bag")
    return out


def jpeg_to_image_cdr(data: bytes) -> bytes:
    """CDR of a recorded JPEG CompressedImage -> CDR of an rgb8 sensor_msgs/Image with the same header."""
    import cv2

    from scalehp_ros.recording.bag import typestore

    store = typestore()
    msg = store.deserialize_cdr(data, COMPRESSED)
    bgr = cv2.imdecode(np.asarray(msg.data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("undecodable compressed image")
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    h, w = rgb.shape[:2]
    image = store.types[IMAGE](
        header=msg.header, height=h, width=w, encoding="rgb8", is_bigendian=0, step=w * 3, data=rgb.reshape(-1)
    )
    return bytes(store.serialize_cdr(image, IMAGE))


class Replayer:
    """A node that publishes the bag's camera messages (CDR bytes) with the chosen pacing."""

    def __init__(self, node, bag_path: Path, rate: float, compressed: bool, image_topic: str, frame_timeout: float):
        from geometry_msgs.msg import PoseArray
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, CompressedImage, Image

        self.node = node
        self.bag = BagReader(bag_path)
        self.rate = rate
        self.frame_timeout = frame_timeout
        self.compressed = compressed
        self.topics = camera_topics(self.bag, image_topic)
        self.pubs = {}
        for topic, msgtype in self.topics.items():
            if msgtype == CAMERA_INFO:
                self.pubs[topic] = node.create_publisher(CameraInfo, topic, qos_profile_sensor_data)
            elif msgtype == COMPRESSED and compressed:
                self.pubs[topic] = node.create_publisher(CompressedImage, topic, qos_profile_sensor_data)
            elif msgtype == COMPRESSED:
                self.pubs[topic] = node.create_publisher(
                    Image, topic.removesuffix("/compressed"), qos_profile_sensor_data
                )
            else:
                self.pubs[topic] = node.create_publisher(Image, topic, qos_profile_sensor_data)
        self.answered: set[int] = set()
        for side in ("left", "right"):
            node.create_subscription(PoseArray, f"/hand_pose_node/{side}/joints", self._on_hand, 10)
        self.frames = 0

    def _on_hand(self, msg) -> None:
        self.answered.add(msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec)

    def subscribers(self) -> int:
        return min(p.get_subscription_count() for p in self.pubs.values())

    def run(self, spin) -> int:
        """Publish every camera message; `spin(seconds)` services the node while waiting. Frames published."""
        from scalehp_ros.recording.bag import typestore

        store = typestore()
        start_wall = start_log = None
        last_stamp = None
        for m in self.bag.messages(set(self.topics)):
            is_image = m.msgtype in (IMAGE, COMPRESSED)
            if start_log is None:
                start_wall, start_log = time.monotonic(), m.log_time_ns
            if self.rate > 0:
                due = start_wall + (m.log_time_ns - start_log) * 1e-9 / self.rate
                while (wait := due - time.monotonic()) > 0:
                    spin(min(wait, 0.05))
            elif is_image and last_stamp is not None:
                deadline = time.monotonic() + self.frame_timeout
                while last_stamp not in self.answered and time.monotonic() < deadline:
                    spin(0.005)
            data = m.data
            if m.msgtype == COMPRESSED and not self.compressed:
                data = jpeg_to_image_cdr(data)
            self.pubs[m.topic].publish(data)
            if is_image:
                self.frames += 1
                stamp = store.deserialize_cdr(m.data, m.msgtype).header.stamp if self.rate <= 0 else None
                last_stamp = stamp.sec * 10**9 + stamp.nanosec if stamp is not None else None
            spin(0.0)
        return self.frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bag", type=Path, help="episode bag folder (rosbag2, MCAP)")
    parser.add_argument("--rate", type=float, default=1.0, help="speed factor; 0 = as fast as the graph keeps up")
    parser.add_argument("--compressed", action="store_true", help="publish JPEG images as CompressedImage")
    parser.add_argument("--image-topic", default="/camera/image_raw", help="the recorded camera image topic")
    parser.add_argument("--frame-timeout", type=float, default=0.2, help="with --rate 0: longest wait per frame (s)")
    parser.add_argument("--wait-subscribers", type=float, default=30.0, help="wait this long for subscribers (s)")
    opts, ros_args = parser.parse_known_args(argv)

    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

    rclpy.init(args=["scalehp-replay", *ros_args])
    node = rclpy.create_node("scalehp_replay")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    code = 0
    try:
        rep = Replayer(node, opts.bag, opts.rate, opts.compressed, opts.image_topic, opts.frame_timeout)

        def spin(seconds: float) -> None:
            executor.spin_once(timeout_sec=seconds)

        deadline = time.monotonic() + opts.wait_subscribers
        while rep.subscribers() == 0 and time.monotonic() < deadline:
            spin(0.1)
        frames = rep.run(spin)
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            spin(0.05)
        node.get_logger().info(f"replayed {frames} frames from {opts.bag}")
        print(f"scalehp-replay: replayed {frames} frames from {opts.bag}", flush=True)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (ValueError, OSError) as exc:
        print(f"scalehp-replay: error: {exc}", file=sys.stderr)
        code = 2
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
