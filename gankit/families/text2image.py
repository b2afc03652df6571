"""Text -> image: GAN-CLS and GAN-INT (Reed et al. 2016) on captioned Fashion-MNIST (`--data.name=fashion-captions`).

Modules: E (word-level GRU text encoder, `gankit/nets/text2image.py`), G(z, c) and D(x, e), DCGAN-style, each with
its own projection of the text embedding e = E(caption). Batches {"x", "y", "attrs", "captions"}: each step uses
one of each image's K captions, drawn from `ctx.noise`. Phases:

- "D" (optimizer D: D and E, so the encoder is trained jointly, by the discriminator's loss only; G sees the
  embeddings detached; real, fake and wrong-text pairs go through D as separate batches, so that D's batch norm
  sees in G's phase the batch it was trained on): plain text conditioning scores (real image, its text) as real
  and (G(z, c(e)), e) as fake; with `model.cls` (GAN-CLS, the matching-aware D) (real image, wrong text) is a third kind, counted as fake:
  L_D = A(s_real) + (B(s_wrong) + B(s_fake)) / 2 for the loss's real term A and fake term B — the wrong text of an
  image is the caption of another image of the batch with another (class, brightness, size) triple;
- "G" (on D's fakes): the loss's generator term on D(G(z, c), e); with `model.int` (GAN-INT) plus the same term
  on fakes from interpolated embeddings beta * e + (1 - beta) * e[perm] (beta = `model.int_beta`, 0.5), for which
  there are no real images; with `model.ca` (conditioning augmentation) c ~ N(mu(e), sigma(e)) and
  `model.ca_kl` * KL(N(mu, sigma) || N(0, I)) is added.

train.loss: nonsat (default), minimax, lsgan or hinge. Sampling: `generate_text(models, ids, seed)` (z seeded,
c = mu: no augmentation noise); `sample(models, n, seed, inputs)` uses the first caption of each input image (the
hooks pass the data's first images), or random captions of random classes and levels when there are no inputs.
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
from gankit.core.family import Family
from gankit.core.loop import HookBase
from gankit.core.optim import make_optimizer
from gankit.core.phases import Phase, Setup, StepContext
from gankit.core.spec import DataSpec
from gankit.errors import ConfigError
import gankit.data.captions as captions
from gankit.losses import loss_from_train
from gankit.nets.dcgan import D_NORMS
from gankit.nets.text2image import TextDiscriminator, TextEncoder, TextGenerator
from gankit.stabilizers import refuse_unused_stab

NAME = "text2image"
LOSSES = ("nonsat", "minimax", "lsgan", "hinge")
SUPPORTED_STAB = ("lr_decay", "lr_decay_floor", "monitor")
FIELDS = ("x", "y", "attrs", "captions")
Int = int  # the section has a field named `int` (GAN-INT), which hides the builtin inside the class body


@dataclass
class Text2ImageConfig:
    family: str = NAME
    z_dim: Int = 64
    g_width: Int = 64
    d_width: Int = 64
    d_norm: str = "batch"  # batch | layer | none
    word_dim: Int = 32  # word embeddings of the text encoder
    emb_dim: Int = 64  # the encoder's GRU state = the text embedding
    t_dim: Int = 32  # G's and D's projections of the embedding
    cls: bool = True  # GAN-CLS: (real image, wrong text) counted as fake by D
    int_beta: float = 0.5  # GAN-INT: interpolation weight of the two embeddings
    ca: bool = False  # conditioning augmentation (StackGAN) on G's condition
    ca_kl: float = 1.0
    int: bool = True  # GAN-INT: G also learns from interpolated text embeddings


def validate(cfg: Config) -> None:
    m = cfg.model
    if min(m.z_dim, m.g_width, m.d_width, m.word_dim, m.emb_dim, m.t_dim) < 1:
        raise ConfigError("model.z_dim, g_width, d_width, word_dim, emb_dim and t_dim must be >= 1")
    check_choices("model", m, {"d_norm": tuple(D_NORMS)})
    if not 0 <= m.int_beta <= 1 or m.ca_kl < 0:
        raise ConfigError(f"model.int_beta must be in [0, 1] and ca_kl >= 0, got {m.int_beta}, {m.ca_kl}")
    if cfg.train.loss not in LOSSES:
        raise ConfigError(f"text2image takes train.loss {', '.join(LOSSES)}, not {cfg.train.loss}")
    refuse_unused_stab(cfg.stab, NAME, SUPPORTED_STAB)


def _check_spec(spec: DataSpec) -> tuple[int, int]:
    if not set(FIELDS) <= spec.fields.keys() or not spec.vocab_size:
        raise ConfigError(f"text2image needs captioned images (fields {', '.join(FIELDS)} and a vocabulary: "
                          f"--data.name=fashion-captions), got fields {sorted(spec.fields)}")
    c, h, w = spec.fields["x"]
    if h != w:
        raise ConfigError(f"text2image needs square images, got {h}x{w}")
    return c, h


def build_models(cfg: Config, spec: DataSpec) -> dict[str, nn.Module]:
    m = cfg.model
    ch, res = _check_spec(spec)
    return {"E": TextEncoder(spec.vocab_size, m.word_dim, m.emb_dim),
            "G": TextGenerator(m.z_dim, m.emb_dim, m.t_dim, res, ch, m.g_width, m.ca),
            "D": TextDiscriminator(m.emb_dim, m.t_dim, res, ch, m.d_width, m.d_norm)}


# ----------------------------------------------------------------------------- pure parts of the losses
def matching_aware_d_loss(d_term, s_real: Tensor, s_wrong: Tensor | None, s_fake: Tensor) -> Tensor:
    """GAN-CLS: A(real) + (B(wrong) + B(fake)) / 2 for a loss d_term(real, fake) = A(real) + B(fake); without
    wrong-text scores (plain conditioning) just d_term(real, fake)."""
    if s_wrong is None:
        return d_term(s_real, s_fake)
    return 0.5 * (d_term(s_real, s_wrong) + d_term(s_real, s_fake))


def wrong_index(keys: Tensor, generator: torch.Generator) -> Tensor:
    """For each i, a random j with keys[j] != keys[i] (its caption is the wrong text of image i); (i + 1) mod B
    where every key of the batch is the same."""
    n = len(keys)
    scores = torch.rand(n, n, generator=generator, device=keys.device)
    other = keys[None, :] != keys[:, None]
    j = torch.where(other, scores, torch.full_like(scores, -1.0)).argmax(1)
    fallback = (torch.arange(n, device=keys.device) + 1) % n
    return torch.where(other.any(1), j, fallback)


def interpolate(emb: Tensor, beta: float, generator: torch.Generator) -> Tensor:
    """GAN-INT: beta * e + (1 - beta) * e[perm], perm a random permutation of the batch."""
    perm = torch.randperm(len(emb), generator=generator, device=emb.device)
    return beta * emb + (1 - beta) * emb[perm]


def kl_standard(mu: Tensor, logvar: Tensor) -> Tensor:
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()


# ----------------------------------------------------------------------------- phases
def pick_captions(batch: dict[str, Tensor], ctx: StepContext) -> Tensor:
    caps = batch["captions"]
    k = torch.randint(caps.shape[1], (len(caps),), generator=ctx.noise, device=ctx.device)
    return caps[torch.arange(len(caps), device=ctx.device), k]


def condition(G: TextGenerator, emb: Tensor, ctx: StepContext) -> tuple[Tensor, Tensor | None]:
    """G's condition for embeddings `emb` (a sample of CA's Gaussian with ca) and CA's KL (None without CA)."""
    mu, logvar = G.condition(emb)
    if logvar is None:
        return mu, None
    eps = torch.randn(mu.shape, generator=ctx.noise, device=ctx.device)
    return mu + (0.5 * logvar).exp() * eps, kl_standard(mu, logvar)


