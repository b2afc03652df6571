"""Unpaired image data sets for unpaired translation (CycleGAN): batches {"a": domain A, "b": domain B}.

The trainer cuts every field with the same indices, so an unpaired set stores domain B in its own order: the
a and b of a batch are unrelated images. Where a true pairing exists it is kept out of the batches, in
``extra`` (``pair_of_b``: stored b[j] is the partner of a[pair_of_b[j]]), so that evaluation can restore it
(:func:`aligned_fields`). ``extra`` also holds ``unpaired`` (True) and the labels, ``y_a`` and ``y_b``, each in
its side's stored order.

Registry keys (see ``gankit.data.DATASETS``):

- ``fashion-edges-unpaired``: the fashion-edges pairs (Canny edges -> Fashion-MNIST item) with b shuffled by a
  permutation seeded by ``data.seed`` (the CycleGAN paper's protocol on paired data: pix2pix is the upper
  bound). ``data.limit`` keeps the first pairs before the shuffle.
- ``fashion-sneaker-boot``: domain A the Fashion-MNIST sneakers (class 7), B the ankle boots (class 9), in
  data-set order, the larger domain cut to the size of the smaller (and both to ``data.limit``). There is no
  pairing: evaluation compares the translations with domain B as a whole (FID, class of the outputs).

All images are float32 (N, C, H, W) in [-1, 1]; the spec has fields a and b, main field b, no labels.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

import gankit.data.fashion as fashion
import gankit.data.images as images
import gankit.data.paired as paired
from gankit.data.paired import PairedDataset
from gankit.errors import DataError


def unpair(data: PairedDataset, seed: int, name: str) -> PairedDataset:
    """`data` with b in an order shuffled by `seed`; the pairing and the labels go to ``extra``."""
    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    extra = {**data.extra, "unpaired": True, "pair_of_b": perm}
    if data.y is not None:
        extra.update(y_a=data.y, y_b=data.y[perm], class_names=data.class_names)
    return PairedDataset(data.a, data.b[perm], None, name, None, extra)


def aligned_fields(data: Any) -> tuple[dict[str, torch.Tensor], bool]:
    """(fields, paired): an unpaired set's fields with b back in a's order where it hides a pairing, and y the
    labels of b; a paired set's fields as they are. `paired`: whether a[i] and b[i] are a pair."""
    fields, extra = dict(data.fields), data.extra
    if not extra.get("unpaired"):
        return fields, True
    order = torch.argsort(extra["pair_of_b"]) if "pair_of_b" in extra else torch.arange(len(fields["b"]))
    fields["b"] = fields["b"][order]
    if "y_b" in extra:
        fields["y"] = extra["y_b"][order]
    return fields, "pair_of_b" in extra


def build_fashion_edges_unpaired(cfg: Any) -> PairedDataset:
    return unpair(paired.build_fashion_edges(cfg), cfg.seed, "fashion-edges-unpaired")


def _domains_builder(class_a: int, class_b: int, name: str) -> Callable[[Any], PairedDataset]:
    """Fashion-MNIST class `class_a` as domain A, `class_b` as B, equal counts (the larger domain cut)."""

    def build(cfg: Any) -> PairedDataset:
        raw, labels = fashion.load_fashion_mnist(cfg.split, cfg.root, cfg.download, cfg.cache_dir)
        idx_a, idx_b = np.flatnonzero(labels == class_a), np.flatnonzero(labels == class_b)
        for cls, idx in ((class_a, idx_a), (class_b, idx_b)):
            if not len(idx):
                raise DataError(f"{name}: the {cfg.split} split has no images of class {cls} "
                                f"({fashion.CLASS_NAMES[cls]})")
        n = min(len(idx_a), len(idx_b), cfg.limit or len(labels))
        idx_a, idx_b = idx_a[:n], idx_b[:n]
        a = paired._finish(images.uint8_to_unit(raw[idx_a]).unsqueeze(1), cfg)
        b = paired._finish(images.uint8_to_unit(raw[idx_b]).unsqueeze(1), cfg)
        extra = {"unpaired": True, "y_a": torch.full((n,), class_a), "y_b": torch.full((n,), class_b),
                 "class_names": list(fashion.CLASS_NAMES),
                 "domains": (fashion.CLASS_NAMES[class_a], fashion.CLASS_NAMES[class_b])}
        return PairedDataset(a, b, None, name, None, extra)

    return build


build_sneaker_boot = _domains_builder(7, 9, "fashion-sneaker-boot")
