"""One way for the nodes to report on /diagnostics (diagnostic_msgs/DiagnosticArray).

Each node publishes one DiagnosticStatus per report, named `<node name>: <what>` (e.g. `sim_node: simulation`;
`qualified=True` puts the fully qualified name, e.g. `/left/retarget_node: retargeting`, for nodes that run once
per namespace so two instances stay apart in an aggregator), with the fully qualified node name as hardware_id
unless the node names its device, key/value strings for the
numbers, and the header stamped with the node clock: a status describes the node, not an input image.
Publishing stops once the context is shut down, so a report from a timer that races SIGINT/SIGTERM is dropped
instead of raising.
"""

from __future__ import annotations

from collections.abc import Mapping

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node

DIAGNOSTICS_TOPIC = "/diagnostics"
OK, WARN, ERROR, STALE = DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR, DiagnosticStatus.STALE

__all__ = ["DIAGNOSTICS_TOPIC", "ERROR", "OK", "STALE", "WARN", "Diagnostics", "status"]


def _text(value: object) -> str:
    """A diagnostics value: bools as `true`/`false` (as ROS parameters print them), the rest with str()."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def status(name: str, level: int, message: str, values: Mapping[str, object], hardware_id: str) -> DiagnosticStatus:
    """A DiagnosticStatus with `values` as KeyValue strings, in the mapping's order."""
    return DiagnosticStatus(
        level=level,
        name=name,
        message=message,
        hardware_id=hardware_id,
        values=[KeyValue(key=str(k), value=_text(v)) for k, v in values.items()],
    )


class Diagnostics:
    """The /diagnostics publisher of one node's status `what`; `publish()` sends one report."""

    def __init__(self, node: Node, what: str, hardware_id: str | None = None, qualified: bool = False) -> None:
        self._node = node
        self.name = f"{node.get_fully_qualified_name() if qualified else node.get_name()}: {what}"
        self.hardware_id = hardware_id if hardware_id is not None else node.get_fully_qualified_name()
        self._pub = node.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, 10)

    def publish(
        self, level: int, message: str, values: Mapping[str, object], hardware_id: str | None = None
    ) -> DiagnosticArray | None:
        """Publish one status (`hardware_id`: this report's, when the device is known only later); returns the
        message sent, or None after shutdown (nothing sent)."""
        if not self._node.context.ok():
            return None
        device = self.hardware_id if hardware_id is None else hardware_id
        msg = DiagnosticArray(status=[status(self.name, level, message, values, device)])
        msg.header.stamp = self._node.get_clock().now().to_msg()
        self._pub.publish(msg)
        return msg