def fakes(G: TextGenerator, emb: Tensor, ctx: StepContext) -> tuple[Tensor, Tensor | None]:
    z = torch.randn(len(emb), G.z_dim, generator=ctx.noise, device=ctx.device)
    c, kl = condition(G, emb, ctx)
    return G(z, c), kl


def d_loss(cfg: Config, loss, batch: dict[str, Tensor], ctx: StepContext):
    E, G, D = ctx.models["E"], ctx.models["G"], ctx.models["D"]
    x, ids = batch["x"], pick_captions(batch, ctx)
    emb = E(ids)
    keep = ctx.last_repeat  # the last repeat's embeddings and fakes serve G's update
    with torch.set_grad_enabled(keep):
        fake_g, kl = fakes(G, emb.detach(), ctx)
    if keep:
        ctx.scratch.update(emb=emb.detach(), fake=fake_g, kl=kl)
    s_real, s_fake, s_wrong = D(x, emb), D(fake_g.detach(), emb), None  # separate batches, as G's phase sees D
    if cfg.model.cls:
        keys = batch["y"].long() * 9 + batch["attrs"][:, 0] * 3 + batch["attrs"][:, 1]
        s_wrong = D(x, emb[wrong_index(keys, ctx.noise)])
    total = matching_aware_d_loss(loss.d, s_real, s_wrong, s_fake)
    out = {"loss/d": total.detach(), "d/real": s_real.detach().mean(), "d/fake": s_fake.detach().mean()}
    if s_wrong is not None:
        out["d/wrong"] = s_wrong.detach().mean()
    return total, out


def g_loss(cfg: Config, loss, batch: dict[str, Tensor], ctx: StepContext):
    G, D = ctx.models["G"], ctx.models["D"]
    if "fake" in ctx.scratch:
        emb, fake, kl = ctx.scratch["emb"], ctx.scratch["fake"], ctx.scratch["kl"]
    else:
        emb = ctx.models["E"](pick_captions(batch, ctx)).detach()
        fake, kl = fakes(G, emb, ctx)
    adv = loss.g(D(fake, emb))
    total, out = adv, {"loss/g": adv.detach()}
    if cfg.model.int:
        e_int = interpolate(emb, cfg.model.int_beta, ctx.noise)
        fake_int, kl_int = fakes(G, e_int, ctx)
        adv_int = loss.g(D(fake_int, e_int))
        total, out["loss/g_int"] = total + adv_int, adv_int.detach()
        kl = None if kl is None else 0.5 * (kl + kl_int)
    if kl is not None:
        total, out["loss/ca_kl"] = total + cfg.model.ca_kl * kl, kl.detach()
    return total, out


