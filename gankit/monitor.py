"""Training health monitor: warns, with what to try, when training goes wrong.

Checks (each a small pure function, so it can be tested on synthetic sequences):
- D's loss collapses to ~0 (D wins outright; G gets no useful gradient);
- G's loss falls steadily while D's rises (G exploits a weakening D; often precedes collapse);
- samples lose diversity: mean pairwise distance of fixed-z samples below a fraction of real data's;
- exploding losses: a finite loss beyond EXPLODING in magnitude (e.g. WGAN at a huge lr: losses ~1e14);
- NaN/Inf: the trainer stops with status 'diverged' without checkpointing; the monitor says what to try, and
  whether there is a checkpoint to resume from.
Warnings go to the progress bar (LogHook.message) and as {"warning": ...} rows to metrics.jsonl.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import torch

from gankit.core.checkpoint import list_checkpoints
from gankit.core.loop import HookBase

# per warning: what it means, then (remedy, "already on" test on the run's Config); remedies a run already uses
# are left out of its advice (`advice`), and more D steps are suggested as n_critic + 1
_MEANING = {
    "d_loss_zero": "D's loss is ~0: D wins outright and G gets no useful gradient.",
    "g_falls_d_rises": "G's loss falls steadily while D's rises: G is exploiting a weakening D, which often precedes "
                       "mode collapse.",
    "low_diversity": "samples are losing diversity (mode collapse).",
    "non_finite": "a loss became NaN/Inf, so the run stopped; its last checkpoint is the last good state.",
    "exploding": "the losses are exploding (finite but huge): training is diverging.",
}
_REMEDIES = {
    "d_loss_zero": [
        ("a lower D learning rate (TTUR, --train.d_lr)", lambda c: False),
        ("one-sided label smoothing (--stab.label_smooth=0.9)", lambda c: c.stab.label_smooth < 1.0),
        ("instance noise (--stab.instance_noise=0.1)", lambda c: c.stab.instance_noise > 0),
        ("spectral norm (--stab.spectral_norm_d=true)", lambda c: c.stab.spectral_norm_d),
        ("R1 (--stab.r1_gamma=1)", lambda c: c.stab.r1_gamma > 0)],
    "g_falls_d_rises": [
        ("more D steps (--train.n_critic={n_critic_next})", lambda c: False),
        ("a higher D learning rate", lambda c: False),
        ("PacGAN (--stab.pack=2)", lambda c: c.stab.pack > 1),
        ("minibatch-stddev (--stab.mbstd=true)", lambda c: c.stab.mbstd)],
    "low_diversity": [
        ("PacGAN (--stab.pack=2 or 4)", lambda c: c.stab.pack > 1),
        ("minibatch discrimination (--stab.minibatch_disc=5)", lambda c: c.stab.minibatch_disc > 0),
        ("--stab.mbstd=true", lambda c: c.stab.mbstd),
        ("unrolling (--stab.unrolled_k=5)", lambda c: c.stab.unrolled_k > 0),
        ("an EMA of G (--stab.ema=0.999)", lambda c: c.stab.ema > 0),
        ("lower learning rates", lambda c: False)],
    "exploding": [
        ("lower learning rates", lambda c: False),
        ("spectral norm (--stab.spectral_norm_d=true)", lambda c: c.stab.spectral_norm_d),
        ("a gradient penalty loss (--train.loss=wgan-gp)", lambda c: c.train.loss == "wgan-gp")],
    "non_finite": [
        ("lower learning rates", lambda c: False),
        ("spectral norm (--stab.spectral_norm_d=true)", lambda c: c.stab.spectral_norm_d),
        ("R1 (--stab.r1_gamma=1)", lambda c: c.stab.r1_gamma > 0),
        ("a gradient penalty loss (--train.loss=wgan-gp)", lambda c: c.train.loss == "wgan-gp")],
}
_TAIL = {"g_falls_d_rises": "; look at the samples.",
         "non_finite": ", then continue with `gankit train --resume RUN_DIR ...`."}


def advice(kind: str, cfg=None) -> str:
    """What a warning means and what to try; with the run's Config, only remedies it does not use yet."""
    todo = [text for text, on in _REMEDIES[kind] if cfg is None or not on(cfg)]
    n_next = (cfg.train.n_critic + 1) if cfg is not None else 2
    todo = [t.format(n_critic_next=n_next) for t in todo]
    tried = "" if len(todo) == len(_REMEDIES[kind]) else " Remedies this run already uses are not listed."
    listed = (", ".join(todo[:-1]) + " or " + todo[-1]) if len(todo) > 1 else todo[0]
    return f"{_MEANING[kind]} Try {listed}{_TAIL.get(kind, '.')}{tried}"

