import numpy as np
import pytest
from sklearn.metrics.pairwise import polynomial_kernel as sk_poly
from sklearn.metrics.pairwise import rbf_kernel

from gankit.metrics import MetricInputError
from gankit.metrics.kernel import gaussian_mmd2, kid, median_heuristic, offdiag_kernel_sum, polynomial_kernel


def dense_unbiased_mmd2(kxx, kyy, kxy):
    m, n = len(kxx), len(kyy)
    off = lambda k: k[~np.eye(len(k), dtype=bool)].sum()  # noqa: E731
    return off(kxx) / (m * (m - 1)) + off(kyy) / (n * (n - 1)) - 2 * kxy.mean()


@pytest.fixture
def sets():
    rng = np.random.default_rng(0)
    return rng.normal(size=(120, 5)), rng.normal(size=(90, 5)) * 1.2 + 0.3


def test_gaussian_mmd_matches_dense_sklearn_for_unequal_sizes(sets):
    x, y = sets
    bw = 1.7
    gamma = 1 / (2 * bw**2)
    expected = dense_unbiased_mmd2(rbf_kernel(x, x, gamma=gamma), rbf_kernel(y, y, gamma=gamma), rbf_kernel(x, y, gamma=gamma))
    value, used = gaussian_mmd2(x, y, bandwidth=bw)
    assert used == bw
    assert value == pytest.approx(expected, rel=1e-10)


def test_gaussian_mmd_is_independent_of_chunk_size(sets):
    x, y = sets
    values = [gaussian_mmd2(x, y, bandwidth=2.0, chunk_size=c)[0] for c in (1, 7, 64, None)]
    assert np.ptp(values) < 1e-12


def test_median_heuristic_and_identical_sets(sets):
    x, y = sets
    pooled = np.concatenate([x, y])
    d = np.sqrt(((pooled[:, None] - pooled[None]) ** 2).sum(-1))
    assert median_heuristic(x, y) == pytest.approx(np.median(d[np.triu_indices(len(pooled), 1)]), rel=1e-12)
    value, _ = gaussian_mmd2(x, x)
    assert -2 / len(x) <= value < 0  # identical sets: (2/m)(mean off-diagonal kernel - 1)
    assert gaussian_mmd2(x, y + 1.0)[0] > 0.1


def test_kid_subset_equals_full_set_matches_dense_polynomial_mmd(sets):
    x, y = sets
    x = x[:90]
    kern = lambda a, b: sk_poly(a, b, degree=3, gamma=1 / a.shape[1], coef0=1)  # noqa: E731
    mean, std = kid(x, y, subsets=3, subset_size=90, precision="float64")
    assert mean == pytest.approx(dense_unbiased_mmd2(kern(x, x), kern(y, y), kern(x, y)), rel=1e-10)
    assert std == pytest.approx(0.0, abs=1e-12)  # every subset is the whole set


def test_kid_is_seeded_and_permutation_invariant_for_full_subsets(sets):
    x, y = sets
    assert kid(x, y, subsets=5, subset_size=50, seed=3) == kid(x, y, subsets=5, subset_size=50, seed=3)
    assert kid(x, y, subsets=5, subset_size=50, seed=3) != kid(x, y, subsets=5, subset_size=50, seed=4)
    rng = np.random.default_rng(1)
    full = kid(x[:90], y, subsets=2, subset_size=90)[0]
    assert kid(rng.permutation(x[:90]), rng.permutation(y), subsets=2, subset_size=90)[0] == pytest.approx(full, rel=1e-10)


def test_kid_small_sets_warn_or_fail(sets):
    x, y = sets
    with pytest.warns(RuntimeWarning, match="subsets of 90 instead of 1000"):
        kid(x, y, subsets=2)
    with pytest.raises(MetricInputError, match="at least 10 samples"):
        kid(x[:5], y, subsets=2)
    with pytest.raises(MetricInputError, match="dimension 5 but fake features have 4"):
        kid(x, y[:, :4])


@pytest.mark.parametrize("parts", [1, 2, 3, 4, 7, 40])
def test_offdiag_sum_from_the_upper_blocks_equals_the_dense_sum(sets, parts):
    x = sets[0][:37]
    k = sk_poly(x, x, degree=3, gamma=1 / x.shape[1], coef0=1)
    assert offdiag_kernel_sum(x, polynomial_kernel, parts) == pytest.approx(k.sum() - np.trace(k), rel=1e-12)


@pytest.mark.parametrize("d", [128, 2048])
def test_kid_float32_kernels_keep_the_float64_digits(d):
    rng = np.random.default_rng(d)
    real = rng.normal(size=(1200, d)).astype(np.float32)
    fake = (rng.normal(size=(1200, d)) * 1.1 + 0.1).astype(np.float32)
    same = rng.normal(size=(1200, d)).astype(np.float32)
    for other in (fake, same):
        m32, s32 = kid(real, other, subsets=4, subset_size=1000)  # float32 is the default
        m64, s64 = kid(real, other, subsets=4, subset_size=1000, precision="float64")
        scale = (1 + (real * real).sum(1).mean() / d) ** 3  # the kernel's size on the diagonal
        assert abs(m32 - m64) <= 1e-6 * scale and abs(s32 - s64) <= 1e-6 * scale
    m32, _ = kid(real, fake, subsets=4, subset_size=1000)
    assert m32 == pytest.approx(kid(real, fake, subsets=4, subset_size=1000, precision="float64")[0], rel=1e-6)
    with pytest.raises(MetricInputError, match="precision 'float16' is not valid"):
        kid(real, fake, subsets=1, precision="float16")
