"""pix2pix networks (Isola et al. 2017): a U-Net generator and the PatchGAN discriminator.

U-Net: `depth` stride-2 4x4 convolutions down (LeakyReLU 0.2, batch norm except the first), the same number
of 4x4 transposed convolutions up (ReLU, batch norm, dropout 0.5 on the three innermost), each decoder level
joined to its encoder level by a skip connection; tanh output. With `dropout_at_test` the dropout stays on in
eval mode: the paper's only source of noise.

PatchGAN: `n_layers` stride-2 4x4 convolutions, then two stride-1 4x4 convolutions down to one channel: each
output logit judges one patch; the receptive field is 7, 16, 34, 70, 142 px for n_layers 0..4 (70x70 at
n_layers=3, the paper's default at 256 px). `pixel` is the paper's 1x1 PixelGAN; `image` averages the patch
logits of a D whose receptive field covers the whole image (one logit per image). Norm layers: batch (pix2pix),
instance (CycleGAN) or none.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.errors import ConfigError
from gankit.nets.dcgan import init_weights

NORMS = {"batch": nn.BatchNorm2d, "instance": nn.InstanceNorm2d, "none": lambda c: nn.Identity()}


def receptive_field(n_layers: int) -> int:
    """Receptive field in pixels of a PatchGAN with `n_layers` stride-2 layers (then two 4x4 stride-1 layers)."""
    rf = 1
    for k, s in reversed([(4, 2)] * n_layers + [(4, 1), (4, 1)]):
        rf = (rf - 1) * s + k
    return rf


def unet_depth(resolution: int, limit: int = 8) -> int:
    """How many times the image can be halved exactly (down to at least 2x2 ... or 1x1 at powers of two)."""
    depth, size = 0, resolution
    while depth < limit and size % 2 == 0 and size >= 2:
        size //= 2
        depth += 1
    if depth == 0:
        raise ConfigError(f"the U-Net needs an even image size, got {resolution}; resize with --data.resolution")
    return depth


class Dropout(nn.Module):
    """Dropout that can stay active in eval mode (pix2pix's noise at test time)."""

    def __init__(self, p: float, at_test: bool):
        super().__init__()
        self.p, self.at_test = p, at_test

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, training=self.training or self.at_test) if self.p > 0 else x


class UNet(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, resolution: int, width: int = 64, depth: int | None = None,
                 dropout: float = 0.5, dropout_at_test: bool = True):
        super().__init__()
        depth = depth or unet_depth(resolution)
        if resolution % (2 ** depth):
            raise ConfigError(f"a U-Net of depth {depth} needs an image size divisible by {2 ** depth}, got {resolution}")
        chans = [width * min(2 ** i, 8) for i in range(depth)]
        self.down = nn.ModuleList()
        prev = in_ch
        for i, c in enumerate(chans):
            layers = [nn.Conv2d(prev, c, 4, 2, 1, bias=i == 0 or i == depth - 1)]
            if 0 < i < depth - 1:
                layers.append(nn.BatchNorm2d(c))
            self.down.append(nn.Sequential(*layers))
            prev = c
        self.up = nn.ModuleList()
        for i in reversed(range(depth)):
            inner = i == depth - 1
            c_in = chans[i] if inner else 2 * chans[i]
            c_out = out_ch if i == 0 else chans[i - 1]
            layers: list[nn.Module] = [nn.ReLU(), nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=i == 0)]
            if i > 0:
                layers.append(nn.BatchNorm2d(c_out))
                if depth - 1 - i < 3 and depth > 1:  # the three innermost decoder levels
                    layers.append(Dropout(dropout, dropout_at_test))
            self.up.append(nn.Sequential(*layers))
        self.depth = depth
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.leaky_relu(x, 0.2))
            skips.append(x)
        for j, block in enumerate(self.up):
            if j > 0:
                x = torch.cat([x, skips[self.depth - 1 - j]], dim=1)
            x = block(x)
        return torch.tanh(x)


class PatchGAN(nn.Module):
    """D(x) -> logits (N, 1, h, w), one per patch; `mode`: patch | pixel | image."""

    def __init__(self, in_ch: int, width: int = 64, n_layers: int = 3, mode: str = "patch", norm: str = "batch"):
        super().__init__()
        if mode not in ("patch", "pixel", "image"):
            raise ConfigError(f"unknown D patch mode {mode!r}; valid: patch, pixel, image")
        if norm not in NORMS:
            raise ConfigError(f"unknown D norm {norm!r}; valid: {', '.join(NORMS)}")
        self.mode = mode
        make_norm = NORMS[norm]
        if mode == "pixel":
            layers = [nn.Conv2d(in_ch, width, 1), nn.LeakyReLU(0.2), nn.Conv2d(width, 2 * width, 1, bias=False),
                      make_norm(2 * width), nn.LeakyReLU(0.2), nn.Conv2d(2 * width, 1, 1)]
        else:
            layers, prev = [], in_ch
            for i in range(n_layers):
                c = width * min(2 ** i, 8)
                layers += [nn.Conv2d(prev, c, 4, 2, 1, bias=i == 0)] + ([make_norm(c)] if i else []) + [nn.LeakyReLU(0.2)]
                prev = c
            c = width * min(2 ** n_layers, 8)
            layers += [nn.Conv2d(prev, c, 4, 1, 1, bias=n_layers == 0)] + ([make_norm(c)] if n_layers else [])
            layers += [nn.LeakyReLU(0.2), nn.Conv2d(c, 1, 4, 1, 1)]
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        out = self.net(x)
        return out.mean(dim=(2, 3), keepdim=True) if self.mode == "image" else out

    def features(self, x: Tensor) -> list[Tensor]:
        """The activation after each LeakyReLU (pix2pixHD's intermediate features), then the logits of forward."""
        feats = []
        for layer in self.net:
            x = layer(x)
            if isinstance(layer, nn.LeakyReLU):
                feats.append(x)
        return feats + [x.mean(dim=(2, 3), keepdim=True) if self.mode == "image" else x]
