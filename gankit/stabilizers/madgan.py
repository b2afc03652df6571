"""MAD-GAN (Ghosh et al. 2018): k generators and a discriminator with k+1 outputs.

D classifies a sample as "real" (class k) or as made by generator i (class i); each generator
wants its samples classified as real. Sampling draws from the generators in turn (sample j comes
from generator j mod k), i.e. from their equal mixture.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.stabilizers.minibatch import find_head, widen_layer


class MultiGenerator(nn.Module):
    """k generators behind one module; forward(z) sends sample j to generator j mod k."""

    def __init__(self, make_g: Callable[[], nn.Module], k: int):
        super().__init__()
        self.gens = nn.ModuleList(make_g() for _ in range(k))
        self.k = k
        self.z_dim = self.gens[0].z_dim

    def assignment(self, n: int, device=None) -> Tensor:
        """Which generator makes each of n samples."""
        return torch.arange(n, device=device) % self.k

    def forward(self, z: Tensor) -> Tensor:
        which = self.assignment(z.shape[0], z.device)
        out = None
        for i, g in enumerate(self.gens):
            mask = which == i
            if not mask.any():
                continue
            part = g(z[mask])
            if out is None:
                out = part.new_empty((z.shape[0],) + tuple(part.shape[1:]))
            out[mask] = part
        return out


def add_class_head(D: nn.Module, n_out: int) -> nn.Module:
    """Make D output n_out logits per sample: widen its final layer and keep the class dimension."""
    seq, i = find_head(D.net)
    seq[i] = widen_layer(seq[i], out=n_out)
    if isinstance(D.net[-1], nn.Flatten):
        D.net[-1] = nn.Flatten(1)
    return D


def madgan_d_loss(real_logits: Tensor, fake_logits: Tensor, which: Tensor, k: int) -> Tensor:
    """Cross-entropy: real samples -> class k, samples of generator i -> class i."""
    real_y = torch.full((real_logits.shape[0],), k, dtype=torch.long, device=real_logits.device)
    return F.cross_entropy(real_logits, real_y) + F.cross_entropy(fake_logits, which)


def madgan_g_loss(fake_logits: Tensor, k: int) -> Tensor:
    """Non-saturating: every generator's samples should be classified as real (class k)."""
    y = torch.full((fake_logits.shape[0],), k, dtype=torch.long, device=fake_logits.device)
    return F.cross_entropy(fake_logits, y)
