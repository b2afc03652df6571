"""A small labelled subset: N images of every class, chosen by a seed (``--data.per_class=N --data.subset_seed=S``).

Used by `gankit augment` (GAN data augmentation for a classifier trained on few labels) and by any run that
should see only a few labelled images per class."""

from __future__ import annotations

from typing import Sequence

import torch

from gankit.errors import ConfigError, DataError


def check_per_class(per_class) -> None:
    """ConfigError unless `per_class` is None or a positive integer."""
    if per_class is not None and (isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1):
        raise ConfigError(f"data.per_class: must be a positive integer (images of every class) or None, "
                          f"got {per_class!r}")


def per_class_indices(y: torch.Tensor, per_class: int, seed: int, num_classes: int,
                      class_names: Sequence[str] | None = None, what: str = "the data set") -> torch.Tensor:
    """Indices (ascending) of `per_class` images of each class 0..num_classes-1, drawn without replacement by a
    generator seeded with `seed`: the same labels and seed give the same subset, and a larger `per_class` with the
    same seed keeps the smaller subset (each class's images are taken in one seeded order).

    DataError naming the class when a class has fewer than `per_class` images."""
    check_per_class(per_class)
    y = torch.as_tensor(y)
    gen = torch.Generator().manual_seed(int(seed))
    chosen = []
    for c in range(num_classes):
        idx = torch.nonzero(y == c).flatten()
        order = torch.randperm(len(idx), generator=gen)  # drawn for every class so classes are independent of N
        if len(idx) < per_class:
            name = f"{c} ({class_names[c]})" if class_names else str(c)
            raise DataError(f"data.per_class={per_class}: class {name} has only {len(idx)} images in {what}")
        chosen.append(idx[order[:per_class]])
    return torch.cat(chosen).sort().values
