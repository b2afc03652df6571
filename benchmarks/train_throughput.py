"""Training throughput of a preset: real images shown to D per second, and peak memory.

    .venv/bin/python benchmarks/train_throughput.py [PRESET] [--steps 200] [--warmup 20] [--device auto] [--set K=V]

Prints one markdown table row. Hooks are off (no logging, samples or checkpoints), so this is the step cost alone.
"""

from __future__ import annotations

import argparse
import platform
import resource
import tempfile
import time

import torch

from gankit.families.registry import apply_overrides
from gankit.presets import preset_config
from gankit.run import build_trainer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("preset", nargs="?", default="dcgan-fashion")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--set", action="append", default=[], help="KEY=VALUE config override, e.g. train.amp=bf16")
    args = ap.parse_args()
    over = {"train.device": args.device, **dict(kv.split("=", 1) for kv in args.set)}
    if args.batch_size:
        over["train.batch_size"] = args.batch_size
    cfg = apply_overrides(preset_config(args.preset), over)
    with tempfile.TemporaryDirectory() as tmp:
        t = build_trainer(cfg, tmp, hooks=False)
        for _ in range(args.warmup):
            t.run_step()
        sync = torch.cuda.synchronize if t.device.type == "cuda" else (lambda: None)
        sync()
        t0 = time.perf_counter()
        for _ in range(args.steps):
            t.run_step()
        sync()
        dt = time.perf_counter() - t0
    imgs = args.steps * cfg.train.batch_size * cfg.train.n_critic
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    dev = torch.cuda.get_device_name(t.device) if t.device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    gpu_mb = torch.cuda.max_memory_allocated(t.device) / 2**20 if t.device.type == "cuda" else float("nan")
    print("| preset | overrides | device | batch | steps | img/s | s/epoch (60k) | peak RSS MB | peak GPU MB | torch |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(f"| {args.preset} | {' '.join(args.set) or '-'} | {dev} | {cfg.train.batch_size} | {args.steps} | {imgs / dt:.0f} | {60000 / (imgs / dt):.0f} "
          f"| {rss_mb:.0f} | {gpu_mb:.0f} | {torch.__version__} ({platform.machine()}) |")


if __name__ == "__main__":
    main()
