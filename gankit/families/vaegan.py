"""VAE-GAN (Larsen et al. 2016, "Autoencoding beyond pixels using a learned similarity metric"): an encoder E,
a decoder/generator G and a discriminator D whose intermediate features are the reconstruction space.

With x~ = G(z), z ~ q(z | x) (reparameterised), x_p = G(z_p), z_p ~ N(0, I), and D_l(x) D's features:
- L_prior = KL(q(z | x) || N(0, I)); L_llike = 0.5 * ||D_l(x) - D_l(x~)||^2 (a Gaussian in feature space);
- L_GAN = log D(x) + log(1 - D(x~)) + log(1 - D(x_p)).
Phase "D" maximises L_GAN (binary cross-entropy on real, reconstructions and prior samples; it keeps z, z_p in
`ctx.scratch`); phase "EG" steps E on L_prior + L_llike and G on gamma * L_llike + the non-saturating GAN loss of
x~ and x_p (-log D), the paper's gamma weighting. Both from one backward pass: the code fed to G for L_llike
passes a gradient scale of 1 / gamma on its way back to E, and the GAN term sees G(z.detach()), so E gets
exactly the gradient of L_prior + L_llike and G that of gamma * L_llike + GAN (tests check this).

`sample` decodes z ~ N(0, I) (G outputs images in [-1, 1] through tanh); the progress picture shows
(input | reconstruction) pairs, then prior samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit import viz
from gankit.config import Config
from gankit.core.family import Family
from gankit.core.optim import make_optimizer
from gankit.core.phases import Phase, Setup, StepContext
from gankit.core.spec import DataSpec
from gankit.errors import ConfigError
from gankit.families.vae import image_spec, kl_to_prior, reconstruction_rows, reparameterise
from gankit.nets.vae import Decoder, Encoder, FeatureDiscriminator
from gankit.stabilizers import refuse_unused_stab

NAME = "vaegan"
SUPPORTED_STAB = ("lr_decay", "lr_decay_floor", "monitor")


@dataclass
class VAEGANConfig:
    family: str = NAME
    latent: int = 32
    width: int = 32  # channels of the first conv stage of E, G and D
    gamma: float = 1e-2  # weight of L_llike against the GAN loss in G's objective (> 0)
    beta: float = 1.0  # weight of the KL term in E's objective


def validate(cfg: Config) -> None:
    m = cfg.model
    if m.latent < 1 or m.width < 1 or not m.gamma > 0 or not m.beta >= 0:
        raise ConfigError("model.latent and model.width must be >= 1, model.gamma > 0 and model.beta >= 0")
    if cfg.train.loss != "nonsat" or cfg.train.n_critic != 1:
        raise ConfigError(f"vaegan trains with the paper's binary cross-entropy GAN loss (train.loss=nonsat) and "
                          f"one D step (train.n_critic=1), got {cfg.train.loss}, {cfg.train.n_critic}")
    refuse_unused_stab(cfg.stab, NAME, SUPPORTED_STAB)


def build_models(cfg: Config, spec: DataSpec) -> dict[str, nn.Module]:
    m = cfg.model
    c, size = image_spec(spec, NAME)
    return {"E": Encoder(c, size, m.latent, m.width), "G": Decoder(m.latent, size, m.width, c, tanh=True),
            "D": FeatureDiscriminator(c, size, m.width)}


class _ScaleGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, scale: float) -> Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return grad * ctx.scale, None


def scale_grad(x: Tensor, scale: float) -> Tensor:
    """x in the forward pass; the gradient times `scale` in the backward one."""
    return _ScaleGrad.apply(x, scale)


def _codes(batch: dict[str, Tensor], ctx: StepContext) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(z, z_p, mean, logvar) for the batch, drawn once per step from the run's generator (shared by D and EG)."""
    if "z" not in ctx.scratch:
        x = batch["x"]
        mean, logvar = ctx.models["E"](x)
        z_p = torch.randn(mean.shape, generator=ctx.noise, device=ctx.device)
        ctx.scratch.update(z=reparameterise(mean, logvar, ctx.noise), z_p=z_p, mean=mean, logvar=logvar)
    s = ctx.scratch
    return s["z"], s["z_p"], s["mean"], s["logvar"]


def d_loss(batch: dict[str, Tensor], ctx: StepContext):
    G, D = ctx.models["G"], ctx.models["D"]
    z, z_p, _, _ = _codes(batch, ctx)
    with torch.no_grad():
        fakes = G(torch.cat([z, z_p]))
    real, fake = D(batch["x"])[0], D(fakes)[0]
    loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + 2 * \
        F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))  # mean over x~ and x_p, each term once
    return loss, {"loss/d": loss.detach(), "d/real": real.detach().mean(), "d/fake": fake.detach().mean()}


def eg_loss(cfg: Config, batch: dict[str, Tensor], ctx: StepContext):
    G, D = ctx.models["G"], ctx.models["D"]
    x, m = batch["x"], cfg.model
    z, z_p, mean, logvar = _codes(batch, ctx)
    rec = G(scale_grad(z, 1.0 / m.gamma))
    llike = 0.5 * (D(x)[1].detach() - D(rec)[1]).pow(2).sum(1).mean()
    kl = kl_to_prior(mean, logvar).mean()
    fake_logits = D(G(torch.cat([z.detach(), z_p])))[0]
    gan = 2 * F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    total = m.beta * kl + m.gamma * llike + gan
    return total, {"loss/kl": kl.detach(), "loss/llike": llike.detach(), "loss/g": gan.detach(),
                   "loss/pixel_l2": (rec.detach() - x).pow(2).flatten(1).sum(1).mean()}


@torch.no_grad()
def sample(models: dict[str, nn.Module], n: int, seed: int, inputs=None) -> Tensor:
    G = models["G"]
    z = torch.randn(n, G.latent, generator=torch.Generator().manual_seed(seed))
    dev = next(G.parameters()).device
    return torch.cat([G(c.to(dev)).cpu() for c in z.split(500)])


@torch.no_grad()
def reconstruct(models: dict[str, nn.Module], x: Tensor) -> Tensor:
    dev = next(models["E"].parameters()).device
    return models["G"](models["E"](x.to(dev))[0]).cpu()


def preview(models: dict[str, nn.Module], n: int, path, title: str, batch: dict[str, Tensor]) -> None:
    x = batch["x"][:n]
    viz.save_grid(reconstruction_rows(x, reconstruct(models, x), sample(models, 2 * len(x), 0)), path, nrow=8,
                  scale=2)


def build(cfg: Config, spec: DataSpec) -> Setup:
    models = build_models(cfg, spec)
    t = cfg.train
    optims = {"D": make_optimizer(t.d_opt, models["D"].parameters(), t.d_lr, t),
              "EG": make_optimizer(t.g_opt, [*models["E"].parameters(), *models["G"].parameters()], t.g_lr, t)}
    phases = [Phase("D", ("D",), d_loss), Phase("EG", ("EG",), partial(eg_loss, cfg), new_batch=False)]
    groups = {"GAN loss": ["loss/d", "loss/g"], "VAE terms": ["loss/kl", "loss/llike"], "D output": ["d/real",
                                                                                                      "d/fake"]}
    return Setup(models, optims, phases, sample=partial(sample, models),
                 preview=partial(preview, models, min(cfg.log.n_grid, 16)), scalar_groups=groups)


FAMILY = Family(NAME, VAEGANConfig, validate, build, build_models, sample,
                "VAE-GAN: encoder, decoder/G, D; reconstruction in D's feature space, KL, GAN, gamma weighting")
