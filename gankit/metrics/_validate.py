"""Input checks shared by the metric functions: array conversion, finiteness, shapes, sizes."""

from __future__ import annotations

from typing import Any

import numpy as np

from gankit.errors import GankitError


class MetricInputError(GankitError, ValueError):
    """Bad metric input (NaN/Inf, wrong shape, too few samples). Also a ValueError."""


def to_numpy(x: Any) -> np.ndarray:
    """A torch tensor / array-like as a NumPy array (detached, on CPU), without copying when possible."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu()
        if str(x.dtype) == "torch.bfloat16":
            x = x.float()
        return x.numpy()
    return np.asarray(x)


def check_finite(a: np.ndarray, name: str) -> None:
    """Raise MetricInputError naming `name` when `a` holds NaN or Inf values."""
    if a.dtype.kind not in "fc":
        return
    finite = np.isfinite(a)
    if not finite.all():
        n_nan = int(np.isnan(a).sum())
        n_inf = int(a.size - finite.sum() - n_nan)
        raise MetricInputError(
            f"{name} contains {n_nan} NaN and {n_inf} Inf values (of {a.size}); "
            "metrics need finite inputs (check the generator for divergence)"
        )


def as_features(x: Any, name: str) -> np.ndarray:
    """Samples as a finite float64 matrix (N, d): (N,) becomes (N, 1), (N, ...) is flattened."""
    a = to_numpy(x)
    if a.ndim == 0:
        raise MetricInputError(f"{name} is a scalar; expected samples of shape (N, d)")
    if a.dtype.kind not in "biuf":
        raise MetricInputError(f"{name} has dtype {a.dtype}; expected numbers")
    a = a.reshape(len(a), -1) if a.ndim != 1 else a.reshape(-1, 1)
    a = np.ascontiguousarray(a, dtype=np.float64)
    check_finite(a, name)
    return a


def check_pair(real: np.ndarray, fake: np.ndarray, what: str) -> None:
    """Both sets must have the same feature dimension and at least one sample."""
    if real.shape[1] != fake.shape[1]:
        raise MetricInputError(
            f"{what}: real features have dimension {real.shape[1]} but fake features have "
            f"{fake.shape[1]}; both must come from the same extractor"
        )
    for label, a in (("real", real), ("fake", fake)):
        if len(a) == 0:
            raise MetricInputError(f"{what}: the {label} set is empty")


def require_samples(n: int, minimum: int, what: str, label: str) -> None:
    """Raise a clear error when a set has fewer than `minimum` samples."""
    if n < minimum:
        raise MetricInputError(f"{what} needs at least {minimum} {label} samples, got {n}")
