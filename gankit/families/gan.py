"""The GAN family: z -> G -> sample, D(sample) -> logit; unconditional or class-conditional (CGAN,
projection D, AC-GAN), with every stabilizer of the `stab` section.

Phases per step: "D" (train.n_critic repeats, a fresh batch each), "D2" (MRGAN only), then "G".
D's loss is the GAN loss on D's inputs after the input transforms (instance noise), with soft/flipped
targets when asked, plus AC-GAN's auxiliary cross-entropy and the regularizers (GP/DRAGAN, R1).
An unconditional G draws fresh z for its update unless model.g_reuse_fakes (then, like a conditional G,
it reuses the last D repeat's fakes: one G forward per step, as PyTorch's DCGAN example does). MAD-GAN (stab.madgan_k) swaps in its own phases (gankit.families.madgan).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit import viz
from gankit.config import Config, check_choices
from gankit.core.family import Family
from gankit.core.optim import make_optimizer
from gankit.core.phases import Phase, Setup, StepContext
from gankit.core.spec import DataSpec
from gankit.errors import ConfigError
from gankit.families import madgan
from gankit.losses import GANLoss, clip_weights, loss_from_train
from gankit.nets import build_models
from gankit.nets.conditional import ConditionalDiscriminator
from gankit.stabilizers import mrgan
from gankit.stabilizers.compose import DInputs, DObjective, regularizers
from gankit.stabilizers.ema import EMAHook, make_ema
from gankit.stabilizers.labels import TARGET_LOSSES, label_spec
from gankit.stabilizers.madgan import MultiGenerator, add_class_head
from gankit.stabilizers.minibatch import add_minibatch_layers
from gankit.stabilizers.mixture import MixtureLatent
from gankit.stabilizers.noise import add_g_noise
from gankit.stabilizers.norm import apply_spectral_norm
from gankit.stabilizers.pack import Packed, packed_shape
from gankit.stabilizers.unrolled import adam_state_from, unroll

NAME = "gan"
LOSS_GROUPS = {"loss": ["loss/d", "loss/g", "loss/penalty", "loss/r1"], "D output": ["d/real", "d/fake"],
               "critic": ["critic/w_estimate"],
               "auxiliary classifier": ["loss/aux_real", "loss/aux_fake", "loss/aux_g", "acc/aux_real"],
               "MRGAN": ["mrgan/recon", "mrgan/mode", "mrgan/diffusion", "loss/d2"]}
PREVIEW_SEED = 12345


@dataclass
class GANConfig:
    family: str = NAME
    arch: str = "dcgan"  # dcgan | mlp
    z_dim: int = 100
    g_width: int = 64
    d_width: int = 64
    depth: int = 2  # hidden layers of the MLP networks
    d_norm: str = "batch"  # batch | layer | none
    cond: str = "none"  # none | cgan | projection | acgan (class-conditional G(z, y) and D)
    cond_bn: bool = False  # conditional batch norm in G (needs cond != none)
    g_reuse_fakes: bool = False  # G's update reuses D's last fakes (one G forward per step) instead of fresh z


def mrgan_on(s) -> bool:
    return s.mrgan_recon > 0 or s.mrgan_mode > 0


# what a conditional model cannot combine with, and why
_NOT_CONDITIONAL = {"unrolled_k": (lambda s: s.unrolled_k > 0, "the unrolled D copies call D(x) without labels"),
                    "madgan_k": (lambda s: s.madgan_k > 0, "MAD-GAN's D classifies generators, not classes"),
                    "mrgan_*": (mrgan_on, "MRGAN's encoder has no label input"),
                    "latent_components": (lambda s: s.latent_components > 0, "G(z, y) already has a discrete code")}


def validate(cfg: Config) -> None:
    """The model section's values and the stabilizer combinations this family supports."""
    m, s, loss = cfg.model, cfg.stab, cfg.train.loss
    choices = {"arch": ("dcgan", "mlp"), "d_norm": ("batch", "layer", "none"),
               "cond": ("none", "cgan", "projection", "acgan")}
    check_choices("model", m, choices)
    for key in ("z_dim", "g_width", "d_width"):
        if getattr(m, key) <= 0:
            raise ConfigError(f"model.{key} must be > 0, got {getattr(m, key)!r}")
    if m.g_reuse_fakes and s.madgan_k:
        raise ConfigError("model.g_reuse_fakes does not apply to MAD-GAN (stab.madgan_k), whose G step draws its own z")
    if m.cond_bn and m.cond == "none":
        raise ConfigError("model.cond_bn=true needs a conditional model: set --model.cond=cgan|projection|acgan")
    if loss in ("wgan-gp", "dragan") and m.d_norm == "batch":
        raise ConfigError(f"train.loss={loss} uses a gradient penalty, which batch norm in D breaks; "
                          "set --model.d_norm=layer or --model.d_norm=none")
    if label_spec(s).active and loss not in TARGET_LOSSES:
        raise ConfigError(f"label smoothing/ranges/flipping (stab.label_smooth, stab.*_label_range, stab.flip_prob) "
                          f"need a loss with targets ({', '.join(TARGET_LOSSES)}), not train.loss={loss}")
    if cfg.train.batch_size % s.pack:
        raise ConfigError(f"train.batch_size={cfg.train.batch_size} must be divisible by stab.pack={s.pack}")
    if s.madgan_k:
        clash = [k for k, on in {"pack": s.pack > 1, "unrolled_k": s.unrolled_k > 0, "mrgan_*": mrgan_on(s),
                                 "label options": label_spec(s).active, "r1_gamma": s.r1_gamma > 0,
                                 "instance_noise": s.instance_noise > 0}.items() if on]
        if clash:
            raise ConfigError(f"stab.madgan_k uses its own (k+1)-class step; it cannot be combined with stab.{', stab.'.join(clash)}")
        if loss not in ("minimax", "nonsat"):
            raise ConfigError(f"stab.madgan_k uses a cross-entropy loss; set train.loss=nonsat (got {loss})")
    if m.cond != "none":
        for key, (on, why) in _NOT_CONDITIONAL.items():
            if on(s):
                raise ConfigError(f"stab.{key} does not work with a conditional model (model.cond={m.cond}): {why}")
        if s.pack > 1 and m.cond != "cgan":
            raise ConfigError(f"stab.pack > 1 with model.cond={m.cond}: a packed D input has several labels; "
                              "PacGAN works with model.cond=cgan (labels packed with their samples)")


