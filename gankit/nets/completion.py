"""Networks of "Globally and Locally Consistent Image Completion" (Iizuka et al. 2017), scaled by a width.

- `CompletionNet(channels, width)`: input = the image with its hole filled (C channels) + the mask (1 channel);
  conv5, two stride-2 down-sampling stages, dilated 3x3 convs (dilation 2, 4, 8, 16, capped by the feature size)
  at 1/4 resolution, two 4x4 transposed convs back up, a 3x3 conv to C channels and tanh (images in [-1, 1]).
  BN + ReLU after every hidden conv, as the paper. Widths: w, 2w, 4w (the paper's 64, 128, 256). Any image side
  divisible by 4.
- `ContextDiscriminator(channels, size, local, width)`: a global branch on the whole image and a local branch on
  the `local`-sized patch around the hole, each stride-2 5x5 convs down to ~4x4 then a dense layer of 16w units
  (the paper's 1024 at w = 64); the two feature vectors are concatenated and a dense layer gives one logit (real
  high). `local=0` drops the local branch (the "global D only" ablation).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _conv(c_in: int, c_out: int, k: int = 3, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    pad = dilation * (k - 1) // 2
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, pad, dilation=dilation), nn.BatchNorm2d(c_out), nn.ReLU())


def dilations(size: int) -> list[int]:
    """The paper's dilation rates 2, 4, 8, 16, keeping those smaller than the 1/4-resolution feature map."""
    return [d for d in (2, 4, 8, 16) if d < max(size // 4, 2)] or [1]


class CompletionNet(nn.Module):
    def __init__(self, channels: int = 3, width: int = 16, size: int = 32):
        super().__init__()
        w = width
        layers = [_conv(channels + 1, w, 5), _conv(w, 2 * w, 3, 2), _conv(2 * w, 2 * w), _conv(2 * w, 4 * w, 3, 2),
                  _conv(4 * w, 4 * w), _conv(4 * w, 4 * w)]
        layers += [_conv(4 * w, 4 * w, dilation=d) for d in dilations(size)]
        layers += [_conv(4 * w, 4 * w), _conv(4 * w, 4 * w),
                   nn.Sequential(nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1), nn.BatchNorm2d(2 * w), nn.ReLU()),
                   _conv(2 * w, 2 * w),
                   nn.Sequential(nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.BatchNorm2d(w), nn.ReLU()),
                   _conv(w, max(w // 2, 1)), nn.Conv2d(max(w // 2, 1), channels, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, filled: Tensor, mask: Tensor) -> Tensor:
        return self.net(torch.cat([filled, mask], dim=1))


def _branch(channels: int, size: int, width: int, dense: int) -> nn.Sequential:
    layers, c, w = [], channels, width
    while size > 4:
        layers += [nn.Conv2d(c, w, 5, 2, 2), nn.BatchNorm2d(w), nn.LeakyReLU(0.2)]
        c, w, size = w, min(2 * w, 8 * width), (size + 1) // 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * size * size, dense), nn.LeakyReLU(0.2))


class ContextDiscriminator(nn.Module):
    def __init__(self, channels: int = 3, size: int = 32, local: int = 16, width: int = 16):
        super().__init__()
        dense = 16 * width
        self.global_d = _branch(channels, size, width, dense)
        self.local_d = _branch(channels, local, width, dense) if local else None
        self.head = nn.Linear(dense * (2 if local else 1), 1)

    def forward(self, image: Tensor, patch: Tensor | None = None) -> Tensor:
        feats = [self.global_d(image)]
        if self.local_d is not None:
            feats.append(self.local_d(patch))
        return self.head(torch.cat(feats, dim=1))
