"""pix2pixHD networks (Wang et al. 2018): the multi-scale discriminator, feature matching and the coarse-to-fine
generator, as options of the pix2pix family.

MultiScaleD: `num_d` PatchGANs of one architecture on an image pyramid: D_1 on the image, D_2 on a copy
average-pooled 2x (3x3, stride 2, padding 1, count_include_pad=False, as pix2pixHD), ... Its forward returns,
per scale, the activations after each LeakyReLU and the logits last, for the feature-matching loss.

Generators: the global generator is the ResNet generator of gankit.nets.cyclegan with `n_down` stride-2 levels
(c7s1-k, d2k, ..., residual blocks, ..., uk, c7s1-out); the local enhancer runs that global net without its
output layers on the input pooled 2x and adds its last features (2k channels at half resolution) to its own
front end (c7s1-k, d2k at full resolution), then residual blocks, uk and c7s1-out.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from gankit.errors import ConfigError
from gankit.nets.cyclegan import ResBlock, ResnetGenerator, _conv_in_relu
from gankit.nets.dcgan import init_weights
from gankit.nets.pix2pix import PatchGAN

MIN_PYRAMID = 4  # px: the smallest image the coarsest D may see


def downsample(x: Tensor) -> Tensor:
    """pix2pixHD's pyramid step: 3x3 average pooling, stride 2, padding 1, padding not counted."""
    return F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)


def pyramid_sizes(resolution: int, num_d: int) -> list[int]:
    """The image side seen by each of the num_d discriminators (ceil(s / 2) per step)."""
    sizes = [resolution]
    for _ in range(num_d - 1):
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


def patch_out_size(size: int, n_layers: int, mode: str = "patch") -> int:
    """The side of a PatchGAN's logit map on a `size` px image (0: the D leaves no output)."""
    if mode == "pixel":
        return size
    for _ in range(n_layers):
        size = size // 2 if size >= 2 else 0  # 4x4, stride 2, padding 1
    return max(size - 2, 0)  # two 4x4, stride 1, padding 1


def check_pyramid(resolution: int, num_d: int, n_layers: int, mode: str) -> None:
    sizes = pyramid_sizes(resolution, num_d)
    if sizes[-1] < MIN_PYRAMID:
        fit = sum(s >= MIN_PYRAMID for s in pyramid_sizes(resolution, num_d))
        raise ConfigError(f"model.num_d={num_d} pools the {resolution} px image down to {sizes[-1]} px at the "
                          f"coarsest scale; the pyramid needs >= {MIN_PYRAMID} px: use num_d <= {fit}")
    if patch_out_size(sizes[-1], n_layers, mode) < 1:
        raise ConfigError(f"a PatchGAN with d_layers={n_layers} leaves no output on the {sizes[-1]} px image of the "
                          f"coarsest scale (num_d={num_d}); lower model.d_layers or model.num_d")


class MultiScaleD(nn.Module):
    """D(x) -> [[features..., logits] for each scale], finest first."""

    def __init__(self, num_d: int, in_ch: int, width: int = 64, n_layers: int = 3, mode: str = "patch",
                 norm: str = "batch"):
        super().__init__()
        if num_d < 1:
            raise ConfigError(f"model.num_d must be >= 1, got {num_d}")
        self.ds = nn.ModuleList(PatchGAN(in_ch, width, n_layers, mode, norm) for _ in range(num_d))

    def forward(self, x: Tensor) -> list[list[Tensor]]:
        out = []
        for i, d in enumerate(self.ds):
            if i:
                x = downsample(x)
            out.append(d.features(x))
        return out


def feature_matching(fake: list[list[Tensor]], real: list[list[Tensor]]) -> Tensor:
    """pix2pixHD's loss_G_GAN_Feat (without lambda): sum over scales k and layers i of
    (1 / num_d) * (4 / layers) * L1(D_k^(i)(fake), D_k^(i)(real).detach()); the logits are not matched."""
    total = fake[0][0].new_zeros(())
    for f, r in zip(fake, real):
        layers = len(f) - 1
        for x, y in zip(f[:-1], r[:-1]):
            total = total + (4.0 / layers) / len(fake) * F.l1_loss(x, y.detach())
    return total


def global_down(resolution: int, limit: int = 4) -> int:
    """Stride-2 levels of the global generator: halvings that stay exact and >= 4 px (pix2pixHD: 4)."""
    n, size = 0, resolution
    while n < limit and size % 2 == 0 and size // 2 >= MIN_PYRAMID:
        size //= 2
        n += 1
    return n


def global_generator(in_ch: int, out_ch: int, resolution: int, width: int, n_blocks: int) -> ResnetGenerator:
    """pix2pixHD's G1 (netG=global): the ResNet generator, as deep as the image allows."""
    return ResnetGenerator(in_ch, out_ch, width, n_blocks, global_down(resolution))


class LocalEnhancer(nn.Module):
    """pix2pixHD's G = {G1, G2} (netG=local, one enhancer): G1 of width 2k at half resolution, G2 of width k."""

    def __init__(self, in_ch: int, out_ch: int, resolution: int, width: int = 32, n_blocks_global: int = 9,
                 n_blocks_local: int = 3):
        super().__init__()
        if resolution % 2:
            raise ConfigError(f"model.g_arch='global+local' needs an even image size, got {resolution}")
        w = width
        g1 = global_generator(in_ch, out_ch, resolution // 2, 2 * w, n_blocks_global)
        self.global_net = nn.Sequential(*list(g1.net)[:-3])  # without reflection pad, c7s1-out and tanh
        self.front = nn.Sequential(nn.ReflectionPad2d(3), *_conv_in_relu(nn.Conv2d(in_ch, w, 7), w),
                                   *_conv_in_relu(nn.Conv2d(w, 2 * w, 3, 2, 1), 2 * w))
        self.back = nn.Sequential(*[ResBlock(2 * w) for _ in range(n_blocks_local)],
                                  *_conv_in_relu(nn.ConvTranspose2d(2 * w, w, 3, 2, 1, output_padding=1), w),
                                  nn.ReflectionPad2d(3), nn.Conv2d(w, out_ch, 7), nn.Tanh())
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.back(self.front(x) + self.global_net(downsample(x)))
