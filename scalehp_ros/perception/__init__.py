"""The ScaleHP perception core (ROS-free): one RGB image + intrinsics -> metric 3D hand joints.

One module per stage, in pipeline order: frontend (MediaPipe keypoints), canonical (root-relative pose),
anthropometry + scale (the hand's size), root_solver (camera-frame placement), filters + tracking (video),
estimator (the composition). camera: the pinhole model; frame_source: video files and webcams;
model_bundle: the checksummed MediaPipe model; settings: EstimatorConfig, every tunable.
"""
