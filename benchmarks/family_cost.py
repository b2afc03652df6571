"""Step time and peak memory of each translation family at its preset's size (issue 11's cost table).

    python benchmarks/family_cost.py --steps 30 --warmup 5 --photos ../shared/data/sr/CBSD68 > docs/results/family_cost_rows.jsonl

Each preset runs in its own process (so peak RSS is that family's alone): the trainer is built without hooks
(no logging, samples or checkpoints), `warmup` steps are run and discarded, then `steps` steps are timed. One
JSON row per preset: seconds per step, images per second (batch / s_per_step), the peak resident memory of the
process (MB, includes the data set held in memory) and the parameter count of each module.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PRESETS = ["pix2pix-edges", "pix2pixhd-edges", "pix2pix-colorize", "cyclegan-edges", "stargan-fashion",
           "dcgan-fashion"]


def measure(preset: str, steps: int, warmup: int, threads: int, overrides: dict) -> dict:
    import torch

    from gankit.families.registry import apply_overrides
    from gankit.presets import preset_config
    from gankit.run import build_trainer

    with tempfile.TemporaryDirectory() as tmp:
        cfg = apply_overrides(preset_config(preset), {**overrides, "train.threads": threads, "log.out_dir": tmp})
        trainer = build_trainer(cfg, Path(tmp) / "run", hooks=False)
        for _ in range(warmup):
            trainer.run_step()
            trainer.step += 1
        t0 = time.perf_counter()
        for _ in range(steps):
            trainer.run_step()
            trainer.step += 1
        s = (time.perf_counter() - t0) / steps
    params = {k: sum(p.numel() for p in m.parameters()) for k, m in trainer.models.items()
              if isinstance(m, torch.nn.Module)}
    return {"preset": preset, "overrides": overrides, "batch": cfg.train.batch_size,
            "shape": list(trainer.spec.fields[trainer.spec.main]),
            "s_per_step": s, "img_per_s": cfg.train.batch_size / s, "threads": threads, "steps": steps,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "params": params}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default=",".join(PRESETS))
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], help="KEY=VALUE override for every preset")
    ap.add_argument("--photos", default=None, help="data.root of pix2pix-colorize (a folder of colour photos)")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # the child process: measure one preset
    args = ap.parse_args()
    over = dict(kv.split("=", 1) for kv in args.set)
    if args.one:
        print(json.dumps(measure(args.one, args.steps, args.warmup, args.threads, over)))
        return 0
    for preset in args.presets.split(","):
        sets = [*args.set, *([f"data.root={args.photos}"] if preset == "pix2pix-colorize" and args.photos else [])]
        cmd = [sys.executable, __file__, "--one", preset, "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--threads", str(args.threads), *[f"--set={kv}" for kv in sets]]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        print(out.strip().splitlines()[-1], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
