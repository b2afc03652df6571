import numpy as np
import pytest

from gankit.metrics import MetricInputError
from gankit.metrics.scores import inception_score, mode_score


def one_hot(labels, k):
    return np.eye(k)[labels]


def test_perfect_balanced_classifier_scores_number_of_classes():
    probs = one_hot(np.arange(1000) % 10, 10)
    mean, std = inception_score(probs, splits=10, shuffle=False)
    assert mean == pytest.approx(10.0, rel=1e-9) and std == pytest.approx(0.0, abs=1e-9)


def test_uniform_or_collapsed_predictions_score_one():
    assert inception_score(np.full((100, 7), 1 / 7))[0] == pytest.approx(1.0)
    assert inception_score(one_hot(np.zeros(100, int), 7))[0] == pytest.approx(1.0)


def test_score_is_permutation_invariant_without_splits():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(5, 0.3), size=200)
    assert inception_score(probs, splits=1)[0] == pytest.approx(inception_score(probs[::-1], splits=1)[0], rel=1e-12)


def test_mode_score_is_is_times_exp_minus_marginal_kl():
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.full(4, 0.5), size=300)
    p_star = np.array([0.4, 0.3, 0.2, 0.1])
    marginal = probs.mean(axis=0)
    kl = (marginal * np.log(marginal / p_star)).sum()
    is_mean = inception_score(probs, splits=1)[0]
    assert mode_score(probs, p_star, splits=1)[0] == pytest.approx(is_mean * np.exp(-kl), rel=1e-10)
    # matching the real class distribution exactly gives back the Inception Score
    assert mode_score(probs, marginal, splits=1)[0] == pytest.approx(is_mean, rel=1e-10)


def test_mode_score_penalises_a_missing_class():
    balanced = one_hot(np.arange(400) % 4, 4)
    missing = one_hot(np.arange(400) % 3, 4)
    p_star = np.full(4, 0.25)
    assert mode_score(balanced, p_star, splits=1)[0] == pytest.approx(4.0)
    assert mode_score(missing, p_star, splits=1)[0] < 3.0  # IS is 3, times exp(-KL(p || p*)) < 1


def test_invalid_probabilities_and_splits():
    with pytest.raises(MetricInputError, match="not a matrix of class probabilities"):
        inception_score(np.random.default_rng(0).normal(size=(20, 3)))
    with pytest.raises(MetricInputError, match="splits"):
        inception_score(np.full((5, 3), 1 / 3), splits=10)
    with pytest.raises(MetricInputError, match="3 classes"):
        mode_score(np.full((20, 4), 0.25), np.full(3, 1 / 3))
