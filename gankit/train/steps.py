"""One step function per training regime: n_critic discriminator updates, then one generator update.

A step function takes the trainer and returns the step's scalars (floats) for logging.
"""

from __future__ import annotations

import torch

from gankit.losses import clip_weights, dragan_penalty, gradient_penalty, r1_penalty
from gankit.stabilizers import mrgan
from gankit.stabilizers.labels import draw_targets, label_spec, target_d_loss
from gankit.stabilizers.noise import add_instance_noise, instance_noise_std
from gankit.stabilizers.unrolled import adam_state_from, unroll
from gankit.train.cond_steps import conditional_step


def d_penalty(trainer, D, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | None:
    """The loss's gradient penalty (already weighted by gp_lambda), or None."""
    kind = trainer.loss.penalty
    if kind is None:
        return None
    lam = trainer.cfg.train.gp_lambda
    if kind == "gp":
        return lam * gradient_penalty(D, real, fake)
    if kind == "dragan":
        return lam * dragan_penalty(D, real)
    raise ValueError(f"unknown penalty {kind!r}")


def with_instance_noise(trainer, x: torch.Tensor) -> torch.Tensor:
    """x plus instance noise (stab.instance_noise, annealed over stab.instance_noise_anneal_steps) when it is on."""
    s = trainer.cfg.stab
    return add_instance_noise(x, instance_noise_std(s.instance_noise, trainer.step, s.instance_noise_anneal_steps))


def d_objective(trainer, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The loss's D term, or its target form when label smoothing / random labels / flipping is on."""
    spec = label_spec(trainer.cfg.stab)
    if not spec.active:
        return trainer.loss.d(real_logits, fake_logits)
    t = trainer.cfg.train
    real_t, fake_t = draw_targets(spec, real_logits.shape[0], fake_logits.shape[0], real_logits)
    return target_d_loss(t.loss, real_logits, fake_logits, real_t, fake_t, t.lsgan_a, t.lsgan_b)


def r1_term(trainer, D, real: torch.Tensor) -> torch.Tensor | None:
    """gamma/2 * R1 on real data (stab.r1_gamma), or None."""
    gamma = trainer.cfg.stab.r1_gamma
    return 0.5 * gamma * r1_penalty(D, real) if gamma > 0 else None


def g_critic(trainer, G, D, real: torch.Tensor):
    """D as G's loss sees it: D itself, or (stab.unrolled_k > 0) D after k differentiable updates on the
    loss's D term, each with the real batch and fresh fakes G(z) that stay in the graph."""
    s, t = trainer.cfg.stab, trainer.cfg.train
    if s.unrolled_k == 0:
        return D

    def loss_i(call, i: int) -> torch.Tensor:
        return trainer.loss.d(call(real), call(G(trainer.sample_z(real.shape[0]))))

    adam = s.unrolled_opt == "adam"
    state = adam_state_from(trainer.optims["D"], D) if adam else {}
    kw = {"betas": (t.beta1, t.beta2)} if adam else {}
    return unroll(D, loss_i, s.unrolled_k, s.unrolled_lr or t.d_lr, s.unrolled_opt, state, **kw)


def d_update(trainer, G, D, real: torch.Tensor, out: dict[str, float]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One D update with the stabilizers on; returns (D loss, real logits, fake logits)."""
    with torch.no_grad():
        fake = G(trainer.sample_z(real.shape[0]))
    real_in, fake_in = with_instance_noise(trainer, real), with_instance_noise(trainer, fake)
    real_logits, fake_logits = D(real_in), D(fake_in)
    d_loss = d_objective(trainer, real_logits, fake_logits)
    total = d_loss
    pen = d_penalty(trainer, D, real_in, fake_in)
    if pen is not None:
        total = total + pen
        out["loss/penalty"] = pen.item()
    r1 = r1_term(trainer, D, real)
    if r1 is not None:
        total = total + r1
        out["loss/r1"] = r1.item()
    trainer.optims["D"].zero_grad(set_to_none=True)
    total.backward()
    trainer.optims["D"].step()
    if trainer.loss.clip:
        clip_weights(D, trainer.cfg.train.clip)
    return d_loss, real_logits, fake_logits


def unconditional_step(trainer) -> dict[str, float]:
    cfg = trainer.cfg.train
    G, D = trainer.models["G"], trainer.models["D"]
    opt_g = trainer.optims["G"]
    out: dict[str, float] = {}
    for _ in range(cfg.n_critic):
        real, _ = trainer.next_batch()
        d_loss, real_logits, fake_logits = d_update(trainer, G, D, real, out)
        if "D2" in trainer.models:
            out.update(mrgan.d2_update(trainer, real))
    fake = G(trainer.sample_z(cfg.batch_size))
    critic = g_critic(trainer, G, D, real)
    g_loss = trainer.loss.g(critic(with_instance_noise(trainer, fake)))
    total = g_loss
    if "E" in trainer.models:
        extra, scalars = mrgan.g_terms(trainer, real, fake)
        total = total + extra
        out.update(scalars)
        trainer.optims["E"].zero_grad(set_to_none=True)
    opt_g.zero_grad(set_to_none=True)
    total.backward()
    opt_g.step()
    if "E" in trainer.models:
        trainer.optims["E"].step()
    out.update({
        "loss/d": d_loss.item(),
        "loss/g": g_loss.item(),
        "d/real": real_logits.mean().item(),
        "d/fake": fake_logits.mean().item(),
        # E[D(x)] - E[D(G(z))]: the critic's Wasserstein estimate for WGAN losses
        "critic/w_estimate": (real_logits.mean() - fake_logits.mean()).item(),
    })
    return out


STEPS = {"unconditional": unconditional_step, "conditional": conditional_step}