# ----------------------------------------------------------------------------- modules
def _g_model_cfg(cfg: Config):
    """The model section G is built from: with a discrete latent code G takes k + z_dim - 1 inputs."""
    k = cfg.stab.latent_components
    return replace(cfg.model, z_dim=cfg.model.z_dim - 1 + k) if k else cfg.model


def _one_generator(G: nn.Module, cfg: Config) -> nn.Module:
    s = cfg.stab
    if s.g_noise > 0 or s.g_dropout > 0:
        add_g_noise(G, s.g_noise, s.g_dropout, s.g_noise_at_sampling)
    if s.spectral_norm_g:
        G = apply_spectral_norm(G)
    k = s.latent_components
    return MixtureLatent(G, k, cfg.model.z_dim) if k else G


def _generators(cfg: Config, shape: tuple[int, ...], first: nn.Module) -> nn.Module:
    if not cfg.stab.madgan_k:
        return _one_generator(first, cfg)
    pool = [first]

    def make() -> nn.Module:
        return _one_generator(pool.pop() if pool else build_models(_g_model_cfg(cfg), shape)[0], cfg)

    return MultiGenerator(make, cfg.stab.madgan_k)


def _stabilize_d(D: nn.Module, s) -> nn.Module:
    """Minibatch layers, MAD-GAN head, spectral norm and the PacGAN wrapper on a D built for packed inputs."""
    if isinstance(D, ConditionalDiscriminator):
        holder = nn.Module()
        holder.net = nn.Sequential(D.head)
        add_minibatch_layers(holder, s.minibatch_disc, s.minibatch_disc_dim, s.mbstd)
        D.head = holder.net[0]
    else:
        add_minibatch_layers(D, s.minibatch_disc, s.minibatch_disc_dim, s.mbstd)
    if s.madgan_k:
        add_class_head(D, s.madgan_k + 1)
    if s.spectral_norm_d:
        apply_spectral_norm(D)
    if s.pack > 1 and not isinstance(D, ConditionalDiscriminator):  # a conditional D packs after joining labels
        D = Packed(D, s.pack)
    return D


