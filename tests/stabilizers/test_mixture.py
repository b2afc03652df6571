"""A short fixed-seed ring-8 run in which a remedy (PacGAN2) captures more modes than vanilla.

In 300 steps the non-saturating GAN often collapses onto a few modes; the same runs with PacGAN2
cover most of the 8. The comparison sums over 8 seeds (when measured: vanilla 29/64, PacGAN2 52/64),
so one seed whose float rounding differs on another CPU cannot flip it. Modes are counted with a
loose 10-std radius because 300 steps are too few for 3-std precision."""

import torch

from gankit.metrics.modes import mode_metrics
from gankit.run import build_trainer

from gankit.families.gan import generate, sampler_module

from ._helpers import tiny


def _modes(tmp_path, seed: int, **over) -> float:
    cfg = tiny(tmp_path, **{"train.steps": 300, "train.batch_size": 64, "data.n_samples": 4096, "model.g_width": 64,
                            "model.d_width": 64, "model.z_dim": 4, "train.seed": seed, "train.loss": "nonsat", **over})
    t = build_trainer(cfg, tmp_path / f"run{seed}", hooks=False)
    assert t.train() == "finished"
    x = _gen(t, torch.randn(1000, 4, generator=torch.Generator().manual_seed(0))).double().numpy()
    return mode_metrics(x, t.dataset.extra["centers"], t.dataset.extra["std"], threshold=10)["modes_captured"]


def test_pacgan_captures_more_modes_than_vanilla(tmp_path):
    seeds = range(8)
    vanilla = sum(_modes(tmp_path, s) for s in seeds)
    remedy = sum(_modes(tmp_path, s, **{"stab.pack": 2}) for s in seeds)
    assert remedy >= vanilla + 10, (vanilla, remedy)
    assert remedy >= 44  # of 64


def _gen(t, z):
    """Samples of the trained run's sampling generator (G_ema when there is one), eval mode."""
    return generate(sampler_module(t.models), z)
