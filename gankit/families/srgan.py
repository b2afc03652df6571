"""SRGAN (Ledig et al. 2017): 4x photo super-resolution with an SRResNet generator, and its SRResNet baseline.

Batches are {"lr": (3, h, w), "hr": (3, s*h, s*w)} (gankit.data.sr, `--data.name=sr-crops`); the scale s (a power
of two) is read from the data's shapes. `objective`:

- `mse`: SRResNet, one phase "G": pixel MSE between G(lr) and hr (images in [-1, 1], as the paper's HR).
- `srgan`: phases "D" (the GAN loss on hr vs G(lr), train.loss, the paper's non-saturating one by default) then
  "G" on the same fakes: content + adv_weight (1e-3) * adversarial. `content` is `mse` (pixel MSE, the paper's
  SRGAN-MSE), `dfeat` (feature matching: MSE between D's block outputs on G(lr) and on hr, averaged over the 7
  blocks; needs no download) or `vgg` (the paper's VGG54 loss: MSE of VGG19 relu5_4 (or relu2_2, `vgg_layer`)
  features rescaled by 1/12.75, from a local safetensors file `vgg_weights` with torchvision's key names; the
  network is built by gankit, frozen and kept out of the checkpoints).

`g_init` starts G from another run's G (a run directory or checkpoint: SRGAN from a trained SRResNet, as in the
paper); only a fresh run reads it, a resumed one takes G from its own checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit import viz
from gankit.config import Config, check_choices
from gankit.core import checkpoint as ck
from gankit.core.family import Family
from gankit.core.optim import make_optimizer
from gankit.core.phases import Phase, Setup, StepContext
from gankit.core.spec import DataSpec
from gankit.errors import ConfigError
from gankit.losses import loss_from_train
from gankit.nets.srgan import VGG_CUT, SRDiscriminator, SRResNet, VGG19Features, upscale_stages
from gankit.stabilizers import refuse_unused_stab
from gankit.stabilizers.norm import apply_spectral_norm

NAME = "srgan"
OBJECTIVES = ("srgan", "mse")
CONTENTS = ("mse", "dfeat", "vgg")
VGG_RESCALE = 1 / 12.75  # the paper rescales VGG features so the content loss is of the order of the MSE
SUPPORTED_STAB = ("spectral_norm_d", "lr_decay", "lr_decay_floor", "monitor")


@dataclass
class SRGANConfig:
    family: str = NAME
    objective: str = "srgan"  # srgan | mse (SRResNet)
    content: str = "mse"  # mse | dfeat (D feature matching) | vgg (needs vgg_weights)
    adv_weight: float = 1e-3
    n_blocks: int = 16  # residual blocks of SRResNet (the paper's 16)
    g_width: int = 64
    d_width: int = 64
    d_dense: int = 1024
    vgg_weights: str | None = None  # local safetensors VGG19 (torchvision key names) for content=vgg
    vgg_layer: str = "54"  # 54 (relu5_4, the paper's VGG54) | 22 (relu2_2)
    g_init: str | None = None  # a run directory or checkpoint whose G starts this run's G (e.g. an SRResNet run)


def validate(cfg: Config) -> None:
    m = cfg.model
    check_choices("model", m, {"objective": OBJECTIVES, "content": CONTENTS, "vgg_layer": tuple(VGG_CUT)})
    if m.n_blocks < 0 or m.g_width < 1 or m.d_width < 1 or m.d_dense < 1 or m.adv_weight < 0:
        raise ConfigError("model.n_blocks must be >= 0, g_width/d_width/d_dense >= 1 and adv_weight >= 0")
    if m.objective == "srgan" and m.content == "vgg" and not m.vgg_weights:
        raise ConfigError("model.content=vgg needs model.vgg_weights=PATH, a local safetensors VGG19 file "
                          "(torchvision key names); content mse or dfeat need no download")
    if m.objective == "mse" and m.content != "mse":
        raise ConfigError(f"model.content={m.content} needs objective srgan (SRResNet's loss is the pixel MSE)")
    if cfg.train.loss not in ("minimax", "nonsat", "lsgan", "hinge"):
        raise ConfigError(f"srgan takes train.loss nonsat (the paper's), minimax, lsgan or hinge, not {cfg.train.loss}")
    refuse_unused_stab(cfg.stab, NAME, SUPPORTED_STAB)


def check_spec(spec: DataSpec) -> tuple[int, int, int]:
    """(channels, scale, HR size) of super-resolution data; ConfigError for anything else."""
    if not {"lr", "hr"} <= set(spec.fields) or spec.modality != "image":
        raise ConfigError(f"srgan needs LR/HR image pairs (fields lr and hr: --data.name=sr-crops), got "
                          f"{spec.modality} data with fields {sorted(spec.fields)}")
    (cl, hl, wl), (ch, hh, wh) = spec.fields["lr"], spec.fields["hr"]
    scale = hh // hl
    if cl != ch or hh != scale * hl or wh != scale * wl or hh != wh:
        raise ConfigError(f"srgan needs square HR images an integer scale times the LR ones, got lr {cl}x{hl}x{wl}, "
                          f"hr {ch}x{hh}x{wh}")
    try:
        upscale_stages(scale)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return ch, scale, hh


def build_models(cfg: Config, spec: DataSpec) -> dict[str, nn.Module]:
    m = cfg.model
    channels, scale, size = check_spec(spec)
    models = {"G": SRResNet(scale, m.n_blocks, m.g_width, channels)}
    if m.objective == "srgan":
        if size % 16:
            raise ConfigError(f"the SRGAN discriminator needs HR crops divisible by 16 (data.resolution), got {size}")
        D = SRDiscriminator(size, m.d_width, channels, m.d_dense)
        models["D"] = apply_spectral_norm(D) if cfg.stab.spectral_norm_d else D
    return models


def load_vgg(path: str, layer: str) -> VGG19Features:
    """The frozen VGG19 feature net from a local safetensors file; ConfigError with one line when it does not fit."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"model.vgg_weights: {p} does not exist (a safetensors VGG19 file, torchvision key names)")
    try:
        tensors = load_file(str(p))
    except (SafetensorError, OSError, ValueError) as e:
        raise ConfigError(f"model.vgg_weights: {p} is not a readable safetensors file ({e})") from None
    net = VGG19Features(layer)
    try:
        net.load_weights(tensors)
    except KeyError as e:
        raise ConfigError(f"model.vgg_weights: {p} is not a VGG19 `features` state dict: {e.args[0]}") from None
    return net.eval().requires_grad_(False)


