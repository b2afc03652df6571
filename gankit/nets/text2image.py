"""Text -> image networks (Reed et al. 2016 at Fashion-MNIST size): a word-level GRU text encoder, and a DCGAN
generator and discriminator conditioned on its embedding through their own small projections.

- `TextEncoder`: token ids (B, L), 0 = padding -> word embeddings -> one-layer GRU -> the hidden state after the
  last word (B, emb_dim).
- `TextGenerator`: the embedding -> Linear -> LeakyReLU(0.2) (t_dim; or, with conditioning augmentation, a mean and
  a log-variance, StackGAN's CA), joined to z -> DCGAN transposed-conv stages -> tanh.
- `TextDiscriminator`: DCGAN conv stages down to (C, s0, s0); the embedding's projection (t_dim) is replicated over
  the s0 x s0 map and joined to it; a 1x1 conv, then an s0 x s0 conv to one logit per (image, text) pair.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gankit.nets.dcgan import D_NORMS, dcgan_plan, init_weights


class TextEncoder(nn.Module):
    def __init__(self, vocab_size: int, word_dim: int = 32, emb_dim: int = 64) -> None:
        super().__init__()
        self.vocab_size, self.emb_dim = vocab_size, emb_dim
        self.words = nn.Embedding(vocab_size, word_dim, padding_idx=0)
        self.gru = nn.GRU(word_dim, emb_dim, batch_first=True)

    def forward(self, ids: Tensor) -> Tensor:
        out, _ = self.gru(self.words(ids))  # (B, L, H)
        last = (ids != 0).sum(1).clamp(min=1) - 1  # index of the last word (captions are left-aligned)
        return out[torch.arange(len(ids), device=ids.device), last]


def _projection(emb_dim: int, t_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(emb_dim, t_dim), nn.LeakyReLU(0.2, True))


class TextGenerator(nn.Module):
    """G(z, c): c the text condition (t_dim); `condition(e)` maps an embedding to (c or its mean, log-variance)."""

    def __init__(self, z_dim: int, emb_dim: int, t_dim: int, resolution: int = 28, channels: int = 1,
                 width: int = 64, ca: bool = False) -> None:
        super().__init__()
        start, stages = dcgan_plan(resolution)
        self.z_dim, self.t_dim, self.ca = z_dim, t_dim, ca
        self.proj = nn.Linear(emb_dim, 2 * t_dim) if ca else _projection(emb_dim, t_dim)
        ch = width * 2 ** (stages - 1)
        layers: list[nn.Module] = [nn.Unflatten(1, (z_dim + t_dim, 1, 1)),
                                   nn.ConvTranspose2d(z_dim + t_dim, ch, start, 1, 0, bias=False),
                                   nn.BatchNorm2d(ch), nn.ReLU(True)]
        for _ in range(stages - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def condition(self, emb: Tensor) -> tuple[Tensor, Tensor | None]:
        """(mean, log-variance) with conditioning augmentation, else (the projection, None)."""
        if not self.ca:
            return self.proj(emb), None
        mu, logvar = self.proj(emb).chunk(2, dim=1)
        return mu, logvar.clamp(-10, 10)

    def forward(self, z: Tensor, c: Tensor) -> Tensor:
        return self.net(torch.cat([z, c], 1))


class TextDiscriminator(nn.Module):
    """D(x, e) -> (B,) logits of 'a real image that matches this text'."""

    def __init__(self, emb_dim: int, t_dim: int, resolution: int = 28, channels: int = 1, width: int = 64,
                 norm: str = "batch") -> None:
        super().__init__()
        start, stages = dcgan_plan(resolution)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        ch = width
        for _ in range(stages - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), D_NORMS[norm](ch * 2), nn.LeakyReLU(0.2, True)]
            ch *= 2
        self.features = nn.Sequential(*layers)
        self.proj = _projection(emb_dim, t_dim)
        self.joint = nn.Sequential(nn.Conv2d(ch + t_dim, ch, 1, bias=False), D_NORMS[norm](ch),
                                   nn.LeakyReLU(0.2, True), nn.Conv2d(ch, 1, start))
        self.start = start
        init_weights(self)

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.features(x)
        t = self.proj(emb)[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return self.joint(torch.cat([h, t], 1)).flatten()
