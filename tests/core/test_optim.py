"""Optimizers from config, and lr schedules for optimizers of any name (issue 10's compounding-decay bug)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from gankit.core.hooks import LRDecayHook
from gankit.core.optim import base_lrs, decay_factor, make_optimizer
from gankit.errors import ConfigError


def fake_trainer(optims, steps=10):
    """What LRDecayHook reads from a trainer: optims, their configured lrs, the step and cfg.train.steps."""
    cfg = SimpleNamespace(train=SimpleNamespace(steps=steps, g_lr=0.5, d_lr=0.5))
    return SimpleNamespace(optims=optims, base_lrs=base_lrs(optims), step=0, cfg=cfg)


def test_decay_factor_shapes():
    assert decay_factor("none", 5, 10) == 1.0
    assert decay_factor("linear", 5, 10) == pytest.approx(0.5)
    assert decay_factor("linear", 10, 10, floor=0.2) == pytest.approx(0.2)
    assert decay_factor("cosine", 5, 10) == pytest.approx(0.5)
    assert decay_factor("cosine", 0, 10) == pytest.approx(1.0) and decay_factor("cosine", 20, 10) == pytest.approx(0.0)


@pytest.mark.parametrize("names", [("G", "D"), ("gen", "critic", "vae")])
def test_linear_decay_never_compounds_for_any_optimizer_name(names):
    lrs = {n: 0.1 * (i + 1) for i, n in enumerate(names)}
    optims = {n: torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr) for n, lr in lrs.items()}
    t = fake_trainer(optims)
    hook = LRDecayHook("linear")
    hook.trainer = t
    hook.before_train()
    for step in range(1, 8):
        t.step = step
        hook.after_step()
        for n, opt in optims.items():
            assert opt.param_groups[0]["lr"] == pytest.approx(lrs[n] * (1 - step / 10)), (n, step)


def test_make_optimizer():
    p = [torch.nn.Parameter(torch.zeros(2))]
    cfg = SimpleNamespace(beta1=0.1, beta2=0.2, momentum=0.3)
    assert make_optimizer("adam", p, 1e-3, cfg).param_groups[0]["betas"] == (0.1, 0.2)
    assert make_optimizer("sgd", p, 1e-3, cfg).param_groups[0]["momentum"] == 0.3
    with pytest.raises(ConfigError, match="unknown optimizer 'lbfgs'; valid: adam, sgd, rmsprop"):
        make_optimizer("lbfgs", p, 1e-3, cfg)