# ----------------------------------------------------------------------------- losses
def mse_loss(batch: dict[str, Tensor], ctx: StepContext):
    """SRResNet: pixel MSE of G(lr) against hr."""
    mse = F.mse_loss(ctx.models["G"](batch["lr"]), batch["hr"])
    return mse, {"loss/mse": mse.detach()}


def d_loss(loss, batch: dict[str, Tensor], ctx: StepContext):
    G, D = ctx.models["G"], ctx.models["D"]
    keep = ctx.last_repeat  # the last repeat's fakes serve G's update
    with torch.set_grad_enabled(keep):
        fake = G(batch["lr"])
    if keep:
        ctx.scratch["fake"] = fake
    real_logit, fake_logit = D(batch["hr"]), D(fake.detach())
    d = loss.d(real_logit, fake_logit)
    return d, {"loss/d": d.detach(), "d/real": real_logit.detach().mean(), "d/fake": fake_logit.detach().mean()}


def feature_distance(fake_feats: list[Tensor], real_feats: list[Tensor]) -> Tensor:
    """Mean over layers of the MSE between feature maps (the real ones are targets: no gradient)."""
    return torch.stack([F.mse_loss(f, r.detach()) for f, r in zip(fake_feats, real_feats)]).mean()


def content_loss(content: str, vgg: nn.Module | None, fake: Tensor, hr: Tensor, D: nn.Module,
                 fake_feats: list[Tensor]) -> Tensor:
    if content == "mse":
        return F.mse_loss(fake, hr)
    if content == "dfeat":
        with torch.no_grad():
            _, real_feats = D(hr, features=True)
        return feature_distance(fake_feats, real_feats)
    vgg = vgg.to(fake.device)
    with torch.no_grad():
        target = vgg(hr) * VGG_RESCALE
    return F.mse_loss(vgg(fake) * VGG_RESCALE, target)


def g_loss(cfg: Config, loss, vgg, batch: dict[str, Tensor], ctx: StepContext):
    D, m = ctx.models["D"], cfg.model
    fake = ctx.scratch["fake"] if "fake" in ctx.scratch else ctx.models["G"](batch["lr"])
    logit, feats = D(fake, features=True)
    content = content_loss(m.content, vgg, fake, batch["hr"], D, feats)
    adv = loss.g(logit)
    with torch.no_grad():
        mse = F.mse_loss(fake, batch["hr"])
    return content + m.adv_weight * adv, {"loss/content": content.detach(), "loss/g": adv.detach(),
                                          "loss/mse": mse}


