"""The arm reference over real DDS: hand_pose_node publishes ~/<side>/arm_reference with the image's stamp and
frame; retarget_node with arm_target arm_reference moves the arm's target onto it and holds when it stops."""

from __future__ import annotations

import time

import numpy as np
import pytest
from ros_harness import REPO, NodeProcess, spin_until, subscribe
from test_hand_pose_node import FRAME_ID, Harness, clip_frames  # noqa: F401 (clip_frames: a fixture)

from scalehp_ros.common.joints import WRIST
from scalehp_ros.retargeting.arm_reference import with_reference
from scalehp_ros.retargeting.robot_config import load_robot_config
from scalehp_ros.retargeting.teleop import Teleoperator, TeleopSettings

pytestmark = pytest.mark.ros
DATA = REPO / "data" / "human_joint_right_mediapipe.npy"
SHIFT = np.array([0.03, -0.02, 0.04])  # the references sit this far from the joints' wrist (m, camera frame)


def _key(stamp) -> tuple[int, int]:
    return stamp.sec, stamp.nanosec


def test_hand_pose_node_publishes_the_arm_reference_with_the_image_header(ros, clip_frames):  # noqa: F811
    from geometry_msgs.msg import PointStamped
    from rclpy.node import Node

    args = ["--ros-args", "--params-file", str(REPO / "config/hand_pose.yaml"), "-p", "max_image_pixels:=240000"]
    with NodeProcess("scalehp_ros.ros.hand_pose_node", *args) as proc:
        node = Node("arm_reference_probe")
        h = Harness(node)
        refs = []
        subscribe(node, PointStamped, "/hand_pose_node/right/arm_reference", refs.append)
        h.wait_ready(proc)
        sent = []
        deadline = time.monotonic() + 40.0
        while (len(refs) < 10 or len(h.poses) < 10) and time.monotonic() < deadline:
            sent.append(h.send(clip_frames[len(sent) % len(clip_frames)]))
            h.pump(1 / 15)
        h.pump(0.5)
        assert len(refs) >= 10, f"{len(refs)} arm references\n{proc.output()[-3000:]}"
        assert {_key(r.header.stamp) for r in refs} <= {_key(s) for s in sent}  # the image stamps, never now()
        assert all(r.header.frame_id == FRAME_ID for r in refs)
        # one reference per published right hand, the same stamps; near that hand's wrist, in front of the camera
        joints = {_key(p.header.stamp): p for p in h.poses}
        assert {_key(r.header.stamp) for r in refs} == set(joints)
        for r in refs:
            point = np.array([r.point.x, r.point.y, r.point.z])
            w = joints[_key(r.header.stamp)].poses[WRIST].position
            assert 0.1 < point[2] < 2.0 and np.linalg.norm(point - [w.x, w.y, w.z]) < 0.15, point
        node.destroy_node()


