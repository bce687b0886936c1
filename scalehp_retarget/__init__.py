"""scalehp_retarget: metric hand joints to arm end-effector and dexterous-hand joint targets.

ROS-free core modules plus one thin rclpy node module.
"""
