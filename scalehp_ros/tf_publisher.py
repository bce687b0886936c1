"""Publishing transforms on /tf: tf2_ros's TransformBroadcaster where installed, else TFMessage directly.

Both are the same on the wire (tf2_msgs/TFMessage on /tf, reliable, volatile, depth 100), so listeners
cannot tell them apart. The fallback exists for the pip-only environment, which has no tf2_ros wheel.
"""

from __future__ import annotations

from collections.abc import Sequence

from geometry_msgs.msg import TransformStamped
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from tf2_msgs.msg import TFMessage

TF_TOPIC = "/tf"
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
