import numpy as np
import ot
import pytest
from scipy.stats import wasserstein_distance

from gankit.errors import ConfigError
from gankit.metrics.wasserstein import (
    exact_emd,
    random_projections,
    sliced_wasserstein,
    use_exact,
    wasserstein,
)


def pot_emd(x, y):
    return ot.emd2(np.full(len(x), 1 / len(x)), np.full(len(y), 1 / len(y)), ot.dist(x, y, metric="euclidean"))


@pytest.mark.parametrize("sizes", [(60, 60), (50, 35), (60, 47)])  # assignment, replicated, LP
def test_exact_emd_matches_pot(sizes):
    rng = np.random.default_rng(sum(sizes))
    x, y = rng.normal(size=(sizes[0], 3)), rng.normal(size=(sizes[1], 3)) + 0.5
    assert exact_emd(x, y) == pytest.approx(pot_emd(x, y), rel=1e-5)


def test_exact_emd_sanity():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    assert exact_emd(x, rng.permutation(x)) == pytest.approx(0.0, abs=1e-12)
    shift = np.array([3.0, 4.0])
    assert exact_emd(x, x + shift) == pytest.approx(5.0, rel=1e-9)  # a translation moves every point by |shift|


@pytest.mark.parametrize("sizes", [(200, 200), (200, 130)])
def test_sliced_matches_pot_with_the_same_projections(sizes):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(sizes[0], 4)), rng.normal(size=(sizes[1], 4)) * 2
    proj = random_projections(4, 30, seed=5)
    for p in (1, 2):
        ref = ot.sliced_wasserstein_distance(x, y, projections=proj, p=p)
        assert sliced_wasserstein(x, y, p=p, projections=proj) == pytest.approx(ref, rel=1e-5)


def test_sliced_in_one_dimension_is_the_exact_distance():
    rng = np.random.default_rng(2)
    u, v = rng.normal(size=(70, 1)), rng.exponential(size=(45, 1))
    expected = wasserstein_distance(u[:, 0], v[:, 0])
    assert sliced_wasserstein(u, v, n_projections=3) == pytest.approx(expected, rel=1e-10)
    assert exact_emd(u, v) == pytest.approx(expected, rel=1e-6)


def test_method_selection_and_keys():
    assert use_exact(2000, 2000, "auto") and not use_exact(2001, 2001, "auto")
    assert use_exact(500, 500, "auto") and not use_exact(1000, 900, "auto")
    assert not use_exact(10, 10, "sliced") and use_exact(5000, 10, "exact")
    with pytest.raises(ConfigError, match="wasserstein_method"):
        use_exact(10, 10, "fast")
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    assert set(wasserstein(x, y)) == {"wasserstein"}
    assert set(wasserstein(x, y, method="sliced")) == {"sliced_wasserstein"}
