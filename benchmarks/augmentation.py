"""Issue 15's GAN data augmentation table: test accuracy of one small CNN trained on N labelled Fashion-MNIST
images per class, in four arms (real only, + flips/crops, + cGAN samples, + both), for N in SIZES.

    nice -n 10 python benchmarks/augmentation.py --out docs/results/augmentation_rows.jsonl
    python benchmarks/augmentation.py --render docs/results/augmentation_rows.jsonl

Per size N (subset seed 0, so the subsets are nested: the 10-per-class images are among the 50-per-class ones):
one class-conditional GAN (the cgan-fashion preset at half width, GAN_STEPS steps, one thread) trained on exactly
the N x 10 images, scored by `cond-eval`'s class accuracy and FID[fashion-cnn] (200 samples per class against
the first 2,000 test images); then `gankit augment`'s four arms for each classifier seed in SEEDS (the same
cGAN for every seed, a new draw of POOL samples per seed). Rows are appended to the JSONL file as they finish, and
a rerun skips the (size, arm, seed) rows and cGAN runs already there, so an interrupted run continues.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's gankit

SIZES = (10, 50, 100, 500)
SEEDS = (0, 1, 2)
GAN_STEPS = 800
GAN = {"model.g_width": 32, "model.d_width": 32, "train.threads": 1, "log.progress": False,
       "log.tensorboard": False, "log.sample_every": 500, "log.ckpt_every": 500}
CLASSIFIER = {"steps": 400, "batch_size": 64, "width": 16}
MIX, POOL = (1, 1), 5000


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def gan_for_size(n: int, runs: Path, rows_path: Path, root: str | None, gan_steps: int = GAN_STEPS):
    """The cGAN of size n: trained (or found in `runs`), its conditional scores appended once."""
    from gankit.augment import train_gan
    from gankit.cond_eval import evaluate_conditional, get_classifier
    from gankit.families.registry import apply_overrides
    from gankit.presets import preset_config
    from gankit.sample import load_generator

    over = {**GAN, "data.per_class": n, "data.subset_seed": 0, "train.steps": gan_steps, "log.out_dir": str(runs),
            "log.name": f"cgan-{n}", **({"data.root": root} if root else {})}
    cfg = apply_overrides(preset_config("cgan-fashion"), over)
    run = runs / f"cgan-{n}"
    if not (run / "ckpt").is_dir():
        t0 = time.perf_counter()
        train_gan(cfg)
        print(f"cGAN {n}/class: {gan_steps} steps in {time.perf_counter() - t0:.0f} s", flush=True)
    G = load_generator(run)[0]
    if not any(r.get("kind") == "cgan" and r["per_class"] == n for r in _rows(rows_path)):
        from gankit.augment import load_splits

        _, test = load_splits(cfg.data)
        res = evaluate_conditional(G, get_classifier("fashion-cnn"), test[0][:2000], test[1][:2000], n_per_class=200)
        row = {"kind": "cgan", "per_class": n, "gan_steps": gan_steps, "class_accuracy": res["accuracy"],
               "fid_fashion_cnn": res["fid"], "intra_fid_mean": res["intra_fid_mean"], "overrides": over}
        with open(rows_path, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"cGAN {n}/class: class accuracy {res['accuracy']:.3f}, FID[fashion-cnn] {res['fid']:.2f}", flush=True)
    return G, cfg


def run(out: Path, runs: Path, root: str | None, sizes, seeds, gan_steps: int = GAN_STEPS,
        clf_steps: int = CLASSIFIER["steps"]) -> None:
    from gankit.augment import ARMS, ClassifierSettings, Experiment, run_experiment

    for n in sizes:
        done = {(r["arm"], r["seed"]) for r in _rows(out) if r.get("kind") == "arm" and r["per_class"] == n}
        todo = [s for s in seeds if any((a, s) not in done for a in ARMS)]
        if not todo:
            continue
        G, cfg = gan_for_size(n, runs, out, root, gan_steps)
        info = {"kind": "arm", "per_class": n, "subset_seed": 0, "gan_run": str(runs / f"cgan-{n}"),
                "gan_preset": "cgan-fashion", "gan_steps": gan_steps}
        for s in todo:
            arms = [a for a in ARMS if (a, s) not in done]
            exp = Experiment(arms, [s], MIX, POOL, ClassifierSettings(**{**CLASSIFIER, "steps": clf_steps}))
            run_experiment(cfg.data, G, exp, info, log=lambda t: print(f"{n}/class {t}", flush=True), rows_path=out)


def render(path: Path) -> str:
    """The markdown tables of the rows: accuracy mean +- std per size and arm, and the cGANs' scores."""
    from gankit.augment import ARMS

    rows = _rows(path)
    sizes = sorted({r["per_class"] for r in rows if r.get("kind") == "arm"})
    lines = ["| labelled / class | " + " | ".join(ARMS) + " | best |", "|---" * (len(ARMS) + 2) + "|"]
    for n in sizes:
        cells, means = [], {}
        for arm in ARMS:
            acc = np.array([r["test_accuracy"] for r in rows if r.get("kind") == "arm" and r["per_class"] == n
                            and r["arm"] == arm])
            if len(acc):
                means[arm] = acc.mean()
                std = acc.std(ddof=1) if len(acc) > 1 else 0.0
                cells.append(f"{100 * acc.mean():.1f} ± {100 * std:.1f} ({len(acc)})")
            else:
                cells.append("–")
        best = max(means, key=means.get) if means else "–"
        lines.append(f"| {n} | " + " | ".join(cells) + f" | {best} |")
    lines += ["", "| labelled / class | cGAN class accuracy (fashion-cnn) | FID[fashion-cnn] | mean intra-class FID |",
              "|---|---|---|---|"]
    for r in sorted((r for r in rows if r.get("kind") == "cgan"), key=lambda r: r["per_class"]):
        lines.append(f"| {r['per_class']} | {100 * r['class_accuracy']:.1f}% | {r['fid_fashion_cnn']:.2f} | "
                     f"{r['intra_fid_mean']:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("docs/results/augmentation_rows.jsonl"))
    p.add_argument("--runs", type=Path, default=Path("runs/augmentation"), help="where the cGAN runs go")
    p.add_argument("--data-root", default=None, help="Fashion-MNIST directory (default: the standard places)")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)))
    p.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    p.add_argument("--gan-steps", type=int, default=GAN_STEPS, help="(smoke tests: fewer steps)")
    p.add_argument("--steps", type=int, default=CLASSIFIER["steps"], help="classifier steps")
    p.add_argument("--render", type=Path, metavar="ROWS", help="print the markdown tables of a rows file and exit")
    args = p.parse_args(argv)
    if args.render:
        print(render(args.render))
        return 0
    run(args.out, args.runs, args.data_root, [int(s) for s in args.sizes.split(",")],
        [int(s) for s in args.seeds.split(",")], args.gan_steps, args.steps)
    print(render(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
