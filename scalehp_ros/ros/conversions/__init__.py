"""Message converters: ROS messages <-> the NumPy / pinocchio values of the ROS-free core, nothing else.

hand: HandPose joints -> TF, PoseArray, MarkerArray; image: sensor_msgs/Image and CompressedImage <-> RGB
arrays; geometry: stamps, SE3 <-> Pose / Transform; robot_command: teleoperation commands -> JointState,
JointTrajectory, Float64MultiArray.
"""
