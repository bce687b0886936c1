"""HandPose -> ROS messages: TF transforms, PoseArray, MarkerArray (conversion only, no geometry).

Everything is expressed in the image's frame (the camera optical frame, REP 103: x right, y down,
z forward), in metres, stamped with the image's header. Joint frame orientations come from
scalehp_ros.common.hand_frames.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from geometry_msgs.msg import Point, Pose, PoseArray, Quaternion, TransformStamped
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from scalehp_ros.common.hand_frames import joint_rotations, rotation_to_quaternion
from scalehp_ros.common.joints import BONES, WRIST, frame_name
from scalehp_ros.visualization.skeleton import SIDE_COLOURS_RGB

JOINT_SPHERE_M = 0.010
BONE_WIDTH_M = 0.005
TEXT_HEIGHT_M = 0.02
_MARKER_IDS = {"joints": 0, "bones": 1, "label": 2}


def joint_poses(joints_cam: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
    """(21,3) positions and (21,4) quaternions (x, y, z, w) of the joint frames, camera frame."""
    return joints_cam, rotation_to_quaternion(joint_rotations(joints_cam, side))


def pose_array(header: Header, positions: np.ndarray, quats: np.ndarray) -> PoseArray:
    """PoseArray of the 21 joint frames in joint order (scalehp_ros.common.joints), from `joint_poses` (metres)."""
    msg = PoseArray(header=header)
    msg.poses = [
        Pose(
            position=Point(x=float(p[0]), y=float(p[1]), z=float(p[2])),
            orientation=Quaternion(x=float(q[0]), y=float(q[1]), z=float(q[2]), w=float(q[3])),
        )
        for p, q in zip(positions, quats, strict=True)
    ]
    return msg


def transforms(
    header: Header, positions: np.ndarray, quats: np.ndarray, side: str, prefix: str = ""
) -> list[TransformStamped]:
    """21 transforms from header.frame_id to `<prefix><side>_hand_<joint>`, from `joint_poses` (metres)."""
    out = []
    for i, (p, q) in enumerate(zip(positions, quats, strict=True)):
        t = TransformStamped(header=header, child_frame_id=frame_name(side, i, prefix))
        t.transform.translation.x, t.transform.translation.y, t.transform.translation.z = map(float, p)
        t.transform.rotation = Quaternion(x=float(q[0]), y=float(q[1]), z=float(q[2]), w=float(q[3]))
        out.append(t)
    return out


def _colour(side: str, alpha: float = 1.0) -> ColorRGBA:
    r, g, b = SIDE_COLOURS_RGB[side]
    return ColorRGBA(r=r / 255.0, g=g / 255.0, b=b / 255.0, a=alpha)


def _points(xyz: np.ndarray) -> list[Point]:
    return [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in xyz]


def hand_markers(header: Header, joints_cam: np.ndarray, side: str, label: str) -> list[Marker]:
    """Joints as a SPHERE_LIST, bones as a LINE_LIST and a text label, namespace `<side>_hand`."""
    ns = f"{side}_hand"
    joints = Marker(header=header, ns=ns, id=_MARKER_IDS["joints"], type=Marker.SPHERE_LIST, action=Marker.ADD)
    joints.pose.orientation.w = 1.0
    joints.scale.x = joints.scale.y = joints.scale.z = JOINT_SPHERE_M
    joints.color = _colour(side)
    joints.points = _points(joints_cam)
    bones = Marker(header=header, ns=ns, id=_MARKER_IDS["bones"], type=Marker.LINE_LIST, action=Marker.ADD)
    bones.pose.orientation.w = 1.0
    bones.scale.x = BONE_WIDTH_M
    bones.color = ColorRGBA(r=0.9, g=0.9, b=0.9, a=1.0)
    bones.points = _points(joints_cam[np.array(BONES).ravel()])
    text = Marker(header=header, ns=ns, id=_MARKER_IDS["label"], type=Marker.TEXT_VIEW_FACING, action=Marker.ADD)
    wrist = joints_cam[WRIST]
    text.pose.position = Point(x=float(wrist[0]), y=float(wrist[1]) + 0.03, z=float(wrist[2]))
    text.pose.orientation.w = 1.0
    text.scale.z = TEXT_HEIGHT_M
    text.color = _colour(side)
    text.text = label
    return [joints, bones, text]


def delete_markers(header: Header, side: str) -> list[Marker]:
    """DELETE actions for every marker of one side's hand (sent when that hand disappears)."""
    return [Marker(header=header, ns=f"{side}_hand", id=i, action=Marker.DELETE) for i in _MARKER_IDS.values()]


def marker_array(header: Header, hands: Iterable[tuple[str, np.ndarray, str]], gone: Iterable[str]) -> MarkerArray:
    """MarkerArray for (side, joints_cam, label) hands plus deletions for the sides in `gone`."""
    msg = MarkerArray()
    for side, joints_cam, label in hands:
        msg.markers.extend(hand_markers(header, joints_cam, side, label))
    for side in gone:
        msg.markers.extend(delete_markers(header, side))
    return msg
