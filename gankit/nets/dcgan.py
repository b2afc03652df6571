"""DCGAN generator and discriminator (Radford et al. 2016) at a chosen square resolution.

A resolution r is supported when r = s0 * 2^n with a start size s0 in 4..7 and n >= 1 stride-2 stages,
e.g. 28 (7 -> 14 -> 28), 32 (4 -> 8 -> 16 -> 32), 64 (4 -> ... -> 64), also 8, 16, 48, 128, ...
"""
from __future__ import annotations

from typing import Callable

from torch import Tensor, nn

from gankit.errors import ConfigError

# norm name -> builder taking the channel count. "layer" normalises each sample over (C, H, W).
D_NORMS: dict[str, Callable[[int], nn.Module]] = {
    "batch": nn.BatchNorm2d,
    "layer": lambda c: nn.GroupNorm(1, c),
    "none": lambda c: nn.Identity(),
}


def dcgan_plan(resolution: int) -> tuple[int, int]:
    """(start size s0, number of stride-2 stages n) with s0 * 2**n == resolution; ConfigError if none."""
    size, stages = resolution, 0
    while size > 7 and size % 2 == 0:
        size, stages = size // 2, stages + 1
    if not (4 <= size <= 7 and stages >= 1):
        raise ConfigError(
            f"DCGAN resolution {resolution} is not supported: it must be s0 * 2^n with s0 in 4..7 "
            "and n >= 1 (e.g. 28, 32, 64)"
        )
    return size, stages


def init_weights(module: nn.Module) -> None:
    """DCGAN init of `module` and all its submodules: conv/linear weights N(0, 0.02), norm weights
    N(1, 0.02), biases 0. Works both as `init_weights(model)` and `model.apply(init_weights)`."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
        else:
            continue
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def _check_positive(**values: int) -> None:
    for key, value in values.items():
        if value < 1:
            raise ConfigError(f"DCGAN {key} must be >= 1, got {value}")


class DCGANGenerator(nn.Module):
    """z (N, z_dim) -> ConvT projection to (width*2^(n-1), s0, s0) -> n stride-2 ConvT stages -> tanh."""

    def __init__(self, z_dim: int = 100, resolution: int = 32, channels: int = 1, width: int = 64) -> None:
        super().__init__()
        _check_positive(z_dim=z_dim, channels=channels, width=width)
        start, stages = dcgan_plan(resolution)
        self.z_dim = z_dim
        self.out_shape = (channels, resolution, resolution)
        ch = width * 2 ** (stages - 1)
        layers: list[nn.Module] = [
            nn.Unflatten(1, (z_dim, 1, 1)),
            nn.ConvTranspose2d(z_dim, ch, start, 1, 0, bias=False),
            nn.BatchNorm2d(ch),
            nn.ReLU(True),
        ]
        for _ in range(stages - 1):
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ch // 2),
                nn.ReLU(True),
            ]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class DCGANDiscriminator(nn.Module):
    """x (N, C, r, r) -> n stride-2 Conv + norm + LeakyReLU(0.2) stages (no norm on the first) ->
    Conv with an s0 x s0 kernel -> logits (N,)."""

    def __init__(self, resolution: int = 32, channels: int = 1, width: int = 64, norm: str = "batch") -> None:
        super().__init__()
        _check_positive(channels=channels, width=width)
        if norm not in D_NORMS:
            raise ConfigError(f"unknown DCGAN discriminator norm {norm!r}; valid: {', '.join(D_NORMS)}")
        start, stages = dcgan_plan(resolution)
        self.in_shape = (channels, resolution, resolution)
        make_norm, bias = D_NORMS[norm], norm == "none"
        ch = width
        layers: list[nn.Module] = [nn.Conv2d(channels, ch, 4, 2, 1), nn.LeakyReLU(0.2)]
        for _ in range(stages - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=bias), make_norm(ch * 2), nn.LeakyReLU(0.2)]
            ch *= 2
        layers += [nn.Conv2d(ch, 1, start, 1, 0), nn.Flatten(0)]
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
