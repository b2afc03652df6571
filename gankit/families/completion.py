"""Image completion (Iizuka et al. 2017, "Globally and Locally Consistent Image Completion").

Any image data set (its main field: `fashion-mnist` at `--data.resolution=32`, `sr-crops` photo crops, ...). Every
step, each image gets a random rectangular hole (sides `hole_min`..`hole_max` of the image side, drawn from the
run's noise generator, so resume is exact); the completion net C (gankit/nets/completion.py) sees the image with
the hole filled by the mean of its visible pixels, plus the mask, and the output is pasted into the hole.
Losses: the MSE over the hole's pixels, and with a discriminator the adversarial loss weighted by `alpha` (4e-4).
D judges the whole image (global) and the `local`-sided patch around the hole (local), features concatenated;
`d_mode` global+local (the paper) | global | none (MSE only) gives the paper's ablations.

The paper's three training phases, switched by the step count: steps [0, steps_c) train C on the MSE only;
[steps_c, steps_c + steps_d) train D only (C fixed); later steps train both (C: MSE + alpha * adversarial). The
phases "D" then "C" carry that schedule (`Phase.active`): the loop skips a phase outside its periods (no batch
drawn, its optimizer not stepped). `scalars["phase"]` is 1, 2 or 3.
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
from gankit.nets.completion import CompletionNet, ContextDiscriminator
from gankit.stabilizers import refuse_unused_stab

NAME = "completion"
D_MODES = ("global+local", "global", "none")
SUPPORTED_STAB = ("lr_decay", "lr_decay_floor", "monitor")
IMAGE_FIELDS = ("x", "b", "hr")  # the main field of image data sets, in the order looked for


@dataclass
class CompletionConfig:
    family: str = NAME
    width: int = 16  # C's widths w, 2w, 4w (the paper's 64)
    d_width: int = 16
    d_mode: str = "global+local"  # global+local | global | none
    hole_min: float = 0.25  # hole side, fraction of the image side
    hole_max: float = 0.5
    local: float = 0.5  # side of the local D's patch, fraction of the image side (>= hole_max)
    steps_c: int = 1000  # phase 1: C on the MSE only (the paper's T_C = 90k of 500k)
    steps_d: int = 200  # phase 2: D only (T_D = 10k)
    alpha: float = 4e-4


def validate(cfg: Config) -> None:
    m = cfg.model
    check_choices("model", m, {"d_mode": D_MODES})
    if not 0 < m.hole_min <= m.hole_max < 1:
        raise ConfigError(f"model.hole_min/hole_max: need 0 < hole_min <= hole_max < 1, got {m.hole_min}, {m.hole_max}")
    if not m.hole_max <= m.local <= 1:
        raise ConfigError(f"model.local must be in [hole_max, 1] (the local patch holds the hole), got {m.local}")
    if m.width < 1 or m.d_width < 1 or m.steps_c < 0 or m.steps_d < 0 or m.alpha < 0:
        raise ConfigError("model.width/d_width must be >= 1, steps_c/steps_d >= 0 and alpha >= 0")
    if cfg.train.loss not in ("minimax", "nonsat", "lsgan", "hinge"):
        raise ConfigError(f"completion takes train.loss nonsat, minimax, lsgan or hinge, not {cfg.train.loss}")
    refuse_unused_stab(cfg.stab, NAME, SUPPORTED_STAB)


def image_field(fields) -> str:
    found = [f for f in IMAGE_FIELDS if f in fields]
    if not found:
        raise ConfigError(f"completion needs images in a field {' or '.join(IMAGE_FIELDS)}, got {sorted(fields)}")
    return found[0]


def check_spec(spec: DataSpec) -> tuple[int, int]:
    """(channels, side) of the images to complete; ConfigError for anything else."""
    field = spec.main if spec.main in IMAGE_FIELDS else image_field(spec.fields)
    if spec.modality != "image":
        raise ConfigError(f"completion needs image data, got {spec.modality}")
    c, h, w = spec.fields[field]
    if h != w or h % 4 or h < 16:
        raise ConfigError(f"completion needs square images with a side divisible by 4 and >= 16, got {h}x{w} "
                          "(set data.resolution, e.g. 32 for Fashion-MNIST)")
    return c, h


def local_side(cfg: Config, size: int) -> int:
    return max(4, round(cfg.model.local * size)) if cfg.model.d_mode == "global+local" else 0


def build_models(cfg: Config, spec: DataSpec) -> dict[str, nn.Module]:
    c, size = check_spec(spec)
    models = {"C": CompletionNet(c, cfg.model.width, size)}
    if cfg.model.d_mode != "none":
        models["D"] = ContextDiscriminator(c, size, local_side(cfg, size), cfg.model.d_width)
    return models


# ----------------------------------------------------------------------------- holes
def random_holes(n: int, size: int, lo: float, hi: float, local: int, gen: torch.Generator,
                 device=None) -> tuple[Tensor, Tensor]:
    """Masks (n, 1, size, size), 1 in the hole, and boxes (n, 6): hole top, left, height, width, and the top-left
    corner of a `local`-sided patch that contains the hole (0, 0 without a local patch)."""
    a, b = max(1, round(lo * size)), max(1, round(hi * size))
    dev = gen.device
    hw = torch.randint(a, b + 1, (n, 2), generator=gen, device=dev)
    top = (torch.rand(n, generator=gen, device=dev) * (size - hw[:, 0] + 1)).long()
    left = (torch.rand(n, generator=gen, device=dev) * (size - hw[:, 1] + 1)).long()
    boxes = torch.zeros(n, 6, dtype=torch.long, device=dev)
    boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3] = top, left, hw[:, 0], hw[:, 1]
    if local:  # the patch: centred on the hole, moved inside the image
        boxes[:, 4] = (top + hw[:, 0] // 2 - local // 2).clamp(0, size - local)
        boxes[:, 5] = (left + hw[:, 1] // 2 - local // 2).clamp(0, size - local)
    return boxes_to_masks(boxes, size).to(device or dev), boxes.to(device or dev)


def boxes_to_masks(boxes: Tensor, size: int) -> Tensor:
    r = torch.arange(size, device=boxes.device)
    rows = (r[None] >= boxes[:, :1]) & (r[None] < boxes[:, :1] + boxes[:, 2:3])
    cols = (r[None] >= boxes[:, 1:2]) & (r[None] < boxes[:, 1:2] + boxes[:, 3:4])
    return (rows[:, :, None] & cols[:, None, :]).float()[:, None]


def patches(x: Tensor, boxes: Tensor, local: int) -> Tensor:
    return torch.stack([img[:, t:t + local, s:s + local] for img, t, s in zip(x, boxes[:, 4].tolist(),
                                                                           boxes[:, 5].tolist())])


def mean_fill(x: Tensor, mask: Tensor) -> Tensor:
    """The hole filled with the per-channel mean of each image's visible pixels (the paper's input; a baseline)."""
    keep = 1 - mask
    mean = (x * keep).sum((2, 3), keepdim=True) / keep.sum((2, 3), keepdim=True).clamp_min(1)
    return x * keep + mean * mask


def complete(C: nn.Module, x: Tensor, mask: Tensor) -> Tensor:
    """C's output pasted into the hole of x."""
    return x * (1 - mask) + C(mean_fill(x, mask), mask) * mask


