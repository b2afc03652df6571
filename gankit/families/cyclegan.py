"""CycleGAN (Zhu et al. 2017): unpaired translation between domains A and B with two generators and two PatchGANs.

Batches are {"a": images of A, "b": images of B} drawn independently (gankit.data.unpaired; paired data works
too, the pairing unused). Models: G_AB: A -> B, G_BA: B -> A, D_A (judges A), D_B (judges B), and pool_A, pool_B,
the histories of generated images each D is trained on (50 by default). Phases:

- "G": both generators under one optimizer: GAN loss of G_AB(a) on D_B and G_BA(b) on D_A, + lambda_cycle *
  the cycle losses |G_BA(G_AB(a)) - a|_1 (forward) and |G_AB(G_BA(b)) - b|_1 (backward), + lambda_identity *
  lambda_cycle * (|G_AB(b) - b|_1 + |G_BA(a) - a|_1) (the official code's identity loss; 0 = off);
- "D": both discriminators under one optimizer: real images vs fakes from the pools, each D's loss halved.

`cycle` both | forward | backward | none gives the paper's Table 4 ablations (GAN + forward cycle, ...).
The default loss is the paper's least-squares GAN (train.loss=lsgan).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from itertools import chain

import torch
from torch import Tensor, nn

from gankit import viz
from gankit.config import Config, check_choices
from gankit.core.family import Family
from gankit.core.optim import make_optimizer
from gankit.core.phases import Phase, Setup, StepContext
from gankit.core.spec import DataSpec
from gankit.errors import ConfigError
from gankit.families.pix2pix import as_rgb, auto_layers, translate
from gankit.losses import loss_from_train
from gankit.nets.cyclegan import ImagePool, ResnetGenerator, auto_blocks
from gankit.nets.pix2pix import PatchGAN
from gankit.stabilizers import refuse_unused_stab

NAME = "cyclegan"
CYCLES = ("both", "forward", "backward", "none")
LOSSES = ("lsgan", "nonsat", "minimax", "hinge")
SUPPORTED_STAB = ("lr_decay", "lr_decay_floor", "monitor")


@dataclass
class ResnetTranslatorConfig:
    """The fields a family of ResNet generators and conv discriminators shares (cyclegan, stargan): widths,
    n_blocks (residual blocks of G; -1 = by image size: 9 at 256 px, 6 at 128, 3 below) and d_layers (stride-2
    layers of D; -1 = by image size, as the family says)."""

    family: str
    g_width: int = 64
    d_width: int = 64
    n_blocks: int = -1
    d_layers: int = -1


@dataclass
class CycleGANConfig(ResnetTranslatorConfig):
    family: str = NAME  # d_layers -1: the paper's 70/256 patch scaled to the image
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5  # times lambda_cycle, as in the official code; 0 = off
    cycle: str = "both"  # both | forward (A -> B -> A) | backward (B -> A -> B) | none: the Table 4 ablations
    pool_size: int = 50  # generated images each D also sees again; 0 = only the newest


def validate(cfg: Config) -> None:
    m = cfg.model
    check_choices("model", m, {"cycle": CYCLES})
    if m.g_width < 1 or m.d_width < 1 or m.n_blocks < -1 or m.d_layers < -1 or m.pool_size < 0:
        raise ConfigError("model.g_width/d_width must be >= 1, n_blocks and d_layers >= -1, pool_size >= 0")
    if m.lambda_cycle < 0 or m.lambda_identity < 0:
        raise ConfigError(f"model.lambda_cycle and lambda_identity must be >= 0, got {m.lambda_cycle}, "
                          f"{m.lambda_identity}")
    if cfg.train.loss not in LOSSES:
        raise ConfigError(f"cyclegan takes train.loss lsgan (the paper's), nonsat, minimax or hinge, "
                          f"not {cfg.train.loss}")
    if cfg.train.n_critic != 1:
        raise ConfigError(f"cyclegan updates its discriminators once per step: train.n_critic must be 1, "
                          f"got {cfg.train.n_critic}")
    refuse_unused_stab(cfg.stab, NAME, SUPPORTED_STAB)


def _check_spec(cfg: Config, spec: DataSpec) -> tuple[int, int, int]:
    if not {"a", "b"} <= set(spec.fields) or spec.modality != "image":
        raise ConfigError(f"cyclegan needs images of two domains (fields a and b: e.g. --data.name="
                          f"fashion-edges-unpaired or fashion-sneaker-boot), got {spec.modality} data with fields "
                          f"{sorted(spec.fields)}")
    (ca, ha, wa), (cb, hb, wb) = spec.fields["a"], spec.fields["b"]
    if (ha, wa) != (hb, wb) or ha != wa or ha % 4:
        raise ConfigError(f"cyclegan needs square images of one size, a multiple of 4, in both domains, "
                          f"got a {ha}x{wa}, b {hb}x{wb}")
    if ca != cb and cfg.model.lambda_identity > 0:
        raise ConfigError(f"the identity loss needs domains with the same channels (a has {ca}, b {cb}); "
                          "set --model.lambda_identity=0")
    return ca, cb, ha


def build_models(cfg: Config, spec: DataSpec) -> dict[str, nn.Module]:
    m = cfg.model
    ca, cb, res = _check_spec(cfg, spec)
    blocks = auto_blocks(res) if m.n_blocks < 0 else m.n_blocks
    layers = auto_layers(res) if m.d_layers < 0 else m.d_layers
    return {"G_AB": ResnetGenerator(ca, cb, m.g_width, blocks), "G_BA": ResnetGenerator(cb, ca, m.g_width, blocks),
            "D_A": PatchGAN(ca, m.d_width, layers, norm="instance"),
            "D_B": PatchGAN(cb, m.d_width, layers, norm="instance"),
            "pool_A": ImagePool(m.pool_size, (ca, res, res)), "pool_B": ImagePool(m.pool_size, (cb, res, res))}


# ----------------------------------------------------------------------------- phases
def _l1(x: Tensor, y: Tensor) -> Tensor:
    return (x - y).abs().mean()


def _cycle_loss(cfg: Config, G: dict[str, nn.Module], a: Tensor, b: Tensor, fake_a: Tensor, fake_b: Tensor):
    mode, out = cfg.model.cycle, {}
    if mode in ("both", "forward"):
        out["loss/cycle_a"] = _l1(G["G_BA"](fake_b), a)
    if mode in ("both", "backward"):
        out["loss/cycle_b"] = _l1(G["G_AB"](fake_a), b)
    return cfg.model.lambda_cycle * sum(out.values()), out


def _identity_loss(cfg: Config, G: dict[str, nn.Module], a: Tensor, b: Tensor):
    if cfg.model.lambda_identity == 0:
        return 0.0, {}
    idt = _l1(G["G_AB"](b), b) + _l1(G["G_BA"](a), a)
    return cfg.model.lambda_identity * cfg.model.lambda_cycle * idt, {"loss/identity": idt}


def g_loss(cfg: Config, loss, batch: dict[str, Tensor], ctx: StepContext):
    M, a, b = ctx.models, batch["a"], batch["b"]
    fake_b, fake_a = M["G_AB"](a), M["G_BA"](b)
    ctx.scratch.update(fake_a=fake_a.detach(), fake_b=fake_b.detach())
    gan = loss.g(M["D_B"](fake_b)) + loss.g(M["D_A"](fake_a))
    cyc, cyc_terms = _cycle_loss(cfg, M, a, b, fake_a, fake_b)
    idt, idt_terms = _identity_loss(cfg, M, a, b)
    scalars = {"loss/g": gan, **cyc_terms, **idt_terms}
    return gan + cyc + idt, {k: v.detach() for k, v in scalars.items()}


def d_loss(loss, batch: dict[str, Tensor], ctx: StepContext):
    M, out = ctx.models, {}
    for side, real in (("A", batch["a"]), ("B", batch["b"])):
        fake = M[f"pool_{side}"].query(ctx.scratch[f"fake_{side.lower()}"])
        real_logits, fake_logits = M[f"D_{side}"](real), M[f"D_{side}"](fake)
        out[f"loss/d_{side.lower()}"] = 0.5 * loss.d(real_logits, fake_logits)  # halved: D learns slower than G
        out[f"d/real_{side.lower()}"], out[f"d/fake_{side.lower()}"] = real_logits.mean(), fake_logits.mean()
    out["loss/d"] = out["loss/d_a"] + out["loss/d_b"]  # the total, for the health monitor as in other families
    return out["loss/d"], {k: v.detach() for k, v in out.items()}


def phases(cfg: Config) -> list[Phase]:
    t = cfg.train
    loss = loss_from_train(t)
    return [Phase("G", ("G",), partial(g_loss, cfg, loss)), Phase("D", ("D",), partial(d_loss, loss), new_batch=False)]


def optimizers(cfg: Config, models: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
    t = cfg.train
    g_params = chain(models["G_AB"].parameters(), models["G_BA"].parameters())
    d_params = chain(models["D_A"].parameters(), models["D_B"].parameters())
    return {"G": make_optimizer(t.g_opt, g_params, t.g_lr, t), "D": make_optimizer(t.d_opt, d_params, t.d_lr, t)}


# ----------------------------------------------------------------------------- translating, pictures
def sample(models: dict[str, nn.Module], n: int, seed: int, inputs: dict[str, Tensor] | None = None) -> Tensor:
    """G_AB's translations of the first n inputs of domain A (eval mode)."""
    if inputs is None or "a" not in inputs:
        raise ConfigError("cyclegan translates inputs: use `gankit translate RUN --input ...` (no z to sample from)")
    return translate(models["G_AB"], inputs["a"][:n], seed)


