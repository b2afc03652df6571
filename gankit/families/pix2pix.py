"""pix2pix (Isola et al. 2017): paired image-to-image translation a -> b with a U-Net G and a PatchGAN D.

Batches are {"a": input, "b": target[, "y": class]}. Phases: "D" on (a, b) real pairs vs (a, G(a)) fake pairs
(halved, as in the paper), then "G" on the same fakes: GAN loss + lambda_l1 * |G(a) - b|_1. The paper's
ablations are options: `objective` l1 | cgan | l1+cgan, `d_cond` (D sees the input too, or only b), and the
D's patch (`d_patch` pixel | patch | image with `d_layers`; auto scales the 70x70-at-256 patch to the image).
pix2pixHD (Wang et al. 2018) as options: `num_d` PatchGANs on an image pyramid (one MultiScaleD; GAN losses
summed over scales), `lambda_fm` feature matching on D's intermediate features, logged as loss/fm, and
`g_arch` global | global+local, its coarse-to-fine ResNet generators (gankit/nets/pix2pixhd.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor, nn

from gankit import viz
from gankit.config import Config, check_choices
from gankit.core.family import Family
from gankit.core.optim import make_optimizer
from gankit.core.phases import Phase, Setup, StepContext
from gankit.core.spec import DataSpec
from gankit.errors import ConfigError
from gankit.losses import loss_from_train
from gankit.nets.cyclegan import auto_blocks
from gankit.nets.pix2pix import PatchGAN, UNet, receptive_field
from gankit.nets.pix2pixhd import LocalEnhancer, MultiScaleD, check_pyramid, feature_matching, global_generator
from gankit.stabilizers import refuse_unused_stab
from gankit.stabilizers.compose import regularizers
from gankit.stabilizers.norm import apply_spectral_norm

NAME = "pix2pix"
OBJECTIVES = ("l1+cgan", "l1", "cgan")
PATCH_MODES = ("patch", "pixel", "image")
G_ARCHS = ("unet", "global", "global+local")
PAPER_PATCH = 70 / 256  # the paper's default receptive field as a fraction of the image side
SUPPORTED_STAB = ("spectral_norm_d", "r1_gamma", "lr_decay", "lr_decay_floor", "monitor")


@dataclass
class Pix2PixConfig:
    family: str = NAME
    g_width: int = 64
    d_width: int = 64
    unet_depth: int = 0  # 0 = as deep as the image size allows (down to 1x1 at powers of two)
    dropout: float = 0.5  # in the three innermost decoder levels
    dropout_at_test: bool = True  # the paper's noise: dropout also when translating
    objective: str = "l1+cgan"  # l1+cgan | l1 | cgan
    lambda_l1: float = 100.0
    d_cond: bool = True  # D judges (input, output) pairs; false = an unconditional D on outputs only
    d_patch: str = "patch"  # patch | pixel (1x1) | image (one logit per image)
    d_layers: int = -1  # stride-2 layers of the PatchGAN; -1 = the paper's 70/256 patch scaled to the image
    num_d: int = 1  # pix2pixHD: PatchGANs on an image pyramid (each scale pooled 2x)
    lambda_fm: float = 0.0  # pix2pixHD's feature matching on D's intermediate features (its 10)
    g_arch: str = "unet"  # unet | global (pix2pixHD's G1) | global+local (G1 at half size + the local enhancer)


def validate(cfg: Config) -> None:
    m = cfg.model
    check_choices("model", m, {"objective": OBJECTIVES, "d_patch": PATCH_MODES, "g_arch": G_ARCHS})
    if m.g_width < 1 or m.d_width < 1 or m.unet_depth < 0 or m.d_layers < -1 or not 0 <= m.dropout < 1:
        raise ConfigError("model.g_width/d_width must be >= 1, unet_depth >= 0, d_layers >= -1, dropout in [0, 1)")
    if m.lambda_l1 < 0:
        raise ConfigError(f"model.lambda_l1 must be >= 0, got {m.lambda_l1}")
    if m.num_d < 1 or m.lambda_fm < 0:
        raise ConfigError(f"model.num_d must be >= 1 and lambda_fm >= 0, got num_d={m.num_d}, lambda_fm={m.lambda_fm}")
    if m.objective == "l1" and (m.num_d > 1 or m.lambda_fm > 0):
        raise ConfigError("model.num_d and lambda_fm need a discriminator: objective 'l1' has none")
    if cfg.train.loss not in ("minimax", "nonsat", "lsgan", "hinge", "wgan-gp"):
        raise ConfigError(f"pix2pix takes train.loss nonsat (the paper's), lsgan, hinge, minimax or wgan-gp, "
                          f"not {cfg.train.loss}")
    refuse_unused_stab(cfg.stab, NAME, SUPPORTED_STAB)


def auto_layers(resolution: int) -> int:
    """The PatchGAN depth whose receptive field is closest to the paper's 70 px of 256 at this image size."""
    return min(range(5), key=lambda n: abs(receptive_field(n) / resolution - PAPER_PATCH))


