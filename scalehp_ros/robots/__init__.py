"""The robot registry (issue 25): arms from example-robot-data, hands from dexi-rs, composed robots,
dex-retargeting-compatible hand configs and the coverage matrix. ROS-free; assets are read from installed
packages (scalehp_ros.robots.assets), never copied into the repository."""
