"""Discriminator rejection sampling: exact acceptance, correct output distribution, calibration, packs."""

import math

import pytest
import torch
from torch import nn

from gankit.drs import acceptance_prob, calibrate, drs_sample
from gankit.errors import ConfigError
from gankit.stabilizers.pack import Packed


class Shift(nn.Module):
    """G: z -> z (N(0, 1) in 1-D)."""

    z_dim = 1

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(()))

    def forward(self, z):
        return z * self.w


class TrueRatio(nn.Module):
    """The optimal logit for data N(mu, 1) against G = N(0, 1): log p/q = mu x - mu^2 / 2, summed over a pack."""

    def __init__(self, mu: float):
        super().__init__()
        self.mu = mu
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return (self.mu * x - self.mu**2 / 2).sum(dim=1)


def test_acceptance_with_gamma_zero_is_exp_of_the_logit_gap():
    logits = torch.tensor([0.0, -1.0, -3.0, 0.5])
    p = acceptance_prob(logits, d_max=0.5)
    assert torch.allclose(p, torch.exp(logits.double() - 0.5), atol=1e-5)
    assert (acceptance_prob(logits, 0.5, gamma=2.0) < p).all()  # the shift rejects more


@pytest.mark.parametrize("pack", [1, 2])
def test_samples_follow_the_data_distribution_when_d_is_the_true_ratio(pack):
    mu = 0.5
    D = TrueRatio(mu) if pack == 1 else Packed(TrueRatio(mu), pack)
    r = drs_sample(Shift(), D, 20000, seed=0)
    x = r.samples.squeeze(1)
    assert len(x) == 20000
    assert x.mean().item() == pytest.approx(mu, abs=0.03)  # G's mean is 0
    assert x.std().item() == pytest.approx(1.0, abs=0.03)
    # expected acceptance is E_q[exp(l - l_max)]; l_max grows with the sample, so only a loose check
    assert 0.01 < r.acceptance < 0.9
    assert r.accepted >= 20000 and r.considered == r.candidates - 10000 and r.rate >= r.acceptance


def test_a_quantile_d_max_survives_outlying_logits():
    class Outliers(TrueRatio):  # the true ratio plus a huge logit on a sliver of G's mass
        def forward(self, x):
            return super().forward(x) + 40.0 * (x.squeeze(1) > 3.7)

    with pytest.raises(ConfigError, match="rejects nearly everything"):
        drs_sample(Shift(), Outliers(0.5), 2000, seed=0, max_candidates=200000)
    r = drs_sample(Shift(), Outliers(0.5), 20000, seed=0, d_max_quantile=0.99)
    assert r.samples.squeeze(1).mean().item() == pytest.approx(0.5, abs=0.05) and r.acceptance > 0.2


def test_calibration_learns_the_log_density_ratio():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(1, 32), nn.ReLU(), nn.Linear(32, 1), nn.Flatten(0))
    real = torch.randn(20000, 1) + 1.0  # log p/q = x - 0.5 against G = N(0, 1)
    Dc = calibrate(D, Shift(), real, steps=1500, batch_size=256, lr=3e-3, seed=0)
    x = torch.linspace(-1.0, 2.0, 7).unsqueeze(1)
    with torch.no_grad():
        err = (Dc(x) - (x.squeeze(1) - 0.5)).abs().max().item()
    assert err < 0.3
    assert all(p.grad is None for p in D.parameters())  # the original D is untouched


def test_a_d_that_rejects_everything_is_a_clear_error():
    class Spiky(TrueRatio):
        def forward(self, x):
            return torch.where(x.squeeze(1) > 3.5, torch.tensor(50.0), torch.tensor(0.0))

    with pytest.raises(ConfigError, match="rejects nearly everything"):
        drs_sample(Shift(), Spiky(0.0), 100, seed=0, burn_in=50000, max_candidates=60000)


def test_bad_arguments():
    with pytest.raises(ConfigError):
        drs_sample(Shift(), TrueRatio(0.0), 0)
    with pytest.raises(ConfigError):
        calibrate(TrueRatio(0.0), Shift(), torch.randn(10, 1), steps=1, batch_size=64)
    assert math.isfinite(float(acceptance_prob(torch.tensor([-1e9]), 0.0)))


def test_non_finite_logits_fail_at_once_and_modes_are_restored():
    class NaNs(TrueRatio):
        def forward(self, x):
            return torch.full((len(x),), float("nan"))

    G, D = Shift(), NaNs(0.0)
    with pytest.raises(ConfigError, match="not finite"):
        drs_sample(G, D, 10, seed=0, burn_in=100)
    assert G.training and D.training  # put back in train mode even though sampling failed
