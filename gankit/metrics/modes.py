"""Mode-coverage metrics for low-dimensional Gaussian mixtures (the VEEGAN / PacGAN protocol).

- A sample is *high quality* when its Euclidean distance to the nearest mode centre is below
  `threshold * std` (threshold 3, as in the VEEGAN code; Euclidean distance, not per-coordinate).
- A mode is *captured* when it is the nearest mode of at least one high-quality sample.
  (Some papers additionally require a minimum count per mode; pass `min_count` for that.)
- reverse KL = KL(p_hq || uniform), p_hq the histogram of high-quality samples over the modes.
  Every bin gets `eps` (1e-10) added to its normalised mass and the histogram is renormalised,
  so empty modes contribute ~0 (eps*log(eps*K)) instead of an undefined 0*log 0 term.
  All modes equally hit gives 0; everything in one mode gives ~log K. With no high-quality
  sample at all, reverse KL is inf.
"""

from __future__ import annotations

import numpy as np

from gankit.errors import ConfigError
from gankit.metrics._validate import MetricInputError, as_features


def nearest_mode(samples: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each sample's nearest centre and the Euclidean distance to it."""
    d2 = ((samples[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    idx = d2.argmin(axis=1)
    return idx, np.sqrt(d2[np.arange(len(samples)), idx])


def mode_metrics(
    samples: np.ndarray,
    centers: np.ndarray,
    std: float,
    threshold: float = 3.0,
    eps: float = 1e-10,
    min_count: int = 1,
) -> dict[str, float]:
    """{"modes_captured", "high_quality_pct", "reverse_kl"} for samples of a mixture with these centres."""
    x = as_features(samples, "mode-metric samples")
    c = as_features(centers, "mode centers")
    if x.shape[1] != c.shape[1]:
        raise MetricInputError(
            f"mode metrics: samples have dimension {x.shape[1]} but centers have {c.shape[1]}"
        )
    if not std > 0 or not threshold > 0:
        raise ConfigError(f"mode metrics need std > 0 and threshold > 0, got std={std}, threshold={threshold}")
    if min_count < 1:
        raise ConfigError(f"mode metrics: min_count must be >= 1, got {min_count}")
    idx, dist = nearest_mode(x, c)
    high = dist < threshold * std
    counts = np.bincount(idx[high], minlength=len(c))
    return {
        "modes_captured": float((counts >= min_count).sum()),
        "high_quality_pct": float(100.0 * high.mean()),
        "reverse_kl": reverse_kl_uniform(counts, eps),
    }


def reverse_kl_uniform(counts: np.ndarray, eps: float = 1e-10) -> float:
    """KL(p || uniform) for the histogram `counts` (eps added to every bin; inf when all are 0)."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.sum() == 0:
        return float("inf")
    p = counts / counts.sum() + eps
    p /= p.sum()
    return float((p * np.log(p * len(p))).sum())
