"""Published hand anthropometry: the one place for the numbers the scale prior and the synthetic hands use.

Two facts live here, each with its source:

1. Hand length, defined as the straight distance from the distal wrist crease to the tip of the middle
   finger with the hand flat and the fingers extended (the standard anthropometric "hand length", e.g.
   ISO 7250-1:2017, 4.2.28). British adults aged 19-65, as tabulated in S. Pheasant & C. M. Haslegrave,
   *Bodyspace: Anthropometry, Ergonomics and the Design of Work*, 3rd ed., CRC Press 2006, Table 10.1:
   men mean 189 mm (SD 10), women mean 174 mm (SD 9).
2. Skeleton proportions: the length of each of the 20 bones of the 21-keypoint skeleton (`joints.BONES`).
   Metacarpal and phalanx lengths follow the adult means of Buryanov & Kotiuk, "Proportions of hand
   segments", Int. J. Morphol. 28(3):755-758, 2010 (rounded to the millimetre). A keypoint skeleton is not
   the bone skeleton: its wrist keypoint sits at the wrist crease, proximal to the metacarpal bases, so each
   wrist-to-MCP keypoint distance adds a carpal offset (our modelling assumption, ~15-30 mm), and each tip
   keypoint adds the fingertip pulp beyond the distal phalanx (~3 mm). Only the *proportions* matter: the
   absolute size always comes from a hand length (fact 1, or the operator's own ruler measurement).

The ScaleHP scale is the mean of the 20 bone lengths (`joints.mean_bone_length`); `MEAN_BONE_PER_HAND_LENGTH`
converts a hand length into it.
"""

from __future__ import annotations

import numpy as np

from scalehp_ros.common.joints import BONES, FINGER_CHAINS

# Hand length (distal wrist crease to middle fingertip), metres; Pheasant & Haslegrave 2006, Table 10.1.
HAND_LENGTH_MEN_M = 0.189
HAND_LENGTH_MEN_SD_M = 0.010
HAND_LENGTH_WOMEN_M = 0.174
HAND_LENGTH_WOMEN_SD_M = 0.009
# Population prior: the unweighted mean of the two sexes (a 50/50 population), and the pooled SD
# sqrt((sd_m^2 + sd_w^2)/2 + (mean difference / 2)^2).
HAND_LENGTH_PRIOR_M = 0.5 * (HAND_LENGTH_MEN_M + HAND_LENGTH_WOMEN_M)
HAND_LENGTH_PRIOR_SD_M = float(
    np.sqrt(
        0.5 * (HAND_LENGTH_MEN_SD_M**2 + HAND_LENGTH_WOMEN_SD_M**2)
        + (0.5 * (HAND_LENGTH_MEN_M - HAND_LENGTH_WOMEN_M)) ** 2
    )
)

# Keypoint-skeleton bone lengths of a reference adult hand, millimetres, keyed by child joint (joints.BONES
# order). wrist->CMC/MCP = carpal offset + metacarpal; phalanges after Buryanov & Kotiuk 2010; tips + pulp.
_REFERENCE_BONES_MM: dict[int, float] = {
    1: 30.0,  # wrist -> thumb CMC (carpal: scaphoid/trapezium)
    2: 46.0,  # thumb metacarpal
    3: 32.0,  # thumb proximal phalanx
    4: 25.0,  # thumb distal phalanx + pulp
    5: 86.0,  # wrist -> index MCP (carpal offset 18 + metacarpal 68)
    6: 40.0,  # index proximal phalanx
    7: 22.0,  # index middle phalanx
    8: 19.0,  # index distal phalanx + pulp
    9: 83.0,  # wrist -> middle MCP (carpal offset 18 + metacarpal 65)
    10: 45.0,  # middle proximal phalanx
    11: 26.0,  # middle middle phalanx
    12: 20.0,  # middle distal phalanx + pulp
    13: 78.0,  # wrist -> ring MCP (carpal offset 20 + metacarpal 58)
    14: 41.0,  # ring proximal phalanx
    15: 26.0,  # ring middle phalanx
    16: 20.0,  # ring distal phalanx + pulp
    17: 74.0,  # wrist -> little MCP (carpal offset 20 + metacarpal 54)
    18: 33.0,  # little proximal phalanx
    19: 18.0,  # little middle phalanx
    20: 19.0,  # little distal phalanx + pulp
}
REFERENCE_BONE_LENGTHS_M: np.ndarray = np.array([_REFERENCE_BONES_MM[c] for _, c in BONES]) / 1000.0
REFERENCE_BONE_LENGTHS_M.setflags(write=False)

# Hand length of the reference skeleton: wrist -> middle MCP -> middle fingertip, fingers straight.
REFERENCE_HAND_LENGTH_M = float(sum(_REFERENCE_BONES_MM[c] for c in FINGER_CHAINS["middle"]) / 1000.0)
# Bone lengths divided by their mean: the population's proportions (unit mean bone length).
BONE_PROPORTIONS: np.ndarray = REFERENCE_BONE_LENGTHS_M / REFERENCE_BONE_LENGTHS_M.mean()
BONE_PROPORTIONS.setflags(write=False)
# mean bone length = MEAN_BONE_PER_HAND_LENGTH * hand length (0.225 for these proportions).
MEAN_BONE_PER_HAND_LENGTH = float(REFERENCE_BONE_LENGTHS_M.mean() / REFERENCE_HAND_LENGTH_M)


def mean_bone_from_hand_length(hand_length_m: float) -> float:
    """ScaleHP scale (mean bone length, m) of a hand whose wrist-crease-to-middle-fingertip length is given (m)."""
    return MEAN_BONE_PER_HAND_LENGTH * float(hand_length_m)


PRIOR_MEAN_BONE_M = mean_bone_from_hand_length(HAND_LENGTH_PRIOR_M)
