"""SRGAN's networks (Ledig et al. 2017): the SRResNet generator, the paper's discriminator, and VGG19 features.

- `SRResNet(scale, n_blocks, width)`: 9x9 conv + PReLU; `n_blocks` residual blocks (conv3-BN-PReLU-conv3-BN + skip);
  conv3-BN + the long skip; log2(scale) up-sampling stages (conv3 to 4x channels, pixel shuffle x2, PReLU); a 9x9
  conv to RGB. Images in and out in [-1, 1] (no output squashing; callers clamp). `radius` is its receptive
  radius in LR pixels, what a tiled up-sampling must overlap to match the whole image exactly.
- `SRDiscriminator(size, width)`: conv3 + LeakyReLU(0.2), seven conv3-BN-LeakyReLU blocks (channels w, 2w, 2w, 4w,
  4w, 8w, 8w; strides 2, 1, 2, 1, 2, 1, 2), dense 1024 + LeakyReLU, dense 1 (a logit; real high).
  `forward(x, features=True)` also returns every block's output, for the feature-matching content loss.
- `VGG19Features(layer)`: torchvision's VGG19 `features` layout (keys `features.{i}.weight`/`bias`, so a
  torchvision state dict saved with safetensors loads as it is), cut after the ReLU of conv2_2 ("22") or conv5_4
  ("54", the paper's VGG54); input images in [-1, 1] are mapped to ImageNet-normalised [0, 1] first.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

VGG19_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
VGG_CUT = {"22": 9, "54": 36}  # number of `features` modules kept: up to relu2_2 / relu5_4 (torchvision indices)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def upscale_stages(scale: int) -> int:
    """Number of x2 pixel-shuffle stages of a power-of-two `scale` (ValueError otherwise)."""
    n = int(round(math.log2(scale))) if scale >= 2 else 0
    if scale < 2 or 2 ** n != scale:
        raise ValueError(f"the SR scale must be a power of two >= 2, got {scale}")
    return n


class ResidualBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.PReLU(width),
                                  nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    def __init__(self, scale: int = 4, n_blocks: int = 16, width: int = 64, channels: int = 3):
        super().__init__()
        self.scale, stages = scale, upscale_stages(scale)
        self.head = nn.Sequential(nn.Conv2d(channels, width, 9, padding=4), nn.PReLU(width))
        self.blocks = nn.Sequential(*[ResidualBlock(width) for _ in range(n_blocks)])
        self.neck = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width))
        self.up = nn.Sequential(*[nn.Sequential(nn.Conv2d(width, 4 * width, 3, padding=1), nn.PixelShuffle(2),
                                                nn.PReLU(width)) for _ in range(stages)])
        self.tail = nn.Conv2d(width, channels, 9, padding=4)
        # LR pixels of context each output pixel sees: head 4, 2 per block, neck 1, up stage k: 1 / 2^k, tail 4/scale
        self.radius = math.ceil(4 + 2 * n_blocks + 1 + sum(1 / 2 ** k for k in range(stages)) + 4 / scale)

    def forward(self, lr: Tensor) -> Tensor:
        h = self.head(lr)
        return self.tail(self.up(h + self.neck(self.blocks(h))))


def _d_block(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2))


class SRDiscriminator(nn.Module):
    def __init__(self, size: int = 96, width: int = 64, channels: int = 3, dense: int = 1024):
        super().__init__()
        if size % 16:
            raise ValueError(f"the SRGAN discriminator needs an HR size divisible by 16, got {size}")
        w = width
        self.head = nn.Sequential(nn.Conv2d(channels, w, 3, 1, 1), nn.LeakyReLU(0.2))
        spec = [(w, w, 2), (w, 2 * w, 1), (2 * w, 2 * w, 2), (2 * w, 4 * w, 1), (4 * w, 4 * w, 2), (4 * w, 8 * w, 1),
                (8 * w, 8 * w, 2)]
        self.blocks = nn.ModuleList(_d_block(a, b, s) for a, b, s in spec)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(8 * w * (size // 16) ** 2, dense), nn.LeakyReLU(0.2),
                                        nn.Linear(dense, 1))

    def forward(self, x: Tensor, features: bool = False):
        h, feats = self.head(x), []
        for block in self.blocks:
            h = block(h)
            feats.append(h)
        logit = self.classifier(h)
        return (logit, feats) if features else logit


class VGG19Features(nn.Module):
    def __init__(self, layer: str = "54"):
        super().__init__()
        if layer not in VGG_CUT:
            raise ValueError(f"VGG layer must be one of {', '.join(VGG_CUT)}, got {layer!r}")
        mods: list[nn.Module] = []
        c = 3
        for v in VGG19_CFG:
            if v == "M":
                mods.append(nn.MaxPool2d(2, 2))
            else:
                mods += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=False)]
                c = v
        self.features = nn.Sequential(*mods[:VGG_CUT[layer]])
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def load_weights(self, tensors: dict[str, Tensor]) -> None:
        """Load torchvision-named VGG19 weights (keys beyond the cut, and `classifier.*`, are ignored)."""
        own = self.state_dict()
        missing = [k for k in own if k not in tensors]
        if missing:
            raise KeyError(f"missing {missing[0]} (and {len(missing) - 1} more)" if len(missing) > 1 else
                           f"missing {missing[0]}")
        bad = [k for k in own if tuple(tensors[k].shape) != tuple(own[k].shape)]
        if bad:
            raise KeyError(f"{bad[0]} has shape {tuple(tensors[bad[0]].shape)}, expected {tuple(own[bad[0]].shape)}")
        self.load_state_dict({k: tensors[k].float() for k in own})

    def forward(self, x: Tensor) -> Tensor:
        return self.features(((x + 1) / 2 - self.mean) / self.std)