def phases(cfg: Config) -> list[Phase]:
    loss = loss_from_train(cfg.train)
    return [Phase("D", ("D",), partial(d_loss, cfg, loss), repeats=cfg.train.n_critic),
            Phase("G", ("G",), partial(g_loss, cfg, loss), new_batch=False)]


def optimizers(cfg: Config, models: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
    t = cfg.train
    d_params = [*models["D"].parameters(), *models["E"].parameters()]
    return {"D": make_optimizer(t.d_opt, d_params, t.d_lr, t),
            "G": make_optimizer(t.g_opt, models["G"].parameters(), t.g_lr, t)}


# ----------------------------------------------------------------------------- sampling, pictures
@torch.no_grad()
def generate_text(models: dict[str, nn.Module], ids: Tensor, seed: int, batch_size: int = 500) -> Tensor:
    """One image per caption (ids (n, L)), z ~ N(0, I) from a generator seeded with `seed`, c = mu (no CA noise);
    eval mode, on the modules' device, returned on the CPU."""
    E, G = models["E"], models["G"]
    was = {k: m.training for k, m in models.items()}
    for m in models.values():
        m.eval()
    dev, g, out = next(G.parameters()).device, torch.Generator().manual_seed(seed), []
    for s in range(0, len(ids), batch_size):
        chunk = ids[s:s + batch_size].to(dev)
        z = torch.randn(len(chunk), G.z_dim, generator=g).to(dev)
        out.append(G(z, G.condition(E(chunk))[0]).cpu())
    for k, m in models.items():
        m.train(was[k])
    return torch.cat(out) if out else torch.empty(0)


def random_caption_ids(n: int, seed: int, vocab_size: int) -> tuple[Tensor, Tensor, Tensor]:
    """n random captions of uniformly random classes and levels: (ids, classes, levels (n, 2))."""
    vocab = captions.vocabulary()
    if len(vocab) != vocab_size:
        raise ConfigError(f"the run's vocabulary has {vocab_size} words, this gankit's captions {len(vocab)}: "
                          "sample it with captions (--text)")
    rng = np.random.default_rng(seed)
    y, lv = rng.integers(10, size=n), rng.integers(3, size=(n, 2))
    ids = [captions.encode(captions.random_caption(c, b, s, rng), vocab, captions.max_words())
           for c, (b, s) in zip(y.tolist(), lv.tolist())]
    return torch.stack(ids), torch.from_numpy(y), torch.from_numpy(lv)


def sample(models: dict[str, nn.Module], n: int, seed: int, inputs: dict[str, Tensor] | None = None) -> Tensor:
    if inputs is not None and "captions" in inputs and len(inputs["captions"]) >= n:
        ids = inputs["captions"][:n, 0]
    else:
        ids = random_caption_ids(n, seed, models["E"].vocab_size)[0]
    return generate_text(models, ids, seed)


def preview(models: dict[str, nn.Module], n: int, path, title: str, batch: dict[str, Tensor]) -> None:
    """One row per caption (the first caption of the first n images), n samples each."""
    ids = batch["captions"][:n, 0].repeat_interleave(n, 0)
    viz.save_grid(generate_text(models, ids, 0), path, nrow=n, scale=2)


class VocabHook(HookBase):
    """Writes RUN/vocab.json: the vocabulary and the attribute cut points the run's captions were made with."""

    def __init__(self, meta: dict) -> None:
        self.meta = meta

    def before_train(self) -> None:
        import json

        if self.trainer.world.rank == 0:
            path = Path(self.trainer.run_dir) / "vocab.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(self.meta, indent=1) + "\n")


def build(cfg: Config, spec: DataSpec) -> Setup:
    models = build_models(cfg, spec)
    meta = {"vocab": spec.extra.get("vocab"), "captions": spec.extra.get("captions")}
    groups = {"adversarial loss": ["loss/d", "loss/g", "loss/g_int"], "D output": ["d/real", "d/wrong", "d/fake"],
              "conditioning augmentation": ["loss/ca_kl"]}
    return Setup(models, optimizers(cfg, models), phases(cfg), [VocabHook(meta)], sample=partial(sample, models),
                 preview=partial(preview, models, min(cfg.log.n_grid, 8)), scalar_groups=groups, meta=meta)


FAMILY = Family(NAME, Text2ImageConfig, validate, build, build_models, sample,
                "text -> image: GRU text encoder, DCGAN G(z, text) and D(x, text), GAN-CLS + GAN-INT (Reed 2016)")
