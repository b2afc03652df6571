"""Classifier-based scores from class probabilities p(y|x): Inception Score and Mode Score.

Mode Score follows the code of Xu et al. (2018, "An empirical study on evaluation metrics of
GANs"), the usual reference implementation:

    MS = exp( E_x KL(p(y|x) || p(y)) - KL(p(y) || p*(y)) )

with p(y) the marginal of the generated samples and p*(y) the class distribution of the real
data. (Che et al. 2017 print the first term as KL(p(y|x) || p*(y)); with p(y) the empirical
marginal, that form is algebraically identical to the Inception Score, so it is not used.)
"""

from __future__ import annotations

import numpy as np

from gankit.metrics._validate import MetricInputError, as_features

_TINY = np.finfo(np.float64).tiny
PROB_SUM_TOLERANCE = 1e-3


def check_probabilities(probs: np.ndarray, name: str) -> np.ndarray:
    """Rows must be probability vectors (non-negative, summing to 1 within 1e-3); renormalised."""
    p = as_features(probs, name)
    if p.shape[1] < 2:
        raise MetricInputError(f"{name}: class probabilities need at least 2 classes, got shape {p.shape}")
    sums = p.sum(axis=1)
    if (p < 0).any() or np.abs(sums - 1.0).max() > PROB_SUM_TOLERANCE:
        raise MetricInputError(
            f"{name} is not a matrix of class probabilities (rows must be >= 0 and sum to 1; "
            f"row sums range {sums.min():.4g}..{sums.max():.4g}); pass softmax outputs or use an "
            "extractor with logits"
        )
    return p / sums[:, None]


def _log(p: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(p, _TINY))


def _split_indices(n: int, splits: int, shuffle: bool, seed: int) -> list[np.ndarray]:
    """Split boundaries i*n//splits, after a RandomState(seed) permutation (as torch-fidelity)."""
    if splits < 1 or n < splits:
        raise MetricInputError(f"score needs 1 <= splits <= number of samples, got splits={splits}, n={n}")
    order = np.random.RandomState(seed).permutation(n) if shuffle else np.arange(n)
    return [order[i * n // splits : (i + 1) * n // splits] for i in range(splits)]


def _mean_kl_to_marginal(p: np.ndarray) -> tuple[float, np.ndarray]:
    """E_x KL(p(y|x) || p(y)) for the rows of p, and the marginal p(y)."""
    marginal = p.mean(axis=0)
    kl = (p * (_log(p) - _log(marginal)[None, :])).sum(axis=1)
    return float(kl.mean()), marginal


def inception_score(
    probs: np.ndarray, splits: int = 10, shuffle: bool = True, seed: int = 2020
) -> tuple[float, float]:
    """Inception Score exp(E_x KL(p(y|x) || p(y))): mean and std over `splits` splits."""
    p = check_probabilities(probs, "IS probabilities")
    scores = [np.exp(_mean_kl_to_marginal(p[idx])[0]) for idx in _split_indices(len(p), splits, shuffle, seed)]
    return float(np.mean(scores)), float(np.std(scores))


def mode_score(
    probs: np.ndarray,
    real_class_dist: np.ndarray,
    splits: int = 10,
    shuffle: bool = True,
    seed: int = 2020,
) -> tuple[float, float]:
    """Mode Score (see the module docstring) over `splits` splits: (mean, std).

    real_class_dist: p*(y), e.g. the mean class probability of the real data or its label frequencies.
    """
    p = check_probabilities(probs, "Mode Score probabilities")
    p_star = np.asarray(real_class_dist, dtype=np.float64).reshape(-1)
    if p_star.shape[0] != p.shape[1]:
        raise MetricInputError(
            f"Mode Score: real class distribution has {p_star.shape[0]} classes, probabilities have {p.shape[1]}"
        )
    p_star = check_probabilities(p_star[None, :], "Mode Score real class distribution")[0]
    scores = []
    for idx in _split_indices(len(p), splits, shuffle, seed):
        mean_kl, marginal = _mean_kl_to_marginal(p[idx])
        kl_marginal = float((marginal * (_log(marginal) - _log(p_star))).sum())
        scores.append(np.exp(mean_kl - kl_marginal))
    return float(np.mean(scores)), float(np.std(scores))
