"""Mode collapse on 2-D Gaussian mixtures (ring-8, grid-25): each recipe over several seeds.

Protocol (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018): after training, 2,500 samples of
G (its EMA copy when the recipe has one) at a fixed z; a sample is high quality when its Euclidean
distance to the nearest mode centre is below 3 std; a mode is captured when at least one high-quality
sample is nearest to it; reverse KL is KL(high-quality mode histogram || uniform). The metric is
`gankit.metrics.modes.mode_metrics`.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gankit.bench.samplers import FAILED, SAMPLERS, sampler_metrics
from gankit.presets import MOG_BEST

N_SAMPLES = 2500
SAMPLE_SEED = 4242

BASE: dict[str, Any] = {
    "model.arch": "mlp", "model.z_dim": 16, "model.g_width": 128, "model.d_width": 128, "model.depth": 2,
    "model.d_norm": "none", "train.batch_size": 128, "train.g_lr": 1e-3, "train.d_lr": 1e-3, "train.beta1": 0.5,
    "train.threads": 1, "train.device": "cpu", "data.n_samples": 100000, "stab.monitor": False,
    "log.progress": False, "log.tensorboard": False,
}
DATASETS: dict[str, dict[str, Any]] = {"ring8": {"data.name": "ring8"}, "grid25": {"data.name": "grid25"}}


@dataclass(frozen=True)
class Recipe:
    label: str
    overrides: dict[str, Any] = field(default_factory=dict)
    steps: int = 4000  # generator updates on both mixtures
    samplers: tuple[str, ...] = ()  # also score the same trained run with these rejection samplers (rows "<name>+<s>")


RECIPES: dict[str, Recipe] = {
    "minimax": Recipe("GAN, minimax loss", {"train.loss": "minimax"}),
    "nonsat": Recipe("GAN, non-saturating loss", {"train.loss": "nonsat"}),
    "wgan-gp": Recipe("WGAN-GP (lambda 10, 5 critic steps, Adam 1e-4 (0.5, 0.9))",
                      {"train.loss": "wgan-gp", "train.n_critic": 5, "train.g_lr": 1e-4, "train.d_lr": 1e-4,
                       "train.beta2": 0.9}, 1000),
    "unrolled5": Recipe("Unrolled GAN, k = 5 (SGD unrolling, lr 1e-3)", {"stab.unrolled_k": 5}, 800),
    "minibatch": Recipe("Minibatch discrimination (5 kernels of dim 3)",
                        {"stab.minibatch_disc": 5, "stab.minibatch_disc_dim": 3}),
    "pacgan2": Recipe("PacGAN2", {"stab.pack": 2}),
    "pacgan4": Recipe("PacGAN4", {"stab.pack": 4}),
    "madgan": Recipe("MAD-GAN, k = 4 generators", {"stab.madgan_k": 4}, 3000),
    "gankit-best": Recipe("gankit best: PacGAN2, 2 D steps, linear lr decay to 0, EMA of G (0.99 from step 24,000), "
                          "z_dim 2, batch 256",
                          {k: v for k, v in MOG_BEST.items() if k != "train.steps"}, MOG_BEST["train.steps"],
                          samplers=("drs", "drs-rff")),
    # the fair rows: gankit-best at the baselines' budget, the two strongest baselines at gankit-best's
    "gankit-best-4k": Recipe("gankit best at the baselines' budget: 4,000 steps, batch 128, EMA from step 3,200",
                             {**{k: v for k, v in MOG_BEST.items() if k != "train.steps"},
                              "train.batch_size": 128, "stab.ema_start": 3200}, 4000),
    "minimax-30k": Recipe("GAN, minimax loss, at gankit-best's budget: 30,000 steps, batch 256",
                          {"train.loss": "minimax", "train.batch_size": 256}, MOG_BEST["train.steps"]),
    "pacgan2-30k": Recipe("PacGAN2 at gankit-best's budget: 30,000 steps, batch 256",
                          {"stab.pack": 2, "train.batch_size": 256}, MOG_BEST["train.steps"]),
}

FAIR_RECIPES = ("gankit-best-4k", "minimax-30k", "pacgan2-30k")  # run on request (--recipes): ~2 h more at 10 seeds
DEFAULT_RECIPES = [name for name in RECIPES if name not in FAIR_RECIPES]

# (source, method, ring-8 (modes, % high quality), grid-25 (modes, % high quality))
PUBLISHED = [
    ("VEEGAN Table 1", "GAN", (1, 99.3), (3.3, 0.5)),
    ("VEEGAN Table 1", "Unrolled GAN", (7.6, 35.6), (23.6, 16)),
    ("VEEGAN Table 1", "VEEGAN", (8, 52.9), (24.6, 40)),
    ("PacGAN Table 1", "GAN", (6.3, 98.2), (17.3, 94.8)),
    ("PacGAN Table 1", "PacGAN4", (7.8, 95.9), (24.8, 93.6)),
    ("GDPP", "GDPP-GAN", (8.0, 71.7), (24.8, 68.5)),
]


def recipe_config(name: str, dataset: str, seed: int, steps_scale: float = 1.0):
    """The full Config of one benchmark run."""
    from gankit.families.registry import apply_overrides, new_config

    r = RECIPES[name]
    steps = max(1, round(r.steps * steps_scale))
    over = {**BASE, **DATASETS[dataset], **r.overrides, "train.steps": steps, "train.seed": seed, "data.seed": seed}
    return apply_overrides(new_config(preset=f"mog-{name}"), over)


def run_one(job: tuple[str, str, int, float]) -> dict[str, Any]:
    """Train one (recipe, dataset, seed) and measure its samples; runs in a worker process."""
    import torch

    from gankit.metrics.modes import mode_metrics
    from gankit.families.gan import generate, sampler_module
    from gankit.run import build_trainer

    name, dataset, seed, scale = job
    cfg = recipe_config(name, dataset, seed, scale)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        trainer = build_trainer(cfg, Path(tmp), hooks=False)
        status = trainer.train()
    z = torch.randn(N_SAMPLES, cfg.model.z_dim, generator=torch.Generator().manual_seed(SAMPLE_SEED + seed))
    x = generate(sampler_module(trainer.models), z, batch_size=len(z)).double().numpy()  # one batch, as recorded
    ds = trainer.dataset.extra
    m = mode_metrics(x, ds["centers"], ds["std"]) if status == "finished" else FAILED
    row = {"recipe": name, "dataset": dataset, "seed": seed, "status": status, "seconds": time.perf_counter() - t0,
           "n_modes": len(ds["centers"]), **m}
    if status == "finished":
        for sampler in RECIPES[name].samplers:
            row[sampler] = sampler_metrics(sampler, trainer, seed, N_SAMPLES, SAMPLE_SEED + seed)
    return row


def with_sampler_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows plus one '<recipe>+<sampler>' row for every run that was also scored with a rejection sampler."""
    out = []
    for r in rows:
        plain = {k: v for k, v in r.items() if k not in SAMPLERS}
        out.append(plain)
        out += [{**plain, **r[name], "recipe": f"{r['recipe']}+{name}", "seconds": r["seconds"] + r[name]["seconds"]}
                for name in SAMPLERS if name in r]
    return out


