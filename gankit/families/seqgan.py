"""SeqGAN (Yu et al. 2017): an LSTM generator of token sequences trained by policy gradient, the reward being a
CNN discriminator's probability that a sequence is real, with Monte Carlo roll-outs for the value of every prefix.

Batches are {"tokens": (B, L)}. One run is three stretches of steps, switched by the step count (Phase.active):
  steps [0, P)            "mle": G's maximum-likelihood pretraining (teacher forcing), optimizer G_pre;
  steps [P, P + Q)        "d_pre": D's pretraining on real batches vs G's samples (mode seqgan);
  steps [P + Q, steps)    the adversarial steps: "g_adv" (REINFORCE, optimizer G, then the roll-out policy
                          moves towards G) and "d_adv" (model.d_steps D updates); P = model.pretrain_steps,
                          Q = model.d_pretrain_steps.
The paper's baselines are `model.mode`: mle (MLE continues), ss (scheduled sampling: G's own samples replace
teacher-forced inputs with a probability rising linearly to model.ss_max) and pg-bleu (the reward is the BLEU
of a sequence against the training set instead of D). The NLL-oracle hook logs eval/nll_oracle.
With stab.ema > 0, "G_ema" averages G's weights after stab.ema_start (an absolute step, as in every family; the
oracle benchmark starts it with the adversarial steps) and is the G that samples and is scored; the hook then
logs the trained G's own NLL-oracle as eval/nll_oracle_g.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.config import Config, check_choices
from gankit.core import checkpoint as ck
from gankit.core.family import Family
from gankit.core.phases import Phase, Setup, StepContext
from gankit.core.spec import DataSpec
from gankit.errors import ConfigError
from gankit.families import seqgan_hooks as hooks
from gankit.nets.rollout import Score, rollout_rewards
from gankit.nets.seqgan import TextCNN, LSTMLM, scaled_filters, update_rollout
from gankit.stabilizers import refuse_unused_stab
from gankit.stabilizers.ema import EMAHook, make_ema

NAME = "seqgan"
MODES = ("seqgan", "mle", "ss", "pg-bleu")


@dataclass
class SeqGANConfig:
    family: str = NAME
    mode: str = "seqgan"  # seqgan | mle | ss | pg-bleu
    emb: int = 32  # G's embedding and hidden sizes (the oracle benchmark's 32, 32)
    hidden: int = 32
    start: int = 0  # the start token's id (the oracle's 0)
    pretrain_steps: int = 18720  # MLE steps (the paper's 120 epochs of 156 batches)
    d_pretrain_steps: int = 1000  # D steps on real vs G's samples before the adversarial steps
    d_steps: int = 15  # D updates per adversarial step (the authors: 5 x 3 epochs of 10,000 + 10,000)
    rollouts: int = 16  # Monte Carlo roll-outs per prefix
    rollout_rate: float = 0.8  # roll-out policy = rate * itself + (1 - rate) * G after each G update
    grad_clip: float = 5.0  # G's gradients clipped to this global norm (0 = off)
    d_emb: int = 64
    d_filter_scale: float = 1.0  # the paper's filter counts (100-200 per width, 1720 in all) times this
    d_dropout: float = 0.25  # the paper's keep probability 0.75
    d_l2: float = 0.2  # L2 weight of D's output layer
    ss_max: float = 0.25  # scheduled sampling: the final probability of feeding G's own token
    bleu_n: int = 3  # PG-BLEU: BLEU-n reward
    nll_every: int = 0  # NLL-oracle every this many pretraining steps (oracle data; 0 = off)
    nll_every_adv: int = 10  # ... and every this many adversarial steps (when nll_every > 0)
    nll_n: int = 10000  # generated sequences per NLL-oracle
    init_from: str | None = None  # start G (and G_roll) from this run's / checkpoint's G, e.g. RUN_DIR/pretrained


def validate(cfg: Config) -> None:
    m = cfg.model
    check_choices("model", m, {"mode": MODES})
    if min(m.emb, m.hidden, m.d_emb, m.rollouts, m.d_steps, m.bleu_n, m.nll_n, m.nll_every_adv) < 1:
        raise ConfigError("model.emb, hidden, d_emb, rollouts, d_steps, bleu_n, nll_n and nll_every_adv must be >= 1")
    if min(m.pretrain_steps, m.d_pretrain_steps, m.nll_every, m.start, m.grad_clip) < 0:
        raise ConfigError("model.pretrain_steps, d_pretrain_steps, nll_every, start and grad_clip must be >= 0")
    if not 0 <= m.rollout_rate <= 1 or not 0 <= m.d_dropout < 1 or not 0 <= m.ss_max <= 1 or m.d_filter_scale <= 0:
        raise ConfigError("model.rollout_rate and ss_max must be in [0, 1], d_dropout in [0, 1), d_filter_scale > 0")
    refuse_unused_stab(cfg.stab, NAME, ("monitor", "ema", "ema_start"))


def _check_spec(cfg: Config, spec: DataSpec) -> tuple[int, int]:
    if spec.modality != "tokens" or "tokens" not in spec.fields or not spec.vocab_size:
        raise ConfigError(f"seqgan needs token sequences (--data.name=oracle or poems), got {spec.modality} data "
                          f"with fields {sorted(spec.fields)}")
    if cfg.model.start >= spec.vocab_size:
        raise ConfigError(f"model.start={cfg.model.start} is not an id of the vocabulary of {spec.vocab_size}")
    return spec.vocab_size, spec.fields["tokens"][0]


def build_models(cfg: Config, spec: DataSpec) -> dict[str, nn.Module]:
    m = cfg.model
    vocab, length = _check_spec(cfg, spec)
    G = LSTMLM(vocab, length, m.emb, m.hidden, m.start)
    models = {"G": G}
    if m.mode in ("seqgan", "pg-bleu"):
        models["G_roll"] = LSTMLM(vocab, length, m.emb, m.hidden, m.start).requires_grad_(False)
        models["G_roll"].load_state_dict(G.state_dict())
    if m.mode == "seqgan":
        models["D"] = TextCNN(vocab, length, m.d_emb, scaled_filters(m.d_filter_scale), m.d_dropout)
    if cfg.stab.ema > 0:
        models["G_ema"] = make_ema(G)
    return models


def sampler(models: dict[str, nn.Module]) -> LSTMLM:
    """The G that samples and is scored: its weight average when there is one."""
    return models.get("G_ema", models["G"])


# ----------------------------------------------------------------------------- losses
def mle_loss(batch: dict[str, Tensor], ctx: StepContext):
    G = ctx.models["G"]
    tokens = batch["tokens"]
    nll = F.cross_entropy(G(tokens).flatten(0, 1), tokens.flatten())
    return nll, {"loss/mle": nll.detach()}


def ss_loss(start: int, total: int, ss_max: float, batch: dict[str, Tensor], ctx: StepContext):
    """Scheduled sampling (Bengio et al. 2015): each input is G's own sample of the previous position with
    probability eps (linear from 0 at step `start` to ss_max at step `total`), else the true token."""
    G, tokens = ctx.models["G"], batch["tokens"]
    eps = ss_max * min(1.0, (ctx.step - start) / max(total - start, 1))
    B, T = tokens.shape
    state, tok, logits = G.zero_state(B), tokens.new_full((B,), G.start), []
    for t in range(T):
        state = G.cell(tok, state)
        out = G.logits(state[0])
        logits.append(out)
        if t < T - 1:
            with torch.no_grad():
                own = hooks.draw(out.detach(), ctx.noise)
                use = torch.rand(B, generator=ctx.noise, device=tokens.device) < eps
            tok = torch.where(use, own, tokens[:, t])
    nll = F.cross_entropy(torch.stack(logits, 1).flatten(0, 1), tokens.flatten())
    return nll, {"loss/mle": nll.detach(), "ss/eps": eps}


def d_loss(l2: float, batch: dict[str, Tensor], ctx: StepContext):
    G, D = ctx.models["G"], ctx.models["D"]
    real = batch["tokens"]
    fake = G.sample(len(real), ctx.noise)
    logits = D(torch.cat([real, fake]))
    target = torch.cat([torch.ones(len(real)), torch.zeros(len(fake))]).to(logits.device)
    ce = F.binary_cross_entropy_with_logits(logits, target)
    acc = ((logits > 0).float() == target).float().mean()
    return ce + l2 * D.l2(), {"loss/d": ce.detach(), "d/acc": acc}


def d_reward(D: nn.Module):
    """D's probability that sequences are real, in eval mode (no dropout), as the authors' rewards."""
    def score(seqs: Tensor) -> Tensor:
        was = D.training
        D.eval()
        try:
            return torch.sigmoid(D(seqs))
        finally:
            D.train(was)
    return score


def pg_loss(n_rollouts: int, reward: Score, batch: dict[str, Tensor], ctx: StepContext):
    """REINFORCE: -sum_t log G(x_t | x_<t) * Q(x_<=t), the action values from the roll-outs (the authors' sum
    over the batch and positions)."""
    G = ctx.models["G"]
    seqs = G.sample(batch["tokens"].shape[0], ctx.noise)
    q = rollout_rewards(ctx.models["G_roll"], seqs, reward, n_rollouts, ctx.noise)
    loss = -(G.log_probs(seqs) * q).sum()
    return loss, {"loss/pg": loss.detach() / seqs.numel(), "reward/mean": q.mean(), "reward/final": q[:, -1].mean()}


# ----------------------------------------------------------------------------- assembly
class ClippedAdam(torch.optim.Adam):
    """Adam on gradients clipped to a global norm first (the authors' clip_by_global_norm 5.0)."""

    def __init__(self, params, clip: float, **kw):
        super().__init__(params, **kw)
        self.clip = clip

    def step(self, closure=None):
        grads = [p for g in self.param_groups for p in g["params"] if p.grad is not None]
        if self.clip > 0 and grads:
            nn.utils.clip_grad_norm_(grads, self.clip)
        return super().step(closure)


def optimizers(cfg: Config, models: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
    t, m = cfg.train, cfg.model
    if t.g_opt != "adam" or t.d_opt != "adam":
        raise ConfigError("seqgan trains with Adam (train.g_opt and d_opt adam), as the paper")
    betas = (t.beta1, t.beta2)
    out = {"G_pre": ClippedAdam(models["G"].parameters(), m.grad_clip, lr=t.g_lr, betas=betas),
           "G": ClippedAdam(models["G"].parameters(), m.grad_clip, lr=t.g_lr, betas=betas)}
    if "D" in models:
        out["D"] = torch.optim.Adam(models["D"].parameters(), lr=t.d_lr, betas=betas)
    return out


def adversarial_from(cfg: Config) -> int:
    """The first adversarial step (after G's and D's pretraining)."""
    m = cfg.model
    return m.pretrain_steps + (m.d_pretrain_steps if m.mode == "seqgan" else 0)


def phases(cfg: Config, models: dict[str, nn.Module], bleu_reward=None) -> list[Phase]:
    m = cfg.model
    P, A = m.pretrain_steps, adversarial_from(cfg)
    if m.mode == "mle":
        return [Phase("mle", ("G_pre",), mle_loss)]
    out = [Phase("mle", ("G_pre",), mle_loss, active=lambda s: s < P)]
    if m.mode == "ss":
        return out + [Phase("ss", ("G",), partial(ss_loss, P, cfg.train.steps, m.ss_max), active=lambda s: s >= P)]
    after = partial(update_rollout, models["G_roll"], models["G"], m.rollout_rate)
    if m.mode == "pg-bleu":
        return out + [Phase("g_adv", ("G",), partial(pg_loss, m.rollouts, bleu_reward), after=after,
                            active=lambda s: s >= P)]
    d = partial(d_loss, m.d_l2)
    reward = d_reward(models["D"])
    return out + [
        Phase("d_pre", ("D",), d, active=lambda s: P <= s < A),
        Phase("g_adv", ("G",), partial(pg_loss, m.rollouts, reward), after=after, active=lambda s: s >= A),
        Phase("d_adv", ("D",), d, repeats=m.d_steps, active=lambda s: s >= A),
    ]


def sample(models: dict[str, nn.Module], n: int, seed: int, inputs=None, temperature: float = 1.0) -> Tensor:
    """n sequences (n, L) int64 of G, drawn with their own seeded generator (the training state is untouched)."""
    return hooks.generate(sampler(models), n, seed, temperature)


def init_from(models: dict[str, nn.Module], path: str) -> None:
    """G's weights from another run's checkpoint (the baselines can share one pretraining); G_roll and G_ema
    copy them."""
    ck.load_module_from("model.init_from", path, models["G"])
    for name in ("G_roll", "G_ema"):
        if name in models:
            models[name].load_state_dict(models["G"].state_dict())


def build(cfg: Config, spec: DataSpec) -> Setup:
    models = build_models(cfg, spec)
    extra_hooks, bleu_reward = [], None
    if "G_ema" in models:  # first: the hooks after it see this step's average
        extra_hooks.append(EMAHook(models["G_ema"], models["G"], cfg.stab.ema, cfg.stab.ema_start))
    if 0 < adversarial_from(cfg) < cfg.train.steps and cfg.model.mode != "mle":
        extra_hooks.append(hooks.PretrainedCheckpoint(adversarial_from(cfg)))
    if cfg.model.mode == "pg-bleu":
        refs = hooks.ReferenceHook(cfg.model.bleu_n, spec.vocab_size)
        extra_hooks.append(refs)
        bleu_reward = refs.score
    if cfg.model.nll_every and "oracle" in spec.extra:
        m = cfg.model
        extra_hooks.append(hooks.NLLOracleHook(spec.extra["oracle"], (m.nll_every, m.nll_every_adv), m.nll_n,
                                               m.pretrain_steps, adversarial_from(cfg), sampler))
    groups = {"loss": ["loss/mle", "loss/d", "loss/pg"], "reward": ["reward/mean", "reward/final"],
              "D accuracy": ["d/acc"]}
    meta = {"vocab": spec.extra["vocab"]} if spec.extra.get("vocab") is not None else {}
    return Setup(models, optimizers(cfg, models), phases(cfg, models, bleu_reward), extra_hooks,
                 sample=partial(sample, models), preview=partial(hooks.preview, sampler(models), meta.get("vocab")),
                 scalar_groups=groups, meta=meta,
                 init=partial(init_from, models, cfg.model.init_from) if cfg.model.init_from else None)


FAMILY = Family(NAME, SeqGANConfig, validate, build, build_models, sample,
                "SeqGAN: LSTM generator of token sequences, CNN discriminator reward, Monte Carlo roll-outs")
