"""Evaluation of a translation run (pix2pix) on held-out pairs: `gankit eval RUN_DIR` dispatches here.

The run's data set is rebuilt on `split` (test by default: pairs never seen in training); the model translates
the first n inputs, and the outputs are compared with their targets: L1, PSNR, SSIM (gankit.metrics.paired),
colourfulness for RGB targets, and for 28x28 grayscale targets FID[fashion-cnn] between outputs and targets plus
"does the class survive": fashion-cnn's accuracy on the outputs against the inputs' true labels (and on the
targets themselves, the ceiling).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch

from gankit.data import build_dataset
from gankit.metrics.features import extract, get_extractor
from gankit.metrics.fid import fid_from_features
from gankit.metrics.paired import paired_metrics


def held_out_pairs(cfg: Any, split: str, n: int) -> dict[str, torch.Tensor]:
    """The first n samples of the run's paired data set on `split` (limit lifted so the split is whole)."""
    data = build_dataset(replace(cfg.data, split=split, limit=None))
    return {k: v[:n] for k, v in data.fields.items()}


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


def evaluate_translation(models: dict, cfg: Any, split: str = "test", n: int = 10000, seed: int = 0) -> dict[str, float]:
    from gankit.families.pix2pix import translate

    pairs = held_out_pairs(cfg, split, n)
    fake = translate(models["G"], pairs["a"], seed)
    results = paired_metrics(fake, pairs["b"])
    if tuple(pairs["b"].shape[1:]) == (1, 28, 28):
        results.update(fashion_scores(fake, pairs["b"], pairs.get("y")))
    results["n"] = float(len(fake))
    return results
