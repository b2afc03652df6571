"""Density-ratio classifiers: Fourier features, the fresh classifier, and rejection sampling with it."""

import pytest
import torch
from torch import nn

from gankit.drs import drs_sample
from gankit.errors import ConfigError
from gankit.metrics.modes import mode_metrics
from gankit.ratio import FourierFeatures, RatioClassifier, fit_logistic, fit_ratio_classifier


class Gauss(nn.Module):
    """G: z -> scale * z (a broad Gaussian around the origin)."""

    def __init__(self, z_dim: int, scale: float = 1.0):
        super().__init__()
        self.z_dim = z_dim
        self.scale = nn.Parameter(torch.tensor(scale))

    def forward(self, z):
        return z * self.scale


def test_fourier_features_are_bounded_and_fixed_by_the_seed():
    ff = FourierFeatures(2, 16, sigma=3.0, seed=5)
    x = torch.randn(10, 2)
    y = ff(x)
    assert y.shape == (10, 32) and y.abs().max() <= 1.0
    assert torch.allclose(y[:, :16] ** 2 + y[:, 16:] ** 2, torch.ones(10, 16))  # sin^2 + cos^2
    assert torch.equal(FourierFeatures(2, 16, 3.0, seed=5).B, ff.B)
    assert not torch.equal(FourierFeatures(2, 16, 3.0, seed=6).B, ff.B)
    assert "B" in ff.state_dict()  # saved with the classifier, not redrawn


def test_classifier_standardises_and_leaves_the_global_rng_alone():
    torch.manual_seed(1)
    before = torch.get_rng_state()
    C = RatioClassifier(torch.tensor([10.0, -3.0]), torch.tensor([2.0, 0.5]), width=8, depth=1, features=4, seed=0)
    assert torch.equal(torch.get_rng_state(), before)
    same = RatioClassifier(torch.tensor([10.0, -3.0]), torch.tensor([2.0, 0.5]), width=8, depth=1, features=4, seed=0)
    x = torch.tensor([[10.0, -3.0], [12.0, -2.5]])
    assert torch.equal(C(x), same(x)) and C(x).shape == (2,)
    # it sees standardised coordinates: the same net built for mean 0 / std 1 gives the same logits on (x - m) / s
    unit = RatioClassifier(torch.zeros(2), torch.ones(2), width=8, depth=1, features=4, seed=0)
    assert torch.allclose(C(x), unit(torch.tensor([[0.0, 0.0], [1.0, 1.0]])))


def test_fresh_classifier_learns_the_log_density_ratio():
    real = torch.randn(20000, 1) + 1.0  # log p/q = x - 0.5 against G = N(0, 1)
    C = fit_ratio_classifier(Gauss(1), real, steps=600, batch_size=256, lr=3e-3, width=32, features=0, seed=0)
    x = torch.linspace(-1.0, 2.0, 7).unsqueeze(1)
    with torch.no_grad():
        err = (C(x) - (x.squeeze(1) - 0.5)).abs().max().item()
    assert err < 0.3
    assert not C.training


def test_fourier_features_let_rejection_sampling_find_narrow_clusters():
    """Four clusters of std 0.05 against a broad G: only ~2% of G's samples are within 3 std of a centre."""
    centers = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    g = torch.Generator().manual_seed(0)
    real = centers[torch.randint(4, (20000,), generator=g)] + 0.05 * torch.randn(20000, 2, generator=g)
    G = Gauss(2, 1.2)
    with torch.no_grad():
        plain = mode_metrics(G(torch.randn(1000, 2, generator=g)).double().numpy(), centers.numpy(), 0.05)

    def filtered(features: int) -> dict:
        C = fit_ratio_classifier(G, real, steps=500, batch_size=256, width=128, features=features, sigma=24.0, seed=0)
        out = drs_sample(G, C, 500, seed=0, d_max_quantile=0.99, max_candidates=400000)
        return mode_metrics(out.samples.double().numpy(), centers.numpy(), 0.05)

    assert plain["high_quality_pct"] < 5
    m = filtered(128)
    assert m["high_quality_pct"] > 80 and m["modes_captured"] == 4  # 94-96% over 5 seeds
    assert filtered(0)["high_quality_pct"] < 60  # the same MLP without Fourier features: 29-35% over 5 seeds


def test_bad_input_is_a_clear_error():
    with pytest.raises(ConfigError, match="vector data"):
        fit_ratio_classifier(Gauss(2), torch.randn(100, 1, 8, 8), steps=1)
    with pytest.raises(ConfigError, match="steps >= 0"):
        fit_logistic(nn.Linear(1, 1), Gauss(1), torch.randn(100, 1), steps=-1, batch_size=8, lr=1e-3)
    with pytest.raises(ConfigError, match="from 10 real samples"):
        fit_logistic(nn.Linear(1, 1), Gauss(1), torch.randn(10, 1), steps=1, batch_size=64, lr=1e-3)
    with pytest.raises(ConfigError):
        FourierFeatures(2, 4, sigma=0.0)
    with pytest.raises(ConfigError):
        RatioClassifier(torch.zeros(2), torch.ones(2), features=3)


def test_training_restores_g_mode():
    G = Gauss(1).train()
    fit_logistic(nn.Sequential(nn.Linear(1, 1), nn.Flatten(0)), G, torch.randn(100, 1), steps=2, batch_size=8, lr=1e-3)
    assert G.training
