"""`compute`: extract what the requested metrics need once per side, then run each metric."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import softmax

from gankit.errors import ConfigError
from gankit.metrics._validate import MetricInputError, as_features
from gankit.metrics.features import extract, get_extractor
from gankit.metrics.registry import METRICS, OPTIONS, Inputs
from gankit.metrics.scores import check_probabilities
from gankit.metrics.stats import FeatureStats


def _check_request(metrics: list[str], opts: dict[str, Any]) -> None:
    if isinstance(metrics, str):
        raise ConfigError(f"metrics must be a list of names, got the string {metrics!r}")
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        what = f"unknown metric(s) {unknown}" if unknown else "no metric requested"
        raise ConfigError(f"{what}; valid metrics: {', '.join(METRICS)}")
    bad = sorted(set(opts) - OPTIONS)
    if bad:
        raise ConfigError(f"unknown metric option(s) {bad}; valid options: {', '.join(sorted(OPTIONS))}")


def _side(data: Any, extractor: Any, want_feats: bool, want_probs: bool, label: str, batch_size: int):
    """(features, probabilities) of one side; None for what is not wanted."""
    if not (want_feats or want_probs):
        return None, None
    if extractor.name == "identity":
        x = as_features(data, f"{label} samples")
        probs = check_probabilities(x, f"{label} samples (used as class probabilities)") if want_probs else None
        return (x if want_feats else None), probs
    if not want_probs:
        return extract(extractor, data, batch_size=batch_size), None
    feats, logits = extract(extractor, data, batch_size=batch_size, logits=True)
    return (feats if want_feats else None), softmax(logits, axis=1)


def _prepare(real: Any, fake: Any, needs: set[str], extractor: Any, batch_size: int) -> Inputs:
    inp = Inputs()
    real_needed = {"real", "real_probs"} & needs
    if isinstance(real, FeatureStats):
        inp.real_stats = real
        if real.features is not None:
            inp.real_feats = real.features.astype(np.float64)
    elif real is None and real_needed - {"real_probs"}:
        raise ConfigError(f"metrics needing real data were requested ({sorted(real_needed)}) but real is None")
    elif real is not None:
        inp.real_feats, inp.real_probs = _side(
            real, extractor, "real" in needs, "real_probs" in needs, "real", batch_size
        )
    if fake is None:
        raise ConfigError("fake samples are required (got None)")
    inp.fake_feats, inp.fake_probs = _side(fake, extractor, "fake" in needs, "fake_probs" in needs, "fake", batch_size)
    real_dim = inp.real_stats.mu.shape[0] if inp.real_stats is not None else _dim(inp.real_feats)
    if real_dim is not None and inp.fake_feats is not None and real_dim != inp.fake_feats.shape[1]:
        raise MetricInputError(
            f"real features have dimension {real_dim} but fake features have {inp.fake_feats.shape[1]}; "
            "both must be the same kind of data through the same extractor"
        )
    return inp


def _dim(feats: np.ndarray | None) -> int | None:
    return None if feats is None else feats.shape[1]


def compute(
    real: Any, fake: Any, metrics: list[str], extractor: str | Any = "identity", **opts: Any
) -> dict[str, float]:
    """Compute the named metrics between real and fake data; returns {result name: value}.

    real: images / samples (tensor or array), a FeatureStats, or None (for "is" and "modes").
    extractor: a registry name (see gankit.metrics.EXTRACTORS) or an extractor instance.
    opts: metric options (gankit.metrics.OPTIONS), e.g. kid_subset_size=100, pr_k=3, seed=0,
    chunk_size=1000, batch_size=50, extractor_kwargs={"weights": path}, centers=..., std=....
    """
    metrics = list(metrics) if not isinstance(metrics, str) else metrics
    _check_request(metrics, opts)
    if isinstance(extractor, str):
        extractor = get_extractor(extractor, **opts.get("extractor_kwargs", {}))
    needs = set().union(*(METRICS[m].needs for m in metrics))
    if "real_class_dist" in opts and opts["real_class_dist"] is not None:
        needs.discard("real_probs")
    inp = _prepare(real, fake, needs, extractor, opts.get("batch_size", 50))
    results: dict[str, float] = {}
    for name in metrics:
        spec = METRICS[name]
        results.update(spec.fn(inp, {k: v for k, v in opts.items() if k in spec.options}))
    return results
