"""Test-suite wide setup: DDS isolation guard and a ROS_DOMAIN_ID of this process's own."""

from __future__ import annotations

import os

import pytest
from ros_harness import allocate_domain_id, require_localhost_discovery

# A domain of our own, so concurrent test runs on one machine never see each other's topics.
os.environ["ROS_DOMAIN_ID"] = str(allocate_domain_id())


def _install_rclpy_guard() -> None:
    """Make every in-process rclpy initialisation fail loudly without localhost-only discovery."""
    try:
        from rclpy.context import Context
    except ImportError:
        return
    if getattr(Context.init, "_scalehp_guarded", False):
        return
    original = Context.init

    def guarded_init(self, *args, **kwargs):
        require_localhost_discovery()
        return original(self, *args, **kwargs)

    guarded_init._scalehp_guarded = True
    Context.init = guarded_init


_install_rclpy_guard()


@pytest.fixture
def ros():
    """rclpy initialised in the test process (localhost discovery enforced), shut down afterwards."""
    import rclpy

    rclpy.init()
    try:
        yield
    finally:
        rclpy.try_shutdown()
