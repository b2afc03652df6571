"""StarGAN networks (Choi et al. 2018): one generator for K domains and a discriminator with two heads.

Generator G(x, c): the target domain's one-hot label c is broadcast to K constant planes and concatenated to the
image (the paper's way); the rest is CycleGAN's ResNet encoder-decoder (gankit.nets.cyclegan: c7s1, down 2,
`n_blocks` residual blocks, up 2, c7s1, instance norm, tanh), built for in_ch + K input channels.

Discriminator D(x) -> (src, cls): `n_layers` stride-2 4x4 convolutions with LeakyReLU 0.01 and no normalisation
(the paper uses none with WGAN-GP), then two heads on the last feature map: D_src, a 3x3 convolution to one
logit per patch (N, 1, h, w), and D_cls, a convolution whose kernel covers the whole h x w map, to K class
logits (N, K).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.errors import ConfigError
from gankit.nets.cyclegan import ResnetGenerator
from gankit.nets.dcgan import init_weights


def auto_d_layers(resolution: int, limit: int = 6) -> int:
    """Stride-2 layers of D: as many exact halvings as leave a map of at least 2x2, at most the paper's 6
    (128 px -> 2x2); 2 at 28 px (28 -> 14 -> 7)."""
    n, size = 0, resolution
    while n < limit and size % 2 == 0 and size // 2 >= 2:
        size //= 2
        n += 1
    return n


def label_planes(x: Tensor, c: Tensor, num_classes: int) -> Tensor:
    """x with the one-hot labels c (N,) of `num_classes` classes joined as constant input planes."""
    onehot = F.one_hot(c.long().to(x.device), num_classes).to(x.dtype)
    return torch.cat([x, onehot[:, :, None, None].expand(-1, -1, *x.shape[2:])], dim=1)


class StarGenerator(nn.Module):
    """G(x, c) -> image of x's shape in [-1, 1], translated to the classes c (N,) (a multiple-of-4 size)."""

    def __init__(self, channels: int, num_classes: int, width: int = 64, n_blocks: int = 6):
        super().__init__()
        if num_classes < 2:
            raise ConfigError(f"a StarGAN generator needs at least 2 domains, got {num_classes}")
        self.num_classes = num_classes
        self.net = ResnetGenerator(channels + num_classes, channels, width, n_blocks)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        return self.net(label_planes(x, c, self.num_classes))


class StarDiscriminator(nn.Module):
    """D(x) -> (src logits (N, 1, h, w), class logits (N, K)); h = w = resolution / 2**n_layers."""

    def __init__(self, channels: int, num_classes: int, resolution: int, width: int = 64, n_layers: int = 2):
        super().__init__()
        if n_layers < 1 or resolution % (2 ** n_layers):
            raise ConfigError(f"StarGAN D: {n_layers} stride-2 layers need an image size divisible by "
                              f"{2 ** max(n_layers, 0)} and n_layers >= 1, got {resolution}")
        layers, prev = [], channels
        for i in range(n_layers):
            c = width * min(2 ** i, 16)
            layers += [nn.Conv2d(prev, c, 4, 2, 1), nn.LeakyReLU(0.01)]
            prev = c
        self.body = nn.Sequential(*layers)
        self.src = nn.Conv2d(prev, 1, 3, 1, 1, bias=False)
        self.cls = nn.Conv2d(prev, num_classes, resolution // 2 ** n_layers, bias=False)
        init_weights(self)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)
        return self.src(h), self.cls(h).flatten(1)
