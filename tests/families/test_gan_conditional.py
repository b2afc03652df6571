"""Conditional GANs through the family core: presets, AC-GAN auxiliary loss, penalties, stabilizers, resume, grids."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from gankit.families.registry import apply_overrides
from gankit.errors import ConfigError
from gankit.nets.conditional import ConditionalGenerator
from gankit.presets import preset_config
from gankit.core import checkpoint as ck
from gankit.core.loop import HookBase
from gankit.run import build_trainer, train

QUIET = {"log.progress": False, "log.tensorboard": False, "train.threads": 1, "log.name": "run"}


def tiny(tmp_path, preset="cgan-fashion", **over):
    base = {"train.steps": 4, "train.batch_size": 8, "data.limit": 64, "model.g_width": 8, "model.d_width": 8,
            "model.z_dim": 8, "log.out_dir": str(tmp_path), "log.sample_every": 0, "log.ckpt_every": 2,
            "log.n_grid": 20, **QUIET}
    base.update(over)
    return apply_overrides(preset_config(preset), base)


class Record(HookBase):
    def __init__(self):
        self.rows = []

    def after_step(self):
        self.rows.append(dict(self.trainer.scalars))


@pytest.mark.parametrize("preset", ["cgan-fashion", "projection-fashion", "acgan-fashion"])
def test_presets_train_a_few_steps(tmp_path, preset):
    status, t = train(tiny(tmp_path, preset))
    assert status == "finished" and t.step == 4
    assert isinstance(t.models["G"], ConditionalGenerator)
    assert [(p.name, p.optims, p.repeats) for p in t.phases] == [("D", ("D",), 1), ("G", ("G",), 1)]
    assert {"loss/d", "loss/g", "d/real", "d/fake"} <= t.scalars.keys()
    assert ("loss/aux_real" in t.scalars) == (preset == "acgan-fashion")
    assert all(v == v for v in t.scalars.values())
    assert ck.load_checkpoint(tmp_path / "run")[1]["num_classes"] == 10
    # per-class grid: one column per class (10 x 28 px + padding, scale 2), 20 samples -> 2 rows
    assert Image.open(tmp_path / "run" / "samples" / "latest.png").size == (2 * (10 * 30 + 2), 2 * (2 * 30 + 2))


def test_acgan_auxiliary_loss_decreases_on_ring8(tmp_path):
    over = {"model.cond": "acgan", "data.n_samples": 512, "train.batch_size": 32, "train.steps": 60,
            "model.g_width": 16, "model.d_width": 32, "log.ckpt_every": 0, "log.sample_every": 0, "train.d_lr": 5e-3,
            "train.acgan_weight": 1.0}
    t = build_trainer(tiny(tmp_path, "gan-ring8", **{**over, "data.limit": None}), tmp_path / "run", hooks=False)
    rec = Record()
    t.register(rec)
    assert t.train() == "finished"
    first = sum(r["loss/aux_real"] for r in rec.rows[:5]) / 5
    last = sum(r["loss/aux_real"] for r in rec.rows[-5:]) / 5
    assert first > 1.5 and last < 0.5 * first  # cross-entropy starts near ln 8 = 2.08
    assert sum(r["acc/aux_real"] for r in rec.rows[-5:]) / 5 > 0.9


def test_gradient_penalty_with_projection(tmp_path):
    status, t = train(tiny(tmp_path, "projection-fashion", **{"train.loss": "wgan-gp", "model.d_norm": "layer",
                                                               "train.n_critic": 2}))
    assert status == "finished" and t.scalars["loss/penalty"] > 0


def test_cgan_with_pack_instance_noise_and_r1(tmp_path):
    """The stabilizers compose with a conditional model: PacGAN packs samples with their label planes."""
    over = {"stab.pack": 2, "stab.instance_noise": 0.1, "stab.r1_gamma": 1.0, "train.steps": 3}
    status, t = train(tiny(tmp_path, "cgan-fashion", **over))
    assert status == "finished" and t.scalars["loss/r1"] > 0
    D = t.models["D"]
    assert D.pack == 2 and D.body[0].in_channels == 2 * (1 + 10)  # (image + 10 label planes) x 2
    x, y = torch.randn(8, 1, 28, 28), torch.arange(8) % 10
    assert D(x, y).shape == (4,)
    # a pack's logit depends on both samples' labels
    y2 = y.clone()
    y2[1] = (y2[1] + 1) % 10
    diff = (D.eval()(x, y) - D(x, y2)).abs()
    assert diff[0] > 0 and torch.all(diff[1:] == 0)
    with pytest.raises(ConfigError, match="PacGAN works with model.cond=cgan"):
        tiny(tmp_path, "projection-fashion", **{"stab.pack": 2})
    with pytest.raises(ConfigError, match="unrolled"):
        tiny(tmp_path, "cgan-fashion", **{"stab.unrolled_k": 2})


def test_resume_is_exact(tmp_path):
    over = {"train.n_critic": 2, "train.steps": 6, "log.ckpt_every": 3}
    full = train(tiny(tmp_path / "full", "acgan-fashion", **over))[1]
    cfg = tiny(tmp_path / "part", "acgan-fashion", **{**over, "train.steps": 3})
    train(cfg)
    resumed = train(tiny(tmp_path / "part", "acgan-fashion", **over), resume=tmp_path / "part" / "run")[1]
    assert resumed.step == 6
    for name in ("G", "D"):
        a, b = full.models[name].state_dict(), resumed.models[name].state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), name


def test_cond_bn_needs_a_conditional_model():
    with pytest.raises(ConfigError, match="cond_bn"):
        apply_overrides(preset_config("dcgan-fashion"), {"model.cond_bn": True})
    with pytest.raises(ConfigError, match="model.cond"):
        apply_overrides(preset_config("dcgan-fashion"), {"model.cond": "bogus"})
