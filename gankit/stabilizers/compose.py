"""Stabilizers as objects that compose with any adversarial family.

Three kinds:
- transforms of D's inputs: `DInputs` (instance noise, annealed); PacGAN packs inside D (`Packed`);
- D's objective with soft/flipped targets: `DObjective` (label smoothing, random label ranges, flipping);
- regularizers added to a phase's loss: `Regularizer` (WGAN-GP, DRAGAN, R1), each a weighted term of
  a critic function `D(x)` with the real and fake inputs.
Model wrappers (spectral norm, minibatch layers, G noise, EMA) are functions on modules (norm.py,
minibatch.py, noise.py, ema.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import Tensor

from gankit.losses import GANLoss, dragan_penalty, gradient_penalty, r1_penalty
from gankit.stabilizers.labels import draw_targets, label_spec, target_d_loss
from gankit.stabilizers.noise import add_instance_noise, instance_noise_std

Critic = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class DInputs:
    """What D's inputs go through: instance noise of `std`, decaying linearly to 0 over `anneal` steps."""

    std: float = 0.0
    anneal: int = 0

    def __call__(self, x: Tensor, step: int) -> Tensor:
        return add_instance_noise(x, instance_noise_std(self.std, step, self.anneal))

    @classmethod
    def from_stab(cls, s) -> "DInputs":
        return cls(s.instance_noise, s.instance_noise_anneal_steps)


class DObjective:
    """The loss's D term, or its target form when label smoothing / random labels / flipping is on."""

    def __init__(self, loss: GANLoss, stab, loss_name: str, a: float = 0.0, b: float = 1.0):
        self.loss, self.spec, self.name, self.a, self.b = loss, label_spec(stab), loss_name, a, b

    def __call__(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        if not self.spec.active:
            return self.loss.d(real_logits, fake_logits)
        real_t, fake_t = draw_targets(self.spec, real_logits.shape[0], fake_logits.shape[0], real_logits)
        return target_d_loss(self.name, real_logits, fake_logits, real_t, fake_t, self.a, self.b)


@dataclass(frozen=True)
class Regularizer:
    """weight * penalty(critic, real_in, fake_in, real_raw), logged as `name`."""

    name: str
    weight: float
    penalty: Callable[[Critic, Tensor, Tensor, Tensor], Tensor]

    def __call__(self, critic: Critic, real_in: Tensor, fake_in: Tensor, real_raw: Tensor) -> Tensor:
        return self.weight * self.penalty(critic, real_in, fake_in, real_raw)


def _gp(critic, real_in, fake_in, real_raw):
    return gradient_penalty(critic, real_in, fake_in)


def _dragan(critic, real_in, fake_in, real_raw):
    return dragan_penalty(critic, real_in)


def _r1(critic, real_in, fake_in, real_raw):
    return r1_penalty(critic, real_raw)


def regularizers(loss: GANLoss, gp_lambda: float, stab) -> list[Regularizer]:
    """The loss's own penalty (WGAN-GP, DRAGAN; weight gp_lambda), then R1 (gamma / 2) when stab.r1_gamma > 0."""
    out = []
    if loss.penalty == "gp":
        out.append(Regularizer("loss/penalty", gp_lambda, _gp))
    elif loss.penalty == "dragan":
        out.append(Regularizer("loss/penalty", gp_lambda, _dragan))
    elif loss.penalty is not None:
        raise ValueError(f"unknown penalty {loss.penalty!r}")
    if stab.r1_gamma > 0:
        out.append(Regularizer("loss/r1", 0.5 * stab.r1_gamma, _r1))
    return out
