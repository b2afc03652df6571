"""Class-conditional generators and discriminators on the MLP and DCGAN backbones.

Generators take ``G(z, y)`` with int64 labels ``y`` (N,); the one-hot label is joined to z, and with
``cond_bn`` every batch norm of G (or, in the MLP, one after each hidden layer) becomes a conditional
batch norm whose scale and shift are looked up per class (de Vries et al. 2017; Miyato & Koyama 2018).
Without ``y`` a generator uses balanced labels ``arange(N) % num_classes``.

Discriminators have three modes, all returning logits (N,) from ``D(x, y)``:
  cgan        the one-hot label is joined to D's input (extra input features, or constant label planes);
  projection  logit = psi(phi(x)) + <embed(y), phi(x)>, phi = features (sum-pooled over space for conv nets);
  acgan       the unconditional logit, plus an auxiliary classifier head: ``D.outputs(x, y)[1]`` (N, classes).
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.errors import ConfigError
from gankit.nets.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_plan, init_weights
from gankit.nets.mlp import MLPDiscriminator, MLPGenerator

COND_MODES = ("cgan", "projection", "acgan")


class ConditionalBatchNorm(nn.Module):
    """Batch norm without its own affine; a per-class scale (init 1) and shift (init 0) instead."""

    def __init__(self, num_features: int, num_classes: int, dims: int = 2) -> None:
        super().__init__()
        self.bn = (nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d)(num_features, affine=False)
        self.gamma = nn.Embedding(num_classes, num_features)
        self.beta = nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.gamma.weight)
        nn.init.zeros_(self.beta.weight)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        shape = (x.shape[0], x.shape[1]) + (1,) * (x.dim() - 2)
        return self.bn(x) * self.gamma(y).view(shape) + self.beta(y).view(shape)


def balanced_labels(n: int, num_classes: int, device: torch.device | str | None = None) -> Tensor:
    """0, 1, ..., K-1, 0, 1, ... (n labels, int64)."""
    return torch.arange(n, device=device) % num_classes


def one_hot(y: Tensor, num_classes: int, dtype: torch.dtype) -> Tensor:
    return F.one_hot(y.long(), num_classes).to(dtype)


def with_conditional_norms(net: nn.Sequential, num_classes: int) -> nn.Sequential:
    """Copy of `net` with BatchNorm layers replaced by ConditionalBatchNorm, and one inserted after every
    Linear that feeds a ReLU (the MLP generator has no norms of its own)."""
    mods = list(net)
    out: list[nn.Module] = []
    for i, m in enumerate(mods):
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            out.append(ConditionalBatchNorm(m.num_features, num_classes, 2 if isinstance(m, nn.BatchNorm2d) else 1))
            continue
        out.append(m)
        if isinstance(m, nn.Linear) and i + 1 < len(mods) and isinstance(mods[i + 1], nn.ReLU):
            out.append(ConditionalBatchNorm(m.out_features, num_classes, 1))
    return nn.Sequential(*out)


class ConditionalGenerator(nn.Module):
    """G(z, y): `net` applied to [z, one_hot(y)]; ConditionalBatchNorm layers also receive y."""

    def __init__(self, net: nn.Sequential, z_dim: int, num_classes: int, out_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.net, self.z_dim, self.num_classes, self.out_shape = net, z_dim, num_classes, tuple(out_shape)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if y is None:
            y = balanced_labels(len(z), self.num_classes, z.device)
        h = torch.cat([z, one_hot(y, self.num_classes, z.dtype)], dim=1)
        for layer in self.net:
            h = layer(h, y) if isinstance(layer, ConditionalBatchNorm) else layer(h)
        return h


class ConditionalDiscriminator(nn.Module):
    """A backbone split into `body` (features) and `head` (the unconditional logit), plus the mode's
    label pathway. `outputs(x, y)` -> (logits (N,), auxiliary class logits (N, K) or None)."""

    def __init__(self, body: nn.Sequential, head: nn.Module, mode: str, num_classes: int,
                 in_shape: tuple[int, ...], label_planes: bool = False, pack: int = 1) -> None:
        super().__init__()
        if mode not in COND_MODES:
            raise ConfigError(f"unknown model.cond {mode!r}; valid: {', '.join(COND_MODES)}")
        if pack > 1 and mode != "cgan":
            raise ConfigError(f"PacGAN packing needs model.cond=cgan (one label per input), not {mode}")
        self.body, self.head, self.mode, self.pack = body, head, mode, pack
        self.num_classes, self.in_shape, self.label_planes = num_classes, tuple(in_shape), label_planes
        feat = self._feature_dim()
        if mode == "projection":
            self.embed = nn.Embedding(num_classes, feat)
            nn.init.normal_(self.embed.weight, 0.0, 0.02)
        if mode == "acgan":
            self.aux = nn.Linear(feat, num_classes)

    def _feature_dim(self) -> int:
        x = torch.zeros(2 * self.pack, *self.in_shape)
        y = torch.zeros(2 * self.pack, dtype=torch.long)
        was = self.body.training
        self.body.eval()
        with torch.no_grad():
            d = self.pool(self.body(self.packed(self.join(x, y)))).shape[1]
        self.body.train(was)
        return int(d)

    def join(self, x: Tensor, y: Tensor | None) -> Tensor:
        """CGAN: the one-hot label as constant input planes (conv backbones) or extra input features."""
        if self.mode != "cgan":
            return x
        y = _need_labels(y, self.mode)
        oh = one_hot(y, self.num_classes, x.dtype)
        if self.label_planes:
            return torch.cat([x, oh[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])], dim=1)
        return torch.cat([x.reshape(len(x), -1), oh], dim=1)

    def packed(self, h: Tensor) -> Tensor:
        """PacGAN: groups of `pack` joined samples concatenated on dim 1 (N/pack inputs)."""
        if self.pack == 1:
            return h
        if h.shape[0] % self.pack:
            raise ConfigError(f"PacGAN: batch of {h.shape[0]} samples is not divisible by stab.pack={self.pack}")
        return h.reshape(h.shape[0] // self.pack, self.pack * h.shape[1], *h.shape[2:])

    @staticmethod
    def pool(h: Tensor) -> Tensor:
        """phi(x): global sum pooling of conv features, the features themselves for vectors."""
        return h.sum(dim=(2, 3)) if h.dim() == 4 else h.reshape(len(h), -1)

    def unconditional_logit(self, h: Tensor) -> Tensor:
        return self.head(h).reshape(-1)

    def outputs(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        h = self.body(self.packed(self.join(x, y)))
        logit = self.unconditional_logit(h)
        if self.mode == "projection":
            y = _need_labels(y, self.mode)
            logit = logit + (self.embed(y) * self.pool(h)).sum(dim=1)
        aux = self.aux(self.pool(h)) if self.mode == "acgan" else None
        return logit, aux

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.outputs(x, y)[0]


def _need_labels(y: Tensor | None, mode: str) -> Tensor:
    if y is None:
        raise ValueError(f"a {mode} discriminator needs the labels y: call D(x, y)")
    return y


def _split(net: nn.Sequential) -> tuple[nn.Sequential, nn.Module]:
    """Backbone `net` = [..., final layer, Flatten(0)] -> (body, final layer)."""
    mods = list(net)
    return nn.Sequential(*mods[:-2]), mods[-2]


def _check_image_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ConfigError(f"arch 'dcgan' needs square image data (C, H, W) with H == W, got data shape {shape}; "
                          "use arch 'mlp' for vector data")
    dcgan_plan(shape[1])
    return shape[0], shape[1]


def _mlp_pair(cfg: Any, shape: tuple[int, ...], k: int, pack: int = 1) -> tuple[nn.Sequential, nn.Module]:
    out_act = "tanh" if len(shape) == 3 else "none"
    G = MLPGenerator(cfg.z_dim + k, shape, width=cfg.g_width, depth=cfg.depth, out_activation=out_act)
    d_in = ((math.prod(shape) + k) * pack,) if cfg.cond == "cgan" else shape
    D = MLPDiscriminator(d_in, width=cfg.d_width, depth=cfg.depth, norm=cfg.d_norm)
    return G.net, D


def _dcgan_pair(cfg: Any, shape: tuple[int, ...], k: int, pack: int = 1) -> tuple[nn.Sequential, nn.Module]:
    channels, res = _check_image_shape(shape)
    G = DCGANGenerator(cfg.z_dim + k, res, channels, width=cfg.g_width)
    d_channels = (channels + k) * pack if cfg.cond == "cgan" else channels
    D = DCGANDiscriminator(res, d_channels, width=cfg.d_width, norm=cfg.d_norm)
    return G.net, D


PAIRS = {"mlp": _mlp_pair, "dcgan": _dcgan_pair}


def build_conditional(cfg: Any, shape: tuple[int, ...], num_classes: int | None,
                      pack: int = 1) -> tuple[nn.Module, nn.Module]:
    """(G, D) for cfg.cond in cgan | projection | acgan on cfg.arch; cfg.cond_bn swaps G's norms.
    `pack` > 1 (cgan only): D judges `pack` samples with their label planes at once (PacGAN)."""
    if cfg.cond not in COND_MODES:
        raise ConfigError(f"unknown model.cond {cfg.cond!r}; valid: none, {', '.join(COND_MODES)}")
    if num_classes is None or isinstance(num_classes, bool) or int(num_classes) < 2:
        raise ConfigError(f"model.cond={cfg.cond} needs a labelled data set with at least 2 classes, "
                          f"got num_classes={num_classes!r}")
    k = int(num_classes)
    g_net, base_d = PAIRS[cfg.arch](cfg, shape, k, pack)
    if getattr(cfg, "cond_bn", False):
        g_net = with_conditional_norms(g_net, k)
    G = ConditionalGenerator(g_net, cfg.z_dim, k, shape)
    body, head = _split(base_d.net)
    D = ConditionalDiscriminator(body, head, cfg.cond, k, shape, label_planes=cfg.arch == "dcgan", pack=pack)
    if cfg.arch == "dcgan" and cfg.cond == "acgan":
        init_weights(D.aux)
    return G, D
