import torch
from torch import nn

from gankit.stabilizers.ema import ema_update, make_ema
from gankit.run import build_trainer

from gankit.families.gan import generate, sampler_module

from ._helpers import tiny


def test_ema_update_arithmetic():
    m = nn.BatchNorm1d(2)
    ema = make_ema(m)
    with torch.no_grad():
        m.weight.copy_(torch.tensor([3.0, -1.0]))
        m.running_mean.copy_(torch.tensor([5.0, 6.0]))
    ema_update(ema, m, 0.9)  # ema weight was 1
    torch.testing.assert_close(ema.weight, torch.tensor([0.9 * 1 + 0.1 * 3, 0.9 * 1 + 0.1 * -1]))
    torch.testing.assert_close(ema.running_mean, torch.tensor([5.0, 6.0]))  # buffers are copied
    assert not any(p.requires_grad for p in ema.parameters())


def test_ema_hook_copies_before_start_then_averages(tmp_path):
    cfg = tiny(tmp_path, **{"stab.ema": 0.5, "stab.ema_start": 3, "train.steps": 3})
    t = build_trainer(cfg, tmp_path / "run", hooks=False)
    t.train()
    for pe, p in zip(t.models["G_ema"].parameters(), t.models["G"].parameters()):
        assert torch.equal(pe, p)
    before = [p.clone() for p in t.models["G_ema"].parameters()]
    t.cfg.train.steps = 4
    t.train()
    for b, pe, p in zip(before, t.models["G_ema"].parameters(), t.models["G"].parameters()):
        torch.testing.assert_close(pe, 0.5 * b + 0.5 * p)
    z = torch.randn(5, 4)
    assert torch.equal(_gen(t, z), t.models["G_ema"](z))  # sampling uses G_ema


def _gen(t, z):
    """Samples of the trained run's sampling generator (G_ema when there is one), eval mode."""
    return generate(sampler_module(t.models), z)
