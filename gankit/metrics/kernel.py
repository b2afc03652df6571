"""Kernel two-sample statistics: KID (polynomial kernel, subsets) and Gaussian-kernel MMD (chunked)."""

from __future__ import annotations

import warnings
from functools import partial

import numpy as np
from scipy.spatial.distance import pdist

from gankit.metrics._validate import MetricInputError, check_pair
from gankit.metrics.distances import row_blocks, sq_dists, sq_norms

KID_MIN_SAMPLES = 10
MEDIAN_HEURISTIC_MAX_POINTS = 1000
KID_PRECISIONS = ("float32", "float64")


def offdiag_kernel_sum(x: np.ndarray, kern, parts: int = 4) -> float:
    """Sum of kern(x, x) over its off-diagonal entries, in float64 whatever the kernel's dtype.

    The matrix is symmetric, so it is formed in `parts` x `parts` row blocks of which only the blocks on and
    above the diagonal are computed (those above counted twice): 10 of 16 blocks for parts=4.
    """
    edges = np.linspace(0, len(x), parts + 1).astype(int)
    blocks = [x[a:b] for a, b in zip(edges[:-1], edges[1:]) if b > a]
    f8 = np.float64
    total = 0.0
    for i, xi in enumerate(blocks):
        k = kern(xi, xi)
        total += k.sum(dtype=f8) - np.trace(k, dtype=f8)
        for xj in blocks[i + 1 :]:
            total += 2.0 * kern(xi, xj).sum(dtype=f8)
    return float(total)


def unbiased_mmd2_of(x: np.ndarray, y: np.ndarray, kern) -> float:
    """Unbiased MMD^2 of two sample sets under kern: within-set means over off-diagonal pairs."""
    m, n = len(x), len(y)
    cross = kern(x, y).sum(dtype=np.float64)
    return offdiag_kernel_sum(x, kern) / (m * (m - 1)) + offdiag_kernel_sum(y, kern) / (n * (n - 1)) - 2.0 * cross / (m * n)


def polynomial_kernel(
    x: np.ndarray, y: np.ndarray, degree: int = 3, gamma: float | None = None, coef0: float = 1.0
) -> np.ndarray:
    """(gamma <x, y> + coef0) ** degree, gamma defaulting to 1 / d, in the inputs' dtype."""
    g = 1.0 / x.shape[1] if gamma is None else gamma
    base = x @ y.T
    base *= base.dtype.type(g)
    base += base.dtype.type(coef0)
    if not float(degree).is_integer() or degree < 1:
        return base**degree
    out = base.copy()
    for _ in range(int(degree) - 1):  # repeated products: much faster than a float power
        out *= base
    return out


def _kid_subset_size(n_real: int, n_fake: int, subset_size: int) -> int:
    """The subset size to use: `subset_size`, or smaller (with a warning) when a set is smaller."""
    n_min = min(n_real, n_fake)
    if n_min < KID_MIN_SAMPLES:
        raise MetricInputError(
            f"KID needs at least {KID_MIN_SAMPLES} samples per set, got {n_real} real and {n_fake} fake"
        )
    if n_min < subset_size:
        warnings.warn(
            f"KID: only {n_min} samples in the smaller set; using subsets of {n_min} instead of "
            f"{subset_size} (values are not comparable with the standard subset size)",
            RuntimeWarning,
            stacklevel=3,
        )
        return n_min
    return subset_size


