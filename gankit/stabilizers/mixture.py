"""Discrete latent code (a mixture prior, as in DeLiGAN / InfoGAN's categorical code): z's first
coordinate picks one of k components, so G can be discontinuous between modes.

z stays z ~ N(0, I) everywhere in gankit: `MixtureLatent` maps u = Phi(z_0) (uniform on (0, 1)) to the
component c = floor(u * k), and feeds [one_hot(c), z_1..z_{d-1}] to the wrapped generator. Samples
of one component vary continuously with the remaining coordinates; between components G may jump,
so it never has to put samples in the gaps between well-separated modes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def component(z0: Tensor, k: int) -> Tensor:
    """The component index in [0, k) of each first coordinate z0 ~ N(0, 1) (uniform over components)."""
    u = 0.5 * (1.0 + torch.erf(z0 / 2.0 ** 0.5))
    return (u * k).long().clamp_(0, k - 1)


class MixtureLatent(nn.Module):
    """G'(z) = G([one_hot(component(z_0)), z_1:]) with G built for k + z_dim - 1 inputs."""

    def __init__(self, G: nn.Module, k: int, z_dim: int):
        super().__init__()
        if k < 2 or z_dim < 1 or G.z_dim != k + z_dim - 1:
            raise ValueError(f"MixtureLatent needs k >= 2, z_dim >= 1 and G.z_dim = k + z_dim - 1, "
                             f"got k={k}, z_dim={z_dim}, G.z_dim={G.z_dim}")
        self.G, self.k, self.z_dim = G, k, z_dim

    def forward(self, z: Tensor) -> Tensor:
        c = F.one_hot(component(z[:, 0], self.k), self.k).to(z.dtype)
        return self.G(torch.cat([c, z[:, 1:]], dim=1))
