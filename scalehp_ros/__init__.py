"""scalehp_ros: metric 3D hand tracking from one RGB camera (ROS-free core plus thin rclpy nodes)."""