def kid(
    real: np.ndarray,
    fake: np.ndarray,
    subsets: int = 100,
    subset_size: int = 1000,
    degree: int = 3,
    gamma: float | None = None,
    coef0: float = 1.0,
    seed: int = 2020,
    precision: str = "float32",
) -> tuple[float, float]:
    """Kernel Inception Distance: mean and std of the unbiased MMD^2 over random subsets.

    Subsets are drawn without replacement with np.random.RandomState(seed), the fake subset
    first and then the real one, as torch-fidelity does (so equal seeds give equal values).
    precision "float32" forms the kernel matrices in float32 (about 2x faster) and sums them in
    float64: the result stays within 1e-6 (relative to the kernel scale) of "float64"'s, which
    forms everything in float64 (tests/metrics/test_kernel.py).
    """
    check_pair(real, fake, "KID")
    if subsets < 1:
        raise MetricInputError(f"KID: subsets must be >= 1, got {subsets}")
    if precision not in KID_PRECISIONS:
        raise MetricInputError(f"KID: precision {precision!r} is not valid; choose one of {', '.join(KID_PRECISIONS)}")
    size = _kid_subset_size(len(real), len(fake), subset_size)
    real, fake = (np.asarray(a, dtype=precision) for a in (real, fake))
    rng = np.random.RandomState(seed)
    kern = partial(polynomial_kernel, degree=degree, gamma=gamma, coef0=coef0)
    values = np.empty(subsets)
    for i in range(subsets):
        f = fake[rng.choice(len(fake), size, replace=False)]
        r = real[rng.choice(len(real), size, replace=False)]
        values[i] = unbiased_mmd2_of(f, r, kern)
    return float(values.mean()), float(values.std())


def median_heuristic(real: np.ndarray, fake: np.ndarray, seed: int = 2020) -> float:
    """Median pairwise Euclidean distance of the pooled samples (at most 1000 points, drawn with `seed`)."""
    pooled = np.concatenate([real, fake])
    if len(pooled) > MEDIAN_HEURISTIC_MAX_POINTS:
        idx = np.random.RandomState(seed).choice(len(pooled), MEDIAN_HEURISTIC_MAX_POINTS, replace=False)
        pooled = pooled[idx]
    dists = pdist(pooled)
    med = float(np.median(dists)) if dists.size else 0.0
    if med <= 0.0:
        positive = dists[dists > 0]
        if positive.size == 0:
            raise MetricInputError("MMD: all samples are identical; the median heuristic bandwidth is 0")
        med = float(np.median(positive))
    return med


def _gaussian_sum(a: np.ndarray, b: np.ndarray, bandwidth: float, same: bool, chunk_size: int | None) -> float:
    """Sum of exp(-||a_i - b_j||^2 / (2 bandwidth^2)) over all pairs (off-diagonal pairs when same)."""
    norms = sq_norms(b)
    total = 0.0
    scale = -1.0 / (2.0 * bandwidth**2)
    for rows in row_blocks(len(a), len(b), chunk_size):
        k = np.exp(sq_dists(a[rows], b, norms) * scale)
        if same:
            i = np.arange(rows.stop - rows.start)
            k[i, i + rows.start] = 0.0
        total += float(k.sum())
    return total


def gaussian_mmd2(
    real: np.ndarray,
    fake: np.ndarray,
    bandwidth: float | None = None,
    chunk_size: int | None = None,
    seed: int = 2020,
) -> tuple[float, float]:
    """Unbiased MMD^2 with k(x, y) = exp(-||x - y||^2 / (2 bandwidth^2)); returns (mmd2, bandwidth).

    bandwidth None uses the median heuristic (median pooled pairwise distance).
    """
    check_pair(real, fake, "MMD")
    m, n = len(real), len(fake)
    if m < 2 or n < 2:
        raise MetricInputError(f"MMD needs at least 2 samples per set, got {m} real and {n} fake")
    bw = median_heuristic(real, fake, seed) if bandwidth is None else float(bandwidth)
    if not bw > 0:
        raise MetricInputError(f"MMD: bandwidth must be > 0, got {bandwidth}")
    s_xx = _gaussian_sum(real, real, bw, True, chunk_size)
    s_yy = _gaussian_sum(fake, fake, bw, True, chunk_size)
    s_xy = _gaussian_sum(real, fake, bw, False, chunk_size)
    mmd2 = s_xx / (m * (m - 1)) + s_yy / (n * (n - 1)) - 2.0 * s_xy / (m * n)
    return float(mmd2), bw