def _recipe(name: str) -> Recipe:
    """A recipe by name; '<name>+<sampler>' is <name> sampled with that rejection sampler."""
    if "+" in name:
        base, sampler = name.split("+", 1)
        return Recipe(f"{RECIPES[base].label}, {SAMPLERS[sampler].label}", RECIPES[base].overrides, RECIPES[base].steps)
    return RECIPES[name]


def run_bench(recipes: list[str], datasets: list[str], seeds: int, workers: int, scale: float = 1.0,
              log=print, rows_path: Path | None = None, first_seed: int = 0) -> list[dict[str, Any]]:
    """Every (recipe, dataset, seed in first_seed..seeds-1), longest recipes first, in `workers` processes of one
    thread each. Each finished run is also appended to `rows_path` (JSONL), so an interrupted bench keeps its results
    and a later call with `first_seed` adds the missing seeds."""
    jobs = [(r, d, s, scale) for r in sorted(recipes, key=lambda r: -_cost(r)) for d in datasets
            for s in range(first_seed, seeds)]
    keep = _Keeper(log, rows_path)
    if workers <= 1:
        return [keep(run_one(j)) for j in jobs]
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        return [keep(r) for r in pool.map(run_one, jobs)]


class _Keeper:
    def __init__(self, log, path: Path | None):
        self.log, self.path = log, path

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        if self.path is not None:
            with open(self.path, "a") as f:
                f.write(json.dumps(row) + "\n")
        return _logged(row, self.log)


def _cost(name: str) -> float:
    r = RECIPES[name]
    heavy = {"stab.unrolled_k": 6.0, "train.n_critic": 2.0, "stab.madgan_k": 2.0}
    return r.steps * max([heavy[k] for k in heavy if r.overrides.get(k)] or [1.0])


def _logged(row: dict[str, Any], log) -> dict[str, Any]:
    log(f"[{time.strftime('%H:%M:%S')}] {row['recipe']:12s} {row['dataset']:7s} seed {row['seed']:2d}: {row['modes_captured']:4.1f}/{row['n_modes']} modes, "
        f"{row['high_quality_pct']:5.1f}% HQ, rKL {row['reverse_kl']:.3f}  ({row['seconds']:.0f} s)"
        + "".join(f"; +{s} {row[s]['modes_captured']:4.1f} modes, {row[s]['high_quality_pct']:5.1f}% HQ"
                  for s in SAMPLERS if s in row))
    return row


def mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and standard error (sample std / sqrt(n); 0 for one value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2 or not math.isfinite(mean):
        return mean, 0.0
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def summarize(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (recipe, dataset): mean/se of each metric, the seeds that reach all modes with >= 98% HQ."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for key in dict.fromkeys((r["recipe"], r["dataset"]) for r in rows):
        sel = [r for r in rows if (r["recipe"], r["dataset"]) == key]
        s = {m: mean_se([r[m] for r in sel]) for m in ("modes_captured", "high_quality_pct", "reverse_kl")}
        s["n"] = len(sel)
        s["goal"] = sum(r["modes_captured"] == r["n_modes"] and r["high_quality_pct"] >= 98.0 for r in sel)
        s["seconds"] = sum(r["seconds"] for r in sel)
        out[key] = s
    return out


def _fmt(ms: tuple[float, float], digits: int = 1) -> str:
    m, se = ms
    return f"{m:.{digits}f} ± {se:.{digits}f}" if math.isfinite(m) else "inf"


def _wall_line(wall_s: float, workers: int) -> str:
    where = f"{platform.machine()}, {mp.cpu_count()} logical CPUs shared with other jobs"
    if not math.isfinite(wall_s):
        return f"Total wall time: see the bench log (this report was rendered from saved rows; {where})."
    return f"Total wall time: {wall_s / 60:.1f} min with {workers} worker processes of one thread each ({where})."


def render_markdown(rows: list[dict[str, Any]], seeds: int, wall_s: float, workers: int, command: str,
                    scale: float = 1.0) -> str:
    rows = with_sampler_rows(rows)
    summ = summarize(rows)
    names = [n for base in RECIPES for n in (base, *(f"{base}+{s}" for s in SAMPLERS))]
    recipes = [name for name in names if any(r["recipe"] == name for r in rows)]
    lines = ["# Mode collapse on 2-D Gaussian mixtures (`gankit bench mog`)", "",
             f"Command: `{command}`  ", _wall_line(wall_s, workers), "",
             "## Protocol", "",
             "- Data: ring-8 (8 Gaussians on the unit circle, std 0.01) and grid-25 (5x5 grid spacing 2, std 0.05), "
             "100,000 training points per seed.",
             f"- {seeds} seeds per recipe and mixture (seed = network init, z stream, data draw). After training, "
             f"{N_SAMPLES:,} samples of G (G_ema when the recipe has EMA) at a fixed z.",
             "- High quality (HQ): Euclidean distance to the nearest mode centre < 3 std. A mode is captured when at "
             "least one HQ sample is nearest to it. Reverse KL: KL(HQ histogram over modes || uniform).",
             "- Values are mean ± standard error over seeds. 'goal' counts seeds with all modes captured and >= 98% HQ.",
             "- Networks (all recipes unless stated): MLP G and D, 2 hidden layers of 128 (ReLU / LeakyReLU 0.2), "
             "batch 128, Adam lr 1e-3, betas (0.5, 0.999), z_dim 16, non-saturating loss; each recipe's own overrides "
             "and step count are listed below. The baselines get a similar small compute budget each (4,000 steps, fewer for "
             "the costlier unrolled GAN, WGAN-GP and MAD-GAN steps: roughly 10-30 s of one CPU core per run); "
             "gankit-best trains 30,000 steps (2-3 min per run). The whole bench has to fit in an hour of 2 CPU cores.",
             "- Mean time per run (one thread) is in the 's/run' column.", "",
             "## Results", "",
             "| recipe | steps | s/run | ring-8 modes | ring-8 HQ % | ring-8 rKL | goal | grid-25 modes | grid-25 HQ % | "
             "grid-25 rKL | goal |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in recipes:
        runs = [r for r in rows if r["recipe"] == name]
        cells = [f"{_recipe(name).label} (`{name}`)", str(max(1, round(_recipe(name).steps * scale))),
                 f"{sum(r['seconds'] for r in runs) / len(runs):.0f}"]
        for ds in ("ring8", "grid25"):
            s = summ.get((name, ds))
            cells += [_fmt(s["modes_captured"]), _fmt(s["high_quality_pct"]), _fmt(s["reverse_kl"], 3),
                      f"{s['goal']}/{s['n']}"] if s else ["-"] * 4
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(_real_data_row())
    lines += ["", "The last row scores 2,500 samples of the mixture itself: a perfect generator gets about 98.9% HQ "
              "(for a 2-D isotropic Gaussian P(|x - mu| < 3 std) = 1 - exp(-4.5)), so the goal of >= 98% needs G's "
              "clusters to be about as tight as the data's.",
              "", "## Published rows (modes / % high quality)", "",
              "| source | method | ring-8 modes | ring-8 HQ % | grid-25 modes | grid-25 HQ % |",
              "| --- | --- | --- | --- | --- | --- |"]
    for src, method, ring, grid in PUBLISHED:
        lines.append(f"| {src} | {method} | {ring[0]} | {ring[1]} | {grid[0]} | {grid[1]} |")
    lines += ["", "The published numbers use the papers' own networks and much longer training, so they "
              "are a reference, not a like-for-like comparison.",
              "", "## Recipes", ""]
    for name in recipes:
        over = " ".join(f"--{k}={v}" for k, v in _recipe(name).overrides.items()) or "(base only)"
        lines.append(f"- `{name}`: {_recipe(name).label}; overrides `{over}`")
    for sampler, how in SAMPLERS.items():
        if any(n.endswith("+" + sampler) for n in recipes):
            lines += ["", how.explain]
    return "\n".join(lines) + "\n"


def _real_data_row() -> str:
    """The metrics of N_SAMPLES draws from each mixture itself (10 draws: mean ± standard error)."""
    import torch

    from gankit.data.toy import MIXTURES
    from gankit.metrics.modes import mode_metrics

    cells = ["real data (the mixture itself, 10 draws)", "-", "-"]
    for ds in ("ring8", "grid25"):
        mix = MIXTURES[ds]()
        ms = [mode_metrics(mix.sample(N_SAMPLES, torch.Generator().manual_seed(s)).double().numpy(), mix.centers,
                           mix.std) for s in range(10)]
        cells += [_fmt(mean_se([m[k] for m in ms]), d) for k, d in
                  (("modes_captured", 1), ("high_quality_pct", 1), ("reverse_kl", 3))]
        cells.append(f"{sum(m['modes_captured'] == mix.num_modes and m['high_quality_pct'] >= 98.0 for m in ms)}/10")
    return "| " + " | ".join(cells) + " |"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--first-seed", type=int, default=0,
                   help="run only seeds FIRST..SEEDS-1 (to add seeds to an earlier bench's --rows; the report "
                        "covers only this call's runs: render the whole file with --render)")
    p.add_argument("--workers", type=int, default=2, help="parallel processes (one torch thread each)")
    p.add_argument("--recipes", default=",".join(DEFAULT_RECIPES),
                   help=f"comma-separated subset of: {', '.join(RECIPES)} (default: all but {', '.join(FAIR_RECIPES)})")
    p.add_argument("--datasets", default="ring8,grid25")
    p.add_argument("--steps-scale", type=float, default=1.0, help="multiply every recipe's steps (quick checks)")
    p.add_argument("--out", default="docs/results/mog.md", help="markdown report ('-' = print only)")
    p.add_argument("--rows", default=None, help="append each run's result to this JSONL file as it finishes")
    p.add_argument("--render", metavar="ROWS_JSONL", default=None,
                   help="only write the report from the rows of an earlier (possibly unfinished) bench")


def main(args: argparse.Namespace) -> int:
    from gankit.errors import GankitError

    recipes, datasets = args.recipes.split(","), args.datasets.split(",")
    bad = [r for r in recipes if r not in RECIPES] + [d for d in datasets if d not in DATASETS]
    if bad or args.seeds < 1 or args.workers < 1 or not args.steps_scale > 0 or not 0 <= args.first_seed < args.seeds:
        raise GankitError(f"bench mog: unknown recipe/dataset {', '.join(bad) or '-'} (recipes: {', '.join(RECIPES)}; "
                          f"datasets: {', '.join(DATASETS)}); --seeds, --workers and --steps-scale must be positive, "
                          "--first-seed in [0, --seeds)")
    t0 = time.perf_counter()
    if args.render:
        rows = [json.loads(x) for x in Path(args.render).read_text().splitlines() if x.strip()]
        wall = float("nan")
    else:
        rows = run_bench(recipes, datasets, args.seeds, args.workers, args.steps_scale,
                         rows_path=Path(args.rows) if args.rows else None, first_seed=args.first_seed)
        wall = time.perf_counter() - t0
    command = (f"gankit bench mog --seeds {args.seeds} --workers {args.workers}"
               + (f" --first-seed {args.first_seed}" if args.first_seed else "")
               + (f" --recipes {args.recipes}" if recipes != DEFAULT_RECIPES else "")
               + (f" --datasets {args.datasets}" if datasets != list(DATASETS) else "")
               + (f" --steps-scale {args.steps_scale}" if args.steps_scale != 1.0 else ""))
    text = render_markdown(rows, args.seeds, wall, args.workers, command, args.steps_scale)
    print(text)
    if args.out != "-":
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        print(f"wrote {args.out} ({wall / 60:.1f} min)")
    return 0
