"""Two hands, two robots: the left hand is a true mirror, per-side configs, the mirror binding, and over real
DDS two retarget_nodes (namespaces /left, /right) driving the MuJoCo sim_node with independent clutches."""

from __future__ import annotations

import time

import numpy as np
import pinocchio as pin
import pytest
from ros_harness import REPO, NodeProcess, engage_when_ready, spin_until, subscribe

from scalehp_ros.retargeting.robot_config import load_robot_config
from scalehp_ros.retargeting.teleop import Teleoperator, TeleopSettings

NODES = REPO / "test" / "nodes"
ROBOTS = REPO / "config" / "robots"
M = np.diag([1.0, -1.0, 1.0])


def test_left_hand_is_a_true_mirror_of_the_right():
    right = pin.buildModelFromUrdf(str(REPO / "urdf/scalehp_ur5e_allegro.urdf"))
    left = pin.buildModelFromUrdf(str(REPO / "urdf/scalehp_ur5e_allegro_left.urdf"))
    assert [right.names[i] for i in range(right.njoints)] == [left.names[i] for i in range(left.njoints)]
    assert np.array_equal(right.lowerPositionLimit, left.lowerPositionLimit)
    assert np.array_equal(right.upperPositionLimit, left.upperPositionLimit)
    dr, dl = right.createData(), left.createData()
    rng = np.random.default_rng(1)
    frames = ("thumb_tip", "index_tip", "middle_tip", "ring_tip", "thumb_link_2", "index_link_1")
    for _ in range(30):
        q = rng.uniform(right.lowerPositionLimit, right.upperPositionLimit)
        pin.framesForwardKinematics(right, dr, q)
        pin.framesForwardKinematics(left, dl, q)
        palm_r, palm_l = dr.oMf[right.getFrameId("hand_palm")], dl.oMf[left.getFrameId("hand_palm")]
        for f in frames:
            r = palm_r.actInv(dr.oMf[right.getFrameId(f)])
            lf = palm_l.actInv(dl.oMf[left.getFrameId(f)])
            np.testing.assert_allclose(M @ r.translation, lf.translation, atol=1e-9)
            np.testing.assert_allclose(M @ r.rotation @ M, lf.rotation, atol=1e-9)
    # the thumb sits on the other side of the palm: not a relabelled right hand
    pin.framesForwardKinematics(left, dl, pin.neutral(left))
    pin.framesForwardKinematics(right, dr, pin.neutral(right))
    thumb_r = dr.oMf[right.getFrameId("hand_palm")].actInv(dr.oMf[right.getFrameId("thumb_tip")]).translation
    thumb_l = dl.oMf[left.getFrameId("hand_palm")].actInv(dl.oMf[left.getFrameId("thumb_tip")]).translation
    assert np.sign(thumb_r[1]) == -np.sign(thumb_l[1]) != 0


def test_bimanual_description_and_per_side_configs():
    model = pin.buildModelFromUrdf(str(REPO / "urdf/scalehp_bimanual.urdf"))
    left = load_robot_config(ROBOTS / "scalehp_bimanual_left.yaml")
    right = load_robot_config(ROBOTS / "scalehp_bimanual_right.yaml")
    names = {model.names[i] for i in range(1, model.njoints)}
    assert names == set(left.joint_names) | set(right.joint_names)
    assert not set(left.joint_names) & set(right.joint_names)
    assert all(n.startswith("left_") for n in left.joint_names) and all(
        n.startswith("right_") for n in right.joint_names
    )
    assert (left.hand.side, right.hand.side) == ("left", "right")
    assert left.arm.base_frame == right.arm.base_frame == "base_link"  # one camera pose, one TF tree
    data = model.createData()
    pin.framesForwardKinematics(model, data, pin.neutral(model))
    y = {s: data.oMf[model.getFrameId(f"{s}_base_link")].translation[1] for s in ("left", "right")}
    assert y["right"] > 0 > y["left"]  # the robot faces -x: its right arm on +y


def _hand_frames(mirror: bool) -> np.ndarray:
    frames = np.load(REPO / "data" / "human_joint_right_mediapipe.npy")[::40]
    rotation = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])
    frames = frames @ rotation.T + np.array([0.0, 0.05, 0.5])
    return frames * np.array([-1.0, 1.0, 1.0]) if mirror else frames


def test_mirror_binding_gives_the_mirrored_robot_the_same_finger_angles():
    """The operator's right hand, mirrored, on the robot's left hand (a mirror image of the right hand) must
    close the same joints by the same angles as the same hand, unmirrored, on the right robot hand."""
    right = Teleoperator(load_robot_config(ROBOTS / "scalehp_bimanual_right.yaml"))
    left = Teleoperator(load_robot_config(ROBOTS / "scalehp_bimanual_left.yaml"), TeleopSettings(mirror_input=True))
    worst = 0.0
    for k, joints in enumerate(_hand_frames(False)):
        a = right.solve(joints, 1.0 + k / 30, right.arm_rest).hand
        b = left.solve(joints, 1.0 + k / 30, left.arm_rest).hand
        worst = max(worst, float(np.abs(a - b).max()))
    assert worst < 1e-3, worst


def test_direct_binding_left_hand_on_left_robot_matches_the_right():
    """A left hand (the mirror image of a right one) on the left robot: the same finger angles as the right."""
    right = Teleoperator(load_robot_config(ROBOTS / "scalehp_bimanual_right.yaml"))
    left = Teleoperator(load_robot_config(ROBOTS / "scalehp_bimanual_left.yaml"))
    for k, (r, lf) in enumerate(zip(_hand_frames(False), _hand_frames(True), strict=True)):
        a = right.solve(r, 1.0 + k / 30, right.arm_rest).hand
        b = left.solve(lf, 1.0 + k / 30, left.arm_rest).hand
        np.testing.assert_allclose(a, b, atol=1e-3)


