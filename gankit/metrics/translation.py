"""Evaluation of a translation run (pix2pix, cyclegan) on held-out pairs: `gankit eval RUN_DIR` dispatches here.

The run's data set is rebuilt on `split` (test by default: pairs never seen in training), with an unpaired set's
hidden pairing restored (gankit.data.unpaired.aligned_fields); the family's `sample` translates the first n
inputs (A -> B), and the outputs are compared with their targets: L1, PSNR, SSIM (gankit.metrics.paired),
colourfulness for RGB targets, and for 28x28 grayscale targets FID[fashion-cnn] between outputs and targets plus
"does the class survive": fashion-cnn's accuracy on the outputs against the targets' true labels (and on the
targets themselves, the ceiling). Domains without pairs (fashion-sneaker-boot) get only the last two: FID against
domain B, and how many outputs fashion-cnn puts in B's class.
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


def evaluate_translation(models: dict, cfg: Any, split: str = "test", n: int = 10000, seed: int = 0) -> dict[str, float]:
    pairs, paired = held_out(cfg, split, n)
    fake = family_of(cfg).sample(models, len(pairs["a"]), seed, inputs=pairs)
    results = paired_metrics(fake, pairs["b"]) if paired else {}
    if tuple(pairs["b"].shape[1:]) == (1, 28, 28):
        results.update(fashion_scores(fake, pairs["b"], pairs.get("y")))
    results["n"] = float(len(fake))
    return results
