#!/usr/bin/env python3
"""Train the canonical-pose lifter (scalehp_ros.perception.lifter) on the project's synthetic hands.

    python tools/train_lifter.py                # train, report validation error, do not write
    python tools/train_lifter.py --write        # also write data/models/lifter.npz and its SHA-256 into
                                                # scalehp_ros/perception/lifter.py (LIFTER_SHA256)

Deterministic: numpy data from fixed seeds, torch seeded, one thread, deterministic algorithms. On the same
torch build and CPU it rebuilds bit-for-bit (same SHA-256); elsewhere the weights agree within float32
rounding and the validation error within 0.5 % (checked by test/test_profile_lifter.py on a short run).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scalehp_ros.evaluation import synthetic  # noqa: E402
from scalehp_ros.perception import lifter as lifter_mod  # noqa: E402
from scalehp_ros.perception.camera import pixels_to_normalized, rotation_to_ray  # noqa: E402

SEED = 20251210
CHUNK = 10_000
PX_SIGMAS = (0.005, 0.01, 0.015, 0.02, 0.03)  # 2D noise (fraction of the hand's 2D diagonal), one per chunk


def rays_of(uv: np.ndarray, K: np.ndarray) -> np.ndarray:
    """The estimator's hand rays (canonical.hand_rays) for per-sample intrinsics: through the pixel box centre."""
    centre = 0.5 * (uv.min(axis=1) + uv.max(axis=1))
    c = pixels_to_normalized(centre[:, None], K)[:, 0]
    return np.concatenate((c, np.ones((len(c), 1))), axis=1)


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(features (n, F) float32, targets (n, 60) float32: canonical pose in the ray frame without the wrist)."""
    feats, targets = [], []
    for k in range(0, n, CHUNK):
        m = min(CHUNK, n - k)
        noise = dataclasses.replace(synthetic.TRAINING_NOISE, px_sigma_frac=PX_SIGMAS[(k // CHUNK) % len(PX_SIGMAS)])
        b = synthetic.generate(m, noise, seed=seed + k)
        xy = pixels_to_normalized(b.uv, b.K)
        rays = rays_of(b.uv, b.K)
        feats.append(lifter_mod.lifter_features(xy, rays, b.rel_detected))
        rel = b.joints_cam - b.joints_cam[:, :1]
        rel_ray = rel @ rotation_to_ray(rays)  # rows: R^T r, the ray frame
        targets.append(lifter_mod._unit_mean_bone(rel_ray)[:, 1:].reshape(m, -1))
    return np.concatenate(feats).astype(np.float32), np.concatenate(targets).astype(np.float32)


def train(samples: int, epochs: int, hidden: int, seed: int, log=print) -> tuple[dict[str, np.ndarray], float]:
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    x, y = make_data(samples, seed)
    xv, yv = make_data(10_000, seed + 10_000_000)
    mean, std = x.mean(0), x.std(0) + 1e-6
    det_idx = slice(x.shape[1] - 60, x.shape[1])
    X, Y = torch.from_numpy((x - mean) / std), torch.from_numpy(y - x[:, det_idx])
    Xv = torch.from_numpy((xv - mean) / std)
    net = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, 60),
    )
    batch = 512
    steps = epochs * (samples // batch)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(seed)

    def val_error() -> float:
        with torch.no_grad():
            pred = net(Xv).numpy() + xv[:, det_idx]
        return float(np.linalg.norm((pred - yv).reshape(-1, 20, 3), axis=-1).mean())

    t0 = time.time()
    for epoch in range(epochs):
        perm = torch.randperm(samples, generator=gen)
        for i in range(samples // batch):
            idx = perm[i * batch : (i + 1) * batch]
            err = (net(X[idx]) - Y[idx]).reshape(-1, 20, 3)
            loss = torch.sqrt((err**2).sum(-1) + 1e-8).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        elapsed = time.time() - t0
        log(f"epoch {epoch + 1}/{epochs}: train {loss.item():.4f}, val {val_error():.4f} (mean bone), {elapsed:.0f} s")
    weights = {"mean": mean, "std": std}
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    for k, lin in enumerate(linears):
        weights[f"w{k}"] = lin.weight.detach().numpy().astype(np.float32)
        weights[f"b{k}"] = lin.bias.detach().numpy().astype(np.float32)
    det_err = float(np.linalg.norm((xv[:, det_idx] - yv).reshape(-1, 20, 3), axis=-1).mean())
    log(f"validation: lifter {val_error():.4f}, detector's canonical {det_err:.4f} (mean joint error, unit mean bone)")
    return weights, val_error()


def write(weights: dict[str, np.ndarray], path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, **weights)  # plain arrays, no pickle; np.savez writes no timestamps into the zip members
    digest = lifter_mod.sha256_of(path)
    src = ROOT / "scalehp_ros" / "perception" / "lifter.py"
    text = re.sub(r'LIFTER_SHA256 = "[0-9a-f]*"', f'LIFTER_SHA256 = "{digest}"', src.read_text())
    src.write_text(text)
    return digest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--write", action="store_true", help="write data/models/lifter.npz and its SHA-256")
    args = parser.parse_args(argv)
    weights, _ = train(args.samples, args.epochs, args.hidden, args.seed)
    if args.write:
        digest = write(weights, ROOT.joinpath(*lifter_mod.LIFTER_FILE))
        print(f"wrote {ROOT.joinpath(*lifter_mod.LIFTER_FILE)} sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
