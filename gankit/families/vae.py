"""VAE (Kingma & Welling 2014): a conv encoder q(z | x) = N(mean, diag(exp(logvar))), z by reparameterisation, a
conv decoder whose output parameterises a discrete likelihood p(x | z) (gankit.nets.likelihood):

- model.likelihood=bernoulli on binarised images (`--data.name=fashion-mnist-binary`: pixels > 127 are 1);
- model.likelihood=logistic (discretised logistic, the default) or categorical (256-way) on 8-bit images.

One phase "elbo" minimises the negative ELBO  -E_q[log p(x | z)] + beta * KL(q(z | x) || N(0, I))  (one z per
image, drawn from the run's checkpointed generator); it logs `elbo` (nats per image, beta = 1 terms) and
`bits_per_dim`. The evaluation NLL is the importance-weighted bound of Burda et al. (2016) with model.iwae_k
samples: log p(x) >= IWAE_k >= ELBO (`gankit eval RUN --metrics nll`, gankit.metrics.likelihood).

`sample` decodes z ~ N(0, I) to the likelihood's mean image (what VAE samples usually show: no pixel noise);
the progress picture shows (input | reconstruction) pairs of the first training images, then prior samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Callable

import torch
from torch import Tensor, nn

from gankit import viz
from gankit.config import Config
from gankit.core.family import Family
from gankit.core.optim import make_optimizer
from gankit.core.phases import Phase, Setup, StepContext
from gankit.core.spec import DataSpec
from gankit.errors import ConfigError
from gankit.nets import likelihood as lik
from gankit.nets.vae import Decoder, Encoder, check_size
from gankit.stabilizers import refuse_unused_stab

NAME = "vae"
SUPPORTED_STAB = ("lr_decay", "lr_decay_floor", "monitor")
LOG_2PI = math.log(2 * math.pi)

Encode = Callable[[Tensor], tuple[Tensor, Tensor]]  # x -> (mean, logvar) of q(z | x)
LogLik = Callable[[Tensor, Tensor], Tensor]  # (z, x) -> log p(x | z), (B,)


@dataclass
class VAEConfig:
    family: str = NAME
    latent: int = 32
    width: int = 32  # channels of the first conv stage (doubled in the second)
    likelihood: str = "logistic"  # bernoulli (binarised data) | logistic | categorical (8-bit)
    beta: float = 1.0  # weight of the KL term in training (1 = the ELBO)
    iwae_k: int = 50  # importance samples of the evaluation bound


def validate(cfg: Config) -> None:
    m = cfg.model
    if m.latent < 1 or m.width < 1 or m.iwae_k < 1 or not m.beta >= 0:
        raise ConfigError("model.latent, model.width and model.iwae_k must be >= 1 and model.beta >= 0")
    lik.check_kind(m.likelihood)
    refuse_unused_stab(cfg.stab, NAME, SUPPORTED_STAB)


def image_spec(spec: DataSpec, who: str) -> tuple[int, int]:
    if spec.modality != "image" or len(spec.shape) != 3:
        raise ConfigError(f"{who} models images, not {spec.modality} data of shape {spec.shape}")
    c, h, w = spec.shape
    check_size(c, h, w, who)
    return c, h


def build_models(cfg: Config, spec: DataSpec) -> dict[str, nn.Module]:
    m = cfg.model
    c, size = image_spec(spec, NAME)
    dec = Decoder(m.latent, size, m.width, lik.param_channels(m.likelihood, c))
    dec.likelihood = m.likelihood  # what its outputs parameterise (a plain attribute, not in checkpoints)
    return {"enc": Encoder(c, size, m.latent, m.width), "dec": dec}


# ----------------------------------------------------------------------------- bounds (pure)
def gaussian_log_density(z: Tensor, mean: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; mean, diag(exp(logvar))) summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (z - mean).pow(2) * torch.exp(-logvar)).sum(-1)


def kl_to_prior(mean: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) per row, in closed form."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).sum(-1)


def reparameterise(mean: Tensor, logvar: Tensor, generator: torch.Generator | None) -> Tensor:
    dev = generator.device if generator is not None else mean.device
    eps = torch.randn(mean.shape, generator=generator, device=dev).to(mean.device)
    return mean + (0.5 * logvar).exp() * eps


def elbo_terms(encode: Encode, log_lik: LogLik, x: Tensor, generator=None) -> tuple[Tensor, Tensor]:
    """(E_q log p(x | z) with one z per image, KL(q || p(z))), each (B,); ELBO = first - second."""
    mean, logvar = encode(x)
    z = reparameterise(mean, logvar, generator)
    return log_lik(z, x), kl_to_prior(mean, logvar)


@torch.no_grad()
def iwae_bound(encode: Encode, log_lik: LogLik, x: Tensor, k: int, generator=None, chunk: int = 10) -> Tensor:
    """log (1/k) sum_i p(x, z_i) / q(z_i | x), z_i ~ q(z | x): a lower bound on log p(x), per image (B,)."""
    mean, logvar = encode(x)
    log_w = []
    for start in range(0, k, chunk):
        n = min(chunk, k - start)
        m, lv = mean.repeat(n, 1), logvar.repeat(n, 1)  # rows: sample-major (n * B)
        z = reparameterise(m, lv, generator)
        w = log_lik(z, x.repeat(n, *([1] * (x.dim() - 1)))) + gaussian_log_density(z, torch.zeros_like(z),
                                                                                 torch.zeros_like(z))
        log_w.append((w - gaussian_log_density(z, m, lv)).view(n, len(x)))
    return torch.logsumexp(torch.cat(log_w), dim=0) - math.log(k)


def model_fns(models: dict[str, nn.Module], kind: str) -> tuple[Encode, LogLik]:
    dec = models["dec"]
    return models["enc"], lambda z, x: lik.log_prob(kind, dec(z), x)


# ----------------------------------------------------------------------------- phase
def elbo_loss(cfg: Config, batch: dict[str, Tensor], ctx: StepContext):
    x = batch["x"]
    log_px_z, kl = elbo_terms(*model_fns(ctx.models, cfg.model.likelihood), x, ctx.noise)
    rec, kl = -log_px_z.mean(), kl.mean()
    elbo = -(rec + kl).detach()
    return rec + cfg.model.beta * kl, {"loss/rec": rec.detach(), "loss/kl": kl.detach(), "elbo": elbo,
                                       "bits_per_dim": -elbo / (x[0].numel() * math.log(2))}


# ----------------------------------------------------------------------------- sampling, pictures
@torch.no_grad()
def decode_mean(models: dict[str, nn.Module], kind: str, z: Tensor) -> Tensor:
    return lik.mean(kind, models["dec"](z))


@torch.no_grad()
def reconstruct(models: dict[str, nn.Module], kind: str, x: Tensor) -> Tensor:
    """The decoded posterior mean of each image (deterministic)."""
    dev = next(models["enc"].parameters()).device
    return decode_mean(models, kind, models["enc"](x.to(dev))[0]).cpu()


def sample(kind: str, models: dict[str, nn.Module], n: int, seed: int, inputs=None) -> Tensor:
    dec = models["dec"]
    z = torch.randn(n, dec.latent, generator=torch.Generator().manual_seed(seed))
    dev = next(dec.parameters()).device
    return torch.cat([decode_mean(models, kind, c.to(dev)).cpu() for c in z.split(500)])


def family_sample(models: dict[str, nn.Module], n: int, seed: int, inputs=None) -> Tensor:
    """The family record's sampler (gankit sample / eval): the likelihood kind is the decoder's."""
    return sample(models["dec"].likelihood, models, n, seed, inputs)


class MeanDecoder(nn.Module):
    """z -> the decoder's mean image in [-1, 1]: the VAE as a generator G(z) (for `gankit latent`)."""

    def __init__(self, dec: Decoder):
        super().__init__()
        self.dec, self.z_dim = dec, dec.latent

    def forward(self, z: Tensor) -> Tensor:
        return lik.mean(self.dec.likelihood, self.dec(z))


