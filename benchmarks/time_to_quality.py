"""Time to quality: training time until FID[fashion-cnn] first reaches thresholds, gankit vs the plain script.

    python benchmarks/time_to_quality.py --steps 4000 --every 250 --threads 1 \\
        --arm gankit --arm "gankit-ema=stab.ema=0.999" [--rows docs/results/time_to_quality_rows.jsonl]

Arms: `reference` (benchmarks/reference_dcgan.py, always run) and gankit's dcgan-fashion preset, plain
(`gankit`) or with dotted overrides (`NAME=key=value,key=value`). Every arm trains on the same tensor (gankit's
loaded Fashion-MNIST), seed 0, and every `--every` steps writes G's samples at one fixed z (2,000 draws of
N(0, I), seed 4242 drawn as gankit's hooks draw them; eval-mode G, gankit's G_ema when the arm has EMA) and its
training time so far, the snapshot itself not counted (wall and process CPU time; gankit's own hooks run at
their default intervals and count). After training, every snapshot is scored as gankit's FID hook scores:
FID[fashion-cnn] of the 2,000 samples against the first 2,000 training images.

The arms run at the same time, one process each with `--threads` torch threads; on a shared machine the
process CPU time (one thread) is the robust clock and is what the table reports, with wall time beside it.
Prints a markdown table and appends one JSON row per arm to --rows; `--no-reference` adds arms to an earlier
run's rows and `--render ROWS` prints the table of every arm in a rows file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
N_EVAL, EVAL_SEED = 2000, 4242
THRESHOLDS = (25.0, 20.0)


def gankit_child(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    from gankit.core.loop import HookBase
    from gankit.families.gan import generate, sampler_module
    from gankit.families.registry import apply_overrides
    from gankit.presets import preset_config
    from gankit.run import build_trainer

    z = torch.from_numpy(np.load(args.snap_z))
    out = Path(args.snap_dir)

    class Snap(HookBase):
        paused_wall = paused_cpu = 0.0

        def before_train(self) -> None:
            self.wall0, self.cpu0 = time.perf_counter(), time.process_time()

        def after_step(self) -> None:
            t = self.trainer
            if t.step % args.every:
                return
            w, c = time.perf_counter(), time.process_time()
            np.save(out / f"step_{t.step}.npy", generate(sampler_module(t.models), z).numpy())
            row = {"step": t.step, "wall_s": w - self.wall0 - self.paused_wall, "cpu_s": c - self.cpu0 - self.paused_cpu}
            with open(out / "times.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")
            self.paused_wall += time.perf_counter() - w
            self.paused_cpu += time.process_time() - c

    over = dict(kv.split("=", 1) for kv in args.overrides.split(",") if kv)
    with tempfile.TemporaryDirectory() as tmp:
        base = {"train.steps": args.steps, "log.progress": False, "log.out_dir": tmp, "train.seed": 0,
                "train.threads": args.threads}
        cfg = apply_overrides(preset_config("dcgan-fashion"), {**base, **over})
        trainer = build_trainer(cfg, Path(tmp) / "run")
        snap = Snap()
        snap.trainer = trainer
        trainer.hooks.insert(0, snap)  # first: its own time is taken out before the other hooks run
        trainer.train()


def write_inputs(tmp: Path) -> tuple[Path, Path]:
    import numpy as np
    import torch

    from gankit.data import build_dataset
    from gankit.presets import preset_config

    data, z = tmp / "fashion.npy", tmp / "z.npy"
    np.save(data, build_dataset(preset_config("dcgan-fashion").data).x.numpy())
    g = torch.Generator().manual_seed(EVAL_SEED)  # as gankit.families.gan.generate_seeded draws z
    np.save(z, torch.cat([torch.randn(500, 100, generator=g) for _ in range(N_EVAL // 500)]).numpy())
    return data, z


def score(snap_dir: Path) -> list[dict]:
    """FID[fashion-cnn] of every snapshot against the first 2,000 training images, with its times."""
    import numpy as np
    import torch

    from gankit.data import build_dataset
    from gankit.metrics import evaluate as ev
    from gankit.presets import preset_config

    cfg = preset_config("dcgan-fashion")
    real = build_dataset(cfg.data).x[:N_EVAL]
    extractor = ev.make_extractor("auto", tuple(real.shape[1:]))
    real_stats = ev.real_stats(real, cfg.data, extractor, use_cache=False)
    rows = []
    for line in (snap_dir / "times.jsonl").read_text().splitlines():
        row = json.loads(line)
        fake = torch.from_numpy(np.load(snap_dir / f"step_{row['step']}.npy"))
        row.update(ev.evaluate(fake, real_stats, ["fid"], extractor))
        rows.append(row)
    return rows


def first_reach(rows: list[dict], threshold: float) -> dict | None:
    fid_key = next(k for k in rows[0] if k.startswith("FID"))
    return next((r for r in rows if r[fid_key] <= threshold), None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--every", type=int, default=250)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--arm", action="append", default=[], help="gankit | NAME=key=value,key=value")
    ap.add_argument("--rows", default="")
    ap.add_argument("--no-reference", action="store_true", help="skip the reference arm (it is in --rows already)")
    ap.add_argument("--render", default="", help="only print the table of an earlier --rows file (all its arms)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--overrides", default="", help=argparse.SUPPRESS)
    ap.add_argument("--snap-z", default="", help=argparse.SUPPRESS)
    ap.add_argument("--snap-dir", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        gankit_child(args)
        return 0
    if args.render:
        rows = [json.loads(line) for line in Path(args.render).read_text().splitlines()]
        results = {r["arm"]: r["snapshots"] for r in rows}
        args.steps, args.every, args.threads = (max(r[k] for r in rows) for k in ("steps", "every", "threads"))
        print(table(results, args))
        return 0
    arms = {} if args.no_reference else {"reference": None}
    for spec in args.arm or ["gankit"]:
        name, _, over = spec.partition("=")
        arms[name] = over
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data, z = write_inputs(tmp)
        procs = {}
        for name, over in arms.items():
            d = tmp / name
            d.mkdir()
            snap = ["--snap-every" if over is None else "--every", str(args.every), "--snap-z", str(z),
                    "--snap-dir", str(d)]
            if over is None:
                cmd = [sys.executable, str(HERE / "reference_dcgan.py"), "--data", str(data), "--warmup", "0",
                       "--steps", str(args.steps), "--threads", str(args.threads), *snap]
            else:
                cmd = [sys.executable, __file__, "--child", "--steps", str(args.steps), "--threads",
                       str(args.threads), "--overrides", over, *snap]
            procs[name] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        for name, p in procs.items():
            if p.wait() != 0:
                raise SystemExit(f"arm {name} failed with exit code {p.returncode}")
        results = {name: score(tmp / name) for name in arms}
    print(table(results, args))
    if args.rows:
        with open(args.rows, "a") as f:
            for name, rows in results.items():
                f.write(json.dumps({"arm": name, "overrides": arms[name], "steps": args.steps, "every": args.every,
                                    "threads": args.threads, "snapshots": rows}) + "\n")
    return 0


def table(results: dict[str, list[dict]], args: argparse.Namespace) -> str:
    head = "| arm | " + " | ".join(f"FID ≤ {t:g}: step, CPU s (wall s) | ratio reference/arm" for t in THRESHOLDS)
    lines = [f"time to FID[fashion-cnn] (2,000 samples), {args.steps} steps, snapshots every {args.every}, "
             f"{args.threads} thread(s)", "", head + " | best FID (step) |",
             "|---" * (2 * len(THRESHOLDS) + 2) + "|"]
    ref = {t: first_reach(results["reference"], t) if "reference" in results else None for t in THRESHOLDS}
    for name, rows in results.items():
        cells = []
        for t in THRESHOLDS:
            hit = first_reach(rows, t)
            cells.append("not reached" if hit is None else f"{hit['step']}, {hit['cpu_s']:.0f} ({hit['wall_s']:.0f})")
            cells.append("—" if hit is None or ref[t] is None else f"{ref[t]['cpu_s'] / hit['cpu_s']:.2f}")
        key = next(k for k in rows[0] if k.startswith("FID"))
        best = min(rows, key=lambda r: r[key])
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {best[key]:.2f} ({best['step']}) |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
