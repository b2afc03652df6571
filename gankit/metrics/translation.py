"""Evaluation of a translation run (pix2pix, cyclegan) on held-out pairs: `gankit eval RUN_DIR` dispatches here.

The run's data set is rebuilt on `split` (test by default: pairs never seen in training), with an unpaired set's
hidden pairing restored (gankit.data.unpaired.aligned_fields); the family's `sample` translates the first n
inputs (A -> B), and the outputs are compared with their targets: L1, PSNR, SSIM (gankit.metrics.paired),
colourfulness for RGB targets, and for 28x28 grayscale targets FID[fashion-cnn] between outputs and targets plus
"does the class survive": fashion-cnn's accuracy on the outputs against the targets' true labels (and on the
targets themselves, the ceiling). Domains without pairs (fashion-sneaker-boot) get only the last two: FID against
domain B, and how many outputs fashion-cnn puts in B's class.

StarGAN runs (one generator for K class domains) get `stargan_accuracy`: on the first `per_class` images of each
class of `split` (test by default), the K x K target-class accuracy matrix (row: source class, column: target
class; the fraction of translations fashion-cnn classifies as the target), its mean off the diagonal, and the
reconstruction L1 |x - G(G(x, t), y)| over every target t != y.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch

from gankit.data import build_dataset
from gankit.data.unpaired import aligned_fields
from gankit.families.registry import family_of
from gankit.metrics.features import extract, get_extractor
from gankit.metrics.fid import fid_from_features
from gankit.metrics.paired import paired_metrics


def held_out(cfg: Any, split: str, n: int) -> tuple[dict[str, torch.Tensor], bool]:
    """The first n samples of the run's data set on `split` (limit lifted so the split is whole), b aligned with
    a where a pairing is known; and whether it is."""
    fields, paired = aligned_fields(build_dataset(replace(cfg.data, split=split, limit=None)))
    return {k: v[:n] for k, v in fields.items()}, paired


def held_out_pairs(cfg: Any, split: str, n: int) -> dict[str, torch.Tensor]:
    """The first n pairs of the run's data set on `split` (see `held_out`)."""
    return held_out(cfg, split, n)[0]


def fashion_scores(fake: torch.Tensor, target: torch.Tensor, labels: torch.Tensor | None) -> dict[str, float]:
    """FID[fashion-cnn] of outputs vs targets, and class accuracy of both under fashion-cnn."""
    net = get_extractor("fashion-cnn")
    f_fake, logit_fake = extract(net, fake, logits=True)
    f_real, logit_real = extract(net, target, logits=True)
    out = {"FID[fashion-cnn]": fid_from_features(f_real, f_fake)}
    if labels is not None:
        y = labels.numpy()
        out["class_acc"] = float((np.argmax(logit_fake, 1) == y).mean())
        out["class_acc_target"] = float((np.argmax(logit_real, 1) == y).mean())
    return out


def per_class_images(cfg: Any, split: str, per_class: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """The first `per_class` images of every class of the run's data set on `split` (limit lifted), class by
    class, their labels and the class names."""
    data = build_dataset(replace(cfg.data, split=split, limit=None))
    y, k = data.y.long(), data.num_classes
    idx = torch.cat([torch.nonzero(y == c).flatten()[:per_class] for c in range(k)])
    return data.x[idx], y[idx], list(data.class_names or map(str, range(k)))


def stargan_accuracy(models: dict, cfg: Any, split: str = "test", per_class: int = 100) -> dict[str, Any]:
    """{"matrix": K x K accuracies (source row, target column), "class_names", "mean_offdiag_acc", "rec_L1",
    "n": source images} of a StarGAN run on Fashion-MNIST-shaped data (fashion-cnn is the judge)."""
    from gankit.families.stargan import translate_to

    G, net = models["G"], get_extractor("fashion-cnn")
    x, y, names = per_class_images(cfg, split, per_class)
    k = G.num_classes
    hits, rec = np.zeros((k, k)), []
    counts = np.bincount(y.numpy(), minlength=k)
    for t in range(k):
        fake = translate_to(G, x, t)
        pred = np.argmax(extract(net, fake, logits=True)[1], 1)
        np.add.at(hits[:, t], y.numpy(), pred == t)
        off = y != t
        rec.append((translate_to(G, fake[off], y[off]) - x[off]).abs().flatten(1).mean(1))
    matrix = hits / np.maximum(counts, 1)[:, None]
    off_diag = ~np.eye(k, dtype=bool)
    return {"matrix": matrix.tolist(), "class_names": names,
            "mean_offdiag_acc": float(matrix[off_diag].mean()), "rec_L1": float(torch.cat(rec).mean()),
            "n": float(len(x))}


def evaluate_translation(models: dict, cfg: Any, split: str = "test", n: int = 10000, seed: int = 0) -> dict[str, float]:
    pairs, paired = held_out(cfg, split, n)
    fake = family_of(cfg).sample(models, len(pairs["a"]), seed, inputs=pairs)
    results = paired_metrics(fake, pairs["b"]) if paired else {}
    if tuple(pairs["b"].shape[1:]) == (1, 28, 28):
        results.update(fashion_scores(fake, pairs["b"], pairs.get("y")))
    results["n"] = float(len(fake))
    return results