def _packed_d(cfg: Config, shape: tuple[int, ...], k: int | None) -> nn.Module:
    """A fresh D for PacGAN inputs (a conditional one packs after joining its label planes)."""
    if cfg.model.cond != "none":
        return build_models(cfg.model, shape, k, pack=cfg.stab.pack)[1]
    return build_models(cfg.model, packed_shape(shape, cfg.stab.pack))[1]


def build_models_for(cfg: Config, spec: DataSpec) -> dict[str, nn.Module]:
    """{"G", "D"} plus "E", "D2" (MRGAN) and "G_ema" (EMA) as the config asks. With every option off
    the random draws are exactly those of `build_models`."""
    s, shape = cfg.stab, spec.shape
    if spec.modality not in ("image", "vector") or spec.main != "x":
        raise ConfigError(f"the GAN family makes images or vectors; this data set is {spec.modality} "
                          f"(fields {sorted(spec.fields)}): choose another model.family")
    k = spec.num_classes if cfg.model.cond != "none" else None
    if cfg.model.cond != "none" and not spec.labelled:
        raise ConfigError(f"model.cond={cfg.model.cond} needs a labelled data set; {spec.modality} data "
                          f"with fields {sorted(spec.fields)} has no classes")
    G, D = build_models(cfg.model, shape, k)
    if s.latent_components:
        G = build_models(_g_model_cfg(cfg), shape, k)[0]
    if s.pack > 1:
        D = _packed_d(cfg, shape, k)
    models = {"G": _generators(cfg, shape, G), "D": _stabilize_d(D, s)}  # in this order: both draw random numbers
    if mrgan_on(s):
        models["E"] = add_class_head(build_models(cfg.model, shape)[1], cfg.model.z_dim)
        models["D2"] = _stabilize_d(_packed_d(cfg, shape, None), s)
    if s.ema > 0:
        models["G_ema"] = make_ema(models["G"])
    return models


# ----------------------------------------------------------------------------- sampling
def sampler_module(models: dict[str, nn.Module]) -> nn.Module:
    """The generator used for samples: its EMA copy when there is one."""
    return models.get("G_ema", models["G"])


@torch.no_grad()
def generate(G: nn.Module, z: Tensor, y: Tensor | None = None, batch_size: int = 500) -> Tensor:
    """G(z[, y]) in eval mode (training mode restored), in chunks, on the CPU."""
    was = G.training
    G.eval()
    dev = next((p.device for p in G.parameters()), torch.device("cpu"))
    try:
        parts = [G(z[i:i + batch_size].to(dev), *(() if y is None else (y[i:i + batch_size].to(dev),))).cpu()
                 for i in range(0, len(z), batch_size)]
    finally:
        G.train(was)
    return torch.cat(parts) if parts else torch.empty(0)


def seeded_z(n: int, z_dim: int, seed: int) -> Tensor:
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))


