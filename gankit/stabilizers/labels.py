"""Target-based D losses for one-sided label smoothing, random label ranges and label flipping.

Targets live on the probability scale: 1 = real, 0 = fake. They are valid only for losses with a
target: minimax/non-saturating/DRAGAN (binary cross-entropy on the logit) and LSGAN (the target t
maps to a + t (b - a)). For cross-entropy, targets are clipped to [0, 1] (a target above 1 has no
minimum); LSGAN uses them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

TARGET_LOSSES = ("minimax", "nonsat", "dragan", "lsgan")


def bce_logits(logits: Tensor, target: Tensor) -> Tensor:
    """Mean binary cross-entropy of sigmoid(logits) against soft targets: t softplus(-l) + (1-t) softplus(l)."""
    t = target.clamp(0.0, 1.0)
    return (t * F.softplus(-logits) + (1.0 - t) * F.softplus(logits)).mean()


def lsgan_targets(logits: Tensor, target: Tensor, a: float, b: float) -> Tensor:
    """0.5 E(D(x) - (a + t (b - a)))^2: LSGAN with soft targets between the fake (a) and real (b) labels."""
    return 0.5 * ((logits - (a + target * (b - a))) ** 2).mean()


@dataclass(frozen=True)
class LabelSpec:
    """How D's targets are drawn: smoothed real target, optional uniform ranges, flip probability."""

    real: float = 1.0
    real_range: tuple[float, float] | None = None
    fake_range: tuple[float, float] | None = None
    flip_prob: float = 0.0

    @property
    def active(self) -> bool:
        return self.real != 1.0 or self.real_range is not None or self.fake_range is not None or self.flip_prob > 0


def _draw(n: int, const: float, rng: tuple[float, float] | None, like: Tensor) -> Tensor:
    if rng is None:
        return torch.full((n,), const, dtype=like.dtype, device=like.device)
    lo, hi = rng
    return lo + (hi - lo) * torch.rand(n, dtype=like.dtype, device=like.device)


def draw_targets(spec: LabelSpec, n_real: int, n_fake: int, like: Tensor) -> tuple[Tensor, Tensor]:
    """Per-sample targets for real and fake logits; a flipped sample gets the other side's target."""
    real_t = _draw(n_real, spec.real, spec.real_range, like)
    fake_t = _draw(n_fake, 0.0, spec.fake_range, like)
    if spec.flip_prob > 0:
        real_alt = _draw(n_real, 0.0, spec.fake_range, like)
        fake_alt = _draw(n_fake, spec.real, spec.real_range, like)
        real_t = torch.where(torch.rand(n_real, device=like.device) < spec.flip_prob, real_alt, real_t)
        fake_t = torch.where(torch.rand(n_fake, device=like.device) < spec.flip_prob, fake_alt, fake_t)
    return real_t, fake_t


def target_d_loss(loss_name: str, real: Tensor, fake: Tensor, real_t: Tensor, fake_t: Tensor,
                  a: float = 0.0, b: float = 1.0) -> Tensor:
    """D loss against per-sample targets for the losses in TARGET_LOSSES (logits of shape (N,))."""
    real, fake = real.reshape(-1), fake.reshape(-1)
    if loss_name == "lsgan":
        return lsgan_targets(real, real_t, a, b) + lsgan_targets(fake, fake_t, a, b)
    return bce_logits(real, real_t) + bce_logits(fake, fake_t)


def label_spec(stab) -> LabelSpec:
    """The LabelSpec of a StabConfig."""
    rr = tuple(stab.real_label_range) if stab.real_label_range else None
    fr = tuple(stab.fake_label_range) if stab.fake_label_range else None
    return LabelSpec(stab.label_smooth, rr, fr, stab.flip_prob)