# ----------------------------------------------------------------------------- phases
def _period(cfg: Config, step: int) -> int:
    m = cfg.model
    return 1 if step < m.steps_c else 2 if step < m.steps_c + m.steps_d else 3


def _in_periods(cfg: Config, periods: tuple[int, ...], step: int) -> bool:
    return _period(cfg, step) in periods


def _holes(cfg: Config, x: Tensor, ctx: StepContext):
    if "holes" not in ctx.scratch:
        m, size = cfg.model, x.shape[-1]
        ctx.scratch["holes"] = random_holes(len(x), size, m.hole_min, m.hole_max, local_side(cfg, size), ctx.noise,
                                            x.device)
    return ctx.scratch["holes"]


def _judge(cfg: Config, D: nn.Module, images: Tensor, boxes: Tensor) -> Tensor:
    local = local_side(cfg, images.shape[-1])
    return D(images, patches(images, boxes, local) if local else None)


def d_loss(cfg: Config, loss, field: str, batch: dict[str, Tensor], ctx: StepContext):
    period = _period(cfg, ctx.step)
    x = batch[field]
    mask, boxes = _holes(cfg, x, ctx)
    with torch.no_grad():
        fake = complete(ctx.models["C"], x, mask)
    real_logit, fake_logit = _judge(cfg, ctx.models["D"], x, boxes), _judge(cfg, ctx.models["D"], fake, boxes)
    d = loss.d(real_logit, fake_logit)
    return d, {"loss/d": d.detach(), "d/real": real_logit.detach().mean(), "d/fake": fake_logit.detach().mean(),
               "phase": float(period)}


