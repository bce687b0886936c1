"""Pose-error metrics in millimetres: camera space, root-aligned, Procrustes-aligned, PCK AUC, scale error,
and the mean absolute error along each camera axis (x right, y down, z = depth), camera space and wrist
aligned (the per-axis report of the ScaleHP paper)."""

from __future__ import annotations

import numpy as np

from scalehp_ros.common.joints import WRIST, mean_bone_length

AUC_MAX_MM = 50.0


def per_joint_errors_mm(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Euclidean error (N, 21) in mm between (N, 21, 3) predictions and ground truth in metres."""
    return 1000.0 * np.linalg.norm(pred - gt, axis=-1)


def root_aligned(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """pred translated so its wrist coincides with gt's (R-MPJPE alignment)."""
    return pred - pred[:, WRIST : WRIST + 1] + gt[:, WRIST : WRIST + 1]


def procrustes_aligned(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """pred after the similarity transform (rotation, translation, scale) that best fits gt (Umeyama)."""
    mp, mg = pred.mean(1, keepdims=True), gt.mean(1, keepdims=True)
    p, g = pred - mp, gt - mg
    U, S, Vt = np.linalg.svd(np.einsum("nji,njk->nik", p, g))
    d = np.sign(np.linalg.det(U @ Vt))
    D = np.ones_like(S)
    D[:, -1] = d
    R = U @ (D[:, :, None] * Vt)  # maps p onto g: p @ R
    scale = (S * D).sum(-1) / np.maximum((p**2).sum((1, 2)), 1e-18)
    return scale[:, None, None] * (p @ R) + mg


def auc(errors_mm: np.ndarray, max_mm: float = AUC_MAX_MM, steps: int = 101) -> float:
    """Area under the PCK curve over thresholds 0..max_mm, normalised to [0, 1]."""
    thresholds = np.linspace(0.0, max_mm, steps)
    pck = (errors_mm.reshape(-1)[None, :] <= thresholds[:, None]).mean(axis=1)
    return float(np.trapezoid(pck, thresholds) / max_mm)


def summarize(pred: np.ndarray, gt: np.ndarray, pred_scale: np.ndarray | None = None) -> dict[str, float]:
    """The standard report for (N, 21, 3) predictions vs ground truth, metres in, millimetres / % out."""
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    cs = per_joint_errors_mm(pred, gt)
    out = {
        "cs_mpjpe_mm": float(cs.mean()),
        "r_mpjpe_mm": float(per_joint_errors_mm(root_aligned(pred, gt), gt).mean()),
        "pa_mpjpe_mm": float(per_joint_errors_mm(procrustes_aligned(pred, gt), gt).mean()),
        "auc_50mm": auc(cs),
    }
    # per camera axis: where the error is (depth, z, is what a monocular metric estimate gets wrong)
    for prefix, aligned in (("", pred), ("r_", root_aligned(pred, gt))):
        mae = 1000.0 * np.abs(aligned - gt).mean(axis=(0, 1))
        for axis, value in zip("xyz", mae, strict=True):
            out[f"{prefix}{axis}_mae_mm"] = float(value)
    if pred_scale is not None:
        true_scale = mean_bone_length(gt)
        out["scale_error_pct"] = float(100.0 * np.mean(np.abs(np.asarray(pred_scale) - true_scale) / true_scale))
    return out