# losses whose D term is >= 0 and ~0 only when D separates real from fake perfectly
ZERO_FLOOR_LOSSES = ("minimax", "nonsat", "lsgan", "hinge", "dragan")


def d_loss_collapsed(d_losses: list[float], threshold: float = 0.01) -> bool:
    """Every recent D loss below `threshold`."""
    return bool(d_losses) and max(d_losses) < threshold


def _quarter_means(xs: list[float]) -> list[float]:
    q = len(xs) // 4
    return [sum(xs[i * q:(i + 1) * q]) / q for i in range(4)]


def g_falls_d_rises(g_losses: list[float], d_losses: list[float], min_change: float = 0.1) -> bool:
    """Quarter means of G's loss strictly fall and of D's strictly rise across the window, each by at least
    `min_change` times its scale (the window is noisy per step; quarter means smooth it)."""
    if len(g_losses) < 8 or len(g_losses) != len(d_losses):
        return False
    g, d = _quarter_means(g_losses), _quarter_means(d_losses)
    falls = all(a > b for a, b in zip(g, g[1:])) and g[0] - g[-1] > min_change * max(abs(g[0]), 1e-3)
    rises = all(a < b for a, b in zip(d, d[1:])) and d[-1] - d[0] > min_change * max(abs(d[0]), 1e-3)
    return falls and rises


EXPLODING = 1e6  # |loss| beyond this is divergence for every loss gankit has (GAN losses are O(1)-O(1e3))


def non_finite_keys(scalars: dict[str, float]) -> list[str]:
    return [k for k, v in scalars.items() if not (v == v and v not in (float("inf"), float("-inf")))]


def mean_pairwise_distance(x: torch.Tensor) -> float:
    """Mean Euclidean distance between distinct samples (rows of x flattened)."""
    flat = x.reshape(x.shape[0], -1).double()
    n = flat.shape[0]
    if n < 2:
        return 0.0
    return float(torch.cdist(flat, flat).sum() / (n * (n - 1)))


def diversity_ratio(fake: torch.Tensor, real: torch.Tensor) -> float:
    """Mean pairwise distance of fake samples over that of real samples (1 = as diverse as the data)."""
    return mean_pairwise_distance(fake) / max(mean_pairwise_distance(real), 1e-12)


@dataclass
class HealthWarning:
    kind: str
    message: str


