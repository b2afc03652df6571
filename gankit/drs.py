"""Discriminator rejection sampling (DRS; Azadi et al., ICLR 2019).

A discriminator trained with the logistic loss estimates the density ratio: at its optimum
``D(x) = log p_data(x) / p_G(x)``. Rejection sampling with acceptance ``exp(D(x) - D_max)`` then
turns G's samples into samples of p_data, as far as D is right. The paper's steps, done here:

1. *Calibrate*: a copy of D is trained further with G frozen, on real data against the samples
   that will be filtered (the EMA generator when the run has one), with the logistic loss.
2. *Estimate D_max* on a burn-in of candidates, and raise it whenever a larger logit appears. A few
   outlying logits (D very sure in a region G barely visits) can make D_max so large that almost
   nothing is accepted; ``d_max_quantile < 1`` takes that quantile of the burn-in logits instead and
   keeps it fixed (samples above it are always accepted): approximate, but robust.
3. *Accept* each candidate with probability ``sigmoid(F(x) - gamma)``,
   ``F(x) = a - log(1 - exp(a - eps))``, ``a = D(x) - D_max``. With ``gamma = 0`` this is
   ``exp(a)`` (up to eps): exact rejection sampling. ``gamma > 0`` (the paper's shift) rejects more,
   trading diversity for quality; it is off by default.

The ratio estimate need not be D: any model of log p_data / p_G works, e.g. the fresh Fourier-feature
classifier of `gankit.ratio` (`gankit sample --drs --drs-classifier rff`), which resolves narrow clusters of
low-dimensional data far better than a calibrated MLP discriminator (docs/results/mog.md).

PacGAN discriminators score packs of m samples: their logit estimates the log ratio of the
product densities, ``sum_i log p_data(x_i)/p_G(x_i)``, so packs are accepted or rejected as a whole,
and every sample of an accepted pack is distributed as p_data (the pack's samples are independent).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gankit.errors import ConfigError
from gankit.ratio import fit_logistic, pack_of, sample_g


@dataclass
class DRSResult:
    samples: Tensor
    candidates: int  # samples drawn from G, burn-in included
    d_max: float
    accepted: int = 0  # accepted after the burn-in (>= len(samples): the last batch is cut to n)
    considered: int = 0  # candidates after the burn-in

    @property
    def acceptance(self) -> float:
        """Kept samples per G sample drawn (burn-in and the last batch's surplus included): DRS's cost."""
        return len(self.samples) / max(1, self.candidates)

    @property
    def rate(self) -> float:
        """The acceptance rate proper: accepted / considered candidates."""
        return self.accepted / max(1, self.considered)


CALIBRATE_STEPS = 1000  # default D steps of `calibrate`


def calibrate(D: nn.Module, G: nn.Module, real: Tensor, steps: int = CALIBRATE_STEPS, batch_size: int = 256,
              lr: float = 1e-4, seed: int = 0) -> nn.Module:
    """A copy of D trained `steps` more steps (Adam, logistic loss) to tell `real` from G's samples; G is frozen."""
    return fit_logistic(copy.deepcopy(D), G, real, steps, batch_size, lr, seed)


def acceptance_prob(logits: Tensor, d_max: float, gamma: float = 0.0, eps: float = 1e-6) -> Tensor:
    """sigmoid(F - gamma), F = a - log(1 - exp(a - eps)), a = logit - d_max (<= 0)."""
    a = (logits.double() - d_max).clamp(max=0.0)
    f = a - torch.log(-torch.expm1(a - eps))
    return torch.sigmoid(f - gamma)


@torch.no_grad()
def drs_sample(G: nn.Module, D: nn.Module, n: int, seed: int = 0, gamma: float = 0.0, batch_size: int = 2000,
               burn_in: int = 10000, max_candidates: int | None = None, d_max_quantile: float = 1.0) -> DRSResult:
    """n samples of G filtered by D's density-ratio estimate (see the module doc).

    Stops with a clear error after `max_candidates` G samples (default 200 * n + burn_in)."""
    if n < 1 or batch_size < 1 or not 0.0 < d_max_quantile <= 1.0:
        raise ConfigError(f"DRS needs n >= 1, batch_size >= 1 and 0 < d_max_quantile <= 1, got {n}, {batch_size}, "
                          f"{d_max_quantile}")
    m = pack_of(D)
    batch_size = max(m, batch_size - batch_size % m)
    limit = max_candidates if max_candidates is not None else 200 * n + burn_in
    device = next(D.parameters()).device
    G_was, D_was = G.training, D.training
    G.eval(), D.eval()
    try:
        return _rejection_loop(G, D, n, m, gamma, batch_size, max(m, burn_in - burn_in % m), limit, d_max_quantile,
                               torch.Generator().manual_seed(seed), device)
    finally:
        G.train(G_was), D.train(D_was)


def _rejection_loop(G, D, n: int, m: int, gamma: float, batch_size: int, burn: int, limit: int, quantile: float,
                    g: torch.Generator, device) -> DRSResult:
    burn_logits = D(sample_g(G, burn, g, device)).reshape(-1).double()
    exact = quantile == 1.0
    d_max = float(burn_logits.max() if exact else torch.quantile(burn_logits, quantile))
    if not math.isfinite(d_max):
        raise ConfigError(f"DRS: the discriminator's logits are not finite (D_max {d_max})")
    kept: list[Tensor] = []
    got, drawn = 0, burn
    while got < n:
        if drawn >= limit:
            raise ConfigError(f"DRS accepted only {got} of {drawn} candidates (D_max {d_max:.2f}); "
                              "the discriminator rejects nearly everything — recalibrate or use plain sampling")
        x = sample_g(G, batch_size, g, device)
        drawn += batch_size
        logits = D(x).reshape(-1)
        if exact:
            d_max = max(d_max, float(logits.max()))
        keep = torch.rand(len(logits), generator=g, dtype=torch.float64) < acceptance_prob(logits, d_max, gamma).cpu()
        packs = x.reshape(len(logits), m, *x.shape[1:])[keep.to(x.device)]
        kept.append(packs.reshape(-1, *x.shape[1:]).cpu())
        got += len(kept[-1])
    return DRSResult(torch.cat(kept)[:n], drawn, d_max, accepted=got, considered=drawn - burn)
