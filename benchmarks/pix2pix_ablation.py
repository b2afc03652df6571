"""pix2pix ablations on Fashion-MNIST edges -> item (Isola et al. 2017, Tables 1-2, scaled down):
the objective (L1, cGAN, L1 + cGAN; unconditional D) and the D's patch size (1 px, 7, 16, 34 px, whole image).

    python benchmarks/pix2pix_ablation.py --steps 1500 --out docs/results/translation_rows.jsonl
    python benchmarks/pix2pix_ablation.py --render docs/results/translation_rows.jsonl

Each row trains `gankit train pix2pix-edges` with the row's overrides (same seed, steps and batch), then scores the
10,000 held-out test pairs with `gankit eval` (L1, PSNR, SSIM, FID[fashion-cnn] of outputs vs targets, class
accuracy of the outputs under fashion-cnn). Rows are appended to a JSONL file as they finish.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from translation_common import trained

ROWS = {
    "L1": {"model.objective": "l1"},
    "cGAN": {"model.objective": "cgan"},
    "L1+cGAN": {},
    "L1+GAN (unconditional D)": {"model.d_cond": False},
    "PixelGAN (1x1)": {"model.d_patch": "pixel"},
    "PatchGAN 16x16": {"model.d_layers": 1},
    "PatchGAN 34x34": {"model.d_layers": 2},
    "ImageGAN (whole image)": {"model.d_patch": "image", "model.d_layers": 3},
}
TABLES = {"objective": ["L1", "cGAN", "L1+cGAN", "L1+GAN (unconditional D)"],
          "patch (all L1+cGAN)": ["PixelGAN (1x1)", "L1+cGAN", "PatchGAN 16x16", "PatchGAN 34x34",
                                  "ImageGAN (whole image)"]}
COLUMNS = ["L1", "PSNR", "SSIM", "FID[fashion-cnn]", "class_acc"]


def run_row(name: str, steps: int, seed: int, n_eval: int) -> dict:
    from gankit.metrics.translation import evaluate_translation

    with trained("pix2pix-edges", ROWS[name], steps, seed) as run:
        results = evaluate_translation(run["trainer"].models, run["cfg"], "test", n_eval, seed)
    return {"row": name, "overrides": ROWS[name], "steps": steps, "seed": seed, "status": run["status"],
            "train_s": run["train_s"], "s_per_step": run["s_per_step"], **results, "peak_rss_mb": run["peak_rss_mb"]}


def render(rows: list[dict]) -> str:
    by = {r["row"]: r for r in rows}
    out = []
    for title, names in TABLES.items():
        out += [f"| {title} | " + " | ".join(COLUMNS) + " | s/step |", "|" + " --- |" * (len(COLUMNS) + 2)]
        for n in names:
            if n in by:
                r = by[n]
                out.append(f"| {n} | " + " | ".join(f"{r.get(c, float('nan')):.4g}" for c in COLUMNS)
                           + f" | {r['s_per_step']:.3f} |")
        out.append("")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-eval", type=int, default=10000)
    ap.add_argument("--rows", default=";".join(ROWS), help="semicolon-separated subset of the row names")
    ap.add_argument("--out", default="docs/results/translation_rows.jsonl")
    ap.add_argument("--render", default=None, help="print the tables of a rows file and exit")
    args = ap.parse_args()
    if args.render:
        print(render([json.loads(x) for x in Path(args.render).read_text().splitlines()]))
        return 0
    for name in args.rows.split(";"):
        row = run_row(name, args.steps, args.seed, args.n_eval)
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps({k: row[k] for k in ["row", "train_s", *[c for c in COLUMNS if c in row]]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
