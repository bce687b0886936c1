"""ROS 2 adapters: thin rclpy nodes and the message converters they use (conversions/).

Nodes only convert messages and parameters and call the ROS-free cores; every parameter comes from a
settings dataclass (parameters.py), every node's main() from node_main.run_node.
"""
