"""scikit-learn's 8x8 handwritten digits (1797 images, values 0..16), split 80/20 by index."""

from __future__ import annotations

import numpy as np
import torch

from gankit.errors import DataError

CLASS_NAMES = [str(d) for d in range(10)]
TRAIN_FRACTION = 0.8
MAX_VALUE = 16.0


def _sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError(
            "the digits dataset needs scikit-learn (pip install scikit-learn)"
        ) from None
    bunch = load_digits()
    return np.asarray(bunch.images, dtype=np.float32), np.asarray(bunch.target, dtype=np.int64)


def split_indices(n: int, split: str) -> slice:
    """Deterministic split by index: the first 80% are "train", the rest "test"."""
    cut = int(round(n * TRAIN_FRACTION))
    splits = {"train": slice(0, cut), "test": slice(cut, n)}
    if split not in splits:
        raise DataError(f"digits: unknown split {split!r}; valid: {sorted(splits)}")
    return splits[split]


def load_digits(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """Return (N, 1, 8, 8) float32 images in [-1, 1] (``v / 8 - 1``) and int64 labels."""
    images, labels = _sklearn_digits()
    part = split_indices(len(images), split)
    x = torch.from_numpy(images[part]).unsqueeze(1) / (MAX_VALUE / 2) - 1.0
    return x.clamp_(-1.0, 1.0), torch.from_numpy(labels[part])