def cycle_rows(models: dict[str, nn.Module], a: Tensor, b: Tensor) -> Tensor:
    """Rows A | A->B | A->B->A, then rows B | B->A | B->A->B, as one batch of images for a 3-column grid."""
    G_AB, G_BA = models["G_AB"], models["G_BA"]
    fake_b, fake_a = translate(G_AB, a), translate(G_BA, b)
    rows = [(a, fake_b, translate(G_BA, fake_b)), (b, fake_a, translate(G_AB, fake_a))]
    c = max(a.shape[1], b.shape[1])
    return torch.cat([torch.stack([as_rgb(x, c) for x in row], dim=1).flatten(0, 1) for row in rows])


def preview(models: dict[str, nn.Module], n: int, path, title: str, batch: dict[str, Tensor]) -> None:
    viz.save_grid(cycle_rows(models, batch["a"][:n], batch["b"][:n]), path, nrow=3, scale=2)


def build(cfg: Config, spec: DataSpec) -> Setup:
    models = build_models(cfg, spec)
    groups = {"GAN loss": ["loss/g", "loss/d", "loss/d_a", "loss/d_b"],
              "cycle and identity (L1)": ["loss/cycle_a", "loss/cycle_b", "loss/identity"],
              "D output": ["d/real_a", "d/fake_a", "d/real_b", "d/fake_b"]}
    return Setup(models, optimizers(cfg, models), phases(cfg), sample=partial(sample, models),
                 preview=partial(preview, models, min(cfg.log.n_grid, 4)), scalar_groups=groups)


FAMILY = Family(NAME, CycleGANConfig, validate, build, build_models, sample,
                "unpaired translation A <-> B: two ResNet generators, two PatchGANs, cycle-consistency, image pools")
