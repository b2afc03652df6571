"""Fréchet distance between Gaussians fitted to two feature sets (FID when the features are Inception pool3)."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

from gankit.metrics._validate import MetricInputError, check_finite

# Imaginary parts of sqrtm(sigma1 @ sigma2) above this are numerical trouble, not round-off.
IMAG_TOLERANCE = 1e-3


def mean_cov(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (float64) of the rows of `features`; warns when singular."""
    x = np.asarray(features, dtype=np.float64)
    n, d = x.shape
    if n < 2:
        raise MetricInputError(f"FID needs at least 2 samples per set, got {n}")
    if n <= d:
        warnings.warn(
            f"FID: {n} samples for {d}-dimensional features gives a singular covariance "
            f"(rank <= {n - 1} < {d}); the value is unreliable: use more samples than dimensions",
            RuntimeWarning,
            stacklevel=3,
        )
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def _sqrtm_product(sigma1: np.ndarray, sigma2: np.ndarray, eps: float) -> np.ndarray:
    """sqrtm(sigma1 @ sigma2); retried with eps*I added to both when the result is not finite."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on singular input; we check the result
        covmean = linalg.sqrtm(sigma1 @ sigma2)
    if np.isfinite(covmean).all():
        return covmean
    warnings.warn(
        f"FID: sigma1 @ sigma2 is singular; adding {eps} to the covariance diagonals (as pytorch-fid does)",
        RuntimeWarning,
        stacklevel=3,
    )
    offset = np.eye(len(sigma1)) * eps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))


def _drop_imaginary(covmean: np.ndarray) -> np.ndarray:
    """Real part of covmean; warns when the dropped imaginary part is not round-off."""
    if not np.iscomplexobj(covmean):
        return covmean
    imag = float(np.max(np.abs(covmean.imag))) if covmean.size else 0.0
    if imag > IMAG_TOLERANCE:
        warnings.warn(
            f"FID: sqrtm has an imaginary component of magnitude {imag:.3g} (> {IMAG_TOLERANCE}); "
            "the covariances are ill-conditioned and the FID value is inexact",
            RuntimeWarning,
            stacklevel=3,
        )
    return covmean.real


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 sqrt(sigma1 sigma2)) in float64."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (len(mu1), len(mu1)):
        raise MetricInputError(
            f"FID: statistics do not match: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}"
        )
    for name, a in (("mu1", mu1), ("sigma1", sigma1), ("mu2", mu2), ("sigma2", sigma2)):
        check_finite(a, f"FID {name}")
    diff = mu1 - mu2
    covmean = _drop_imaginary(_sqrtm_product(sigma1, sigma2, eps))
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean)
    return float(value)


def fid_from_features(real: np.ndarray, fake: np.ndarray, eps: float = 1e-6) -> float:
    """FID between two feature matrices (N, d)."""
    mu1, s1 = mean_cov(real)
    mu2, s2 = mean_cov(fake)
    return frechet_distance(mu1, s1, mu2, s2, eps=eps)
