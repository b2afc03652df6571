"""SEGAN (Pascual et al. 2017): speech enhancement by a GAN on raw waveforms.

Batches are {"noisy": (1, L), "clean": (1, L)} chunks (gankit.data.speech, `--data.name=speech`). Both are
pre-emphasised (`preemph`, 0.95) before G and D see them; G's outputs are de-emphasised on the way out.
Phases (`adversarial=true`): "D" on (noisy, clean) real pairs vs (noisy, G(noisy, z)) fake pairs with
train.loss (the paper's LSGAN), then "G" on the same fakes: the adversarial loss + lambda_l1 (100) * mean |G - clean|.
`adversarial=false` is the L1-only generator (one phase, no D): the table's ablation; `init_from` starts G from
another run's G (an L1-only run, so that adversarial training starts from L1 pretraining, as SRGAN starts from
SRResNet). z is drawn from the run's checkpointed generator, so runs resume exactly. Nets: gankit.nets.segan (virtual batch norm in D).
Whole files are enhanced by `enhance_waveform`: overlapping chunks (hop L/2) cross-faded by Hann windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from gankit import viz
from gankit.config import Config, check_choices
from gankit.core import checkpoint as ck
from gankit.core.family import Family
from gankit.core.optim import make_optimizer
from gankit.core.phases import Phase, Setup, StepContext
from gankit.core.spec import DataSpec
from gankit.data.speech import chunks, deemphasis, preemphasis, spectrogram_image, write_wav
from gankit.errors import ConfigError
from gankit.losses import loss_from_train
from gankit.nets.segan import SEGANDiscriminator, SEGANGenerator, check_length
from gankit.stabilizers import refuse_unused_stab

NAME = "segan"
D_NORMS = ("vbn", "none")
SUPPORTED_STAB = ("lr_decay", "lr_decay_floor", "monitor")


@dataclass
class SEGANConfig:
    family: str = NAME
    g_width: int = 16  # channels of G's first layer; x 1, 2, 2, 4, 4, 8, 8, 16, 16, 32, 64 (16 = the paper's)
    d_width: int = 16  # the same for D
    depth: int = 11  # strided layers (the paper's 11: 16384 samples -> 8 at the bottleneck)
    kernel: int = 31
    use_z: bool = True  # z ~ N(0, I) concatenated at the bottleneck
    adversarial: bool = True  # false: the L1-only generator (no D)
    lambda_l1: float = 100.0
    preemph: float = 0.95  # 0 = none
    d_norm: str = "vbn"  # vbn (virtual batch norm, the paper's) | none
    vbn_ref: int = 8  # examples of the VBN reference batch (taken from the first batch D sees)
    init_from: str | None = None  # start G from this run's / checkpoint's G (e.g. an l1-speech run: L1 pretraining)


def validate(cfg: Config) -> None:
    m = cfg.model
    check_choices("model", m, {"d_norm": D_NORMS})
    if m.g_width < 1 or m.d_width < 1 or m.depth < 1 or m.kernel < 1 or m.kernel % 2 == 0:
        raise ConfigError("model.g_width/d_width/depth must be >= 1 and model.kernel odd")
    if m.lambda_l1 < 0 or not 0 <= m.preemph < 1:
        raise ConfigError(f"model.lambda_l1 must be >= 0 and preemph in [0, 1), got {m.lambda_l1}, {m.preemph}")
    if m.adversarial and m.d_norm == "vbn" and not 1 <= m.vbn_ref <= cfg.train.batch_size:
        raise ConfigError(f"model.vbn_ref must be in 1..train.batch_size ({cfg.train.batch_size}), got {m.vbn_ref}")
    if cfg.train.loss not in ("lsgan", "nonsat", "hinge"):
        raise ConfigError(f"segan takes train.loss lsgan (the paper's), nonsat or hinge, not {cfg.train.loss}")
    refuse_unused_stab(cfg.stab, NAME, SUPPORTED_STAB)


def check_spec(spec: DataSpec) -> int:
    if not {"noisy", "clean"} <= set(spec.fields) or spec.modality != "audio":
        raise ConfigError(f"segan needs (noisy, clean) waveform chunks (--data.name=speech), got {spec.modality} "
                          f"data with fields {sorted(spec.fields)}")
    shape = spec.fields["clean"]
    if len(shape) != 2 or shape[0] != 1 or spec.fields["noisy"] != shape:
        raise ConfigError(f"segan needs mono chunks of one length, got noisy {spec.fields['noisy']}, clean {shape}")
    return shape[1]


def build_models(cfg: Config, spec: DataSpec) -> dict[str, nn.Module]:
    m = cfg.model
    length = check_spec(spec)
    try:
        check_length(length, m.depth)
    except ValueError as e:
        raise ConfigError(f"data.resolution: {e}") from None
    G = SEGANGenerator(length, m.g_width, m.depth, m.kernel, m.use_z)
    G.preemph = m.preemph  # for sample/enhance (set again by every build, not a weight)
    models = {"G": G}
    if m.adversarial:
        models["D"] = SEGANDiscriminator(length, m.d_width, m.depth, m.kernel, m.d_norm, m.vbn_ref)
    return models


# ----------------------------------------------------------------------------- losses
def _z(G: SEGANGenerator, n: int, ctx: StepContext) -> Tensor | None:
    if not G.use_z:
        return None
    return torch.randn((n, *G.z_shape), generator=ctx.noise, device=ctx.device)


def _inputs(cfg: Config, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    return preemphasis(batch["noisy"], cfg.model.preemph), preemphasis(batch["clean"], cfg.model.preemph)


def l1_loss(cfg: Config, batch: dict[str, Tensor], ctx: StepContext):
    """The L1-only generator: lambda_l1 * mean |G(noisy) - clean| (pre-emphasised)."""
    G = ctx.models["G"]
    noisy, clean = _inputs(cfg, batch)
    l1 = (G(noisy, _z(G, len(noisy), ctx)) - clean).abs().mean()
    return cfg.model.lambda_l1 * l1, {"loss/l1": l1.detach()}


def d_loss(cfg: Config, loss, batch: dict[str, Tensor], ctx: StepContext):
    G, D = ctx.models["G"], ctx.models["D"]
    noisy, clean = _inputs(cfg, batch)
    real_pairs = torch.cat([noisy, clean], dim=1)
    D.set_reference(real_pairs)
    keep = ctx.last_repeat
    with torch.set_grad_enabled(keep):
        fake = G(noisy, _z(G, len(noisy), ctx))
    if keep:
        ctx.scratch["fake"] = fake
    real_logit = D(real_pairs)
    fake_logit = D(torch.cat([noisy, fake.detach()], dim=1))
    d = loss.d(real_logit, fake_logit)
    return d, {"loss/d": d.detach(), "d/real": real_logit.detach().mean(), "d/fake": fake_logit.detach().mean()}


def g_loss(cfg: Config, loss, batch: dict[str, Tensor], ctx: StepContext):
    G, D = ctx.models["G"], ctx.models["D"]
    noisy, clean = _inputs(cfg, batch)
    fake = ctx.scratch["fake"] if "fake" in ctx.scratch else G(noisy, _z(G, len(noisy), ctx))
    adv = loss.g(D(torch.cat([noisy, fake], dim=1)))
    l1 = (fake - clean).abs().mean()
    return adv + cfg.model.lambda_l1 * l1, {"loss/g": adv.detach(), "loss/l1": l1.detach()}


def phases(cfg: Config) -> list[Phase]:
    if not cfg.model.adversarial:
        return [Phase("G", ("G",), partial(l1_loss, cfg))]
    loss = loss_from_train(cfg.train)
    return [Phase("D", ("D",), partial(d_loss, cfg, loss), repeats=cfg.train.n_critic),
            Phase("G", ("G",), partial(g_loss, cfg, loss), new_batch=False)]


# ----------------------------------------------------------------------------- enhancing
@torch.no_grad()
def run_chunks(G: SEGANGenerator, parts: Tensor, seed: int = 0, batch_size: int = 32) -> Tensor:
    """G in eval mode on (N, 1, L) pre-emphasised chunks, z drawn from `seed`; (N, 1, L) on the CPU."""
    was = G.training
    G.eval()
    dev = next(G.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    out = []
    try:
        for i in range(0, len(parts), batch_size):
            p = parts[i:i + batch_size].to(dev)
            z = torch.randn((len(p), *G.z_shape), generator=gen).to(dev) if G.use_z else None
            out.append(G(p, z).cpu())
    finally:
        G.train(was)
    return torch.cat(out) if out else parts.new_empty((0, 1, G.length))


def enhance_chunks(G: SEGANGenerator, noisy: Tensor, seed: int = 0, batch_size: int = 32) -> Tensor:
    """G on (N, 1, L) chunks of noisy speech: each pre-emphasised, enhanced, de-emphasised; in [-1, 1]."""
    y = run_chunks(G, preemphasis(noisy, G.preemph), seed, batch_size)
    return torch.from_numpy(deemphasis(y.numpy(), G.preemph)).clamp_(-1, 1)


def enhance_waveform(G: SEGANGenerator, x: np.ndarray, seed: int = 0, batch_size: int = 32) -> np.ndarray:
    """A whole mono signal of any length enhanced by G: pre-emphasis, chunks of G.length with hop L/2 (the signal
    padded by L/2 zeros each side), G, overlap-add with periodic Hann windows (they sum to 1 at hop L/2),
    de-emphasis. Returns float32 of len(x) in [-1, 1]."""
    L = G.length
    hop = L // 2
    pre = preemphasis(torch.from_numpy(np.asarray(x, dtype=np.float32)), G.preemph).numpy()
    padded = np.concatenate([np.zeros(hop, np.float32), pre, np.zeros(hop, np.float32)])
    y = run_chunks(G, torch.from_numpy(chunks(padded, L, hop))[:, None], seed, batch_size)[:, 0].numpy()
    window = np.hanning(L + 1)[:L].astype(np.float32)
    total = np.zeros((len(y) - 1) * hop + L, np.float32)
    for k, seg in enumerate(y):
        total[k * hop: k * hop + L] += window * seg
    return np.clip(deemphasis(total[hop: hop + len(x)], G.preemph), -1, 1)


def sample(models: dict[str, nn.Module], n: int, seed: int, inputs: dict[str, Tensor] | None = None) -> Tensor:
    """Enhanced copies of the first n noisy chunks (a SEGAN has nothing to sample without inputs)."""
    if inputs is None or "noisy" not in inputs:
        raise ConfigError("segan enhances speech: use `gankit enhance-speech RUN --input NOISY.wav --out OUT.wav`")
    return enhance_chunks(models["G"], inputs["noisy"][:n], seed)


def preview(models: dict[str, nn.Module], rate: int, n: int, path, title: str, batch: dict[str, Tensor]) -> None:
    """Spectrogram rows noisy | enhanced | clean (PNG at `path`) and their WAVs in the folder beside it."""
    noisy, clean = batch["noisy"][:n], batch["clean"][:n]
    enhanced = enhance_chunks(models["G"], noisy)
    folder = Path(path).with_suffix("")
    pics = []
    for i in range(len(noisy)):
        for kind, x in (("noisy", noisy[i, 0]), ("enhanced", enhanced[i, 0]), ("clean", clean[i, 0])):
            write_wav(folder / f"{i}_{kind}.wav", x.numpy(), rate)
            pics.append(spectrogram_image(x.numpy(), rate))
    viz.save_grid(torch.stack(pics), path, nrow=3, scale=2)


def build(cfg: Config, spec: DataSpec) -> Setup:
    models = build_models(cfg, spec)
    t = cfg.train
    optims = {"G": make_optimizer(t.g_opt, models["G"].parameters(), t.g_lr, t)}
    if "D" in models:
        optims["D"] = make_optimizer(t.d_opt, models["D"].parameters(), t.d_lr, t)
    rate = int(spec.extra.get("rate", 16000))
    groups = {"loss": ["loss/d", "loss/g"], "L1 to the clean speech": ["loss/l1"], "D output": ["d/real", "d/fake"]}
    return Setup(models, optims, phases(cfg), sample=partial(sample, models),
                 preview=partial(preview, models, rate, min(cfg.log.n_grid, 3)), scalar_groups=groups,
                 meta={"sample_rate": rate}, init=partial(ck.load_module_from, "model.init_from",
                                                          cfg.model.init_from, models["G"])
                 if cfg.model.init_from else None)


FAMILY = Family(NAME, SEGANConfig, validate, build, build_models, sample,
                "speech enhancement on waveforms: 1-D encoder-decoder G with skips and z, D on (noisy, x) pairs "
                "with virtual batch norm, LSGAN + 100 L1")
