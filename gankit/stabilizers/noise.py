"""Instance noise on D's inputs (Sønderby et al. 2017; Arjovsky & Bottou 2017) and noise/dropout in G."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def instance_noise_std(std: float, step: int, anneal_steps: int) -> float:
    """std at `step`: constant, or decaying linearly to 0 over `anneal_steps` steps."""
    if anneal_steps <= 0:
        return std
    return std * max(0.0, 1.0 - step / anneal_steps)


def add_instance_noise(x: Tensor, std: float) -> Tensor:
    """x + N(0, std^2) (unchanged when std is 0); uses the global torch RNG, which checkpoints save."""
    return x + std * torch.randn_like(x) if std > 0 else x


class NoiseDropout(nn.Module):
    """Gaussian noise (std) then dropout (p) on hidden activations; `at_sampling` keeps both in eval mode."""

    def __init__(self, std: float = 0.0, p: float = 0.0, at_sampling: bool = False):
        super().__init__()
        self.std, self.p, self.at_sampling = std, p, at_sampling

    def forward(self, h: Tensor) -> Tensor:
        active = self.training or self.at_sampling
        if not active:
            return h
        if self.std > 0:
            h = h + self.std * torch.randn_like(h)
        if self.p > 0:
            h = nn.functional.dropout(h, self.p, training=True)
        return h

    def extra_repr(self) -> str:
        return f"std={self.std}, p={self.p}, at_sampling={self.at_sampling}"


def add_g_noise(G: nn.Module, std: float, p: float, at_sampling: bool) -> nn.Module:
    """Insert a NoiseDropout after every hidden ReLU of G.net (MLP and DCGAN generators), in place."""
    layers: list[nn.Module] = []
    for layer in G.net:
        layers.append(layer)
        if isinstance(layer, nn.ReLU):
            layers.append(NoiseDropout(std, p, at_sampling))
    G.net = nn.Sequential(*layers)
    return G
