"""gankit's dcgan-fashion step vs the plain reference script (benchmarks/reference_dcgan.py), interleaved.

    python benchmarks/compare_reference.py --rounds 2 --steps 300 --warmup 20 --threads 2 [--device cpu]

Both train on the same tensor (gankit's loaded Fashion-MNIST, written once to a temporary .npy), with the same
architecture, optimiser, batch (64), threads and device, in fresh processes run A B A B ... so that machine load
drifts hit both alike. gankit runs `gankit.run.build_trainer` with its hooks at their default intervals (logging
every 50 steps to JSONL + TensorBoard, a sample grid every 500, checkpoints every 500; the progress bar off); the
timed window is steps warmup..warmup+steps. Prints one JSON line per run and the ratio gankit / reference of the
median img/s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent


def gankit_child(args: argparse.Namespace) -> None:
    import resource

    import torch

    from gankit.core.loop import HookBase
    from gankit.families.registry import apply_overrides
    from gankit.presets import preset_config
    from gankit.run import build_trainer

    class Clock(HookBase):
        def after_step(self) -> None:
            if self.trainer.step == args.warmup:
                if self.trainer.device.type == "cuda":
                    torch.cuda.synchronize()
                self.t0 = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        over = {"train.steps": args.warmup + args.steps, "train.device": args.device, "log.progress": False,
                "log.out_dir": tmp, "train.seed": 0, **({"train.threads": args.threads} if args.threads else {}),
                **dict(kv.split("=", 1) for kv in args.set)}
        cfg = apply_overrides(preset_config("dcgan-fashion"), over)
        trainer = build_trainer(cfg, Path(tmp) / "run")
        clock = Clock()
        trainer.hooks.insert(0, clock)  # before the others: the window starts when step `warmup` is done
        clock.trainer = trainer
        trainer.train()
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - clock.t0
    b = cfg.train.batch_size
    print(json.dumps({"impl": "gankit", "img_per_s": args.steps * b / dt, "s_per_step": dt / args.steps,
                      "steps": args.steps, "batch": b, "threads": torch.get_num_threads(), "device": args.device,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def write_data(path: Path) -> None:
    import numpy as np

    from gankit.data import build_dataset
    from gankit.presets import preset_config

    np.save(path, build_dataset(preset_config("dcgan-fashion").data).x.numpy())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a dotted override for the gankit arm (repeatable), e.g. model.g_reuse_fakes=true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        gankit_child(args)
        return 0
    common = ["--steps", str(args.steps), "--warmup", str(args.warmup), "--threads", str(args.threads),
              "--device", args.device]
    sets = [a for kv in args.set for a in ("--set", kv)]
    rows: dict[str, list[float]] = {"gankit": [], "reference": []}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "fashion.npy"
        write_data(data)
        for _ in range(args.rounds):
            for impl, cmd in (("gankit", [sys.executable, __file__, "--child", *common, *sets]),
                              ("reference", [sys.executable, str(HERE / "reference_dcgan.py"), "--data", str(data),
                                             *common])):
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
                print(out, flush=True)
                rows[impl].append(json.loads(out)["img_per_s"])
    ratio = statistics.median(rows["gankit"]) / statistics.median(rows["reference"])
    print(json.dumps({"ratio_gankit_over_reference": ratio, **{f"{k}_img_per_s": v for k, v in rows.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
