"""ros2 launch scalehp_ros teleop.launch.py [camera:=video|usb] [video_file:=...] [robot_config:=...] ...

Starts the camera source, hand_pose_node, retarget_node, robot_state_publisher and RViz. The nodes, their
parameters and remappings come from config/teleop_graph.yaml through scalehp_ros.bringup.graph, the same
description `scalehp-bringup` reads in the pip-only environment; this file only adapts it to launch_ros.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from scalehp_ros.bringup.graph import arguments, resolve


def _parameter(value):
    # launch_ros reads plain strings as YAML; keep text (the URDF, paths) as strings
    return ParameterValue(value, value_type=str) if isinstance(value, str) else value


def _nodes(context):
    values = {a.name: LaunchConfiguration(a.name).perform(context) for a in arguments()}
    actions = []
    for spec in resolve(values):
        parameters = [str(spec.params_file)] if spec.params_file else []
        if spec.parameters:
            parameters.append({k: _parameter(v) for k, v in spec.parameters.items()})
        actions.append(
            Node(
                package=spec.package,
                executable=spec.executable,
                name=spec.name,
                parameters=parameters,
                remappings=list(spec.remappings.items()),
                arguments=spec.arguments,
                output="screen",
            )
        )
    return actions


def generate_launch_description() -> LaunchDescription:
    declared = [
        DeclareLaunchArgument(
            a.name, default_value=a.default, description=a.description, choices=list(a.choices) or None
        )
        for a in arguments()
    ]
    return LaunchDescription([*declared, OpaqueFunction(function=_nodes)])
