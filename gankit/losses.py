"""GAN losses on the discriminator's logits, plus gradient penalties and weight clipping.

One sign convention throughout: D scores real data HIGH (a logit, not a probability).
Every loss returns a scalar to be *minimised*. Logits may have shape (N,) or (N, 1).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import partial
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.errors import ConfigError


def _logits(x: Tensor) -> Tensor:
    """Flatten logits of shape (N,), (N, 1) or a patch map (N, 1, H, W) (one logit per patch, e.g. PatchGAN:
    the losses then average over samples and patches) to one dimension."""
    if x.dim() == 1:
        return x
    if x.dim() >= 2 and x.shape[1] == 1:
        return x.reshape(-1)
    raise ValueError(f"logits must have shape (N,), (N, 1) or (N, 1, H, W), got {tuple(x.shape)}")


# ----------------------------------------------------------------------------- minimax / non-saturating
def d_minimax(real: Tensor, fake: Tensor) -> Tensor:
    """-log D(x) - log(1 - D(G(z))) with D = sigmoid(logit), in the stable softplus form."""
    return F.softplus(-_logits(real)).mean() + F.softplus(_logits(fake)).mean()


def g_minimax(fake: Tensor) -> Tensor:
    """Saturating generator loss: minimise log(1 - D(G(z))) = -softplus(fake)."""
    return -F.softplus(_logits(fake)).mean()


def g_nonsat(fake: Tensor) -> Tensor:
    """Non-saturating generator loss: minimise -log D(G(z)) = softplus(-fake)."""
    return F.softplus(-_logits(fake)).mean()


# ----------------------------------------------------------------------------- least squares
def d_lsgan(real: Tensor, fake: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """LSGAN D loss: 0.5 E(D(x) - b)^2 + 0.5 E(D(G(z)) - a)^2."""
    return 0.5 * ((_logits(real) - b) ** 2).mean() + 0.5 * ((_logits(fake) - a) ** 2).mean()


def g_lsgan(fake: Tensor, c: float = 1.0) -> Tensor:
    """LSGAN G loss: 0.5 E(D(G(z)) - c)^2."""
    return 0.5 * ((_logits(fake) - c) ** 2).mean()


# ----------------------------------------------------------------------------- Wasserstein / hinge
def d_wgan(real: Tensor, fake: Tensor) -> Tensor:
    """Critic loss E[D(G(z))] - E[D(x)]."""
    return _logits(fake).mean() - _logits(real).mean()


def g_wgan(fake: Tensor) -> Tensor:
    """Generator loss -E[D(G(z))]."""
    return -_logits(fake).mean()


def d_hinge(real: Tensor, fake: Tensor) -> Tensor:
    """Hinge D loss E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]."""
    return F.relu(1.0 - _logits(real)).mean() + F.relu(1.0 + _logits(fake)).mean()


def g_hinge(fake: Tensor) -> Tensor:
    """Hinge G loss -E[D(G(z))]."""
    return -_logits(fake).mean()


# ----------------------------------------------------------------------------- penalties
def _input_grad(D: nn.Module, x: Tensor) -> Tensor:
    """Gradient of sum_i D(x)_i w.r.t. x (per-sample gradients), flattened to (N, -1), graph kept."""
    x = x.detach().requires_grad_(True)
    out = D(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.reshape(grad.shape[0], -1)


def _unit_norm_penalty(D: nn.Module, x_hat: Tensor) -> Tensor:
    """mean over the batch of (||grad_x D(x_hat)||_2 - 1)^2."""
    norms = torch.linalg.vector_norm(_input_grad(D, x_hat), dim=1)
    return ((norms - 1.0) ** 2).mean()


def _rand(shape: tuple[int, ...], like: Tensor, generator: torch.Generator | None) -> Tensor:
    return torch.rand(shape, generator=generator, device=like.device, dtype=like.dtype)


def gradient_penalty(
    D: nn.Module, real: Tensor, fake: Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017): (||grad D(x_hat)|| - 1)^2 at x_hat = eps x + (1 - eps) x_fake.

    eps ~ U[0, 1] per sample. Unscaled: the caller multiplies by lambda.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} shapes differ")
    eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = _rand(eps_shape, real, generator)
    x_hat = eps * real.detach() + (1.0 - eps) * fake.detach()
    return _unit_norm_penalty(D, x_hat)


def dragan_penalty(
    D: nn.Module, real: Tensor, generator: torch.Generator | None = None, c: float = 0.5
) -> Tensor:
    """DRAGAN (Kodali et al. 2017): (||grad D(x_hat)|| - 1)^2 at x_hat = x + c std(x) U[0,1).

    std is taken over the whole batch; the noise is drawn per element. Unscaled.
    """
    real = real.detach()
    noise = _rand(tuple(real.shape), real, generator)
    x_hat = real + c * real.std() * noise
    return _unit_norm_penalty(D, x_hat)


def r1_penalty(D: nn.Module, real: Tensor) -> Tensor:
    """R1 (Mescheder et al. 2018): mean over the batch of ||grad_x D(x)||^2 at real x. Unscaled."""
    return _input_grad(D, real).pow(2).sum(dim=1).mean()


@torch.no_grad()
def clip_weights(module: nn.Module, c: float) -> None:
    """Clamp every parameter of `module` to [-c, c] in place (WGAN weight clipping)."""
    if not c > 0:
        raise ConfigError(f"weight clipping bound must be > 0, got {c!r}")
    for p in module.parameters():
        p.clamp_(-c, c)


# ----------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class GANLoss:
    """A D loss, a G loss and what the trainer must add (penalty with lambda, clipping)."""

    name: str
    d: Callable[[Tensor, Tensor], Tensor]
    g: Callable[[Tensor], Tensor]
    penalty: str | None = None  # None | "gp" | "dragan"
    clip: bool = False


def _minimax() -> GANLoss:
    return GANLoss("minimax", d_minimax, g_minimax)


def _nonsat() -> GANLoss:
    return GANLoss("nonsat", d_minimax, g_nonsat)


def _lsgan(a: float = 0.0, b: float = 1.0, c: float = 1.0) -> GANLoss:
    return GANLoss("lsgan", partial(d_lsgan, a=float(a), b=float(b)), partial(g_lsgan, c=float(c)))


def _wgan() -> GANLoss:
    return GANLoss("wgan", d_wgan, g_wgan, clip=True)


def _wgan_gp() -> GANLoss:
    return GANLoss("wgan-gp", d_wgan, g_wgan, penalty="gp")


def _hinge() -> GANLoss:
    return GANLoss("hinge", d_hinge, g_hinge)


def _dragan() -> GANLoss:
    return GANLoss("dragan", d_minimax, g_nonsat, penalty="dragan")


LOSSES: dict[str, Callable[..., GANLoss]] = {
    "minimax": _minimax,
    "nonsat": _nonsat,
    "lsgan": _lsgan,
    "wgan": _wgan,
    "wgan-gp": _wgan_gp,
    "hinge": _hinge,
    "dragan": _dragan,
}


def get_loss(name: str, **params: float) -> GANLoss:
    """Build the loss `name` with its parameters (e.g. lsgan a, b, c); ConfigError on bad input."""
    if name not in LOSSES:
        raise ConfigError(f"unknown loss {name!r}; valid losses: {', '.join(LOSSES)}")
    factory = LOSSES[name]
    valid = list(inspect.signature(factory).parameters)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        allowed = ", ".join(valid) if valid else "none"
        raise ConfigError(f"loss {name!r}: unknown parameter(s) {', '.join(unknown)}; valid: {allowed}")
    for key, value in params.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"loss {name!r}: parameter {key!r} must be a number, got {value!r}")
    return factory(**params)


def loss_from_train(t) -> GANLoss:
    """The GAN loss a `train` config section names (train.loss, with LSGAN's a, b, c)."""
    return get_loss(t.loss, **({"a": t.lsgan_a, "b": t.lsgan_b, "c": t.lsgan_c} if t.loss == "lsgan" else {}))
