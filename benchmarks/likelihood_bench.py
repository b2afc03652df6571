"""GANs beside likelihood models on Fashion-MNIST: DCGAN, WGAN-GP, VAE, VAE-GAN, PixelCNN, each trained from its
preset for the same CPU-time budget (one torch thread), then scored the same way.

    nice -n 10 python benchmarks/likelihood_bench.py --minutes 3 --n-nll 2000 --out /tmp/lbench \\
        --rows docs/results/likelihood_rows.jsonl [--models VAE,PixelCNN]
    python benchmarks/likelihood_bench.py --render docs/results/likelihood_rows.jsonl \\
        --figure docs/images/likelihood_samples.png --out /tmp/lbench

Per model: train (train.threads=1, stopped after --minutes of the process's CPU time, checkpointed; CPU time,
not wall-clock, because the machine is shared), then
- CPU time to sample: `n_time` samples through the family's sampler (the path `gankit sample` and `gankit eval`
  use), scaled linearly to 1,000 (the samplers work in batches; PixelCNN's pixel loop is linear in batches);
- FID[fashion-cnn] and precision/recall (k=3, fashion-cnn features) of --n-fid samples against the 10,000 test
  images, and FID at --n-small samples for every model (PixelCNN is only sampled that many: its pixel loop
  costs too much CPU for 1,000);
- test NLL (first --n-nll test images) for VAE (IWAE bound, k = model.iwae_k) and PixelCNN (exact), in nats
  per image and bits/dim;
- parameter count. Rows are appended to a JSONL file as they finish.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

MODELS = {  # name -> (preset, CPU-budget overrides)
    "DCGAN": ("dcgan-fashion", {}),
    "WGAN-GP": ("wgan-gp-fashion", {}),
    "VAE": ("vae-fashion", {}),
    "VAE-GAN": ("vaegan-fashion", {}),
    "PixelCNN": ("pixelcnn-fashion", {"model.width": 16, "model.blocks": 3, "model.likelihood": "logistic",
                                      "train.batch_size": 32}),
}
QUIET = {"log.progress": False, "log.tensorboard": False, "log.sample_every": 0, "log.ckpt_every": 10 ** 9,
         "stab.monitor": False, "train.threads": 1, "train.steps": 10 ** 7}


def train_for(name: str, minutes: float, out: Path, data_root: str | None):
    from gankit.core.loop import HookBase
    from gankit.families.registry import apply_overrides
    from gankit.presets import preset_config
    from gankit.run import build_trainer

    preset, over = MODELS[name]
    cfg = apply_overrides(preset_config(preset), {**QUIET, **over, "log.out_dir": str(out), "log.name": name,
                                                  **({"data.root": data_root} if data_root else {})})
    trainer = build_trainer(cfg, out / name)

    class CPULimit(HookBase):  # CPU time of this process (one torch thread), not wall-clock: the machine is shared
        def before_train(self):
            self.t0 = time.process_time()

        def after_step(self):
            if time.process_time() - self.t0 > minutes * 60:
                self.trainer._on_signal(15, None)  # stop like Ctrl-C: the checkpoint is written

    trainer.register(CPULimit())
    t0, c0 = time.perf_counter(), time.process_time()
    trainer.train()
    return cfg, time.process_time() - c0, time.perf_counter() - t0, trainer.step, preset, over


def score(name: str, run: Path, n_fid: int, n_small: int, n_nll: int, data_root: str | None) -> dict:
    import numpy as np
    import torch

    from gankit.config import DataConfig
    from gankit.families.registry import family_of
    from gankit.metrics import evaluate as ev
    from gankit.metrics.likelihood import nll
    from gankit.sample import load_models

    torch.manual_seed(0)
    models, cfg, _ = load_models(run)
    family = family_of(cfg)
    n_time = n_small if cfg.model.family == "pixelcnn" else n_fid
    t0, c0 = time.perf_counter(), time.process_time()
    fake = family.sample(models, n_time, 0)
    sample_s, sample_wall = time.process_time() - c0, time.perf_counter() - t0
    np.savez_compressed(run / "samples.npz", samples=fake[:64].numpy())
    real_x, real_cfg, _ = ev.load_real(DataConfig(name="fashion-mnist", root=data_root), "test", 10000)
    extractor = ev.make_extractor("fashion-cnn", tuple(real_x.shape[1:]))
    real = ev.real_stats(real_x, real_cfg, extractor)
    row = {"sample_1000_s": sample_s / n_time * 1000, "sample_1000_wall_s": sample_wall / n_time * 1000,
           "n_timed": n_time,
           "params": sum(p.numel() for m in models.values() for p in m.parameters())}
    if n_time >= n_fid:
        row.update(ev.evaluate(fake[:n_fid], real, ["fid", "pr"], extractor, seed=0))
    row[f"FID@{n_small}"] = ev.evaluate(fake[:n_small], real, ["fid"], extractor, seed=0)["FID[fashion-cnn]"]
    if cfg.model.family in ("vae", "pixelcnn"):
        r = nll(models, cfg, "test", n_nll, seed=0)
        row.update(nll_nats=r["nll_nats"], bits_per_dim=r["bits_per_dim"], n_nll=r["n"],
                   **({"nelbo_nats": r["nelbo"]} if "nelbo" in r else {}))
    return row


def render(rows: list[dict]) -> str:
    cols = [("FID[fashion-cnn]", "FID@1000", "{:.1f}"), ("FID@200", "FID@200", "{:.1f}"),
            ("precision[fashion-cnn]", "precision", "{:.3f}"), ("recall[fashion-cnn]", "recall", "{:.3f}"),
            ("nll_nats", "test NLL (nats)", "{:.1f}"), ("bits_per_dim", "bits/dim", "{:.3f}"),
            ("sample_1000_s", "CPU s per 1,000 samples", "{:.1f}"), ("train_s", "train CPU s", "{:.0f}"),
            ("steps", "steps", "{}"), ("params", "params", "{:,}")]
    head = "| model | " + " | ".join(c[1] for c in cols) + " |"
    lines = [head, "|" + " --- |" * (len(cols) + 1)]
    for r in rows:
        cells = [c[2].format(r[c[0]]) if r.get(c[0]) is not None else "—" for c in cols]
        lines.append(f"| {r['model']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def figure(rows: list[dict], out: Path, path: Path, n: int = 16) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from gankit import viz

    import torch

    fig, axes = plt.subplots(len(rows), 1, figsize=(n * 0.5, len(rows) * 0.75))
    for ax, r in zip(np.atleast_1d(axes), rows):
        with np.load(out / r["model"] / "samples.npz") as f:
            grid = viz.make_grid(torch.from_numpy(f["samples"][:n]), nrow=n)
        ax.imshow(grid[..., 0], cmap="gray", vmin=0, vmax=255)
        ax.set_ylabel(r["model"], rotation=0, ha="right", va="center", fontsize=9)
        ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=3.0, help="training budget per model, CPU minutes (1 thread)")
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--out", type=Path, required=True, help="folder of the runs")
    p.add_argument("--rows", type=Path, default=Path("docs/results/likelihood_rows.jsonl"))
    p.add_argument("--n-fid", type=int, default=1000)
    p.add_argument("--n-small", type=int, default=200)
    p.add_argument("--n-nll", type=int, default=10000)
    p.add_argument("--data-root", default=None)
    p.add_argument("--render", type=Path, default=None, help="print the table of a rows file (and --figure)")
    p.add_argument("--figure", type=Path, default=None)
    a = p.parse_args(argv)
    if a.render:
        rows = [json.loads(line) for line in a.render.read_text().splitlines() if line.strip()]
        rows.sort(key=lambda r: list(MODELS).index(r["model"]) if r["model"] in MODELS else len(MODELS))
        print(render(rows))
        if a.figure:
            figure(rows, a.out, a.figure)
        return 0
    for name in a.models.split(","):
        cfg, train_s, wall_s, steps, preset, over = train_for(name, a.minutes, a.out, a.data_root)
        row = {"model": name, "preset": preset, "overrides": over, "train_s": train_s, "train_wall_s": wall_s,
               "steps": steps,
               "batch_size": cfg.train.batch_size, "minutes": a.minutes,
               **score(name, a.out / name, a.n_fid, a.n_small, a.n_nll, a.data_root)}
        print(json.dumps(row), flush=True)
        a.rows.parent.mkdir(parents=True, exist_ok=True)
        with a.rows.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
