import numpy as np
import pytest
from prdc import compute_prdc
from sklearn.neighbors import NearestNeighbors

from gankit.metrics import MetricInputError
from gankit.metrics.screened import kth_radius
from gankit.metrics.neighbours import density_coverage, one_nn_accuracy, precision_recall


@pytest.fixture
def sets():
    rng = np.random.default_rng(0)
    return rng.normal(size=(300, 8)), rng.normal(size=(250, 8)) * 1.3 + 0.4


@pytest.mark.parametrize("k", [3, 5])
def test_matches_prdc(sets, k):
    real, fake = sets
    ref = compute_prdc(real_features=real, fake_features=fake, nearest_k=k)
    p, r = precision_recall(real, fake, k=k)
    d, c = density_coverage(real, fake, k=k)
    got = {"precision": p, "recall": r, "density": d, "coverage": c}
    for key, value in got.items():
        assert value == pytest.approx(ref[key], rel=1e-5, abs=1e-12), key


def test_results_do_not_depend_on_chunk_size_or_order(sets):
    real, fake = sets
    rng = np.random.default_rng(1)
    base = (precision_recall(real, fake), density_coverage(real, fake), one_nn_accuracy(real, fake))
    for chunk in (1, 13, 1000):
        assert precision_recall(real, fake, chunk_size=chunk) == base[0]
        assert density_coverage(real, fake, chunk_size=chunk) == base[1]
        assert one_nn_accuracy(real, fake, chunk_size=chunk) == base[2]
    shuffled = (rng.permutation(real), rng.permutation(fake))
    assert precision_recall(*shuffled) == base[0]
    assert density_coverage(*shuffled) == pytest.approx(base[1], abs=1e-12)


def test_one_nn_matches_sklearn_leave_one_out(sets):
    real, fake = sets
    pooled = np.concatenate([real, fake])
    labels = np.r_[np.ones(len(real)), np.zeros(len(fake))]
    _, idx = NearestNeighbors(n_neighbors=2).fit(pooled).kneighbors(pooled)
    nearest_other = np.where(idx[:, 0] == np.arange(len(pooled)), idx[:, 1], idx[:, 0])
    correct = labels[nearest_other] == labels
    acc, acc_real, acc_fake = one_nn_accuracy(real, fake)
    assert acc == pytest.approx(correct.mean())
    assert acc_real == pytest.approx(correct[: len(real)].mean())
    assert acc_fake == pytest.approx(correct[len(real) :].mean())


def test_sanity_identical_and_separated_sets(sets):
    real, _ = sets
    assert precision_recall(real, real) == (1.0, 1.0)
    assert density_coverage(real, real)[1] == 1.0
    far = real + 100.0
    assert precision_recall(real, far) == (0.0, 0.0)
    assert density_coverage(real, far) == (0.0, 0.0)
    assert one_nn_accuracy(real, far) == (1.0, 1.0, 1.0)
    # the same points twice: every nearest other point is a duplicate with the other label
    assert one_nn_accuracy(real, real.copy())[0] == 0.0


def test_kth_radius_counts_self_as_first_neighbour():
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    assert np.allclose(np.sqrt(kth_radius(x, 1)), [1, 1, 2, 4])
    assert np.allclose(np.sqrt(kth_radius(x, 2)), [3, 2, 3, 6])


def test_too_few_samples_and_bad_shapes(sets):
    real, fake = sets
    with pytest.raises(MetricInputError, match="more than 3 fake samples"):
        precision_recall(real, fake[:3], k=3)
    with pytest.raises(MetricInputError, match="more than 5 real samples"):
        density_coverage(real[:5], fake, k=5)
    with pytest.raises(MetricInputError, match="dimension"):
        one_nn_accuracy(real, fake[:, :3])
