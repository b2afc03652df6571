"""One step function per training regime: n_critic discriminator updates, then one generator update.

A step function takes the trainer and returns the step's scalars (floats) for logging.
"""

from __future__ import annotations

import torch

from gankit.losses import clip_weights, dragan_penalty, gradient_penalty


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


def unconditional_step(trainer) -> dict[str, float]:
    cfg = trainer.cfg.train
    G, D = trainer.models["G"], trainer.models["D"]
    opt_g, opt_d = trainer.optims["G"], trainer.optims["D"]
    out: dict[str, float] = {}
    for _ in range(cfg.n_critic):
        real, _ = trainer.next_batch()
        with torch.no_grad():
            fake = G(trainer.sample_z(real.shape[0]))
        real_logits, fake_logits = D(real), D(fake)
        d_loss = trainer.loss.d(real_logits, fake_logits)
        total = d_loss
        pen = d_penalty(trainer, D, real, fake)
        if pen is not None:
            total = total + pen
            out["loss/penalty"] = pen.item()
        opt_d.zero_grad(set_to_none=True)
        total.backward()
        opt_d.step()
        if trainer.loss.clip:
            clip_weights(D, cfg.clip)
    fake = G(trainer.sample_z(cfg.batch_size))
    g_loss = trainer.loss.g(D(fake))
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    out.update({
        "loss/d": d_loss.item(),
        "loss/g": g_loss.item(),
        "d/real": real_logits.mean().item(),
        "d/fake": fake_logits.mean().item(),
        # E[D(x)] - E[D(G(z))]: the critic's Wasserstein estimate for WGAN losses
        "critic/w_estimate": (real_logits.mean() - fake_logits.mean()).item(),
    })
    return out


STEPS = {"unconditional": unconditional_step}