class Monitor:
    """Keeps a window of losses and returns warnings; one warning of a kind per `cooldown` steps."""

    def __init__(self, window: int = 200, d_zero: float = 0.01, check_d_zero: bool = True, cooldown: int = 1000):
        self.window, self.d_zero, self.check_d_zero, self.cooldown = window, d_zero, check_d_zero, cooldown
        self.g: deque[float] = deque(maxlen=window)
        self.d: deque[float] = deque(maxlen=window)
        self.last: dict[str, int] = {}

    def _fire(self, kind: str, step: int, message: str) -> list[HealthWarning]:
        if step - self.last.get(kind, -10**12) < self.cooldown:
            return []
        self.last[kind] = step
        return [HealthWarning(kind, message)]

    def update(self, step: int, scalars: dict[str, float]) -> list[HealthWarning]:
        bad = non_finite_keys(scalars)
        if bad:
            return self._fire("non_finite", step, f"step {step}: {', '.join(bad)} is NaN/Inf")
        huge = [k for k, v in scalars.items() if k.startswith("loss/") and abs(v) > EXPLODING]
        if huge:
            return self._fire("exploding", step, f"step {step}: {', '.join(f'{k} = {scalars[k]:.3g}' for k in huge)}")
        if "loss/g" in scalars and "loss/d" in scalars:
            self.g.append(scalars["loss/g"])
            self.d.append(scalars["loss/d"])
        out: list[HealthWarning] = []
        if len(self.d) == self.window:
            if self.check_d_zero and d_loss_collapsed(list(self.d), self.d_zero):
                out += self._fire("d_loss_zero", step, f"step {step}: D's loss < {self.d_zero} for {self.window} steps")
            if g_falls_d_rises(list(self.g), list(self.d)):
                out += self._fire("g_falls_d_rises", step, f"step {step}: over the last {self.window} steps G's loss "
                                  f"fell and D's rose steadily")
        return out

    def diversity(self, step: int, ratio: float, threshold: float) -> list[HealthWarning]:
        if ratio >= threshold:
            return []
        return self._fire("low_diversity", step, f"step {step}: sample diversity is {ratio:.0%} of the real data's "
                          f"(mean pairwise distance at a fixed z; warning below {threshold:.0%})")


class MonitorHook(HookBase):
    """Runs a Monitor on the step scalars and a diversity check every `every` steps; reports through the LogHook."""

    SEED = 987

    def __init__(self, every: int = 500, n: int = 256, diversity_threshold: float = 0.3, warmup: int = 500,
                 **monitor_kw):
        self.every, self.n, self.threshold, self.kw = every, n, diversity_threshold, monitor_kw
        self.warmup = warmup  # no diversity check before this step: G starts near-constant
        self.warnings: list[dict] = []
        self._pending: dict | None = None  # the monitor's windows from a checkpoint

    def before_train(self) -> None:
        t = self.trainer
        self.kw.setdefault("check_d_zero", t.cfg.train.loss in ZERO_FLOOR_LOSSES)
        self.monitor = Monitor(**self.kw)
        if self._pending:
            self.monitor.g.extend(self._pending["g"])
            self.monitor.d.extend(self._pending["d"])
            self.monitor.last.update(self._pending["last"])
        g = torch.Generator().manual_seed(987)
        idx = torch.randperm(len(t.dataset), generator=g)[: self.n]
        self.real = t.dataset.fields[t.spec.main][idx]
        self.log = next((h for h in t.hooks if hasattr(h, "message") and hasattr(h, "write")), None)

    def after_step(self) -> None:
        t = self.trainer
        found = self.monitor.update(t.step, t.scalars)
        due = self.every and t.step % self.every == 0 and t.step >= self.warmup
        if due and t.status == "running" and t.setup.sample is not None:
            fake = t.setup.sample(self.n, self.SEED, inputs=t.first(self.n))  # the same fixed samples each time
            found += self.monitor.diversity(t.step, diversity_ratio(fake, self.real), self.threshold)
        for w in found:
            self.report(w)

    def state(self) -> dict:
        m = self.monitor
        return {"g": list(m.g), "d": list(m.d), "last": m.last}

    def load_state(self, state: dict) -> None:
        self._pending = state

    def report(self, w: HealthWarning) -> None:
        advice_text = advice(w.kind, self.trainer.cfg)
        if w.kind == "non_finite" and not list_checkpoints(self.trainer.run_dir / "ckpt"):
            advice_text = advice_text.replace("its last checkpoint is the last good state", "it diverged before its "
                                              "first checkpoint, so there is nothing to resume")
            advice_text = advice_text.replace(", then continue with `gankit train --resume RUN_DIR ...`",
                                              ", then start a new run")
        row = {"step": self.trainer.step, "time": time.time(), "warning": w.kind, "message": w.message, "advice": advice_text}
        self.warnings.append(row)
        text = f"warning: {w.message}. {advice_text}"
        if self.log is not None:
            self.log.message(text)
            if getattr(self.log, "path", None) is not None:
                self.log.write(row)
        else:
            print(text, flush=True)
