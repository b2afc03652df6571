"""CycleGAN networks (Zhu et al. 2017): the ResNet generator and the history pool of generated images.

ResNet generator (Johnson et al. 2016, as in the CycleGAN paper's appendix): c7s1-k, d2k, d4k, `n_blocks`
residual blocks R4k, u2k, uk, c7s1-out with instance norm, ReLU, reflection padding and a tanh output.
The paper uses 9 blocks at 256 px and 6 at 128 px; `auto_blocks` adds 3 for small images (28 px).
The discriminators are the PatchGAN of gankit.nets.pix2pix with instance norm.

ImagePool: the paper's buffer of the last 50 generated images (Shrivastava et al. 2017): D is updated on a
history of fakes instead of only the newest ones. Its images and fill count are registered buffers, so a
checkpoint holds them; its random choices use the global torch RNG, which checkpoints save too.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gankit.errors import ConfigError
from gankit.nets.dcgan import init_weights


def auto_blocks(resolution: int) -> int:
    """The paper's residual blocks by image size: 9 at 256 px and above, 6 at 128 px, 3 below."""
    return 9 if resolution >= 256 else 6 if resolution >= 128 else 3


def _conv_in_relu(conv: nn.Module, channels: int) -> list[nn.Module]:
    return [conv, nn.InstanceNorm2d(channels), nn.ReLU(inplace=True)]


class ResBlock(nn.Module):
    """x + (reflection pad, 3x3 conv, IN, ReLU, reflection pad, 3x3 conv, IN)(x)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), *_conv_in_relu(nn.Conv2d(channels, channels, 3), channels),
                                  nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """G(x) -> image of `out_ch` channels and the input's size (a multiple of 2**n_down), in [-1, 1].
    `n_down` stride-2 levels (the paper's 2; pix2pixHD's global generator takes more)."""

    def __init__(self, in_ch: int, out_ch: int, width: int = 64, n_blocks: int = 6, n_down: int = 2):
        super().__init__()
        if width < 1 or n_blocks < 0 or n_down < 0:
            raise ConfigError(f"ResNet generator: width must be >= 1, n_blocks and n_down >= 0, "
                              f"got {width}, {n_blocks}, {n_down}")
        w = width
        layers = [nn.ReflectionPad2d(3), *_conv_in_relu(nn.Conv2d(in_ch, w, 7), w)]
        for c in (w * 2 ** i for i in range(n_down)):  # d2k, d4k, ...
            layers += _conv_in_relu(nn.Conv2d(c, 2 * c, 3, 2, 1), 2 * c)
        layers += [ResBlock(w * 2 ** n_down) for _ in range(n_blocks)]
        for c in (w * 2 ** i for i in range(n_down, 0, -1)):  # ..., u2k, uk
            layers += _conv_in_relu(nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1), c // 2)
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(w, out_ch, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.n_blocks = n_blocks
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class ImagePool(nn.Module):
    """History of generated images. `query(x)` stores each image of x and returns, per image: the image itself
    while the pool is filling; once full, with probability 1/2 a random stored image (replaced by the new one),
    else the new image. size 0 returns x unchanged."""

    def __init__(self, size: int, shape: tuple[int, ...]):
        super().__init__()
        if size < 0:
            raise ConfigError(f"the image pool size must be >= 0, got {size}")
        self.size = size
        self.register_buffer("images", torch.zeros(size, *shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def query(self, x: Tensor) -> Tensor:
        if self.size == 0:
            return x
        out, count = [], int(self.count)
        for img in x.detach():
            if count < self.size:
                self.images[count] = img
                count += 1
                out.append(img)
            elif torch.rand(()) < 0.5:
                j = int(torch.randint(self.size, ()))
                out.append(self.images[j].clone())
                self.images[j] = img
            else:
                out.append(img)
        self.count.fill_(count)
        return torch.stack(out)
