"""Test fixture process: turns each Image (+ latest CameraInfo) into one TF on /tf.

The transform goes from the image's frame_id to `image_centre_ray`, with translation K^-1 [w/2, h/2, 1]:
the unit-depth point seen at the image centre. The stamp is copied from the image. It proves, end to end,
that images and intrinsics cross DDS between processes and that TF goes out the way the real nodes send it.
"""

import numpy as np
from geometry_msgs.msg import TransformStamped
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from scalehp_ros.ros.conversions.image import image_msg_to_rgb
from scalehp_ros.ros.node_main import run_node
from scalehp_ros.ros.tf_publisher import TfPublisher


def main() -> int:
    def make_node() -> Node:
        node = Node("image_to_tf")
        tf = TfPublisher(node)
        latest_k = [None]

        def on_info(msg: CameraInfo) -> None:
            latest_k[0] = np.array(msg.k, dtype=float).reshape(3, 3)

        def on_image(msg: Image) -> None:
            if latest_k[0] is None:
                return
            rgb = image_msg_to_rgb(msg)
            ray = np.linalg.solve(latest_k[0], [rgb.shape[1] / 2, rgb.shape[0] / 2, 1.0])
            t = TransformStamped()
            t.header = msg.header
            t.child_frame_id = "image_centre_ray"
            t.transform.translation.x, t.transform.translation.y, t.transform.translation.z = map(float, ray)
            t.transform.rotation.w = 1.0
            tf.send([t])

        node.create_subscription(CameraInfo, "camera_info", on_info, qos_profile_sensor_data)
        node.create_subscription(Image, "image", on_image, qos_profile_sensor_data)
        node.get_logger().info(f"publishing TF with {tf.backend}")
        return node

    return run_node(make_node, name="image_to_tf")


if __name__ == "__main__":
    raise SystemExit(main())
