"""scalehp_ros: metric 3D hand tracking from one RGB camera, and teleoperation of a robot arm and hand.

Layers (each imports only those before it; test/test_layering.py checks it):

- common/         shared base: joint convention, palm frame, share folder, the parameter system
- perception/     ROS-free ScaleHP core: image -> 21 joints in the camera frame, metres
- retargeting/    ROS-free core: joints -> safe arm (IK) and dexterous-hand joint commands
- evaluation/     scalehp-eval: accuracy and stability on annotated and synthetic sets
- visualization/  drawing: 2D skeleton, the demo video's frames, the robot stick figure
- ros/            rclpy nodes (hand_pose_node, retarget_node, video_source) and message converters
- bringup/        the graph description, starting it without ROS launch, and `make demo`

`scalehp_ros.estimator.HandPoseEstimator` is the stable public entry point of the perception core.
"""