@pytest.mark.ros
def test_two_sides_over_dds_drive_the_simulated_robot_with_independent_clutches(ros):
    from rclpy.node import Node
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray
    from std_srvs.srv import SetBool
    from trajectory_msgs.msg import JointTrajectory

    configs = {s: load_robot_config(ROBOTS / f"scalehp_bimanual_{s}.yaml") for s in ("left", "right")}
    node = Node("bimanual_probe")
    measured: list[JointState] = []
    arm: dict[str, list] = {"left": [], "right": []}
    hand: dict[str, list] = {"left": [], "right": []}
    subscribe(node, JointState, "/joint_states", measured.append)
    for side in arm:
        subscribe(node, JointTrajectory, f"/{side}/retarget_node/arm/joint_trajectory", arm[side].append)
        subscribe(node, Float64MultiArray, f"/{side}/retarget_node/hand/commands", hand[side].append)

    def retarget(side: str) -> NodeProcess:
        return NodeProcess(
            "scalehp_ros.ros.retarget_node",
            "--ros-args", "-r", f"__ns:=/{side}", "--params-file", "config/retarget.yaml",
            "-p", f"robot_config:=config/robots/scalehp_bimanual_{side}.yaml",
            "-p", f"joints_topic:=/hand_pose_node/{side}/joints",
            "-p", f"tracking_topic:=/hand_pose_node/{side}/tracking",
            "-p", "measured_state_topic:=/joint_states",  # the default, joint_states, is relative: /left/...
            "-p", "autostart:=true", "-p", "deadman:=none",
            "-p", "publish_camera_tf:=" + ("true" if side == "right" else "false"),
        )  # fmt: skip

    sim_args = (
        "--ros-args", "--params-file", "config/sim.yaml",
        "-p", "robot_configs:=config/robots/scalehp_bimanual_left.yaml,config/robots/scalehp_bimanual_right.yaml",
        "-p", "command_prefixes:=/left/retarget_node,/right/retarget_node", "-p", "render_period:=0.0",
    )  # fmt: skip
    with (
        NodeProcess("scalehp_ros.ros.sim_node", *sim_args) as sim,
        retarget("left") as left_node,
        retarget("right") as right_node,
        NodeProcess(str(NODES / "hand_joints_publisher.py"), "--topic", "/hand_pose_node/right/joints") as pub_r,
        NodeProcess(
            str(NODES / "hand_joints_publisher.py"), "--topic", "/hand_pose_node/left/joints", "--mirror"
        ) as pub_l,
    ):
        procs = (sim, left_node, right_node, pub_r, pub_l)
        ok = spin_until(node, lambda: len(measured) > 20, 60.0)
        spin_until(node, lambda: False, 2.0)  # both retarget_nodes active (they stream only once engaged)
        assert ok and all(p.alive() for p in procs), "\n".join(p.output()[-2000:] for p in procs)

        def arm_position(side: str) -> np.ndarray:
            index = {n: i for i, n in enumerate(measured[-1].name)}
            return np.array([measured[-1].position[index[j]] for j in configs[side].arm.joints])

        def engage(side: str, on: bool) -> None:
            if on:  # retried while refused: the node may see the simulator's joint states later than this reader
                response = engage_when_ready(node, f"/{side}/retarget_node/engage")
                assert response.success, response
                return
            client = node.create_client(SetBool, f"/{side}/retarget_node/engage")
            assert client.wait_for_service(timeout_sec=10.0)
            future = client.call_async(SetBool.Request(data=on))
            assert spin_until(node, future.done, 10.0) and future.result().success, future.result()

        start = {s: arm_position(s) for s in ("left", "right")}
        engage("left", True)
        spin_until(node, lambda: False, 3.0)
        moved = {s: float(np.abs(arm_position(s) - start[s]).max()) for s in start}
        assert moved["left"] > 0.05 and moved["right"] < 0.01, (moved, left_node.output()[-2000:])
        engage("left", False)
        spin_until(node, lambda: False, 1.0)  # disengaging brakes the arm to a stop within its acceleration bound
        held = arm_position("left")
        engage("right", True)
        spin_until(node, lambda: False, 3.0)
        assert float(np.abs(arm_position("right") - start["right"]).max()) > 0.05
        assert float(np.abs(arm_position("left") - held).max()) < 0.02  # the left holds while the right follows
        assert all(p.alive() for p in procs)
        time.sleep(0.1)

    # commands of both sides inside the URDF's position limits; consecutive arm commands inside the velocity limits
    for side, config in configs.items():
        from scalehp_ros.retargeting.robot_model import RobotModel

        arm_model = RobotModel(config.arm.urdf, config.arm.joints)
        hand_model = RobotModel(config.hand.urdf, config.hand.joints)
        assert arm[side] and hand[side]
        for msg in arm[side]:
            assert list(msg.joint_names) == list(config.arm.joints)
            for point in msg.points:
                q = np.array(point.positions)
                assert np.all(q >= arm_model.lower - 1e-9) and np.all(q <= arm_model.upper + 1e-9)
                assert np.all(np.abs(point.velocities) <= arm_model.velocity + 1e-6)
        for msg in hand[side]:
            q = np.array(msg.data)
            assert np.all(q >= hand_model.lower - 1e-9) and np.all(q <= hand_model.upper + 1e-9)
