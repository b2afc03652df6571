"""StarGAN (Choi et al. 2018): one generator G(x, c), conditioned on a target-domain label, translates an image to
any of K domains; one discriminator judges real/fake (D_src) and classifies the domain (D_cls).

Batches are labelled images {"x": image, "y": its domain} (e.g. fashion-mnist: its 10 classes are the domains).
Each phase draws a random target domain per sample from `ctx.noise` (the run's checkpointed generator). Phases:

- "D" (train.n_critic repeats, the paper's 5): adversarial loss on real x vs G(x, c) + lambda_cls * cross-entropy
  of D_cls(x) against the true labels y + train.gp_lambda * the gradient penalty of D_src (WGAN-GP);
- "G" (once per step, on D's last batch, targets and fakes: the paper updates G every n_critic D updates):
  adversarial loss of G(x, c) + lambda_cls * cross-entropy of D_cls(G(x, c)) against c + lambda_rec *
  |x - G(G(x, c), y)|_1 (reconstruction to the original domain).

train.loss: wgan-gp (the paper's; the preset sets it), or nonsat, lsgan, hinge on D_src's patch logits; wgan
(clipping) and dragan are refused. `sample` translates inputs["x"] to the classes (y + 1) mod K, deterministic.
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
from gankit.families.cyclegan import ResnetTranslatorConfig
from gankit.families.pix2pix import translate
from gankit.losses import gradient_penalty, loss_from_train
from gankit.nets.cyclegan import auto_blocks
from gankit.nets.stargan import StarDiscriminator, StarGenerator, auto_d_layers, label_planes
from gankit.stabilizers import refuse_unused_stab

NAME = "stargan"
LOSSES = ("wgan-gp", "nonsat", "lsgan", "hinge")
SUPPORTED_STAB = ("lr_decay", "lr_decay_floor", "monitor")


@dataclass
class StarGANConfig(ResnetTranslatorConfig):
    family: str = NAME  # d_layers -1: down to a map of >= 2x2, at most 6 (2 at 28 px); the paper uses 6 blocks
    lambda_cls: float = 1.0
    lambda_rec: float = 10.0


def validate(cfg: Config) -> None:
    m = cfg.model
    if m.g_width < 1 or m.d_width < 1 or m.n_blocks < -1 or m.d_layers < -1 or m.d_layers == 0:
        raise ConfigError("model.g_width/d_width must be >= 1, n_blocks >= -1 and d_layers -1 or >= 1")
    if m.lambda_cls < 0 or m.lambda_rec < 0:
        raise ConfigError(f"model.lambda_cls and lambda_rec must be >= 0, got {m.lambda_cls}, {m.lambda_rec}")
    if cfg.train.loss not in LOSSES:
        raise ConfigError(f"stargan takes train.loss wgan-gp (the paper's), nonsat, lsgan or hinge, "
                          f"not {cfg.train.loss}")
    refuse_unused_stab(cfg.stab, NAME, SUPPORTED_STAB)


def _check_spec(spec: DataSpec) -> tuple[int, int, int]:
    if not spec.labelled or "x" not in spec.fields or spec.modality != "image" or len(spec.fields["x"]) != 3:
        raise ConfigError(f"stargan needs labelled images (fields x and y, the classes are the domains: e.g. "
                          f"--data.name=fashion-mnist), got {spec.modality} data with fields {sorted(spec.fields)}")
    c, h, w = spec.fields["x"]
    if h != w or h % 4:
        raise ConfigError(f"stargan needs square images whose size is a multiple of 4, got {h}x{w}")
    return c, h, spec.num_classes


def build_models(cfg: Config, spec: DataSpec) -> dict[str, nn.Module]:
    m = cfg.model
    ch, res, k = _check_spec(spec)
    blocks = auto_blocks(res) if m.n_blocks < 0 else m.n_blocks
    layers = auto_d_layers(res) if m.d_layers < 0 else m.d_layers
    return {"G": StarGenerator(ch, k, m.g_width, blocks), "D": StarDiscriminator(ch, k, res, m.d_width, layers)}


# ----------------------------------------------------------------------------- phases
def random_targets(ctx: StepContext, y: Tensor, num_classes: int) -> Tensor:
    return torch.randint(num_classes, y.shape, generator=ctx.noise, device=ctx.device)


def d_loss(cfg: Config, loss, batch: dict[str, Tensor], ctx: StepContext):
    G, D = ctx.models["G"], ctx.models["D"]
    x, y = batch["x"], batch["y"]
    target = random_targets(ctx, y, G.num_classes)
    keep = ctx.last_repeat  # the last repeat's targets and fakes serve G's update
    with torch.set_grad_enabled(keep):
        fake_g = G(x, target)
    if keep:
        ctx.scratch.update(target=target, fake=fake_g)
    fake = fake_g.detach()
    (src_real, cls_real), (src_fake, _) = D(x), D(fake)
    adv, cls = loss.d(src_real, src_fake), F.cross_entropy(cls_real, y.long())
    total = adv + cfg.model.lambda_cls * cls
    out = {"loss/d": adv.detach(), "loss/d_cls": cls.detach(), "d/real": src_real.detach().mean(),
           "d/fake": src_fake.detach().mean()}
    if loss.penalty == "gp":
        pen = cfg.train.gp_lambda * gradient_penalty(lambda v: D(v)[0], x, fake, ctx.noise)
        total, out["loss/penalty"] = total + pen, pen.detach()
    return total, out


def g_loss(cfg: Config, loss, batch: dict[str, Tensor], ctx: StepContext):
    G, D = ctx.models["G"], ctx.models["D"]
    x, y = batch["x"], batch["y"]
    if "fake" in ctx.scratch:
        target, fake = ctx.scratch["target"], ctx.scratch["fake"]
    else:
        target = random_targets(ctx, y, G.num_classes)
        fake = G(x, target)
    src_fake, cls_fake = D(fake)
    adv, cls = loss.g(src_fake), F.cross_entropy(cls_fake, target)
    rec = (G(fake, y) - x).abs().mean()
    total = adv + cfg.model.lambda_cls * cls + cfg.model.lambda_rec * rec
    return total, {"loss/g": adv.detach(), "loss/g_cls": cls.detach(), "loss/rec": rec.detach()}


def phases(cfg: Config) -> list[Phase]:
    t = cfg.train
    loss = loss_from_train(t)
    return [Phase("D", ("D",), partial(d_loss, cfg, loss), repeats=t.n_critic),
            Phase("G", ("G",), partial(g_loss, cfg, loss), new_batch=False)]


def optimizers(cfg: Config, models: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
    t = cfg.train
    return {"D": make_optimizer(t.d_opt, models["D"].parameters(), t.d_lr, t),
            "G": make_optimizer(t.g_opt, models["G"].parameters(), t.g_lr, t)}


# ----------------------------------------------------------------------------- translating, pictures
def translate_to(G: StarGenerator, x: Tensor, target: Tensor | int) -> Tensor:
    """G(x, target) in eval mode on the CPU; `target` one class for all, or one per image."""
    c = torch.full((len(x),), target) if isinstance(target, int) else target
    return translate(G.net, label_planes(x, c, G.num_classes))


def sample(models: dict[str, nn.Module], n: int, seed: int, inputs: dict[str, Tensor] | None = None) -> Tensor:
    """The first n inputs["x"] translated to the classes (inputs["y"] + 1) mod K: deterministic, every image to
    another domain (the seed is unused: G has no noise)."""
    if inputs is None or not {"x", "y"} <= inputs.keys():
        raise ConfigError("stargan translates labelled inputs: use `gankit translate RUN --input ... --to CLASS`")
    G = models["G"]
    return translate_to(G, inputs["x"][:n], (inputs["y"][:n].long() + 1) % G.num_classes)


def domain_rows(G: StarGenerator, x: Tensor) -> Tensor:
    """Per input: the input, then its translation to each of the K domains, as one batch for a K+1-column grid."""
    outs = [translate_to(G, x, k) for k in range(G.num_classes)]
    return torch.stack([x.cpu(), *outs], dim=1).flatten(0, 1)


def preview(models: dict[str, nn.Module], n: int, path, title: str, batch: dict[str, Tensor]) -> None:
    G = models["G"]
    viz.save_grid(domain_rows(G, batch["x"][:n]), path, nrow=G.num_classes + 1, scale=2)


def build(cfg: Config, spec: DataSpec) -> Setup:
    models = build_models(cfg, spec)
    groups = {"adversarial loss": ["loss/d", "loss/g", "loss/penalty"],
              "domain classification (CE)": ["loss/d_cls", "loss/g_cls"], "reconstruction (L1)": ["loss/rec"],
              "D output": ["d/real", "d/fake"]}
    return Setup(models, optimizers(cfg, models), phases(cfg), sample=partial(sample, models),
                 preview=partial(preview, models, min(cfg.log.n_grid, 8)), scalar_groups=groups)


FAMILY = Family(NAME, StarGANConfig, validate, build, build_models, sample,
                "multi-domain translation: one ResNet G(x, target label), a D with real/fake and domain heads")
