import pytest
import torch

from gankit.errors import ConfigError
from gankit.losses import d_lsgan, d_minimax
from gankit.stabilizers.labels import LabelSpec, bce_logits, draw_targets, target_d_loss

from ._helpers import tiny


def test_hard_targets_equal_the_plain_losses():
    r, f = torch.randn(9), torch.randn(9)
    ones, zeros = torch.ones(9), torch.zeros(9)
    torch.testing.assert_close(target_d_loss("nonsat", r, f, ones, zeros), d_minimax(r, f))
    torch.testing.assert_close(target_d_loss("lsgan", r, f, ones, zeros, a=-1.0, b=1.0), d_lsgan(r, f, a=-1.0, b=1.0))


def test_smoothed_bce_minimum_is_at_the_target():
    logit = torch.linspace(-5, 5, 2001).requires_grad_(True)
    target = torch.full_like(logit, 0.9)
    (grad,) = torch.autograd.grad(bce_logits(logit, target) * len(logit), logit)  # per-element derivative
    root = logit[grad.abs().argmin()]
    assert abs(torch.sigmoid(root).item() - 0.9) < 2e-3


def test_random_label_ranges_and_flips():
    torch.manual_seed(0)
    like = torch.zeros(1)
    spec = LabelSpec(real_range=(0.7, 1.2), fake_range=(0.0, 0.3))
    real_t, fake_t = draw_targets(spec, 5000, 5000, like)
    assert 0.7 <= real_t.min() and real_t.max() <= 1.2 and real_t.std() > 0.1
    assert 0.0 <= fake_t.min() and fake_t.max() <= 0.3
    real_t, fake_t = draw_targets(LabelSpec(real=0.9, flip_prob=0.2), 20000, 20000, like)
    assert abs((real_t == 0.0).float().mean().item() - 0.2) < 0.02
    assert abs((fake_t == 0.9).float().mean().item() - 0.2) < 0.02
    assert sorted(real_t.unique().tolist()) == pytest.approx([0.0, 0.9])


def test_label_options_need_a_target_loss(tmp_path):
    with pytest.raises(ConfigError, match="label"):
        tiny(tmp_path, **{"train.loss": "wgan-gp", "model.d_norm": "none", "stab.label_smooth": 0.9})
    with pytest.raises(ConfigError, match="real_label_range"):
        tiny(tmp_path, **{"stab.real_label_range": "1.2,0.7"})
    tiny(tmp_path, **{"train.loss": "lsgan", "stab.flip_prob": 0.05})  # valid
