"""Wasserstein-1 (earth mover's) distance between two sample sets with uniform weights.

Exact: optimal assignment (scipy.optimize.linear_sum_assignment) for equal sizes, or for unequal
sizes with points repeated up to lcm(n, m) <= 2500; otherwise the transportation linear program
(scipy.optimize.linprog, HiGHS). Both need the full Euclidean cost matrix. Sliced: the mean over random unit directions of the 1-D distance between
the projections, (mean_l W_p^p)^(1/p), as POT's sliced_wasserstein_distance defines it.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment, linprog
from scipy.spatial.distance import cdist

from gankit.errors import ConfigError
from gankit.metrics._validate import MetricInputError, check_pair

AUTO_EXACT_MAX_EQUAL = 2000  # n for the assignment problem in "auto" mode
AUTO_EXACT_MAX_PAIRS = 250_000  # n * m for the linear program in "auto" mode
EXACT_HARD_MAX_PAIRS = 25_000_000  # refuse an exact solve beyond this (a 200 MB cost matrix)
REPLICATE_MAX = 2500  # unequal sizes with lcm(n, m) up to this are solved as an assignment


def exact_emd(real: np.ndarray, fake: np.ndarray) -> float:
    """Exact W1 with Euclidean ground cost and uniform weights 1/n, 1/m."""
    check_pair(real, fake, "Wasserstein")
    n, m = len(real), len(fake)
    if n * m > EXACT_HARD_MAX_PAIRS:
        raise MetricInputError(
            f"exact Wasserstein on {n} x {m} samples needs a {n * m:,}-entry cost matrix; "
            "use wasserstein_method='sliced' or fewer samples"
        )
    lcm = math.lcm(n, m)
    if lcm <= REPLICATE_MAX:
        # uniform weights 1/n and 1/m = each point repeated lcm/n (lcm/m) times with weight 1/lcm:
        # an assignment problem (Birkhoff), much faster than the linear program
        cost = cdist(np.repeat(real, lcm // n, axis=0), np.repeat(fake, lcm // m, axis=0))
        rows, cols = linear_sum_assignment(cost)
        return float(cost[rows, cols].mean())
    return _transport_lp(cdist(real, fake))


def _transport_lp(cost: np.ndarray) -> float:
    """Optimal transport cost between uniform marginals by linear programming."""
    n, m = cost.shape
    row_sums = sparse.kron(sparse.eye(n), np.ones((1, m)))
    col_sums = sparse.kron(np.ones((1, n)), sparse.eye(m))
    a_eq = sparse.vstack([row_sums, col_sums]).tocsr()
    b_eq = np.concatenate([np.full(n, 1.0 / n), np.full(m, 1.0 / m)])
    res = linprog(cost.ravel(), A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    if res.status != 0:
        raise RuntimeError(f"Wasserstein linear program failed: {res.message}")
    return float(res.fun)


def random_projections(d: int, n_projections: int, seed: int) -> np.ndarray:
    """(d, n_projections) unit vectors, Gaussian directions from RandomState(seed)."""
    if n_projections < 1:
        raise ConfigError(f"n_projections must be >= 1, got {n_projections}")
    proj = np.random.RandomState(seed).normal(size=(d, n_projections))
    return proj / np.linalg.norm(proj, axis=0, keepdims=True)


def _wasserstein_1d_pp(u: np.ndarray, v: np.ndarray, p: float) -> np.ndarray:
    """W_p^p between the columns of u (n, L) and v (m, L), uniform weights, via quantile functions."""
    us, vs = np.sort(u, axis=0), np.sort(v, axis=0)
    n, m = len(us), len(vs)
    if n == m:
        return (np.abs(us - vs) ** p).mean(axis=0)
    cu, cv = np.arange(1, n + 1) / n, np.arange(1, m + 1) / m
    levels = np.union1d(cu, cv)
    widths = np.diff(np.concatenate([[0.0], levels]))
    iu = np.minimum(np.searchsorted(cu, levels, side="left"), n - 1)
    iv = np.minimum(np.searchsorted(cv, levels, side="left"), m - 1)
    return (widths[:, None] * np.abs(us[iu] - vs[iv]) ** p).sum(axis=0)


def sliced_wasserstein(
    real: np.ndarray,
    fake: np.ndarray,
    n_projections: int = 100,
    p: float = 1.0,
    seed: int = 2020,
    projections: np.ndarray | None = None,
) -> float:
    """Sliced Wasserstein-p: (mean over directions of W_p^p of the 1-D projections)^(1/p)."""
    check_pair(real, fake, "sliced Wasserstein")
    proj = random_projections(real.shape[1], n_projections, seed) if projections is None else projections
    per_direction = _wasserstein_1d_pp(real @ proj, fake @ proj, p)
    return float(per_direction.mean() ** (1.0 / p))


def use_exact(n: int, m: int, method: str) -> bool:
    """Whether `method` ("auto", "exact", "sliced") resolves to the exact solver for n x m samples."""
    if method not in ("auto", "exact", "sliced"):
        raise ConfigError(f"wasserstein_method must be 'auto', 'exact' or 'sliced', got {method!r}")
    if method != "auto":
        return method == "exact"
    return (n == m and n <= AUTO_EXACT_MAX_EQUAL) or n * m <= AUTO_EXACT_MAX_PAIRS


def wasserstein(
    real: np.ndarray,
    fake: np.ndarray,
    method: str = "auto",
    n_projections: int = 100,
    seed: int = 2020,
) -> dict[str, float]:
    """{"wasserstein": exact W1} or {"sliced_wasserstein": sliced W1}, chosen by `method`.

    "auto" is exact for equal sizes up to 2000 samples or n*m up to 250,000, sliced beyond;
    the key tells which quantity was computed (they are not interchangeable).
    """
    check_pair(real, fake, "Wasserstein")
    if use_exact(len(real), len(fake), method):
        return {"wasserstein": exact_emd(real, fake)}
    return {"sliced_wasserstein": sliced_wasserstein(real, fake, n_projections, 1.0, seed)}
