"""Fully connected generator and discriminator, for toy 2-D data and small images."""
from __future__ import annotations

import math
from typing import Callable

from torch import Tensor, nn

from gankit.errors import ConfigError

OUT_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {"tanh": nn.Tanh, "none": nn.Identity}

# norm name -> builder taking the feature count
MLP_NORMS: dict[str, Callable[[int], nn.Module]] = {
    "none": lambda n: nn.Identity(),
    "layer": nn.LayerNorm,
    "batch": nn.BatchNorm1d,
}


def _pick(table: dict, key: str, what: str):
    if key not in table:
        raise ConfigError(f"unknown {what} {key!r}; valid: {', '.join(table)}")
    return table[key]


def _check_sizes(width: int, depth: int) -> None:
    if width < 1 or depth < 0:
        raise ConfigError(f"MLP needs width >= 1 and depth >= 0, got width={width}, depth={depth}")


class MLPGenerator(nn.Module):
    """z (N, z_dim) -> `depth` hidden Linear+ReLU layers of `width` -> (N, *out_shape)."""

    def __init__(
        self,
        z_dim: int,
        out_shape: tuple[int, ...],
        width: int = 256,
        depth: int = 2,
        out_activation: str = "tanh",
    ) -> None:
        super().__init__()
        _check_sizes(width, depth)
        act = _pick(OUT_ACTIVATIONS, out_activation, "MLP out_activation")
        self.z_dim = z_dim
        self.out_shape = tuple(out_shape)
        dims = [z_dim] + [width] * depth
        layers: list[nn.Module] = []
        for d_in, d_out in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(d_in, d_out), nn.ReLU()]
        layers += [nn.Linear(dims[-1], math.prod(self.out_shape)), act()]
        layers += [nn.Unflatten(1, self.out_shape)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """x (N, *in_shape) -> flatten -> `depth` x [Linear, norm, LeakyReLU(0.2), Dropout] -> logits (N,)."""

    def __init__(
        self,
        in_shape: tuple[int, ...],
        width: int = 256,
        depth: int = 2,
        norm: str = "none",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        _check_sizes(width, depth)
        make_norm = _pick(MLP_NORMS, norm, "MLP discriminator norm")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"MLP discriminator dropout must be in [0, 1), got {dropout}")
        self.in_shape = tuple(in_shape)
        dims = [math.prod(self.in_shape)] + [width] * depth
        layers: list[nn.Module] = [nn.Flatten()]
        for d_in, d_out in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(d_in, d_out), make_norm(d_out), nn.LeakyReLU(0.2)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        layers += [nn.Linear(dims[-1], 1), nn.Flatten(0)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