def phases(cfg: Config, models: dict[str, nn.Module], vgg: nn.Module | None) -> list[Phase]:
    if cfg.model.objective == "mse":
        return [Phase("G", ("G",), mse_loss)]
    loss = loss_from_train(cfg.train)
    return [Phase("D", ("D",), partial(d_loss, loss), repeats=cfg.train.n_critic),
            Phase("G", ("G",), partial(g_loss, cfg, loss, vgg), new_batch=False)]


# ----------------------------------------------------------------------------- up-sampling, pictures
@torch.no_grad()
def upsample(G: nn.Module, lr: Tensor, batch_size: int = 16) -> Tensor:
    """G(lr) in eval mode, clamped to [-1, 1], on the CPU."""
    was = G.training
    G.eval()
    dev = next(G.parameters()).device
    try:
        out = [G(lr[i:i + batch_size].to(dev)).clamp_(-1, 1).cpu() for i in range(0, len(lr), batch_size)]
    finally:
        G.train(was)
    return torch.cat(out) if out else lr.new_empty((0,))


@torch.no_grad()
def upsample_tiled(G: nn.Module, lr: Tensor, tile: int = 128, overlap: int | None = None) -> Tensor:
    """G(lr) of (N, C, h, w) images computed on tiles of `tile` LR pixels, each with `overlap` LR pixels of context
    (default G.radius, its receptive radius: the result then equals the whole-image one), so a large photo fits in
    memory; eval mode, clamped to [-1, 1], on the CPU."""
    if tile < 1:
        raise ConfigError(f"the tile size must be >= 1 LR pixel, got {tile}")
    s, pad = G.scale, G.radius if overlap is None else overlap
    n, c, h, w = lr.shape
    out = torch.empty(n, c, h * s, w * s)
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            ya, xa = max(y0 - pad, 0), max(x0 - pad, 0)
            piece = upsample(G, lr[:, :, ya:min(y1 + pad, h), xa:min(x1 + pad, w)])
            out[:, :, y0 * s:y1 * s, x0 * s:x1 * s] = piece[:, :, (y0 - ya) * s:(y1 - ya) * s,
                                                             (x0 - xa) * s:(x1 - xa) * s]
    return out


def sample(models: dict[str, nn.Module], n: int, seed: int, inputs: dict[str, Tensor] | None = None) -> Tensor:
    """Up-sampled copies of the first n LR inputs (an SR model has nothing to sample without inputs)."""
    if inputs is None or "lr" not in inputs:
        raise ConfigError("srgan up-samples images: use `gankit enhance RUN --input IMG --out PATH` (no z to sample)")
    return upsample(models["G"], inputs["lr"][:n])


def bicubic(lr: Tensor, scale: int) -> Tensor:
    return F.interpolate(lr, scale_factor=scale, mode="bicubic", align_corners=False).clamp(-1, 1)


def preview(models: dict[str, nn.Module], n: int, path, title: str, batch: dict[str, Tensor]) -> None:
    """Rows of bicubic | SR | HR."""
    lr, hr = batch["lr"][:n], batch["hr"][:n]
    up = bicubic(lr, hr.shape[-1] // lr.shape[-1])
    viz.save_grid(torch.stack([up, upsample(models["G"], lr), hr], dim=1).flatten(0, 1), path, nrow=3)


def build(cfg: Config, spec: DataSpec) -> Setup:
    models = build_models(cfg, spec)
    use_vgg = cfg.model.objective == "srgan" and cfg.model.content == "vgg"
    vgg = load_vgg(cfg.model.vgg_weights, cfg.model.vgg_layer) if use_vgg else None
    t = cfg.train
    optims = {"G": make_optimizer(t.g_opt, models["G"].parameters(), t.g_lr, t)}
    if "D" in models:
        optims["D"] = make_optimizer(t.d_opt, models["D"].parameters(), t.d_lr, t)
    groups = {"loss": ["loss/d", "loss/g"], "content": ["loss/content"], "pixel MSE": ["loss/mse"],
              "D output": ["d/real", "d/fake"]}
    return Setup(models, optims, phases(cfg, models, vgg), sample=partial(sample, models),
                 preview=partial(preview, models, min(cfg.log.n_grid, 6)), scalar_groups=groups,
                 init=partial(ck.load_module_from, "model.g_init", cfg.model.g_init, models["G"])
                 if cfg.model.g_init else None)


FAMILY = Family(NAME, SRGANConfig, validate, build, build_models, sample,
                "4x super-resolution: SRResNet G (MSE), SRGAN = content + 1e-3 adversarial with the paper's D")
