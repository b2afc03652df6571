"""Density-ratio estimation by classification, for rejection sampling of a trained G.

A classifier C trained with the logistic loss to tell real data (label 1) from G's samples (label 0)
has, at its optimum, ``C(x) = log p_data(x) / p_G(x)`` (the density-ratio trick; Sugiyama et al. 2012,
used for GAN samples by Azadi et al. 2019 and Grover et al. 2019). Two estimators:

- the GAN's own discriminator trained further with G frozen (`gankit.drs.calibrate`), and
- a fresh classifier (`fit_ratio_classifier`, as in Grover et al.'s likelihood-free importance
  weighting), for vector data: inputs standardised with the real data's mean/std, random Fourier
  features ``[sin(xB), cos(xB)]``, ``B ~ N(0, sigma^2)`` (Rahimi & Recht 2007; Tancik et al. 2020),
  then an MLP. The features let a small MLP resolve clusters far narrower than the data's spread
  (e.g. the 0.05-std modes of grid-25), which a plain ReLU MLP on raw coordinates smooths over.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.errors import ConfigError

STEPS = 3000  # default training steps of the fresh classifier
SIGMA = 24.0  # default Fourier frequency scale (data-std units)
D_MAX_QUANTILE = 0.99  # rejection sampling with it: its largest logits are outliers, so D_max is this quantile


def pack_of(D: nn.Module) -> int:
    """Samples a discriminator scores at once (PacGAN's m; 1 otherwise)."""
    return int(getattr(D, "m", 1))


@torch.no_grad()
def sample_g(G: nn.Module, n: int, g: torch.Generator, device) -> Tensor:
    """n samples of G from z drawn with generator g (on the CPU, then moved to `device`)."""
    return G(torch.randn(n, G.z_dim, generator=g).to(device))


class FourierFeatures(nn.Module):
    """x (N, d) -> [sin(x B), cos(x B)] (N, 2 * half), B (d, half) ~ N(0, sigma^2), a fixed buffer."""

    def __init__(self, dim: int, half: int, sigma: float, seed: int = 0):
        super().__init__()
        if dim < 1 or half < 1 or not sigma > 0:
            raise ConfigError(f"Fourier features need dim >= 1, half >= 1, sigma > 0 (got {dim}, {half}, {sigma})")
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("B", torch.randn(dim, half, generator=g) * sigma)

    def forward(self, x: Tensor) -> Tensor:
        h = x @ self.B
        return torch.cat([h.sin(), h.cos()], dim=1)


class RatioClassifier(nn.Module):
    """Logit of 'real' for vector data: standardise, Fourier features (optional), MLP with LeakyReLU(0.2)."""

    def __init__(self, mean: Tensor, std: Tensor, width: int = 256, depth: int = 2, features: int = 256,
                 sigma: float = SIGMA, seed: int = 0):
        super().__init__()
        if mean.ndim != 1 or mean.shape != std.shape:
            raise ConfigError(f"RatioClassifier needs 1-D mean and std of equal shape, got {tuple(mean.shape)}, "
                              f"{tuple(std.shape)}")
        if width < 1 or depth < 1 or features < 0 or features % 2:
            raise ConfigError(f"RatioClassifier needs width >= 1, depth >= 1 and an even features >= 0, got "
                              f"{width}, {depth}, {features}")
        self.register_buffer("mean", mean.float().clone())
        self.register_buffer("scale", std.float().clamp(min=1e-8).clone())
        dim = mean.numel()
        layers: list[nn.Module] = [FourierFeatures(dim, features // 2, sigma, seed)] if features else []
        d_in = features or dim
        with torch.random.fork_rng(devices=[]):  # a seeded init that leaves the caller's RNG alone
            torch.manual_seed(seed)
            for _ in range(depth):
                layers += [nn.Linear(d_in, width), nn.LeakyReLU(0.2)]
                d_in = width
            layers.append(nn.Linear(d_in, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net((x.flatten(1) - self.mean) / self.scale).squeeze(1)


def fit_logistic(C: nn.Module, G: nn.Module, real: Tensor, steps: int, batch_size: int, lr: float, seed: int = 0,
                 lr_decay: bool = False) -> nn.Module:
    """Train C in place (Adam, betas (0.5, 0.999)) with the logistic loss: `real` vs samples of the frozen G.

    C may be a PacGAN discriminator (attribute `m`): the batch is then a multiple of its pack size."""
    if steps < 0 or batch_size < 1 or not lr > 0:
        raise ConfigError(f"ratio classifier training needs steps >= 0, batch_size >= 1, lr > 0 "
                          f"(got {steps}, {batch_size}, {lr})")
    m = pack_of(C)
    batch_size -= batch_size % m
    if batch_size < m or len(real) < batch_size:
        raise ConfigError(f"ratio classifier training: batch of {batch_size} with pack {m} from {len(real)} real samples")
    C.train()
    device = next(C.parameters()).device
    opt = torch.optim.Adam(C.parameters(), lr=lr, betas=(0.5, 0.999))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.0 - i / max(1, steps)) if lr_decay else None
    g = torch.Generator().manual_seed(seed)
    G_was = G.training
    G.eval()
    try:
        for _ in range(steps):
            x_real = real[torch.randint(len(real), (batch_size,), generator=g)].to(device)
            x_fake = sample_g(G, batch_size, g, device)
            loss = F.softplus(-C(x_real)).mean() + F.softplus(C(x_fake)).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
    finally:
        G.train(G_was)
    return C.eval()


def fit_ratio_classifier(G: nn.Module, real: Tensor, steps: int = STEPS, batch_size: int = 512, lr: float = 1e-3,
                         width: int = 256, depth: int = 2, features: int = 256, sigma: float = SIGMA,
                         seed: int = 0) -> RatioClassifier:
    """A fresh RatioClassifier trained (lr decayed linearly to 0) to estimate log p_data / p_G on vector data.

    `sigma` is the Fourier frequency scale in units of the data's standard deviation (per coordinate): it has
    to grow as the structure to resolve gets narrower relative to the data's spread (24 suits ring-8 and
    grid-25, whose cluster std is about 1/57 and 1/71 of it; 8-32 all worked there); 0 features = a plain MLP."""
    if real.ndim != 2:
        raise ConfigError(f"the Fourier-feature ratio classifier is for vector data (N, d); got shape "
                          f"{tuple(real.shape)} — use the run's calibrated discriminator for images")
    real = real.float()
    C = RatioClassifier(real.mean(0), real.std(0), width, depth, features, sigma, seed)
    C.to(next(G.parameters()).device)
    return fit_logistic(C, G, real, steps, batch_size, lr, seed, lr_decay=True)