def reconstruction_rows(x: Tensor, rec: Tensor, samples: Tensor) -> Tensor:
    """(input, reconstruction) pairs side by side, then the prior samples (for an 8-column grid)."""
    return torch.cat([torch.stack([x.cpu(), rec], dim=1).flatten(0, 1), samples])


def preview(kind: str, models: dict[str, nn.Module], n: int, path, title: str, batch: dict[str, Tensor]) -> None:
    x = batch["x"][:n]
    rows = reconstruction_rows(x, reconstruct(models, kind, x), sample(kind, models, 2 * len(x), seed=0))
    viz.save_grid(rows, path, nrow=8, scale=2)


def build(cfg: Config, spec: DataSpec) -> Setup:
    models = build_models(cfg, spec)
    params = [p for m in models.values() for p in m.parameters()]
    optims = {"vae": make_optimizer(cfg.train.g_opt, params, cfg.train.g_lr, cfg.train)}
    kind = cfg.model.likelihood
    return Setup(models, optims, [Phase("elbo", ("vae",), partial(elbo_loss, cfg))],
                 sample=partial(sample, kind, models), preview=partial(preview, kind, models, min(cfg.log.n_grid, 16)),
                 scalar_groups={"negative ELBO (nats)": ["loss/rec", "loss/kl"], "bits/dim": ["bits_per_dim"]})


FAMILY = Family(NAME, VAEConfig, validate, build, build_models, family_sample,
                "VAE: conv encoder/decoder, Gaussian posterior, Bernoulli or discretised likelihood, IWAE NLL")
