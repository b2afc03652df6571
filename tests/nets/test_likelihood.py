"""Output distributions of the likelihood models against independent computations (scipy, torch.distributions)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from gankit.errors import ConfigError
from gankit.nets import likelihood as lik


def levels_image(k: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(k).float().view(1, 1, *k.shape) / 127.5 - 1


def reference_log_mass(mean: float, s: float) -> np.ndarray:
    """log P(level k) of the discretised logistic for k = 0..255 in float64 (scipy), the ends taking the tails."""
    c = np.arange(256) / 127.5 - 1
    log_up = np.where(c > 0.999, 0.0, stats.logistic.logcdf(c + 1 / 255, mean, s))
    log_lo = np.where(c < -0.999, -np.inf, stats.logistic.logcdf(c - 1 / 255, mean, s))
    with np.errstate(divide="ignore"):
        return log_up + np.log1p(-np.exp(log_lo - log_up))


@pytest.mark.parametrize("mean,log_scale", [(0.1, -3.0), (-0.9, -1.5), (0.95, -4.0), (0.0, 0.5), (-0.3, -6.0),
                                            (-1.0, -2.0)])
def test_logistic_mass_matches_scipy_and_sums_to_one(mean, log_scale):
    x = levels_image(np.arange(256).reshape(256, 1)).view(256, 1, 1, 1)  # one single-pixel image per level
    params = torch.tensor([mean, log_scale]).view(1, 2, 1, 1).expand(256, 2, 1, 1)
    got = lik.log_prob("logistic", params, x).double().numpy()
    want = reference_log_mass(mean, math.exp(log_scale))
    assert np.isfinite(got).all()
    assert torch.logsumexp(torch.from_numpy(got), 0).item() == pytest.approx(0.0, abs=2e-3)
    big = want > -11  # the far tails (mass < 1e-5) use the density times the bin width
    assert np.allclose(got[big], want[big], atol=2e-3, rtol=1e-4)
    assert (got[~big] < -9).all()


def test_categorical_and_bernoulli_against_torch_distributions():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 256, 4, 5, generator=g)
    x = torch.randint(256, (3, 1, 4, 5), generator=g).float() / 127.5 - 1
    want = torch.distributions.Categorical(logits=logits.permute(0, 2, 3, 1)).log_prob(
        lik.to_levels(x)[:, 0]).flatten(1).sum(1)
    assert torch.allclose(lik.log_prob("categorical", logits, x), want, atol=1e-4)
    b_logits = torch.randn(3, 1, 4, 5, generator=g)
    xb = torch.where(torch.rand(3, 1, 4, 5, generator=g) > 0.5, 1.0, -1.0)
    want_b = torch.distributions.Bernoulli(logits=b_logits).log_prob((xb > 0).float()).flatten(1).sum(1)
    assert torch.allclose(lik.log_prob("bernoulli", b_logits, xb), want_b, atol=1e-5)


@pytest.mark.parametrize("kind", lik.KINDS)
def test_samples_follow_the_distribution(kind):
    """Per-pixel frequencies of 20,000 draws of one pixel match its probability mass."""
    n = 20000
    params = {"bernoulli": torch.tensor([0.7]), "logistic": torch.tensor([0.0, math.log(0.01)]),
              "categorical": torch.linspace(-3, 3, 256)}[kind].view(1, -1, 1, 1).expand(n, -1, 1, 1)
    draws = lik.sample(kind, params, torch.Generator().manual_seed(0))
    assert draws.shape == (n, 1, 1, 1)
    levels = lik.to_levels(draws).flatten()
    assert torch.equal(lik.from_levels(levels), draws.flatten()) or kind == "bernoulli"
    support = torch.tensor([0, 255]) if kind == "bernoulli" else torch.arange(256)
    mass = torch.stack([lik.log_prob(kind, params[:1], lik.from_levels(v).view(1, 1, 1, 1)) for v in support]).exp()
    freq = torch.stack([(levels == v).float().mean() for v in support])
    assert mass.sum().item() == pytest.approx(1.0, abs=1e-3)
    assert (freq - mass.flatten()).abs().max() < 0.015


def test_mean_and_sizes():
    logits = torch.zeros(1, 256, 1, 1)
    assert lik.mean("categorical", logits).item() == pytest.approx(0.0, abs=1e-6)  # uniform over [-1, 1] levels
    assert lik.mean("bernoulli", torch.zeros(1, 1, 1, 1)).item() == 0.0
    assert [lik.param_channels(k, 1) for k in lik.KINDS] == [1, 2, 256]
    assert lik.bits_per_dim(784 * math.log(2), 784) == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="unknown likelihood 'gauss'; valid: bernoulli, logistic, categorical"):
        lik.param_channels("gauss", 1)
