"""Feature extractors: a registry name -> factory, and batched extraction to float64 NumPy arrays.

An extractor has `name`, `weights_sha256` (str or None), `expects_images` (bool),
`__call__(images float in [-1, 1] (N, C, H, W)) -> (N, d)` and, where it classifies,
`logits(images) -> (N, classes)` (optionally `features_and_logits(images)` for one pass).
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import torch

from gankit.errors import ConfigError, GankitError
from gankit.metrics._validate import MetricInputError, check_finite, to_numpy

RANGE_TOLERANCE = 1e-3


class IdentityExtractor:
    """Flattens each sample: features = the data itself (for 2D / tabular data)."""

    name = "identity"
    weights_sha256: str | None = None
    expects_images = False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(len(x), -1)


def _inception_factory(**kwargs: Any):
    from gankit.metrics.inception import InceptionExtractor

    return InceptionExtractor(**kwargs)


def _fashion_cnn_factory(**kwargs: Any):
    from gankit.metrics.fashion_cnn import FashionCNNExtractor

    return FashionCNNExtractor(**kwargs)


def _builtin_extractors() -> dict[str, Callable[..., Any]]:
    """Factories import their modules (and load weights) only when an extractor is asked for."""
    return {"identity": IdentityExtractor, "inception-v3": _inception_factory, "fashion-cnn": _fashion_cnn_factory}


EXTRACTORS: dict[str, Callable[..., Any]] = _builtin_extractors()


def register_extractor(name: str, factory: Callable[..., Any], overwrite: bool = False) -> None:
    """Make `get_extractor(name, **kwargs)` call `factory(**kwargs)`."""
    if name in EXTRACTORS and not overwrite:
        raise ConfigError(f"feature extractor {name!r} is already registered")
    EXTRACTORS[name] = factory


def get_extractor(name: str, **kwargs: Any):
    """A new extractor instance by registry name; ConfigError listing the valid names otherwise."""
    if name not in EXTRACTORS:
        raise ConfigError(f"unknown feature extractor {name!r}; valid: {', '.join(sorted(EXTRACTORS))}")
    return EXTRACTORS[name](**kwargs)


def check_image_range(x: np.ndarray, name: str = "images") -> None:
    """Images must lie in [-1, 1]: error for 0..255 (or uint8) data, warning for data that looks like 0..1."""
    if x.dtype == np.uint8:
        raise GankitError(f"{name} are uint8 (0..255); convert to float in [-1, 1]: x / 127.5 - 1")
    lo, hi = float(x.min()), float(x.max())
    if hi > 1.0 + RANGE_TOLERANCE or lo < -1.0 - RANGE_TOLERANCE:
        hint = " (they look like 0..255 pixel values: use x / 127.5 - 1)" if hi > 2.0 and lo >= 0.0 else ""
        raise GankitError(f"{name} range {lo:.4g}..{hi:.4g} is outside [-1, 1]{hint}")
    if lo >= 0.0 and x.size > 1 and hi > 0.0:
        warnings.warn(
            f"{name} range {lo:.4g}..{hi:.4g} has no negative values: are they in [0, 1] instead of "
            "[-1, 1]? If so use 2 * x - 1",
            RuntimeWarning,
            stacklevel=3,
        )


def _device_dtype(extractor: Any) -> tuple[torch.device | None, torch.dtype]:
    """Device and dtype of the extractor's first parameter; (None, float64) for parameter-free ones."""
    params = getattr(extractor, "parameters", None)
    first = None if params is None else next(iter(params()), None)
    return (None, torch.float64) if first is None else (first.device, first.dtype)


def _run_batch(extractor: Any, batch: torch.Tensor, logits: bool):
    if not logits:
        return extractor(batch), None
    if hasattr(extractor, "features_and_logits"):
        return extractor.features_and_logits(batch)
    if not hasattr(extractor, "logits"):
        raise ConfigError(f"feature extractor {extractor.name!r} has no logits (it is not a classifier)")
    return extractor(batch), extractor.logits(batch)


def extract(
    extractor: Any, images: Any, batch_size: int = 50, logits: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Features (N, d) float64 of `images` in batches without gradients; with logits=True also the logits.

    NaN/Inf inputs raise MetricInputError (a ValueError); image extractors check the [-1, 1] range.
    """
    data = to_numpy(images)
    if data.ndim == 0 or len(data) == 0:
        raise MetricInputError(f"no samples to extract features from (shape {data.shape})")
    check_finite(data, "input images" if getattr(extractor, "expects_images", False) else "input data")
    if getattr(extractor, "expects_images", False):
        check_image_range(data)
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    device, dtype = _device_dtype(extractor)
    feats, outs = [], []
    with torch.no_grad():
        for start in range(0, len(data), batch_size):
            batch = torch.as_tensor(np.ascontiguousarray(data[start : start + batch_size]), dtype=dtype)
            f, lg = _run_batch(extractor, batch if device is None else batch.to(device), logits)
            feats.append(f.detach().cpu().double().numpy())
            if logits:
                outs.append(lg.detach().cpu().double().numpy())
    features = np.concatenate(feats)
    return (features, np.concatenate(outs)) if logits else features
