"""PacGAN (Lin et al. 2018): the discriminator judges `m` samples concatenated into one input.

For vectors (N, d) the packed input is (N/m, m*d); for images (N, C, H, W) it is (N/m, m*C, H, W)
(concatenated along channels). D is built for the packed shape and wrapped by `Packed`.
"""

from __future__ import annotations

from torch import Tensor, nn

from gankit.errors import ConfigError


def packed_shape(shape: tuple[int, ...], m: int) -> tuple[int, ...]:
    """The shape of one packed D input for data of shape `shape`."""
    return (shape[0] * m,) + tuple(shape[1:])


def pack(x: Tensor, m: int) -> Tensor:
    """(N, c, ...) -> (N/m, m*c, ...): groups of m consecutive samples, concatenated on dim 1."""
    if x.shape[0] % m:
        raise ConfigError(f"PacGAN: batch of {x.shape[0]} samples is not divisible by stab.pack={m}")
    return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])


class Packed(nn.Module):
    """Wraps a discriminator built for packed inputs; takes unpacked samples, returns N/m logits."""

    def __init__(self, D: nn.Module, m: int):
        super().__init__()
        self.D, self.m = D, m

    def forward(self, x: Tensor) -> Tensor:
        return self.D(pack(x, self.m))
