import numpy as np
import pytest

from gankit.errors import ConfigError
from gankit.metrics import MetricInputError
from gankit.metrics.modes import mode_metrics, reverse_kl_uniform

CENTERS = np.array([[np.cos(a), np.sin(a)] for a in np.linspace(0, 2 * np.pi, 8, endpoint=False)]) * 2.0
STD = 0.02


def mixture(rng, n, modes):
    idx = rng.choice(modes, size=n)
    return CENTERS[idx] + rng.normal(size=(n, 2)) * STD


def test_perfect_generator_captures_all_modes():
    out = mode_metrics(mixture(np.random.default_rng(0), 2000, np.arange(8)), CENTERS, STD)
    assert out["modes_captured"] == 8
    assert out["high_quality_pct"] > 98.0  # 3 std in 2-D (Euclidean) keeps ~98.9%
    assert out["reverse_kl"] < 0.01


def test_collapsed_generator_and_off_mode_samples():
    rng = np.random.default_rng(1)
    collapsed = np.concatenate([mixture(rng, 300, np.array([0, 1])), np.zeros((100, 2))])
    out = mode_metrics(collapsed, CENTERS, STD)
    assert out["modes_captured"] == 2
    assert out["high_quality_pct"] == pytest.approx(75.0, abs=1.5)
    assert out["reverse_kl"] == pytest.approx(np.log(4), abs=0.05)  # two of eight modes, about equal


def test_threshold_is_euclidean_three_std():
    inside = CENTERS[:1] + np.array([[2.9 * STD / np.sqrt(2), 2.9 * STD / np.sqrt(2)]])
    outside = CENTERS[:1] + np.array([[2.2 * STD, 2.2 * STD]])  # each coordinate < 3 std, norm 3.1 std
    assert mode_metrics(inside, CENTERS, STD)["high_quality_pct"] == 100.0
    assert mode_metrics(outside, CENTERS, STD)["high_quality_pct"] == 0.0


def test_reverse_kl_values():
    assert reverse_kl_uniform(np.array([5, 5, 5, 5])) == pytest.approx(0.0, abs=1e-12)
    assert reverse_kl_uniform(np.array([10, 0, 0, 0])) == pytest.approx(np.log(4), abs=1e-6)
    assert reverse_kl_uniform(np.zeros(4)) == np.inf


def test_bad_inputs():
    with pytest.raises(MetricInputError, match="dimension 3 but centers have 2"):
        mode_metrics(np.zeros((4, 3)), CENTERS, STD)
    with pytest.raises(ConfigError, match="std > 0"):
        mode_metrics(np.zeros((4, 2)), CENTERS, 0.0)
    with pytest.raises(ValueError, match="NaN"):
        mode_metrics(np.full((4, 2), np.nan), CENTERS, STD)
