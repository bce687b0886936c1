"""Demonstration episodes as rosbag2 bags in MCAP storage, ROS-free.

`bag.py` writes one bag with the `rosbags` library (MCAP storage, a space reserve and chunk-level recovery so
that a full disk still leaves a closed, readable bag) and reads bags back; `episode.py` is the recorder core
(a writer thread with a bounded queue, JPEG compression of camera images, episode metadata); `export.py` turns
bags into per-episode Parquet tables for learning (`scalehp-export`), or with `lerobot.py` into a LeRobot v3.0
dataset (`scalehp-export --format lerobot`, docs/recording.md). The rclpy node is
`scalehp_ros.ros.recorder_node`; replay into a running graph is `scalehp_ros.bringup.replay`.
"""