def _check_spec(spec: DataSpec) -> tuple[int, int, int]:
    if not {"a", "b"} <= set(spec.fields) or spec.modality != "image":
        raise ConfigError(f"pix2pix needs paired images (fields a and b: e.g. --data.name=fashion-edges, "
                          f"paired-folder or colorize), got {spec.modality} data with fields {sorted(spec.fields)}")
    (ca, ha, wa), (cb, hb, wb) = spec.fields["a"], spec.fields["b"]
    if (ha, wa) != (hb, wb) or ha != wa:
        raise ConfigError(f"pix2pix needs square inputs and targets of one size, got a {ha}x{wa}, b {hb}x{wb}")
    return ca, cb, ha


def build_models(cfg: Config, spec: DataSpec) -> dict[str, nn.Module]:
    m = cfg.model
    ca, cb, res = _check_spec(spec)
    if m.g_arch == "global":
        G = global_generator(ca, cb, res, m.g_width, auto_blocks(res))
    elif m.g_arch == "global+local":
        G = LocalEnhancer(ca, cb, res, m.g_width, auto_blocks(res // 2))
    else:
        G = UNet(ca, cb, res, m.g_width, m.unet_depth or None, m.dropout, m.dropout_at_test)
    models = {"G": G}
    if m.objective != "l1":
        layers = auto_layers(res) if m.d_layers < 0 else m.d_layers
        check_pyramid(res, m.num_d, layers, m.d_patch)
        norm = "none" if cfg.train.loss == "wgan-gp" else "batch"
        in_ch = ca + cb if m.d_cond else cb
        if m.num_d == 1 and m.lambda_fm == 0:  # the pix2pix D, as in runs made before the pix2pixHD options
            D = PatchGAN(in_ch, m.d_width, layers, m.d_patch, norm)
        else:
            D = MultiScaleD(m.num_d, in_ch, m.d_width, layers, m.d_patch, norm)
        models["D"] = apply_spectral_norm(D) if cfg.stab.spectral_norm_d else D
    return models


# ----------------------------------------------------------------------------- phases
def _pair(cfg: Config, a: Tensor, b: Tensor) -> Tensor:
    return torch.cat([a, b], dim=1) if cfg.model.d_cond else b


def _scales(D: nn.Module, x: Tensor) -> list[list[Tensor]]:
    """[[features..., logits] per scale]: a plain PatchGAN is one scale without features."""
    return D(x) if isinstance(D, MultiScaleD) else [[D(x)]]


def _critic(D: nn.Module):
    """D as one function x -> logits for the penalties: a MultiScaleD's logits of all scales, flattened."""
    if not isinstance(D, MultiScaleD):
        return D
    return lambda x: torch.cat([s[-1].flatten(1) for s in D(x)], dim=1)


def _mean(outs: list[list[Tensor]]) -> Tensor:
    return torch.stack([s[-1].detach().mean() for s in outs]).mean()


def d_loss(cfg: Config, loss, regs, batch: dict[str, Tensor], ctx: StepContext):
    G, D = ctx.models["G"], ctx.models["D"]
    a, b = batch["a"], batch["b"]
    keep = ctx.last_repeat  # the last repeat's fakes serve G's update
    with torch.set_grad_enabled(keep):
        fake_g = G(a)
    if keep:
        ctx.scratch["fake"] = fake_g
    fake = fake_g.detach()
    real_in, fake_in = _pair(cfg, a, b), _pair(cfg, a, fake)
    real, fake = _scales(D, real_in), _scales(D, fake_in)
    # the paper halves D's objective (D learns slower than G); pix2pixHD sums it over the scales
    d = 0.5 * sum(loss.d(r[-1], f[-1]) for r, f in zip(real, fake))
    total, out = d, {"loss/d": d.detach(), "d/real": _mean(real), "d/fake": _mean(fake)}
    for reg in regs:  # the loss's gradient penalty, then R1 (gankit.stabilizers.compose)
        term = reg(_critic(D), real_in, fake_in, real_in)
        total, out[reg.name] = total + term, term.detach()
    return total, out


def g_loss(cfg: Config, loss, batch: dict[str, Tensor], ctx: StepContext):
    G = ctx.models["G"]
    a, b = batch["a"], batch["b"]
    fake = ctx.scratch["fake"] if "fake" in ctx.scratch else G(a)
    l1 = (fake - b).abs().mean()
    total, out = cfg.model.lambda_l1 * l1 if cfg.model.objective != "cgan" else 0.0, {"loss/l1": l1.detach()}
    if "D" in ctx.models:
        D = ctx.models["D"]
        fakes = _scales(D, _pair(cfg, a, fake))
        g = sum(loss.g(f[-1]) for f in fakes)
        total, out["loss/g"] = total + g, g.detach()
        if cfg.model.lambda_fm > 0:
            with torch.no_grad():
                reals = _scales(D, _pair(cfg, a, b))
            fm = feature_matching(fakes, reals)
            total, out["loss/fm"] = total + cfg.model.lambda_fm * fm, fm.detach()
    return total, out


def phases(cfg: Config, models: dict[str, nn.Module]) -> list[Phase]:
    t = cfg.train
    loss = loss_from_train(t)
    out = []
    if "D" in models:
        out.append(Phase("D", ("D",), partial(d_loss, cfg, loss, regularizers(loss, t.gp_lambda, cfg.stab)),
                         repeats=t.n_critic))
    out.append(Phase("G", ("G",), partial(g_loss, cfg, loss), new_batch="D" not in models))
    return out


# ----------------------------------------------------------------------------- translating, pictures
@torch.no_grad()
def translate(G: nn.Module, a: Tensor, seed: int = 0, batch_size: int = 256) -> Tensor:
    """G(a) in eval mode (dropout stays on when the run keeps it at test time, drawn from `seed` without
    touching the caller's random state), on the CPU."""
    was = G.training
    G.eval()
    dev = next(G.parameters()).device
    try:
        with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            torch.manual_seed(seed)
            out = [G(a[i:i + batch_size].to(dev)).cpu() for i in range(0, len(a), batch_size)]
    finally:
        G.train(was)
    return torch.cat(out) if out else a.new_empty((0,))


def sample(models: dict[str, nn.Module], n: int, seed: int, inputs: dict[str, Tensor] | None = None) -> Tensor:
    """Translations of the first n inputs (a translation family has nothing to sample without inputs)."""
    if inputs is None or "a" not in inputs:
        raise ConfigError("pix2pix translates inputs: use `gankit translate RUN --input ...` (no z to sample from)")
    return translate(models["G"], inputs["a"][:n], seed)


def as_rgb(x: Tensor, channels: int) -> Tensor:
    return x.expand(-1, channels, -1, -1) if x.shape[1] == 1 and channels == 3 else x


def strip(a: Tensor, fake: Tensor, b: Tensor) -> Tensor:
    """Rows of input | output | target, as one batch of images for a 3-column grid."""
    c = max(a.shape[1], b.shape[1])
    return torch.stack([as_rgb(a, c), as_rgb(fake, c), as_rgb(b, c)], dim=1).flatten(0, 1)


def preview(models: dict[str, nn.Module], n: int, path, title: str, batch: dict[str, Tensor]) -> None:
    a, b = batch["a"][:n], batch["b"][:n]
    viz.save_grid(strip(a, translate(models["G"], a), b), path, nrow=3, scale=2)


def optimizers(cfg: Config, models: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
    t = cfg.train
    out = {"G": make_optimizer(t.g_opt, models["G"].parameters(), t.g_lr, t)}
    if "D" in models:
        out["D"] = make_optimizer(t.d_opt, models["D"].parameters(), t.d_lr, t)
    return out


def build(cfg: Config, spec: DataSpec) -> Setup:
    models = build_models(cfg, spec)
    groups = {"loss": ["loss/d", "loss/g", "loss/fm", "loss/penalty", "loss/r1"], "L1 to the target": ["loss/l1"],
              "D output": ["d/real", "d/fake"]}
    return Setup(models, optimizers(cfg, models), phases(cfg, models), sample=partial(sample, models),
                 preview=partial(preview, models, min(cfg.log.n_grid, 8)), scalar_groups=groups)


FAMILY = Family(NAME, Pix2PixConfig, validate, build, build_models, sample,
                "paired image-to-image translation: U-Net G, PatchGAN D on (input, output) pairs, cGAN + L1")
