"""A whole model family in one file: a small Gaussian VAE on vector data (Kingma & Welling 2014).

This is the worked example of docs/architecture.md ("add a family in one file"): a config section, the
modules, one phase with its loss, sampling and the progress picture. tests/families/test_tiny_vae.py
registers it and trains it through the same trainer, hooks and checkpoints as the GAN family.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor, nn

from gankit import viz
from gankit.core.family import Family
from gankit.core.optim import make_optimizer
from gankit.core.phases import Phase, Setup, StepContext
from gankit.core.spec import DataSpec
from gankit.errors import ConfigError


@dataclass
class TinyVAEConfig:  # the `model` section: --model.family=tiny-vae --model.latent=2 ...
    family: str = "tiny-vae"
    latent: int = 2
    width: int = 64
    beta: float = 1.0  # weight of the KL term


def validate(cfg) -> None:
    if cfg.model.latent < 1 or cfg.model.width < 1 or not cfg.model.beta >= 0:
        raise ConfigError("model.latent and model.width must be >= 1 and model.beta >= 0")


class Decoder(nn.Module):
    def __init__(self, latent: int, width: int, dim: int):
        super().__init__()
        self.latent = latent
        self.net = nn.Sequential(nn.Linear(latent, width), nn.ReLU(), nn.Linear(width, dim))

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


def build_models(cfg, spec: DataSpec) -> dict[str, nn.Module]:
    if spec.modality != "vector":
        raise ConfigError(f"tiny-vae models vector data, not {spec.modality}")
    m, dim = cfg.model, math.prod(spec.shape)
    enc = nn.Sequential(nn.Linear(dim, m.width), nn.ReLU(), nn.Linear(m.width, 2 * m.latent))  # mean, log-variance
    return {"enc": enc, "dec": Decoder(m.latent, m.width, dim)}


def elbo_loss(beta: float, batch: dict[str, Tensor], ctx: StepContext):
    """Negative ELBO with a unit-variance Gaussian decoder: 0.5 ||x - x_hat||^2 + beta KL(q(z|x) || N(0, I))."""
    x = batch["x"].flatten(1)
    mean, logvar = ctx.models["enc"](x).chunk(2, dim=1)
    eps = torch.randn(mean.shape, generator=ctx.noise, device=ctx.device)  # the run's checkpointed generator
    z = mean + (0.5 * logvar).exp() * eps
    recon = 0.5 * (x - ctx.models["dec"](z)).pow(2).sum(1).mean()
    kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()
    return recon + beta * kl, {"loss/recon": recon.detach(), "loss/kl": kl.detach()}


@torch.no_grad()
def sample(models: dict[str, nn.Module], n: int, seed: int, inputs=None) -> Tensor:
    dec = models["dec"]
    z = torch.randn(n, dec.latent, generator=torch.Generator().manual_seed(seed))
    return dec(z.to(next(dec.parameters()).device)).cpu()


def preview(models, path, title: str, batch: dict) -> None:
    viz.save_scatter(sample(models, 500, seed=0), path, real=batch["x"], title=title)


def build(cfg, spec: DataSpec) -> Setup:
    models = build_models(cfg, spec)
    params = [p for m in models.values() for p in m.parameters()]
    optims = {"vae": make_optimizer(cfg.train.g_opt, params, cfg.train.g_lr, cfg.train)}
    phases = [Phase("elbo", ("vae",), partial(elbo_loss, cfg.model.beta))]
    return Setup(models, optims, phases, sample=partial(sample, models), preview=partial(preview, models),
                 scalar_groups={"negative ELBO": ["loss/recon", "loss/kl"]})


FAMILY = Family("tiny-vae", TinyVAEConfig, validate, build, build_models, sample, "a Gaussian VAE on vectors")
