"""The class-conditional training step (CGAN, projection D, AC-GAN) and its sample-grid hook.

D sees real images with their labels and fakes generated for the same labels; G's update reuses the
last critic step's fakes. AC-GAN adds ``train.acgan_weight`` x cross-entropy of D's auxiliary
classifier on real and fake samples to D's loss, and on the fakes to G's loss (Odena et al. 2017).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from gankit import viz
from gankit.losses import clip_weights
from gankit.train.hooks import LOSS_GROUPS, SampleHook

COND_LOSS_GROUPS = {**LOSS_GROUPS, "auxiliary classifier": ["loss/aux_real", "loss/aux_fake", "loss/aux_g",
                                                                  "acc/aux_real"]}


def _aux_loss(aux: torch.Tensor | None, y: torch.Tensor) -> torch.Tensor | None:
    return None if aux is None else F.cross_entropy(aux, y)


def _bind(D, y: torch.Tensor):
    """D with its labels fixed, for the gradient penalties (they call D(x) on mixed samples)."""
    return lambda x: D(x, y)


def _d_update(trainer, G, D, out: dict[str, float], keep_graph: bool):
    """One critic update; returns (fakes, with G's graph when `keep_graph`, their labels, D's logits on real, fake)."""
    from gankit.train.steps import d_penalty  # late import: steps registers this module's step

    cfg = trainer.cfg.train
    real, y = trainer.next_batch()
    with torch.set_grad_enabled(keep_graph):
        fake_g = G(trainer.sample_z(real.shape[0]), y)
    fake = fake_g.detach()
    (real_logits, real_aux), (fake_logits, fake_aux) = D.outputs(real, y), D.outputs(fake, y)
    d_loss = trainer.loss.d(real_logits, fake_logits)
    total = d_loss
    if real_aux is not None:
        aux_real, aux_fake = _aux_loss(real_aux, y), _aux_loss(fake_aux, y)
        total = total + cfg.acgan_weight * (aux_real + aux_fake)
        out["loss/aux_real"], out["loss/aux_fake"] = aux_real.item(), aux_fake.item()
        out["acc/aux_real"] = (real_aux.argmax(1) == y).float().mean().item()
    pen = d_penalty(trainer, _bind(D, y), real, fake)
    if pen is not None:
        total = total + pen
        out["loss/penalty"] = pen.item()
    trainer.optims["D"].zero_grad(set_to_none=True)
    total.backward()
    trainer.optims["D"].step()
    if trainer.loss.clip:
        clip_weights(D, cfg.clip)
    out["loss/d"] = d_loss.item()
    return fake_g, y, real_logits, fake_logits


def conditional_step(trainer) -> dict[str, float]:
    """n_critic D updates on (x, y) and G(z, y), then one G update on the last critic step's fakes."""
    cfg = trainer.cfg.train
    G, D = trainer.models["G"], trainer.models["D"]
    out: dict[str, float] = {}
    for i in range(cfg.n_critic):
        last = i == cfg.n_critic - 1  # only the last critic step's fakes serve G's update
        fake_g, y, real_logits, fake_logits = _d_update(trainer, G, D, out, keep_graph=last)
    logits, aux = D.outputs(fake_g, y)
    g_loss = trainer.loss.g(logits)
    total = g_loss
    if aux is not None:
        aux_g = _aux_loss(aux, y)
        total = total + cfg.acgan_weight * aux_g
        out["loss/aux_g"] = aux_g.item()
    trainer.optims["G"].zero_grad(set_to_none=True)
    total.backward()
    trainer.optims["G"].step()
    out.update({
        "loss/g": g_loss.item(),
        "d/real": real_logits.mean().item(),
        "d/fake": fake_logits.mean().item(),
        "critic/w_estimate": (real_logits.mean() - fake_logits.mean()).item(),
    })
    return out


class CondSampleHook(SampleHook):
    """Sample grids with one column per class (rows share z), at a fixed z."""

    def before_train(self) -> None:
        super().before_train()
        k = self.trainer.models["G"].num_classes
        rows = max(1, math.ceil(self.n / k))
        g = torch.Generator().manual_seed(self.seed)
        z = torch.randn(rows, self.trainer.models["G"].z_dim, generator=g)
        self.z = z.repeat_interleave(k, dim=0)
        self.y = torch.arange(k).repeat(rows)
        self.k = k

    def save(self) -> Path:
        t = self.trainer
        fake = t.generate(self.z, y=self.y.to(t.device)).cpu()
        path = self.dir / f"step_{t.step:08d}.png"
        if fake.dim() == 4:
            viz.save_grid(fake, path, nrow=self.k, scale=2)
        else:
            viz.save_scatter(fake, path, real=t.dataset.x[: len(fake)], centers=t.dataset.extra.get("centers"),
                             title=f"step {t.step}")
        (self.dir / "latest.png").write_bytes(path.read_bytes())
        viz.plot_scalars(viz.read_jsonl(t.run_dir / "metrics.jsonl"), t.run_dir / "loss_curves.png",
                         COND_LOSS_GROUPS, title=t.cfg.preset)
        return path
