"""ros2 launch scalehp_ros teleop.launch.py [camera:=video|usb|none] [video_file:=...] [rviz:=false] ...

Starts the camera source, hand_pose_node, retarget_node, robot_state_publisher and RViz. The nodes, their
parameters and remappings come from config/teleop_graph.yaml through scalehp_ros.bringup.graph, the same
description `scalehp-bringup` reads in the pip-only environment; this file only adapts it to launch_ros.

The project's own nodes are required: if one exits (e.g. it refused an invalid parameter, with the reason
in its log), the launch shuts the whole graph down rather than run without it. Topic names are relative,
so the graph can be included under a namespace (PushRosNamespace), hands:=two too (its per-side nodes run in
left/right inside that namespace and name the graph's topics from it), and twice side by side with
frame_prefix / camera_frame per instance (docs/launch.md). `ros2 launch ... --show-args` lists the arguments.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from scalehp_ros.bringup.graph import arguments, resolve

PACKAGE = "scalehp_ros"
# How to install the other packages the graph may start, for the error that names a missing one.
INSTALL_HINTS = {
    "usb_cam": "sudo apt install ros-$ROS_DISTRO-usb-cam (or camera:=video / camera:=none)",
    "robot_state_publisher": "sudo apt install ros-$ROS_DISTRO-robot-state-publisher (or robot_state_publisher:=false)",
    "rviz2": "sudo apt install ros-$ROS_DISTRO-rviz2 (or rviz:=false)",
}


def _parameter(value):
    # launch_ros reads plain strings as YAML; keep text (the URDF, paths) as strings
    return ParameterValue(value, value_type=str) if isinstance(value, str) else value


def _check_installed(packages: set[str]) -> None:
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

    missing = []
    for package in sorted(packages):
        try:
            get_package_share_directory(package)
        except PackageNotFoundError:
            missing.append(f"{package}: {INSTALL_HINTS.get(package, f'install ros-$ROS_DISTRO-{package}')}")
    if missing:
        raise RuntimeError("teleop.launch.py needs packages that are not installed:\n  " + "\n  ".join(missing))


def _nodes(context):
    values = {a.name: LaunchConfiguration(a.name).perform(context) for a in arguments()}
    # the namespace this file was included under (PushRosNamespace); launch_ros prefixes the nodes' own
    namespace = context.launch_configurations.get("ros_namespace") or ""
    specs = resolve(values, namespace=namespace)  # ValueError naming the argument for a bad value
    _check_installed({s.package for s in specs if s.package != PACKAGE})
    actions = []
    for spec in specs:
        parameters = [str(spec.params_file)] if spec.params_file else []
        if spec.parameters:
            parameters.append({k: _parameter(v) for k, v in spec.parameters.items()})
        required = spec.package == PACKAGE
        actions.append(
            Node(
                package=spec.package,
                executable=spec.executable,
                name=spec.name,
                namespace=spec.namespace or None,
                parameters=parameters,
                remappings=list(spec.remappings.items()),
                arguments=spec.arguments,
                output="screen",
                on_exit=Shutdown(reason=f"{spec.name} exited") if required else None,
            )
        )
    return actions


def generate_launch_description() -> LaunchDescription:
    declared = [
        DeclareLaunchArgument(
            a.name,
            default_value=a.default,
            description=a.description,
            # boolean arguments accept True/False/1/0 too: the graph normalises and checks them
            choices=None if a.boolean else (list(a.choices) or None),
        )
        for a in arguments()
    ]
    return LaunchDescription([*declared, OpaqueFunction(function=_nodes)])
