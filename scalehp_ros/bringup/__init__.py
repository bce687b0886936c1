"""Bring-up: the graph description (graph, read by launch/teleop.launch.py too), starting it as processes
where ROS launch is not installed (processes, `scalehp-bringup`), and `make demo` (demo)."""
