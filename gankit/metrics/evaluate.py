"""Evaluate generated samples against a data set: shared by `gankit eval` and the training EvalHook.

Real-data statistics come from the on-disk cache (gankit.metrics.stats) keyed by the data config,
split, sample count and extractor weights. Results are named honestly after the extractor, e.g.
"FID[fashion-cnn]" — values with gankit's Fashion-MNIST CNN are not comparable with Inception FID.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import torch

from gankit.errors import ConfigError, GankitError
from gankit.metrics import compute
from gankit.metrics.features import extract, get_extractor
from gankit.metrics.registry import METRICS
from gankit.metrics.stats import FeatureStats, cached_stats

# Metrics that only make sense with a classifier's probabilities, or with mode centres.
NEEDS_CLASSIFIER = {"is", "mode_score"}
DEFAULT_METRICS = {"images": ["fid", "kid", "is", "pr"], "points": ["modes", "mmd", "wasserstein"]}
_LABELS = {"fid": "FID", "kid_mean": "KID", "kid_std": "KID_std", "is_mean": "IS", "is_std": "IS_std",
           "mode_score_mean": "ModeScore", "mode_score_std": "ModeScore_std", "mmd2": "MMD2"}


def data_kind(shape: tuple[int, ...]) -> str:
    """'images' for (C, H, W) samples, 'points' for everything else (2D / tabular)."""
    return "images" if len(shape) == 3 else "points"


def default_extractor(shape: tuple[int, ...]) -> str:
    """fashion-cnn for grayscale images up to 32x32, inception-v3 for other images, identity otherwise."""
    if data_kind(shape) == "points":
        return "identity"
    return "fashion-cnn" if shape[0] == 1 and max(shape[1:]) <= 32 else "inception-v3"


def parse_metrics(text: str, shape: tuple[int, ...]) -> list[str]:
    """'fid,kid' -> ['fid', 'kid']; 'auto' -> the defaults for this kind of data."""
    names = DEFAULT_METRICS[data_kind(shape)] if text.strip() == "auto" else [m.strip() for m in text.split(",")]
    names = [m for m in names if m]
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise ConfigError(f"--metrics: unknown metric(s) {unknown or [text]}; valid: {', '.join(METRICS)}, or auto")
    return list(dict.fromkeys(names))


def make_extractor(name: str, shape: tuple[int, ...], device: str = "cpu"):
    """The extractor by registry name ('auto' picks by data shape)."""
    name = default_extractor(shape) if name == "auto" else name
    kwargs = {"device": device} if name == "fashion-cnn" else {}
    return get_extractor(name, **kwargs)


def result_label(key: str, extractor_name: str) -> str:
    """'fid' + 'fashion-cnn' -> 'FID[fashion-cnn]'; 'kid_mean' -> 'KID[fashion-cnn]'; identity: no tag."""
    name = _LABELS.get(key, key)
    return name if extractor_name == "identity" else f"{name}[{extractor_name}]"


def check_samples(fake: torch.Tensor, real_shape: tuple[int, ...], extractor_name: str, what: str) -> None:
    """Shape checks before any feature is computed: same kind of data, same channels, no NaN."""
    if fake.dim() < 2 or len(fake) == 0:
        raise GankitError(f"{what}: expected samples of shape (N, ...), got {tuple(fake.shape)}")
    shape = tuple(fake.shape[1:])
    if not torch.is_floating_point(fake):
        raise GankitError(f"{what}: samples have dtype {fake.dtype}; expected floats in [-1, 1] "
                          "(for 0..255 images use x / 127.5 - 1)")
    if not bool(torch.isfinite(fake).all()):
        n_bad = int((~torch.isfinite(fake)).sum())
        raise GankitError(f"{what}: {n_bad} NaN/Inf values in the samples (did the generator diverge?)")
    if shape == real_shape:
        return
    if data_kind(shape) != data_kind(real_shape) or extractor_name == "identity" or shape[0] != real_shape[0]:
        raise GankitError(f"{what}: samples have shape {shape} but the real data has shape {real_shape} "
                          "(wrong real data set? `gankit eval` takes it from --data / --split)")
    warnings.warn(f"{what}: samples are {shape} and real images {real_shape}; the {extractor_name} extractor "
                  "resizes both to its input size", RuntimeWarning, stacklevel=2)


def dataset_id(data_cfg: Any) -> str:
    """A stable identity of the real data for the statistics cache (what decides the samples)."""
    d = asdict(data_cfg)
    keep = ("name", "root", "resolution", "channels", "limit", "n_samples", "seed")
    if d.get("per_class") is not None:  # a labelled subset (keys of other data sets' caches stay as they were)
        keep += ("per_class", "subset_seed")
    return json.dumps({k: d.get(k) for k in keep}, sort_keys=True)


def real_stats(x: torch.Tensor, data_cfg: Any, extractor: Any, use_cache: bool = True,
               batch_size: int = 200) -> FeatureStats:
    """Statistics (features kept, mean class probabilities when a classifier) of the real samples `x`."""

    def compute_stats() -> FeatureStats:
        if hasattr(extractor, "logits") or hasattr(extractor, "features_and_logits"):
            feats, logits = extract(extractor, x, batch_size=batch_size, logits=True)
            probs = torch.from_numpy(logits).softmax(1).numpy()
            return FeatureStats.from_features(feats, probs)
        return FeatureStats.from_features(extract(extractor, x, batch_size=batch_size))

    if not use_cache or extractor.name == "identity":
        return compute_stats()
    return cached_stats(dataset_id(data_cfg), data_cfg.split, len(x), extractor, compute_stats)


def load_real(data_cfg: Any, split: str | None, n: int) -> tuple[torch.Tensor, Any, dict]:
    """The first n samples of the data set (all, with a warning, when it is smaller) and the config used."""
    from gankit.data import build_dataset

    cfg = replace(data_cfg, split=split) if split else data_cfg
    ds = build_dataset(cfg)
    if len(ds) < n:
        warnings.warn(f"the real data ({cfg.name}/{cfg.split}) has only {len(ds)} samples, fewer than --n {n}; "
                      "using all of them", RuntimeWarning, stacklevel=2)
    return ds.x[:n], cfg, ds.extra


def evaluate(fake: torch.Tensor, real: FeatureStats | torch.Tensor | None, metrics: list[str], extractor: Any,
             extra: dict | None = None, seed: int = 2020, batch_size: int = 200) -> dict[str, float]:
    """Run the metrics; returns {honest label: value}. Classifier-only metrics need a classifier extractor."""
    classifier = hasattr(extractor, "logits") or hasattr(extractor, "features_and_logits")
    bad = [m for m in metrics if m in NEEDS_CLASSIFIER and not classifier]
    if bad:
        raise ConfigError(f"metric(s) {bad} need class probabilities; the {extractor.name} extractor gives none "
                          "(use --extractor fashion-cnn)")
    opts: dict[str, Any] = {"seed": seed, "batch_size": batch_size}
    if "modes" in metrics:
        extra = extra or {}
        if extra.get("centers") is None:
            raise ConfigError("metric 'modes' needs a mixture data set with known mode centres (ring8, grid25)")
        opts.update(centers=np.asarray(extra["centers"]), std=float(extra["std"]))
    raw = compute(real, fake, metrics, extractor=extractor, **opts)
    return {result_label(k, extractor.name): float(v) for k, v in raw.items()}


def format_table(results: dict[str, float]) -> str:
    """Two aligned columns: metric, value."""
    width = max([len(k) for k in results] + [6])
    lines = [f"{'metric':<{width}}  value", f"{'-' * width}  {'-' * 12}"]
    lines += [f"{k:<{width}}  {v:.6g}" for k, v in results.items()]
    return "\n".join(lines)
