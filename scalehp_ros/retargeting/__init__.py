"""The retargeting core (ROS-free): camera-frame hand joints -> safe arm and dexterous-hand joint commands.

robot_config (robot YAML + dataclasses), robot_model (pinocchio model of one part), transforms (rpy, 4x4,
palm-frame keypoints), dls (the bounded damped least-squares loop), arm_ik (end-effector IK), vector_solver
(keypoint-vector least squares), hand/ (one class per retargeting method), low_pass (command filter), safety
(limits), teleop (the per-frame composition and its TeleopSettings).
"""
