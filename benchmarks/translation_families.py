"""The rest of issue 11's translation tables: CycleGAN vs pix2pix on the hidden pairs with the CycleGAN paper's
Table 4 ablations, pix2pix vs the multi-scale variant, StarGAN's source x target accuracy matrix, and
colourisation of natural photos.

    python benchmarks/translation_families.py --photos ../shared/data/sr --out docs/results/translation_families_rows.jsonl
    python benchmarks/translation_families.py --render docs/results/translation_families_rows.jsonl

Every row trains a preset with the row's overrides (seed 0; steps and batch as listed in ROWS), then scores it:
- edges -> item rows: `gankit eval`'s translation scores on the 10,000 Fashion-MNIST test pairs (for CycleGAN the
  pairing hidden in training is restored for scoring, the CycleGAN paper's protocol);
- the StarGAN row: the 10 x 10 target-class accuracy matrix of fashion-cnn on 100 test images per source class,
  its mean off the diagonal, and the round-trip reconstruction L1;
- the colourisation rows: trained on 64x64 crops of PHOTOS/CBSD68, scored on 1,000 64x64 crops of PHOTOS/CSet14
  (seed 1; bridge.png, the grayscale one, skipped): L1, PSNR, SSIM in RGB and colourfulness, beside the
  "no colour" baseline (the luma input copied to R, G and B).
Rows are appended to the JSONL file as they finish.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import replace
from pathlib import Path

from translation_common import trained

CPU = {"model.g_width": 32, "model.d_width": 32}  # the CycleGAN / StarGAN rows: half the paper's widths
CYC = {**CPU, "model.lambda_identity": 0.0, "train.batch_size": 4}  # Table 4 of the paper: no identity loss
ROWS = {
    "pix2pix (paired: the upper bound)": ("pix2pix-edges", {"train.batch_size": 4}, 1500),
    "CycleGAN (GAN + both cycles)": ("cyclegan-edges", CYC, 1500),
    "GAN alone (no cycle)": ("cyclegan-edges", {**CYC, "model.cycle": "none"}, 1500),
    "GAN + forward cycle": ("cyclegan-edges", {**CYC, "model.cycle": "forward"}, 1500),
    "GAN + backward cycle": ("cyclegan-edges", {**CYC, "model.cycle": "backward"}, 1500),
    "pix2pix (U-Net, 1 PatchGAN, cGAN + L1)": ("pix2pix-edges", {}, 1000),
    "pix2pixHD (global + local G, 3 D, LSGAN + FM)": ("pix2pixhd-edges", {}, 1000),
    "pix2pix + 3 D + FM (U-Net, L1 kept)": ("pix2pix-edges", {"model.num_d": 3, "model.lambda_fm": 10.0}, 1000),
    "StarGAN (10 classes)": ("stargan-fashion", CPU, 600),
    "StarGAN (10 classes, 2,000 steps)": ("stargan-fashion", CPU, 2000),
    "colourisation: pix2pix (cGAN + L1)": ("pix2pix-colorize", {}, 1000),
    "colourisation: L1 only": ("pix2pix-colorize", {"model.objective": "l1"}, 1000),
}
TABLES = {
    "CycleGAN vs pix2pix, edges -> item on the hidden pairs (batch 4, 1,500 steps)":
        ["pix2pix (paired: the upper bound)", "CycleGAN (GAN + both cycles)", "GAN alone (no cycle)",
         "GAN + forward cycle", "GAN + backward cycle"],
    "pix2pix vs multi-scale, edges -> item (batch 64, 1,000 steps)":
        ["pix2pix (U-Net, 1 PatchGAN, cGAN + L1)", "pix2pixHD (global + local G, 3 D, LSGAN + FM)",
         "pix2pix + 3 D + FM (U-Net, L1 kept)"],
    "colourisation, CBSD68 crops -> CSet14 crops (64 px, batch 16, 1,000 steps)":
        ["no colour (luma copied to RGB)", "colourisation: L1 only", "colourisation: pix2pix (cGAN + L1)"],
}
EDGE_COLS = ["L1", "PSNR", "SSIM", "FID[fashion-cnn]", "class_acc"]
COLOUR_COLS = ["L1", "PSNR_pooled", "SSIM", "colourfulness", "colourfulness_real"]


def colour_test_cfg(cfg, photos: Path):
    return replace(cfg, data=replace(cfg.data, root=str(photos / "CSet14"), n_samples=1000, seed=1))


def pooled_psnr(fake, real) -> float:
    """PSNR (dB, [0, 1] scale) of the mean squared error over every pixel of every crop: finite even when a
    crop of a colourless region makes one image's PSNR infinite (the per-image mean is then inf)."""
    mse = float(((fake - real) / 2).pow(2).mean())
    return 10 * math.log10(1 / mse)


