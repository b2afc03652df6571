"""MAD-GAN's phases for the GAN family (Ghosh et al. 2018; stab.madgan_k = k generators).

D has k+1 outputs: "real" (class k) or "made by generator i" (class i); every generator wants its
samples classified as real. The networks are built by the GAN family (MultiGenerator, widened head).
"""

from __future__ import annotations

from functools import partial

import torch
from torch import Tensor, nn

from gankit.core.phases import Phase, StepContext
from gankit.stabilizers.madgan import madgan_d_loss, madgan_g_loss


def _z(ctx: StepContext, G: nn.Module, n: int) -> Tensor:
    return torch.randn(n, G.z_dim, generator=ctx.noise, device=ctx.device)


def d_loss(k: int, batch: dict[str, Tensor], ctx: StepContext):
    G, D = ctx.models["G"], ctx.models["D"]
    real = batch["x"]
    with torch.no_grad():
        fake = G(_z(ctx, G, real.shape[0]))
    which = G.assignment(real.shape[0], real.device)
    real_logits, fake_logits = D(real), D(fake)
    loss = madgan_d_loss(real_logits, fake_logits, which, k)
    real_p = real_logits.detach().softmax(1)[:, k].mean()
    fake_p = fake_logits.detach().softmax(1)[:, k].mean()
    return loss, {"loss/d": loss.detach(), "d/real": real_p, "d/fake": fake_p, "critic/w_estimate": real_p - fake_p}


def g_loss(k: int, batch_size: int, batch: dict[str, Tensor], ctx: StepContext):
    G, D = ctx.models["G"], ctx.models["D"]
    loss = madgan_g_loss(D(G(_z(ctx, G, batch_size))), k)
    return loss, {"loss/g": loss.detach()}


def phases(cfg, models: dict[str, nn.Module]) -> list[Phase]:
    """n_critic (k+1)-way D updates, then one update of all generators."""
    k = cfg.stab.madgan_k
    return [Phase("D", ("D",), partial(d_loss, k), repeats=cfg.train.n_critic),
            Phase("G", ("G",), partial(g_loss, k, cfg.train.batch_size), new_batch=False)]