def test_retarget_node_follows_the_arm_reference_and_holds_without_it(ros, tmp_path):
    from builtin_interfaces.msg import Time
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import Point, PointStamped, Pose, PoseArray, PoseStamped
    from rclpy.node import Node
    from std_msgs.msg import Header

    frames = np.load(DATA) @ np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]]).T + [0.0, 0.05, 0.5]
    override = tmp_path / "override.yaml"
    override.write_text(
        "retarget_node:\n  ros__parameters:\n    tracking_timeout: 0.4\n    autostart: true\n"
        "    simulate_robot: true\n    arm_target: arm_reference\n"
    )
    node = Node("arm_reference_driver")
    joints_pub = node.create_publisher(PoseArray, "/hand_pose_node/right/joints", 10)
    ref_pub = node.create_publisher(PointStamped, "/hand_pose_node/right/arm_reference", 10)
    targets, diagnostics = [], []
    subscribe(node, PoseStamped, "/retarget_node/ee_target", targets.append)
    subscribe(node, DiagnosticArray, "/diagnostics", diagnostics.append)
    sent: dict[tuple[int, int], np.ndarray] = {}  # stamp -> the joints moved onto their reference

    def send(k: int, with_ref: bool) -> None:
        t = 1000.0 + k / 30.0
        header = Header(stamp=Time(sec=int(t), nanosec=round((t % 1) * 1e9) % 1_000_000_000), frame_id=FRAME_ID)
        joints = frames[k % len(frames)]
        msg = PoseArray(header=header)
        for x, y, z in joints:
            msg.poses.append(Pose())
            msg.poses[-1].position.x, msg.poses[-1].position.y, msg.poses[-1].position.z = float(x), float(y), float(z)
            msg.poses[-1].orientation.w = 1.0
        x, y, z = (float(v) for v in joints[WRIST] + SHIFT)
        ref = PointStamped(header=header, point=Point(x=x, y=y, z=z))
        first, second = ((ref_pub, ref), (joints_pub, msg)) if k % 2 else ((joints_pub, msg), (ref_pub, ref))
        if with_ref or first[0] is joints_pub:
            first[0].publish(first[1])
        if with_ref or second[0] is joints_pub:
            second[0].publish(second[1])
        sent[_key(header.stamp)] = with_reference(joints, joints[WRIST] + SHIFT)

    args = ("--ros-args", "--params-file", "config/retarget.yaml", "--params-file", str(override))
    with NodeProcess("scalehp_ros.ros.retarget_node", *args) as retarget:
        ready = spin_until(node, lambda: ref_pub.get_subscription_count() > 0, 20.0)
        assert ready, f"retarget_node did not subscribe to the arm reference\n{retarget.output()[-3000:]}"
        k = 0
        deadline = time.monotonic() + 30.0
        while len(targets) < 30 and time.monotonic() < deadline:  # both orders: reference first, joints first
            send(k, True)
            k += 1
            spin_until(node, lambda: False, 1 / 30)
        assert len(targets) >= 30, f"{len(targets)} ee targets\n{retarget.output()[-3000:]}"
        # each target is the teleoperator's for the joints moved onto the reference, not for the plain joints
        robot = load_robot_config(REPO / "config" / "robots" / "scalehp_ur5e_allegro.yaml")
        teleop = Teleoperator(robot, TeleopSettings())
        arm0 = np.zeros(len(robot.arm.joints))
        for target in targets[-10:]:
            moved = sent[_key(target.header.stamp)]
            expected = teleop.solve(moved, 1.0, arm0).ee_target.translation
            teleop.restart_stream()
            plain = teleop.solve(moved - SHIFT, 1.0, arm0).ee_target.translation
            teleop.restart_stream()
            p = target.pose.position
            got = np.array([p.x, p.y, p.z])
            assert np.linalg.norm(got - expected) < 1e-4, (got, expected)
            assert np.linalg.norm(got - plain) > 0.02

        # the references stop, the joints go on: no frame is followed, the loop holds (hand lost)
        followed = len(targets)
        end = time.monotonic() + 2.5
        while time.monotonic() < end:
            send(k, False)
            k += 1
            spin_until(node, lambda: False, 1 / 30)
        assert len(targets) == followed, "a frame without its reference was followed"

        def lost():
            status = [s for d in diagnostics[-3:] for s in d.status if s.name.endswith("retarget_node: retargeting")]
            values = {kv.key: kv.value for kv in status[-1].values} if status else {}
            return status and "hand lost" in status[-1].message and int(values["arm_reference_frames_dropped"]) > 30

        assert spin_until(node, lost, 5.0), [s.message for d in diagnostics[-3:] for s in d.status]
        values = {kv.key: kv.value for d in diagnostics[-1:] for s in d.status for kv in s.values}
        assert values.get("arm_target") == "arm_reference"
        assert retarget.alive(), retarget.output()[-3000:]
        node.destroy_node()