def colour_scores(models: dict, cfg, photos: Path, seed: int) -> dict:
    from gankit.families.registry import family_of
    from gankit.metrics.paired import paired_metrics
    from gankit.metrics.translation import held_out_pairs

    pairs = held_out_pairs(colour_test_cfg(cfg, photos), "test", 1000)
    fake = family_of(cfg).sample(models, len(pairs["a"]), seed, inputs=pairs)
    return {**paired_metrics(fake, pairs["b"]), "PSNR_pooled": pooled_psnr(fake, pairs["b"]), "n": len(fake)}


def score(preset: str, run: dict, photos: Path, seed: int) -> dict:
    from gankit.metrics.translation import evaluate_translation, stargan_accuracy

    models, cfg = run["trainer"].models, run["cfg"]
    if preset == "stargan-fashion":
        return stargan_accuracy(models, cfg, "test", 100)
    if preset == "pix2pix-colorize":
        return colour_scores(models, cfg, photos, seed)
    return evaluate_translation(models, cfg, "test", 10000, seed)


def no_colour_row(photos: Path) -> dict:
    """The baseline every colouriser must beat: the grayscale input as the output."""
    from gankit.metrics.paired import paired_metrics
    from gankit.metrics.translation import held_out_pairs
    from gankit.presets import preset_config

    pairs = held_out_pairs(colour_test_cfg(preset_config("pix2pix-colorize"), photos), "test", 1000)
    gray = pairs["a"].expand(-1, 3, -1, -1)
    return {"row": "no colour (luma copied to RGB)", **paired_metrics(gray, pairs["b"]),
            "PSNR_pooled": pooled_psnr(gray, pairs["b"])}


def run_row(name: str, seed: int, photos: Path, threads: int) -> dict:
    preset, over, steps = ROWS[name]
    if preset == "pix2pix-colorize":
        over = {**over, "data.root": str(photos / "CBSD68")}
    with trained(preset, over, steps, seed, threads) as run:
        results = score(preset, run, photos, seed)
    return {"row": name, "preset": preset, "overrides": over, "steps": steps, "seed": seed, "status": run["status"],
            "train_s": run["train_s"], "s_per_step": run["s_per_step"], **results, "peak_rss_mb": run["peak_rss_mb"]}


def _table(title: str, names: list[str], by: dict) -> list[str]:
    cols = COLOUR_COLS if title.startswith("colour") else EDGE_COLS
    out = [f"| {title} | " + " | ".join(cols) + " | s/step |", "|" + " --- |" * (len(cols) + 2)]
    for n in names:
        if n in by:
            r = by[n]
            s = f"{r['s_per_step']:.3f}" if "s_per_step" in r else "-"
            out.append(f"| {n} | " + " | ".join(f"{r.get(c, float('nan')):.4g}" for c in cols) + f" | {s} |")
    return out + [""]


def _matrix(r: dict) -> list[str]:
    names = r["class_names"]
    out = [f"{r['row']}: target-class accuracy (rows: source, columns: target; mean off the diagonal "
           f"{r['mean_offdiag_acc']:.3f}, round-trip L1 {r['rec_L1']:.3f}, {r['steps']} steps, "
           f"{r['s_per_step']:.3f} s/step)", "",
           "| source \\ target | " + " | ".join(n[:7] for n in names) + " |", "|" + " --- |" * (len(names) + 1)]
    for name, row in zip(names, r["matrix"]):
        out.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in row) + " |")
    return out + [""]


def render(rows: list[dict]) -> str:
    by = {r["row"]: r for r in rows}
    out = []
    for title, names in TABLES.items():
        out += _table(title, names, by)
    for name in [n for n in ROWS if n.startswith("StarGAN") and n in by]:
        out += _matrix(by[name])
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (1 when other jobs share the CPU)")
    ap.add_argument("--photos", default="../shared/data/sr", help="a folder holding CBSD68/ and CSet14/")
    ap.add_argument("--rows", default=";".join(["no colour (luma copied to RGB)", *ROWS]),
                    help="semicolon-separated subset of the row names")
    ap.add_argument("--out", default="docs/results/translation_families_rows.jsonl")
    ap.add_argument("--render", default=None, help="print the tables of a rows file and exit")
    args = ap.parse_args()
    if args.render:
        print(render([json.loads(x) for x in Path(args.render).read_text().splitlines()]))
        return 0
    photos = Path(args.photos)
    for name in args.rows.split(";"):
        row = no_colour_row(photos) if name.startswith("no colour") else run_row(name, args.seed, photos, args.threads)
        if row.get("status", "finished") != "finished":  # interrupted (SIGTERM) or diverged: no row
            print(f"{name}: {row['status']}; not recorded", file=sys.stderr)
            return 1
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps({k: v for k, v in row.items() if not isinstance(v, (list, dict))}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
