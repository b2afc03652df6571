"""A plain DCGAN training script — the textbook loop (PyTorch's DCGAN example / PyTorch-GAN style), no gankit
imports — with gankit's dcgan-fashion architecture and optimiser, for side-by-side speed comparisons.

    python benchmarks/reference_dcgan.py --data images.npy --steps 300 --warmup 20 [--threads 2] [--device cpu]

`images.npy`: float32 (N, 1, 28, 28) in [-1, 1] (benchmarks/compare_reference.py writes gankit's loaded
Fashion-MNIST there, so both train on the same tensor). Prints one JSON line: img/s over the timed steps (real
images shown to D per second), seconds per step and peak memory. With `--snap-every N --snap-z z.npy --snap-dir D`
(benchmarks/time_to_quality.py) it also writes, every N steps, G's samples at the fixed z (eval mode, chunks of
500, as gankit's hooks) to D/step_N.npy and a line of cumulative training time (wall and process CPU, the
snapshots themselves not counted) to D/times.jsonl. The loop: shuffle each epoch, one D step on real
vs G(z).detach() with BCE-with-logits, one G step on the same fakes (non-saturating), Adam 2e-4, betas (0.5, 0.999).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def generator(z_dim: int = 100, width: int = 64) -> nn.Module:
    return nn.Sequential(
        nn.Unflatten(1, (z_dim, 1, 1)),
        nn.ConvTranspose2d(z_dim, width * 2, 7, 1, 0, bias=False), nn.BatchNorm2d(width * 2), nn.ReLU(True),
        nn.ConvTranspose2d(width * 2, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(True),
        nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh())


def discriminator(width: int = 64) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2), nn.LeakyReLU(0.2),
        nn.Conv2d(width * 2, 1, 7, 1, 0), nn.Flatten(0))


def init(m: nn.Module) -> None:
    for mod in m.modules():
        if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(mod.weight, 0.0, 0.02)
            if mod.bias is not None:
                nn.init.zeros_(mod.bias)
        elif isinstance(mod, nn.BatchNorm2d):
            nn.init.normal_(mod.weight, 1.0, 0.02)
            nn.init.zeros_(mod.bias)


class Snapshots:
    """G's samples at a fixed z every N steps, and the training time spent so far (snapshots excluded)."""

    def __init__(self, args: argparse.Namespace, G: nn.Module):
        self.dir, self.G = Path(args.snap_dir), G
        self.z = torch.from_numpy(np.load(args.snap_z))
        self.paused_wall = self.paused_cpu = 0.0
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()

    @torch.no_grad()
    def take(self, step: int) -> None:
        w, c = time.perf_counter(), time.process_time()
        self.G.eval()
        dev = next(self.G.parameters()).device
        x = torch.cat([self.G(self.z[i:i + 500].to(dev)).cpu() for i in range(0, len(self.z), 500)])
        self.G.train()
        np.save(self.dir / f"step_{step}.npy", x.numpy())
        row = {"step": step, "wall_s": w - self.wall0 - self.paused_wall, "cpu_s": c - self.cpu0 - self.paused_cpu}
        with open(self.dir / "times.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        self.paused_wall += time.perf_counter() - w
        self.paused_cpu += time.process_time() - c


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--snap-every", type=int, default=0)
    ap.add_argument("--snap-z", default="")
    ap.add_argument("--snap-dir", default="")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    data = torch.from_numpy(np.load(args.data)).to(dev)
    G, D = generator().to(dev), discriminator().to(dev)
    init(G)
    init(D)
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    b, n = args.batch_size, len(data)
    perm, pos = torch.randperm(n, device=dev), 0
    t0 = 0.0
    snap = Snapshots(args, G) if args.snap_every else None
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        if pos + b > n:
            perm, pos = torch.randperm(n, device=dev), 0
        real = data[perm[pos:pos + b]]
        pos += b
        fake = G(torch.randn(b, 100, device=dev))
        real_logits, fake_logits = D(real), D(fake.detach())
        loss_d = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                  + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        logits = D(fake)
        loss_g = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        if snap is not None and (step + 1) % args.snap_every == 0:
            snap.take(step + 1)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    print(json.dumps({"impl": "reference", "img_per_s": args.steps * b / dt, "s_per_step": dt / args.steps,
                      "steps": args.steps, "batch": b, "threads": torch.get_num_threads(), "device": str(dev),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "loss_d": loss_d.item(), "loss_g": loss_g.item()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