def generate_seeded(G: nn.Module, n: int, seed: int, labels: Tensor | None = None, batch_size: int = 500) -> Tensor:
    """n samples at z ~ N(0, I) drawn chunk by chunk from one seeded generator (same seed, same samples)."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, n, batch_size):
        z = torch.randn(min(batch_size, n - start), G.z_dim, generator=g)
        out.append(generate(G, z, None if labels is None else labels[start:start + len(z)], batch_size))
    return torch.cat(out) if out else torch.empty(0)


def sample(models: dict[str, nn.Module], n: int, seed: int, labels: Tensor | None = None, inputs=None) -> Tensor:
    """n samples of the sampling generator; conditional generators get `labels` (else balanced classes).
    `inputs` (the data's first samples, which hooks pass to every family) are not used: G starts from z."""
    return generate_seeded(sampler_module(models), n, seed, labels)


def preview(models: dict[str, nn.Module], spec: DataSpec, n: int, path, title: str, batch: dict | None) -> None:
    """A grid at a fixed z (one column per class for conditional models), or a 2-D scatter over the data."""
    G = sampler_module(models)
    k = getattr(G, "num_classes", None)
    if k:
        rows = max(1, math.ceil(n / k))
        z = seeded_z(rows, G.z_dim, PREVIEW_SEED).repeat_interleave(k, dim=0)
        fake, nrow = generate(G, z, torch.arange(k).repeat(rows)), k
    else:
        fake, nrow = generate(G, seeded_z(n, G.z_dim, PREVIEW_SEED)), None
    if spec.modality == "image":
        viz.save_grid(fake, path, nrow=nrow, scale=2)
    else:
        real = None if batch is None else batch["x"]
        viz.save_scatter(fake, path, real=None if real is None else real[:len(fake)],
                         centers=spec.extra.get("centers"), title=title)


# ----------------------------------------------------------------------------- phases
def _z(ctx: StepContext, G: nn.Module, n: int) -> Tensor:
    return torch.randn(n, G.z_dim, generator=ctx.noise, device=ctx.device)


def _outputs(D: nn.Module, x: Tensor, y: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """(logits, auxiliary class logits or None)."""
    return D.outputs(x, y) if y is not None else (D(x), None)


def _critic(D: nn.Module, y: Tensor | None):
    """D(x) with the labels fixed, for the regularizers (they call it on mixed or perturbed inputs)."""
    return D if y is None else (lambda x: D(x, y))


@dataclass
class GANParts:
    loss: GANLoss
    objective: DObjective
    inputs: DInputs
    regs: list
    cfg: Config

    @property
    def cond(self) -> bool:
        return self.cfg.model.cond != "none"

    @property
    def reuse(self) -> bool:
        """G's update takes the last D repeat's fakes (always for a conditional G: the labels D just saw)."""
        return self.cond or self.cfg.model.g_reuse_fakes


def d_loss(p: GANParts, batch: dict[str, Tensor], ctx: StepContext):
    G, D = ctx.models["G"], ctx.models["D"]
    real, y = batch["x"], batch.get("y") if p.cond else None
    keep = p.reuse and ctx.last_repeat  # only the last repeat's fakes serve G's update
    with torch.set_grad_enabled(keep):
        fake_g = G(_z(ctx, G, real.shape[0]), *(() if y is None else (y,)))
    fake = fake_g.detach()
    if keep:
        ctx.scratch["fake"], ctx.scratch["y"] = fake_g, y
    real_in, fake_in = p.inputs(real, ctx.step), p.inputs(fake, ctx.step)
    (real_logits, real_aux), (fake_logits, fake_aux) = _outputs(D, real_in, y), _outputs(D, fake_in, y)
    loss = p.objective(real_logits, fake_logits)
    total, out = loss, {}
    if real_aux is not None:
        aux_real, aux_fake = F.cross_entropy(real_aux, y), F.cross_entropy(fake_aux, y)
        total = total + p.cfg.train.acgan_weight * (aux_real + aux_fake)
        out.update({"loss/aux_real": aux_real.detach(), "loss/aux_fake": aux_fake.detach(),
                    "acc/aux_real": (real_aux.argmax(1) == y).float().mean()})
    for reg in p.regs:
        term = reg(_critic(D, y), real_in, fake_in, real)
        total = total + term
        out[reg.name] = term.detach()
    real_m, fake_m = real_logits.detach().mean(), fake_logits.detach().mean()
    out.update({"loss/d": loss.detach(), "d/real": real_m, "d/fake": fake_m, "critic/w_estimate": real_m - fake_m})
    return total, out


def _unrolled(p: GANParts, ctx: StepContext, real: Tensor):
    """D as G's loss sees it after stab.unrolled_k differentiable updates (fresh fakes that stay in the graph)."""
    s, t = p.cfg.stab, p.cfg.train
    G, D = ctx.models["G"], ctx.models["D"]

    def loss_i(call, i: int) -> Tensor:
        return p.loss.d(call(real), call(G(_z(ctx, G, real.shape[0]))))

    adam = s.unrolled_opt == "adam"
    state = adam_state_from(ctx.optims["D"], D) if adam else {}
    kw = {"betas": (t.beta1, t.beta2)} if adam else {}
    return unroll(D, loss_i, s.unrolled_k, s.unrolled_lr or t.d_lr, s.unrolled_opt, state, **kw)


def g_loss(p: GANParts, batch: dict[str, Tensor], ctx: StepContext):
    G, D = ctx.models["G"], ctx.models["D"]
    real = batch["x"]
    if p.reuse:
        fake, y = ctx.scratch["fake"], ctx.scratch["y"]
    else:
        fake, y = G(_z(ctx, G, p.cfg.train.batch_size)), None
    critic = _unrolled(p, ctx, real) if p.cfg.stab.unrolled_k else D
    logits, aux = _outputs(critic, p.inputs(fake, ctx.step), y)
    loss = p.loss.g(logits)
    total, out = loss, {"loss/g": loss.detach()}
    if aux is not None:
        aux_g = F.cross_entropy(aux, y)
        total = total + p.cfg.train.acgan_weight * aux_g
        out["loss/aux_g"] = aux_g.detach()
    if "E" in ctx.models:
        m = ctx.models
        extra, scalars = mrgan.g_terms(G, m["E"], D, m["D2"], p.loss, p.cfg.stab, real, fake)
        total = total + extra
        out.update(scalars)
    return total, out


def d2_loss(p: GANParts, batch: dict[str, Tensor], ctx: StepContext):
    m, real = ctx.models, batch["x"]
    loss = mrgan.d2_loss(m["G"], m["E"], m["D2"], p.loss, real, _z(ctx, m["G"], real.shape[0]))
    return loss, {"loss/d2": loss.detach()}


def phases(cfg: Config, models: dict[str, nn.Module]) -> list[Phase]:
    t = cfg.train
    loss = loss_from_train(t)
    p = GANParts(loss, DObjective(loss, cfg.stab, t.loss, t.lsgan_a, t.lsgan_b), DInputs.from_stab(cfg.stab),
                 regularizers(loss, t.gp_lambda, cfg.stab), cfg)
    clip = partial(clip_weights, models["D"], t.clip) if loss.clip else None
    out = [Phase("D", ("D",), partial(d_loss, p), repeats=t.n_critic, after=clip)]
    if "D2" in models:
        out.append(Phase("D2", ("D2",), partial(d2_loss, p), repeats=t.n_critic, new_batch=False))
    g_opts = ("G", "E") if "E" in models else ("G",)
    out.append(Phase("G", g_opts, partial(g_loss, p), new_batch=False))
    return out


# ----------------------------------------------------------------------------- the family
def optimizers(cfg: Config, models: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
    """G and E with G's settings, D and D2 with D's (TTUR: train.g_lr / train.d_lr)."""
    t = cfg.train
    g_side = {"G", "E"}
    return {name: make_optimizer(t.g_opt if name in g_side else t.d_opt, models[name].parameters(),
                                 t.g_lr if name in g_side else t.d_lr, t)
            for name in ("G", "D", "E", "D2") if name in models}


def build(cfg: Config, spec: DataSpec) -> Setup:
    models = build_models_for(cfg, spec)
    hooks = [EMAHook(models["G_ema"], models["G"], cfg.stab.ema, cfg.stab.ema_start)] if "G_ema" in models else []
    G = models["G"]
    return Setup(models=models, optims=optimizers(cfg, models),
                 phases=madgan.phases(cfg, models) if cfg.stab.madgan_k else phases(cfg, models), hooks=hooks,
                 sample=partial(sample, models), preview=partial(preview, models, spec, cfg.log.n_grid),
                 scalar_groups=LOSS_GROUPS, meta={"num_classes": getattr(G, "num_classes", None)})


FAMILY = Family(NAME, GANConfig, validate, build, build_models_for, sample,
                "z -> G -> sample, D(sample) -> logit; unconditional or class-conditional")
