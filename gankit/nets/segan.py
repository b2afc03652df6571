"""SEGAN's networks (Pascual et al. 2017): a 1-D convolutional encoder-decoder G on waveforms and a 1-D conv D.

G: `depth` (11) strided convolutions (kernel 31, stride 2, PReLU) halve the length and widen the channels
(`width` x 1, 2, 2, 4, 4, 8, 8, 16, 16, 32, 64: the paper's 16 ... 1024 at width 16); the latent z ~ N(0, I), as
many channels as the bottleneck, is concatenated to it; transposed convolutions (PReLU) mirror the encoder, each
fed the previous decoder output concatenated with the encoder output of the same length (skip connections);
the last one gives one channel through tanh.

D: the encoder's convolutions on the 2-channel (noisy, clean-or-enhanced) pair, each followed by virtual batch
norm and LeakyReLU(0.3), then a 1x1 convolution to one channel and a linear layer to one logit.
Virtual batch norm (Salimans et al. 2016): every example is normalised with the statistics of a fixed reference
batch (the first batch D sees, kept as a buffer, so it is checkpointed) combined with its own
(weights N/(N+1) and 1/(N+1)); the reference batch runs through D with each call, so its statistics follow D's
weights and no example's output depends on the others of its batch.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

KERNEL = 31
MULTIPLIERS = (1, 2, 2, 4, 4, 8, 8, 16, 16, 32, 64)


def widths(width: int, depth: int) -> list[int]:
    """Channels of the `depth` encoder layers: `width` times the paper's multipliers (the last one repeated)."""
    mult = list(MULTIPLIERS[:depth]) + [MULTIPLIERS[-1]] * max(0, depth - len(MULTIPLIERS))
    return [width * m for m in mult]


def check_length(length: int, depth: int) -> None:
    if length % (2 ** depth):
        raise ValueError(f"SEGAN's {depth} stride-2 layers need chunks that are a multiple of {2 ** depth} samples, "
                         f"got {length}")


class SEGANGenerator(nn.Module):
    def __init__(self, length: int, width: int = 16, depth: int = 11, kernel: int = KERNEL, use_z: bool = True):
        super().__init__()
        check_length(length, depth)
        self.length, self.use_z = length, use_z
        ch = widths(width, depth)
        pad = kernel // 2
        ins = [1] + ch[:-1]
        self.enc = nn.ModuleList(nn.Conv1d(i, o, kernel, 2, pad) for i, o in zip(ins, ch))
        self.enc_act = nn.ModuleList(nn.PReLU(o) for o in ch)
        self.z_shape = (ch[-1], length // 2 ** depth)
        dec_in = [ch[-1] * (2 if use_z else 1)] + [2 * c for c in reversed(ch[:-1])]
        dec_out = list(reversed(ch[:-1])) + [1]
        self.dec = nn.ModuleList(nn.ConvTranspose1d(i, o, kernel, 2, pad, output_padding=1)
                                 for i, o in zip(dec_in, dec_out))
        self.dec_act = nn.ModuleList(nn.PReLU(o) for o in dec_out[:-1])

    def forward(self, x: Tensor, z: Tensor | None = None) -> Tensor:
        """x: (B, 1, L) pre-emphasised noisy speech; z: (B, *z_shape) or None for N(0, I) from the global RNG."""
        skips = []
        h = x
        for conv, act in zip(self.enc, self.enc_act):
            h = act(conv(h))
            skips.append(h)
        if self.use_z:
            z = torch.randn(len(x), *self.z_shape, device=x.device) if z is None else z
            h = torch.cat([h, z], dim=1)
        for i, deconv in enumerate(self.dec):
            h = deconv(h)
            if i < len(self.dec_act):
                h = torch.cat([self.dec_act[i](h), skips[-2 - i]], dim=1)
        return torch.tanh(h)


class VirtualBatchNorm1d(nn.Module):
    """Normalisation by a reference batch's statistics blended with the example's own (see the module docstring)."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(1, channels, 1))
        self.beta = nn.Parameter(torch.zeros(1, channels, 1))

    def forward(self, x: Tensor, n_ref: int) -> Tensor:
        """x: (n_ref + B, C, L), the reference batch first."""
        ref = x[:n_ref]
        mean_ref = ref.mean(dim=(0, 2), keepdim=True)
        sq_ref = ref.pow(2).mean(dim=(0, 2), keepdim=True)
        mean_own = x.mean(dim=2, keepdim=True)
        sq_own = x.pow(2).mean(dim=2, keepdim=True)
        w = 1.0 / (n_ref + 1)
        mean = (1 - w) * mean_ref + w * mean_own
        var = ((1 - w) * sq_ref + w * sq_own - mean.pow(2)).clamp_min(0)
        return (x - mean) / torch.sqrt(var + self.eps) * self.gamma + self.beta


class SEGANDiscriminator(nn.Module):
    def __init__(self, length: int, width: int = 16, depth: int = 11, kernel: int = KERNEL, norm: str = "vbn",
                 n_ref: int = 8):
        super().__init__()
        check_length(length, depth)
        ch = widths(width, depth)
        ins = [2] + ch[:-1]
        self.norm, self.n_ref = norm, n_ref if norm == "vbn" else 0
        self.convs = nn.ModuleList(nn.Conv1d(i, o, kernel, 2, kernel // 2) for i, o in zip(ins, ch))
        self.norms = nn.ModuleList(VirtualBatchNorm1d(o) for o in ch) if norm == "vbn" else None
        self.act = nn.LeakyReLU(0.3)
        self.out_conv = nn.Conv1d(ch[-1], 1, 1)
        self.fc = nn.Linear(length // 2 ** depth, 1)
        self.register_buffer("ref", torch.zeros(self.n_ref, 2, length))
        self.register_buffer("ref_set", torch.zeros((), dtype=torch.bool))

    def set_reference(self, pairs: Tensor) -> None:
        """Keep the first n_ref (noisy, clean) pairs as the reference batch (once: later calls do nothing)."""
        if self.n_ref and not bool(self.ref_set):
            if len(pairs) < self.n_ref:
                raise ValueError(f"the VBN reference batch needs {self.n_ref} pairs, got a batch of {len(pairs)}")
            self.ref.copy_(pairs[: self.n_ref].detach())
            self.ref_set.fill_(True)

    def forward(self, pairs: Tensor) -> Tensor:
        """pairs: (B, 2, L) (noisy, clean-or-enhanced) -> (B,) logits."""
        n = self.n_ref
        h = torch.cat([self.ref.to(pairs.dtype), pairs]) if n else pairs
        for i, conv in enumerate(self.convs):
            h = conv(h)
            if self.norms is not None:
                h = self.norms[i](h, n)
            h = self.act(h)
        return self.fc(self.out_conv(h[n:]).flatten(1)).squeeze(1)
