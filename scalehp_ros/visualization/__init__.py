"""Drawing (ROS-free, NumPy + OpenCV): the 2D hand skeleton (skeleton), the demo video's frames
(demo_view) and any pinocchio robot as a stick figure (robot_view)."""
