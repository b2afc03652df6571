"""Nearest-neighbour metrics: precision/recall, density/coverage and the 1-NN two-sample test.

All distance work runs in row blocks (`chunk_size` rows). Precision/recall and density/coverage use
gankit.metrics.screened (float32 distances, exact float64 decisions) with one pass over the cross distances.
"""

from __future__ import annotations

import numpy as np

from gankit.metrics._validate import MetricInputError, check_pair
from gankit.metrics.distances import row_blocks, sq_dists, sq_norms
from gankit.metrics.screened import Side, ball_tests, kth_radius


def _check_k(n_real: int, n_fake: int, k: int, what: str, both: bool = True) -> None:
    if k < 1:
        raise MetricInputError(f"{what}: k must be >= 1, got {k}")
    sizes = {"real": n_real, "fake": n_fake} if both else {"real": n_real}
    for label, n in sizes.items():
        if n <= k:
            raise MetricInputError(f"{what} with k={k} needs more than {k} {label} samples, got {n}")


def precision_recall(
    real: np.ndarray, fake: np.ndarray, k: int = 3, chunk_size: int | None = None
) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN balls.

    precision: share of fake samples inside some real sample's k-NN ball (distance <= radius);
    recall: share of real samples inside some fake sample's k-NN ball. As torch-fidelity.
    """
    check_pair(real, fake, "precision/recall")
    _check_k(len(real), len(fake), k, "precision/recall")
    real, fake = Side(real), Side(fake)  # float32 copies and norms once for the radii and the ball tests
    r_real = kth_radius(real, k, chunk_size)
    r_fake = kth_radius(fake, k, chunk_size)
    fake_hits, _, real_in_fake_ball = ball_tests(
        fake, real, r_real, r_fake, strict=False, chunk_size=chunk_size, counts=False
    )
    return float((fake_hits > 0).mean()), float(real_in_fake_ball.mean())


def density_coverage(
    real: np.ndarray, fake: np.ndarray, k: int = 5, chunk_size: int | None = None
) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020) with the real samples' k-NN balls (strict `<`, as prdc).

    density: mean over fake samples of (number of real balls containing it) / k;
    coverage: share of real samples whose ball contains at least one fake sample.
    """
    check_pair(real, fake, "density/coverage")
    _check_k(len(real), len(fake), k, "density/coverage", both=False)
    real = Side(real)
    r_real = kth_radius(real, k, chunk_size)
    fake_hits, real_ball_hit, _ = ball_tests(fake, real, r_real, strict=True, chunk_size=chunk_size)
    return float(fake_hits.mean() / k), float(real_ball_hit.mean())


def one_nn_accuracy(
    real: np.ndarray, fake: np.ndarray, chunk_size: int | None = None
) -> tuple[float, float, float]:
    """Leave-one-out 1-NN two-sample test (Xu et al. 2018) on the pooled set.

    Each sample is classified by the label (real/fake) of its nearest other sample; returns
    (accuracy over all, accuracy on real, accuracy on fake). 0.5 is ideal, 1.0 means fully separable.
    Ties go to the lower pooled index (real before fake).
    """
    check_pair(real, fake, "1-NN accuracy")
    pooled = np.concatenate([real, fake])
    labels = np.concatenate([np.ones(len(real), bool), np.zeros(len(fake), bool)])
    norms = sq_norms(pooled)
    correct = np.empty(len(pooled), dtype=bool)
    for rows in row_blocks(len(pooled), len(pooled), chunk_size):
        d2 = sq_dists(pooled[rows], pooled, norms)
        i = np.arange(rows.stop - rows.start)
        d2[i, i + rows.start] = np.inf
        correct[rows] = labels[d2.argmin(axis=1)] == labels[rows]
    n_real = len(real)
    return float(correct.mean()), float(correct[:n_real].mean()), float(correct[n_real:].mean())
