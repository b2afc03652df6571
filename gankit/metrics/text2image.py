"""Evaluation of a text -> image run (`gankit eval RUN` for model.family=text2image).

- **class accuracy**: for every (class, brightness level, size level) cell, `per_cell` captions that name all three
  (the templates with both attributes, random words), one image each; the fashion-cnn classifier's predicted
  class is compared with the caption's class (overall and per class);
- **attribute accuracy**: the generated image's brightness and size levels, measured by the function that labelled
  the real images (`gankit.data.captions.measure_levels`, with the run's cut points and the caption's class), are
  compared with the caption's (chance 1/3 each, 1/9 both);
- **FID[fashion-cnn]**: one image for the first caption of each of the first n test images against those n test
  images.
- **z spread**: the per-pixel standard deviation of 16 images of one caption (16 values of z), averaged over pixels
  and over the 90 cells' first captions; `real_cell_spread` is the same of up to 16 real test images of each cell
  (how varied one caption's images are, next to how varied the real items it describes are).
The real test images' class accuracy under the same classifier is reported beside (the ceiling of the first).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

import gankit.data.captions as captions
from gankit.errors import CheckpointError
from gankit.families.text2image import generate_text

Z_SPREAD_K = 16  # images per caption (and real images per cell) for the spread measure
FULL_TEMPLATES = tuple(t for t in captions.TEMPLATES if "{b}" in t and "{s}" in t)


def cell_captions(vocab: list[str], length: int, per_cell: int, seed: int,
                  num_classes: int = 10) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """per_cell captions of every (class, brightness, size): (ids (M, L), classes (M,), levels (M, 2))."""
    rng = np.random.default_rng(seed)
    ids, ys, lv = [], [], []
    for c in range(num_classes):
        for b in range(3):
            for s in range(3):
                for _ in range(per_cell):
                    t = FULL_TEMPLATES[rng.integers(len(FULL_TEMPLATES))]
                    ids.append(captions.encode(captions.fill(t, c, b, s, tuple(rng.integers(0, 6, 3))), vocab, length))
                    ys.append(c)
                    lv.append((b, s))
    return torch.stack(ids), torch.tensor(ys), torch.tensor(lv)


def attribute_accuracy(images: torch.Tensor, classes: torch.Tensor, wanted: torch.Tensor, cuts) -> dict[str, float]:
    got = captions.measure_levels(images, classes, cuts)
    hit = got == wanted
    return {"brightness_accuracy": float(hit[:, 0].float().mean()), "size_accuracy": float(hit[:, 1].float().mean()),
            "both_attributes_accuracy": float(hit.all(1).float().mean())}


def z_spread(images: torch.Tensor, groups: torch.Tensor) -> float:
    """Mean over groups (of >= 2 images) of the per-pixel standard deviation within the group, averaged over pixels:
    how much images of one caption differ (generated: k values of z) or of one cell (real images)."""
    out = [images[groups == g].flatten(1).std(0).mean() for g in groups.unique() if (groups == g).sum() >= 2]
    return float(torch.stack(out).mean()) if out else float("nan")


def _run_facts(meta: dict) -> tuple[list[str], list, int]:
    info = meta.get("captions") or {}
    if not meta.get("vocab") or "cuts" not in info:
        raise CheckpointError("this text2image checkpoint has no vocabulary or attribute cut points in its meta")
    return meta["vocab"], info["cuts"], int(info["max_words"])


def evaluate_text2image(models: dict[str, Any], cfg: Any, meta: dict, per_cell: int, n_fid: int, seed: int,
                        split: str = "test", classifier: Any = None) -> dict[str, Any]:
    from gankit.data import build_dataset
    from gankit.metrics.features import extract, get_extractor
    from gankit.metrics.fid import fid_from_features

    vocab, cuts, length = _run_facts(meta)
    classifier = classifier or get_extractor("fashion-cnn")
    ids, ys, lv = cell_captions(vocab, length, per_cell, seed)
    fake = generate_text(models, ids, seed)
    _, logits = extract(classifier, fake, batch_size=500, logits=True)
    pred = torch.from_numpy(logits.argmax(1))
    per_class = [float((pred[ys == c] == c).float().mean()) for c in range(10)]
    out: dict[str, Any] = {"class_accuracy": float((pred == ys).float().mean()),
                           **attribute_accuracy(fake, ys, lv, cuts)}
    right = pred == ys  # attributes where the item is of the asked class
    both = (captions.measure_levels(fake, ys, cuts) == lv).all(1)
    out["both_attributes_accuracy_class_right"] = float(both[right].float().mean()) if right.any() else float("nan")
    imgs = build_dataset(dataclasses.replace(cfg.data, name="fashion-mnist", split=split, limit=n_fid))
    real = captions.caption_dataset(imgs.x, imgs.y, imgs.class_names, 1, seed, cuts)  # the run's cut points
    real_feats, real_logits = extract(classifier, real.x, batch_size=500, logits=True)
    fid_fake = generate_text(models, real.captions[:, 0], seed + 1)
    out["fid"] = fid_from_features(real_feats, extract(classifier, fid_fake, batch_size=500))
    out["real_class_accuracy"] = float((real_logits.argmax(1) == real.y.numpy()).mean())
    one = torch.arange(0, len(ids), per_cell)  # the first caption of each cell, Z_SPREAD_K values of z
    out["z_spread"] = z_spread(generate_text(models, ids[one].repeat_interleave(Z_SPREAD_K, 0), seed + 2),
                               torch.arange(len(one)).repeat_interleave(Z_SPREAD_K))
    cell = real.y * 9 + real.attrs[:, 0] * 3 + real.attrs[:, 1]
    first = torch.cat([torch.nonzero(cell == c).flatten()[:Z_SPREAD_K] for c in range(90)])
    out["real_cell_spread"] = z_spread(real.x[first], cell[first])
    out["n_cells"], out["per_cell"], out["n_fid"] = 90, per_cell, len(real.x)
    out["class_accuracy_per_class"] = per_class
    return out