def c_loss(cfg: Config, loss, field: str, batch: dict[str, Tensor], ctx: StepContext):
    period = _period(cfg, ctx.step) if "D" in ctx.models else 1
    x = batch[field]
    mask, boxes = _holes(cfg, x, ctx)
    fake = complete(ctx.models["C"], x, mask)
    mse = ((fake - x) ** 2 * mask).sum() / (mask.sum() * x.shape[1]).clamp_min(1)
    out = {"loss/mse": mse.detach(), "phase": float(period)}
    if period == 1:
        return mse, out
    adv = loss.g(_judge(cfg, ctx.models["D"], fake, boxes))
    out["loss/g"] = adv.detach()
    return mse + cfg.model.alpha * adv, out


def phases(cfg: Config, models: dict[str, nn.Module], field: str) -> list[Phase]:
    loss = loss_from_train(cfg.train)
    if "D" not in models:
        return [Phase("C", ("C",), partial(c_loss, cfg, loss, field))]
    # the paper's schedule: C alone (period 1), D alone (2), both (3); C reuses D's batch and holes in period 3
    c = Phase("C", ("C",), partial(c_loss, cfg, loss, field), new_batch=False, active=partial(_in_periods, cfg, (1, 3)))
    return [Phase("D", ("D",), partial(d_loss, cfg, loss, field), active=partial(_in_periods, cfg, (2, 3))), c]


# ----------------------------------------------------------------------------- completing, pictures
@torch.no_grad()
def complete_eval(C: nn.Module, x: Tensor, mask: Tensor, batch_size: int = 256) -> Tensor:
    """`complete` in eval mode, on the CPU."""
    was = C.training
    C.eval()
    dev = next(C.parameters()).device
    try:
        out = [complete(C, x[i:i + batch_size].to(dev), mask[i:i + batch_size].to(dev)).clamp_(-1, 1).cpu()
               for i in range(0, len(x), batch_size)]
    finally:
        C.train(was)
    return torch.cat(out)


def eval_holes(n: int, size: int, m, seed: int) -> Tensor:
    """Masks of n random holes drawn from `seed` (the same holes for every method compared)."""
    return random_holes(n, size, m.hole_min, m.hole_max, 0, torch.Generator().manual_seed(seed))[0]


def sample(models: dict[str, nn.Module], n: int, seed: int, inputs: dict[str, Tensor] | None = None,
           holes=(0.25, 0.5)) -> Tensor:
    """The first n input images completed after cutting random holes (drawn from `seed`)."""
    if inputs is None:
        raise ConfigError("completion fills holes of images: use `gankit inpaint RUN --input IMG --mask MASK.png`")
    x = inputs[image_field(inputs)][:n]
    mask = random_holes(len(x), x.shape[-1], *holes, 0, torch.Generator().manual_seed(seed))[0]
    return complete_eval(models["C"], x, mask)


def preview(models: dict[str, nn.Module], cfg: Config, n: int, path, title: str, batch: dict[str, Tensor]) -> None:
    """Rows of input with its hole (gray) | completed | original."""
    x = batch[image_field(batch)][:n]
    mask = eval_holes(len(x), x.shape[-1], cfg.model, 0)
    shown = torch.stack([x * (1 - mask), complete_eval(models["C"], x, mask), x], dim=1).flatten(0, 1)
    viz.save_grid(shown, path, nrow=3, scale=2 if x.shape[-1] < 64 else 1)


def build(cfg: Config, spec: DataSpec) -> Setup:
    models = build_models(cfg, spec)
    field = spec.main if spec.main in IMAGE_FIELDS else image_field(spec.fields)
    t = cfg.train
    optims = {"C": make_optimizer(t.g_opt, models["C"].parameters(), t.g_lr, t)}
    if "D" in models:
        optims["D"] = make_optimizer(t.d_opt, models["D"].parameters(), t.d_lr, t)
    m = cfg.model
    groups = {"MSE in the hole": ["loss/mse"], "adversarial": ["loss/d", "loss/g"], "D output": ["d/real", "d/fake"],
              "phase": ["phase"]}
    return Setup(models, optims, phases(cfg, models, field),
                 sample=partial(sample, models, holes=(m.hole_min, m.hole_max)),
                 preview=partial(preview, models, cfg, min(cfg.log.n_grid, 8)), scalar_groups=groups)


FAMILY = Family(NAME, CompletionConfig, validate, build, build_models, sample,
                "image completion: dilated encoder-decoder C, global + local D, MSE / D-only / joint phases")
