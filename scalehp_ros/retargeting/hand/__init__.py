"""Hand retargeting: one class per method, chosen by the robot YAML's `hand.retargeting.type`.

Human keypoints in the palm frame (metres) -> hand joint targets (rad, `hand.joints` order, within limits).
Methods: vector (vector.py), dexpilot (dexpilot.py), position (position.py); shared machinery in base.py.
`build_hand_retargeter(hand)` makes the one the configuration names. The registry lives here, with the methods;
robot_config.py (the YAML, pure data) lists the accepted names in RETARGETING_TYPES and imports nothing from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scalehp_ros.retargeting.hand.base import HandRetargeting
from scalehp_ros.retargeting.hand.dexpilot import DexPilotRetargeting
from scalehp_ros.retargeting.hand.position import PositionRetargeting
from scalehp_ros.retargeting.hand.vector import VectorRetargeting

if TYPE_CHECKING:
    from scalehp_ros.retargeting.robot_config import HandConfig, RetargetingParams

RETARGETING_METHODS: dict[str, type[HandRetargeting]] = {
    cls.method: cls for cls in (VectorRetargeting, DexPilotRetargeting, PositionRetargeting)
}


def build_hand_retargeter(hand: HandConfig, params: RetargetingParams | None = None) -> HandRetargeting:
    """The retargeting of `params.type` (default: hand.retargeting) for `hand`; ValueError for an unknown type."""
    params = params or hand.retargeting
    if params.type not in RETARGETING_METHODS:
        raise ValueError(f"retargeting type {params.type!r} is not one of {tuple(RETARGETING_METHODS)}")
    return RETARGETING_METHODS[params.type](hand, params)


__all__ = [
    "RETARGETING_METHODS",
    "DexPilotRetargeting",
    "HandRetargeting",
    "PositionRetargeting",
    "VectorRetargeting",
    "build_hand_retargeter",
]
