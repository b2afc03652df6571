"""Metric registry: name -> MetricSpec (function of the prepared inputs, what it needs, its options)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from gankit.errors import ConfigError
from gankit.metrics.fid import frechet_distance, mean_cov
from gankit.metrics.kernel import gaussian_mmd2, kid
from gankit.metrics.modes import mode_metrics
from gankit.metrics.neighbours import density_coverage, one_nn_accuracy, precision_recall
from gankit.metrics.scores import inception_score, mode_score
from gankit.metrics.stats import FeatureStats
from gankit.metrics.wasserstein import wasserstein


@dataclass
class Inputs:
    """What the metrics consume; None where not computed (not needed, or not given)."""

    real_feats: np.ndarray | None = None
    fake_feats: np.ndarray | None = None
    real_probs: np.ndarray | None = None
    fake_probs: np.ndarray | None = None
    real_stats: FeatureStats | None = None


@dataclass(frozen=True)
class MetricSpec:
    fn: Callable[[Inputs, dict[str, Any]], dict[str, float]]
    needs: frozenset[str]  # of "real", "fake", "real_probs", "fake_probs"
    options: tuple[str, ...]


_WHAT = {
    "real_feats": "real features (real data, or a FeatureStats saved with its features)",
    "fake_feats": "fake features",
    "fake_probs": "class probabilities of the fake samples",
}


def _need(inp: Inputs, field: str, metric: str) -> np.ndarray:
    value = getattr(inp, field)
    if value is None:
        raise ConfigError(f"metric {metric!r} needs {_WHAT[field]}, which were not given")
    return value


def _fid(inp: Inputs, o: dict[str, Any]) -> dict[str, float]:
    if inp.real_stats is not None:
        mu1, s1 = inp.real_stats.mu, inp.real_stats.sigma
    else:
        mu1, s1 = mean_cov(_need(inp, "real_feats", "fid"))
    mu2, s2 = mean_cov(_need(inp, "fake_feats", "fid"))
    return {"fid": frechet_distance(mu1, s1, mu2, s2, eps=o.get("fid_eps", 1e-6))}


def _kid(inp: Inputs, o: dict[str, Any]) -> dict[str, float]:
    mean, std = kid(
        _need(inp, "real_feats", "kid"), _need(inp, "fake_feats", "kid"),
        subsets=o.get("kid_subsets", 100), subset_size=o.get("kid_subset_size", 1000),
        degree=o.get("kid_degree", 3), gamma=o.get("kid_gamma"), coef0=o.get("kid_coef0", 1.0),
        seed=o.get("seed", 2020),
    )  # fmt: skip
    return {"kid_mean": mean, "kid_std": std}


def _is(inp: Inputs, o: dict[str, Any]) -> dict[str, float]:
    mean, std = inception_score(_need(inp, "fake_probs", "is"), splits=o.get("splits", 10), seed=o.get("seed", 2020))
    return {"is_mean": mean, "is_std": std}


def _real_class_dist(inp: Inputs, o: dict[str, Any]) -> np.ndarray:
    if o.get("real_class_dist") is not None:
        return np.asarray(o["real_class_dist"], dtype=np.float64)
    if inp.real_probs is not None:
        return inp.real_probs.mean(axis=0)
    if inp.real_stats is not None and inp.real_stats.class_probs is not None:
        return inp.real_stats.class_probs
    raise ConfigError("metric 'mode_score' needs real class probabilities or the option real_class_dist")


def _mode_score(inp: Inputs, o: dict[str, Any]) -> dict[str, float]:
    probs = _need(inp, "fake_probs", "mode_score")
    mean, std = mode_score(probs, _real_class_dist(inp, o), splits=o.get("splits", 10), seed=o.get("seed", 2020))
    return {"mode_score_mean": mean, "mode_score_std": std}


def _mmd(inp: Inputs, o: dict[str, Any]) -> dict[str, float]:
    value, bw = gaussian_mmd2(
        _need(inp, "real_feats", "mmd"), _need(inp, "fake_feats", "mmd"),
        bandwidth=o.get("mmd_bandwidth"), chunk_size=o.get("chunk_size"), seed=o.get("seed", 2020),
    )  # fmt: skip
    return {"mmd2": value, "mmd_bandwidth": bw}


def _wasserstein(inp: Inputs, o: dict[str, Any]) -> dict[str, float]:
    return wasserstein(
        _need(inp, "real_feats", "wasserstein"), _need(inp, "fake_feats", "wasserstein"),
        method=o.get("wasserstein_method", "auto"), n_projections=o.get("n_projections", 100),
        seed=o.get("seed", 2020),
    )  # fmt: skip


def _one_nn(inp: Inputs, o: dict[str, Any]) -> dict[str, float]:
    acc, acc_real, acc_fake = one_nn_accuracy(
        _need(inp, "real_feats", "1nn"), _need(inp, "fake_feats", "1nn"), chunk_size=o.get("chunk_size")
    )
    return {"1nn_accuracy": acc, "1nn_accuracy_real": acc_real, "1nn_accuracy_fake": acc_fake}


def _pr(inp: Inputs, o: dict[str, Any]) -> dict[str, float]:
    p, r = precision_recall(
        _need(inp, "real_feats", "pr"), _need(inp, "fake_feats", "pr"), k=o.get("pr_k", 3),
        chunk_size=o.get("chunk_size"),
    )  # fmt: skip
    return {"precision": p, "recall": r}


def _dc(inp: Inputs, o: dict[str, Any]) -> dict[str, float]:
    d, c = density_coverage(
        _need(inp, "real_feats", "dc"), _need(inp, "fake_feats", "dc"), k=o.get("dc_k", 5),
        chunk_size=o.get("chunk_size"),
    )  # fmt: skip
    return {"density": d, "coverage": c}


def _modes(inp: Inputs, o: dict[str, Any]) -> dict[str, float]:
    if o.get("centers") is None or o.get("std") is None:
        raise ConfigError("metric 'modes' needs the options centers (K, d) and std")
    return mode_metrics(
        _need(inp, "fake_feats", "modes"), o["centers"], o["std"],
        threshold=o.get("modes_threshold", 3.0), eps=o.get("modes_eps", 1e-10),
    )  # fmt: skip


_F = frozenset
METRICS: dict[str, MetricSpec] = {
    "fid": MetricSpec(_fid, _F({"real", "fake"}), ("fid_eps",)),
    "kid": MetricSpec(_kid, _F({"real", "fake"}), ("kid_subsets", "kid_subset_size", "kid_degree", "kid_gamma", "kid_coef0", "seed")),  # noqa: E501
    "is": MetricSpec(_is, _F({"fake_probs"}), ("splits", "seed")),
    "mode_score": MetricSpec(_mode_score, _F({"fake_probs", "real_probs"}), ("splits", "seed", "real_class_dist")),
    "mmd": MetricSpec(_mmd, _F({"real", "fake"}), ("mmd_bandwidth", "chunk_size", "seed")),
    "wasserstein": MetricSpec(_wasserstein, _F({"real", "fake"}), ("wasserstein_method", "n_projections", "seed")),
    "1nn": MetricSpec(_one_nn, _F({"real", "fake"}), ("chunk_size",)),
    "pr": MetricSpec(_pr, _F({"real", "fake"}), ("pr_k", "chunk_size")),
    "dc": MetricSpec(_dc, _F({"real", "fake"}), ("dc_k", "chunk_size")),
    "modes": MetricSpec(_modes, _F({"fake"}), ("centers", "std", "modes_threshold", "modes_eps")),
}
EXTRACTION_OPTIONS = ("batch_size", "extractor_kwargs")
OPTIONS = frozenset(EXTRACTION_OPTIONS).union(*(spec.options for spec in METRICS.values()))

