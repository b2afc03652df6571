"""Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN Decoders") for
one-channel images: the output at pixel (i, j) depends only on the pixels before it in raster order.

Two stacks remove the blind spot of the original masked 3x3 PixelCNN:
- the vertical stack sees whole rows above: a k x k conv whose rows below the centre are masked, and whose
  centre row is masked too in the first layer (mask A), so it only ever sees rows < i;
- the horizontal stack sees the current row left of j: a 1 x k conv masked right of the centre (and at the
  centre in the first layer, mask A; mask B from then on), plus a 1x1 of the vertical stack's features.
Each gated block computes tanh(W_f * v) * sigmoid(W_g * v) in both stacks, with a residual connection in the
horizontal one; the class condition (option) adds a learned per-class bias to every gate (the paper's V^T h).
Output: the horizontal stack through two 1x1 convs to the likelihood's parameters (gankit.nets.likelihood).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MaskedConv(nn.Conv2d):
    """A conv whose weights outside `mask` (1 = kept, shape of the kernel) are zero."""

    def __init__(self, c_in: int, c_out: int, mask: Tensor):
        kh, kw = mask.shape
        super().__init__(c_in, c_out, (kh, kw), padding=(kh // 2, kw // 2))
        self.register_buffer("mask", mask.view(1, 1, kh, kw).float(), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


def vertical_mask(k: int, include_centre_row: bool) -> Tensor:
    m = torch.ones(k, k)
    m[k // 2 + (1 if include_centre_row else 0):] = 0
    return m


def horizontal_mask(k: int, include_centre: bool) -> Tensor:
    m = torch.ones(1, k)
    m[0, k // 2 + (1 if include_centre else 0):] = 0
    return m


class GatedBlock(nn.Module):
    def __init__(self, width: int, k: int, first: bool, num_classes: int = 0, in_ch: int | None = None):
        super().__init__()
        c_in = in_ch or width
        self.first = first
        self.v = MaskedConv(c_in, 2 * width, vertical_mask(k, include_centre_row=not first))
        self.h = MaskedConv(c_in, 2 * width, horizontal_mask(k, include_centre=not first))
        self.v_to_h = nn.Conv2d(2 * width, 2 * width, 1)
        self.h_out = nn.Conv2d(width, width, 1)
        self.cond = nn.Embedding(num_classes, 4 * width) if num_classes else None

    @staticmethod
    def gate(a: Tensor) -> Tensor:
        f, g = a.chunk(2, dim=1)
        return torch.tanh(f) * torch.sigmoid(g)

    def forward(self, v: Tensor, h: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        v_feat, h_feat = self.v(v), self.h(h)
        h_feat = h_feat + self.v_to_h(v_feat)
        if self.cond is not None:
            cv, ch = self.cond(y)[:, :, None, None].chunk(2, dim=1)
            v_feat, h_feat = v_feat + cv, h_feat + ch
        h_new = self.h_out(self.gate(h_feat))
        return self.gate(v_feat), h_new if self.first else h + h_new


class GatedPixelCNN(nn.Module):
    """x (B, 1, H, W) in [-1, 1] [, y (B,)] -> (B, out_channels, H, W)."""

    def __init__(self, out_channels: int, width: int = 64, blocks: int = 6, kernel: int = 3,
                 first_kernel: int = 7, num_classes: int = 0):
        super().__init__()
        self.num_classes, self.out_channels = num_classes, out_channels
        self.blocks = nn.ModuleList([GatedBlock(width, first_kernel, True, num_classes, in_ch=1)] + [
            GatedBlock(width, kernel, False, num_classes) for _ in range(blocks)])
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(width, width, 1), nn.ReLU(), nn.Conv2d(width, out_channels, 1))

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        v = h = x
        for block in self.blocks:
            v, h = block(v, h, y)
        return self.head(h)
