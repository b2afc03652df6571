"""Output distributions of the likelihood models (VAE decoder, PixelCNN) over images in gankit's [-1, 1] scale.

Each kind turns a network's output `params` into a per-pixel distribution over the image's discrete values:

- "bernoulli": binary images (pixels -1 or 1, e.g. `fashion-mnist-binary`), params = C logit channels;
- "logistic": 8-bit images (256 levels, x = k / 127.5 - 1), the discretised logistic of PixelCNN++ (Salimans et
  al. 2017): params = C means and C log-scales, each level the logistic's mass on its bin of width 2/255, the
  end bins taking the tails;
- "categorical": 8-bit images, params = 256 logits per channel (C * 256 channels, channel-major), as PixelCNN.

`log_prob` is the log probability mass of each image, in nats, summed over its pixels: a discrete likelihood,
so `bits_per_dim(-log_prob, dims)` is a proper code length.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.errors import ConfigError

KINDS = ("bernoulli", "logistic", "categorical")
LEVELS = 256


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ConfigError(f"unknown likelihood {kind!r}; valid: {', '.join(KINDS)}")
    return kind


def param_channels(kind: str, channels: int) -> int:
    """Output channels a network needs for `kind` on images of `channels` channels."""
    return {"bernoulli": 1, "logistic": 2, "categorical": LEVELS}[check_kind(kind)] * channels


def to_levels(x: Tensor) -> Tensor:
    """[-1, 1] images -> int64 levels 0..255 (x = k / 127.5 - 1)."""
    return ((x + 1) * 127.5).round().clamp(0, LEVELS - 1).long()


def from_levels(k: Tensor) -> Tensor:
    return k.float() / 127.5 - 1


def to_binary(x: Tensor) -> Tensor:
    """[-1, 1] images -> {0, 1} floats (pixels above the middle grey are 1)."""
    return (x > 0).float()


def _categorical_logits(params: Tensor) -> Tensor:
    b, c, h, w = params.shape
    return params.view(b, c // LEVELS, LEVELS, h, w)


def _logistic_log_mass(mean: Tensor, log_scale: Tensor, x: Tensor) -> Tensor:
    """log P(bin of x) under Logistic(mean, exp(log_scale)) discretised to the 256 levels of [-1, 1]."""
    log_scale = log_scale.clamp(min=-7.0)
    inv = torch.exp(-log_scale)
    half = 1.0 / 255.0  # half a bin
    upper, lower = inv * (x - mean + half), inv * (x - mean - half)
    log_cdf_upper = F.logsigmoid(upper)  # log sigma(upper): the lowest bin's mass (-inf, x + half]
    log_one_minus_cdf_lower = -F.softplus(lower)  # log(1 - sigma(lower)): the highest bin's mass
    # interior bins: log(sigma(upper) - sigma(lower)), stably as log sigma(upper) + log(1 - exp(log sigma(lower)
    # - log sigma(upper))); where the bin is far in a tail, the density times the bin width
    mid = inv * (x - mean)  # above the mean, 1 - F differences keep float32's precision in the upper tail
    diff = torch.where(mid > 0, torch.sigmoid(-lower) - torch.sigmoid(-upper), torch.sigmoid(upper) - torch.sigmoid(lower))
    log_density = mid - log_scale - 2 * F.softplus(mid) + math.log(2 * half)
    interior = torch.where(diff > 1e-5, torch.log(diff.clamp(min=1e-12)), log_density)
    return torch.where(x < -0.999, log_cdf_upper, torch.where(x > 0.999, log_one_minus_cdf_lower, interior))


def log_prob(kind: str, params: Tensor, x: Tensor) -> Tensor:
    """Log probability mass (nats) of each image x (B, C, H, W) in [-1, 1]; shape (B,)."""
    if kind == "bernoulli":
        return -F.binary_cross_entropy_with_logits(params, to_binary(x), reduction="none").flatten(1).sum(1)
    if kind == "logistic":
        mean, log_scale = params.chunk(2, dim=1)
        return _logistic_log_mass(mean, log_scale, from_levels(to_levels(x))).flatten(1).sum(1)
    if kind == "categorical":
        logp = F.log_softmax(_categorical_logits(params), dim=2)
        return logp.gather(2, to_levels(x).unsqueeze(2)).flatten(1).sum(1)
    raise ConfigError(f"unknown likelihood {kind!r}; valid: {', '.join(KINDS)}")


def mean(kind: str, params: Tensor) -> Tensor:
    """The distribution's mean image in [-1, 1] (what a reconstruction shows)."""
    if kind == "bernoulli":
        return torch.sigmoid(params) * 2 - 1
    if kind == "logistic":
        return params.chunk(2, dim=1)[0].clamp(-1, 1)
    probs = F.softmax(_categorical_logits(params), dim=2)
    values = from_levels(torch.arange(LEVELS, device=params.device)).view(1, 1, LEVELS, 1, 1)
    return (probs * values).sum(2)


def sample(kind: str, params: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """One draw per pixel, in [-1, 1] (binary: -1 or 1; 8-bit: one of the 256 levels)."""
    u_shape = params.shape if kind == "bernoulli" else (params.shape[0], params.shape[1] // param_channels(
        kind, 1), *params.shape[2:])
    u = torch.rand(u_shape, generator=generator).to(params.device).clamp(1e-6, 1 - 1e-6)  # a CPU generator
    if kind == "bernoulli":
        return (u < torch.sigmoid(params)).float() * 2 - 1
    if kind == "logistic":
        m, log_scale = params.chunk(2, dim=1)
        x = m + log_scale.clamp(min=-7.0).exp() * (torch.log(u) - torch.log1p(-u))
        return from_levels(to_levels(x.clamp(-1, 1)))
    cdf = F.softmax(_categorical_logits(params), dim=2).cumsum(2)
    k = (cdf < u.unsqueeze(2)).sum(2).clamp(max=LEVELS - 1)
    return from_levels(k)


def bits_per_dim(nll_nats: Tensor | float, dims: int) -> float:
    """Mean negative log-likelihood (nats per image) as bits per dimension."""
    return float(nll_nats) / (dims * math.log(2))
