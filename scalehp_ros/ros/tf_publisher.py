"""Publishing transforms on /tf and /tf_static: tf2_ros's TransformBroadcaster / StaticTransformBroadcaster
where tf2_ros is importable (a ROS 2 install; the test tooling), else TFMessage directly (the pip-only venv,
which has no tf2_ros wheel). The choice is made once per publisher and shown in `TfPublisher.backend`.

Both are the same on the wire (tf2_msgs/TFMessage on /tf, reliable, volatile, depth 100; /tf_static
transient local), so listeners cannot tell them apart (docs/ros_integration.md, test/test_tf2_ros.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from geometry_msgs.msg import TransformStamped
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage

TF_TOPIC = "/tf"


def tf2_frame_id(frame_id: str) -> str:
    """`frame_id` as tf2 stores it: without leading slashes (a ROS 1 habit some drivers keep).

    tf2 strips them when a transform is set, but refuses them in lookups ("frame_ids cannot start with a
    '/'"), so a consumer looking up the frame a message names needs the stripped name.
    """
    return frame_id.lstrip("/")


def tf2_header(header: Header) -> Header:
    """`header` with its frame_id as tf2 names the frame (the same object when it already is)."""
    if not header.frame_id.startswith("/"):
        return header
    return Header(stamp=header.stamp, frame_id=tf2_frame_id(header.frame_id))


TF_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)


class TfPublisher:
    """Sends batches of TransformStamped on /tf for `node`."""

    def __init__(self, node: Node):
        try:
            from tf2_ros import TransformBroadcaster
        except ImportError:
            self._broadcaster = None
            self._pub = node.create_publisher(TFMessage, TF_TOPIC, TF_QOS)
            self.backend = "tf2_msgs"
        else:
            self._broadcaster = TransformBroadcaster(node)
            self.backend = "tf2_ros"

    def send(self, transforms: Sequence[TransformStamped]) -> None:
        if not transforms:
            return
        if self._broadcaster is not None:
            self._broadcaster.sendTransform(list(transforms))
        else:
            self._pub.publish(TFMessage(transforms=list(transforms)))


TF_STATIC_TOPIC = "/tf_static"
TF_STATIC_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


class StaticTfPublisher:
    """Latched transforms on /tf_static (transient local), like tf2_ros's StaticTransformBroadcaster.

    Keeps every transform sent so far, keyed by child frame, and republishes the whole set, since late
    joiners only get the last message.
    """

    def __init__(self, node: Node):
        self._node = node
        self._transforms: dict[str, TransformStamped] = {}
        try:
            from tf2_ros import StaticTransformBroadcaster
        except ImportError:
            self._broadcaster = None
            self._pub = node.create_publisher(TFMessage, TF_STATIC_TOPIC, TF_STATIC_QOS)
        else:
            self._broadcaster = StaticTransformBroadcaster(node)
            self._pub = self._broadcaster.pub_tf

    def destroy(self) -> None:
        """Destroy the /tf_static publisher (a lifecycle node's cleanup): its latched transforms go with it."""
        self._node.destroy_publisher(self._pub)
        self._transforms.clear()

    def send(self, transforms: Sequence[TransformStamped]) -> None:
        for t in transforms:
            self._transforms[t.child_frame_id] = t
        if self._broadcaster is not None:
            self._broadcaster.sendTransform(list(transforms))
        else:
            self._pub.publish(TFMessage(transforms=list(self._transforms.values())))
