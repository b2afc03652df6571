"""Step-time overhead of each stabilizer relative to plain training, measured in the same run.

DCGAN on a Fashion-MNIST subset (small widths, CPU). Each configuration is timed in interleaved
rounds (plain, A, B, ..., plain, A, B, ...) so that load from other processes hits all of them alike;
the ratio is the median step time of a configuration over the median of plain training.

    .venv/bin/python benchmarks/stabilizer_overhead.py [--rounds 5] [--steps 10] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from gankit.families.registry import apply_overrides
from gankit.presets import preset_config
from gankit.run import build_trainer

BASE = {"data.limit": 1024, "model.z_dim": 32, "model.g_width": 16, "model.d_width": 16, "train.batch_size": 64,
        "train.device": "cpu", "stab.monitor": False, "log.progress": False, "log.tensorboard": False}

CONFIGS: dict[str, dict] = {
    "plain (DCGAN, non-saturating)": {},
    "spectral norm D": {"stab.spectral_norm_d": True},
    "spectral norm D+G": {"stab.spectral_norm_d": True, "stab.spectral_norm_g": True},
    "one-sided label smoothing 0.9": {"stab.label_smooth": 0.9},
    "random labels + flip 0.05": {"stab.real_label_range": "0.7,1.2", "stab.fake_label_range": "0,0.3",
                                  "stab.flip_prob": 0.05},
    "instance noise 0.1 (annealed)": {"stab.instance_noise": 0.1, "stab.instance_noise_anneal_steps": 10000},
    "G noise 0.1 + dropout 0.1": {"stab.g_noise": 0.1, "stab.g_dropout": 0.1},
    "R1 (gamma 1)": {"stab.r1_gamma": 1.0},
    "EMA of G (0.999)": {"stab.ema": 0.999},
    "lr decay (cosine)": {"stab.lr_decay": "cosine"},
    "minibatch discrimination (5x5)": {"stab.minibatch_disc": 5},
    "minibatch stddev": {"stab.mbstd": True},
    "PacGAN2": {"stab.pack": 2},
    "PacGAN4": {"stab.pack": 4},
    "unrolled k=5 (SGD)": {"stab.unrolled_k": 5},
    "MAD-GAN k=4": {"stab.madgan_k": 4},
    "MRGAN (recon 0.5, mode 0.1)": {"stab.mrgan_recon": 0.5, "stab.mrgan_mode": 0.1},
}


def make_trainer(over: dict, tmp: Path):
    cfg = apply_overrides(preset_config("dcgan-fashion"), {**BASE, **over, "train.steps": 10**9})
    return build_trainer(cfg, tmp, hooks=False)


def time_steps(trainer, n: int) -> float:
    """Seconds per step over n steps."""
    t0 = time.perf_counter()
    for _ in range(n):
        trainer.run_step()
        trainer.step += 1
        for h in trainer.hooks:
            h.after_step()
    return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        trainers = {name: make_trainer(over, Path(tmp) / str(i)) for i, (name, over) in enumerate(CONFIGS.items())}
        for tr in trainers.values():
            tr.status = "running"
            for h in tr.hooks:
                h.before_train()
            time_steps(tr, 2)  # warm-up
        times: dict[str, list[float]] = {name: [] for name in trainers}
        for _ in range(args.rounds):
            for name, tr in trainers.items():
                times[name].append(time_steps(tr, args.steps))
    plain = statistics.median(times["plain (DCGAN, non-saturating)"])
    print(f"| stabilizer | ms/step (median of {args.rounds} x {args.steps} steps) | ratio to plain |")
    print("| --- | --- | --- |")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {1000 * med:.1f} | {med / plain:.2f} |")


if __name__ == "__main__":
    main()
