"""Minibatch discrimination (Salimans et al. 2016) and the minibatch-stddev feature (Karras et al. 2018).

Both layers append features computed across the batch to D's last hidden features, so D can see
whether a batch lacks variety. `insert_before_head` puts such a layer in front of D's final
Linear/Conv2d layer (widening that layer), which works for the MLP and DCGAN discriminators.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gankit.errors import ConfigError


def _append(h: Tensor, extra: Tensor) -> Tensor:
    """Append per-sample features `extra` (N, B) to h (N, F) or, broadcast spatially, to h (N, C, H, W)."""
    if h.dim() == 2:
        return torch.cat([h, extra], dim=1)
    shape = (extra.shape[0], extra.shape[1]) + (1,) * (h.dim() - 2)
    return torch.cat([h, extra.reshape(shape).expand(-1, -1, *h.shape[2:])], dim=1)


class MinibatchDiscrimination(nn.Module):
    """o_b(x_i) = sum_j exp(-||M_{i,b} - M_{j,b}||_1) with M = h T reshaped to (N, B, C); appends B features."""

    def __init__(self, in_features: int, kernels: int, kernel_dim: int = 5):
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * 0.1)

    def forward(self, h: Tensor) -> Tensor:
        m = (h.flatten(1) @ self.T).view(-1, self.kernels, self.kernel_dim)
        l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(dim=3)  # (N, N, B)
        o = torch.exp(-l1).sum(dim=1) - 1.0  # minus the sample's own term exp(0)
        return _append(h, o)


class MinibatchStdDev(nn.Module):
    """Appends one feature: the mean over features of the batch standard deviation of h."""

    def forward(self, h: Tensor) -> Tensor:
        std = torch.sqrt(h.var(dim=0, unbiased=False) + 1e-8).mean()
        return _append(h, std.expand(h.shape[0], 1))


def find_head(seq: nn.Sequential) -> tuple[nn.Sequential, int]:
    """(container, index) of the last Linear/Conv2d in `seq`, looking into nested Sequentials."""
    for i in range(len(seq) - 1, -1, -1):
        if isinstance(seq[i], (nn.Linear, nn.Conv2d)):
            return seq, i
        if isinstance(seq[i], nn.Sequential):
            try:
                return find_head(seq[i])
            except ConfigError:
                pass
    raise ConfigError("the discriminator has no final Linear/Conv2d layer to attach a layer to")


def widen_layer(layer: nn.Module, extra_in: int = 0, out: int | None = None) -> nn.Module:
    """A fresh copy of a Linear/Conv2d layer with `extra_in` more inputs and, optionally, `out` outputs."""
    bias = layer.bias is not None
    if isinstance(layer, nn.Linear):
        return nn.Linear(layer.in_features + extra_in, out or layer.out_features, bias=bias)
    return nn.Conv2d(layer.in_channels + extra_in, out or layer.out_channels, layer.kernel_size, layer.stride,
                     layer.padding, bias=bias)


def head_in_features(D: nn.Module) -> int:
    """Flattened size of the features entering D's final layer (for the MLP/DCGAN discriminators)."""
    seq, i = find_head(D.net)
    head = seq[i]
    if isinstance(head, nn.Linear):
        return head.in_features
    return head.in_channels * head.kernel_size[0] * head.kernel_size[1]


def insert_before_head(D: nn.Module, layer: nn.Module, extra: int) -> nn.Module:
    """Put `layer` (adding `extra` features/channels) in front of D.net's final layer, in place."""
    seq, i = find_head(D.net)
    seq[i] = nn.Sequential(layer, widen_layer(seq[i], extra_in=extra))
    return D


def add_minibatch_layers(D: nn.Module, kernels: int, kernel_dim: int, mbstd: bool) -> nn.Module:
    """Minibatch discrimination with `kernels` kernels and/or the minibatch-stddev feature."""
    if kernels > 0:
        insert_before_head(D, MinibatchDiscrimination(head_in_features(D), kernels, kernel_dim), kernels)
    if mbstd:
        insert_before_head(D, MinibatchStdDev(), 1)
    return D
