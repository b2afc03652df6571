"""The worked example of docs/architecture.md: a family added in one file trains through the unchanged core."""

from __future__ import annotations

import pytest
import torch

from gankit.core import checkpoint as ck
from gankit.core.loop import HookBase
from gankit.errors import ConfigError
from gankit.families import registry
from gankit.run import build_trainer, train
from gankit.sample import load_models

from . import tiny_vae


@pytest.fixture
def registered(monkeypatch):
    """One line in registry.FAMILIES is all a family needs (here added for the test only)."""
    monkeypatch.setitem(registry.FAMILIES, "tiny-vae", tiny_vae.FAMILY)
    monkeypatch.setitem(registry.MODEL_SECTIONS, "tiny-vae", tiny_vae.TinyVAEConfig)


def config(tmp_path, **over):
    base = {"model.family": "tiny-vae", "data.name": "ring8", "data.n_samples": 2048, "train.batch_size": 128,
            "train.g_lr": 3e-3, "train.steps": 300, "model.beta": 0.01, "log.out_dir": str(tmp_path), "log.name": "run",
            "log.progress": False, "log.tensorboard": False, "log.sample_every": 50, "log.ckpt_every": 50,
            "log.log_every": 25, "train.threads": 1, "stab.monitor": False}
    return registry.apply_overrides(registry.new_config("tiny-vae"), {**base, **over})


class Record(HookBase):
    def __init__(self):
        self.rows = []

    def after_step(self):
        self.rows.append(dict(self.trainer.scalars))


def test_config_section_is_the_familys(registered, tmp_path):
    cfg = config(tmp_path, **{"model.latent": 3})
    assert type(cfg.model) is tiny_vae.TinyVAEConfig and cfg.model.latent == 3
    with pytest.raises(ConfigError, match="valid keys of 'model': family, latent, width, beta"):
        config(tmp_path, **{"model.z_dim": 3})
    with pytest.raises(ConfigError, match="model.beta >= 0"):
        config(tmp_path, **{"model.beta": -1})
    with pytest.raises(ConfigError, match="unknown model.family 'nope'"):
        config(tmp_path, **{"model.family": "nope"})


def test_trains_samples_and_reloads(registered, tmp_path):
    t = build_trainer(config(tmp_path), tmp_path / "run")
    rec = Record()
    t.register(rec)
    assert t.train() == "finished"
    first = sum(r["loss/recon"] for r in rec.rows[:10]) / 10
    last = sum(r["loss/recon"] for r in rec.rows[-10:]) / 10
    assert last < 0.5 * first  # it learns to reconstruct the ring
    assert (tmp_path / "run" / "samples" / "latest.png").is_file() and (tmp_path / "run" / "loss_curves.png").is_file()
    meta = ck.load_checkpoint(tmp_path / "run")[1]
    assert meta["spec"]["modality"] == "vector" and meta["optims"].keys() == {"vae"}
    models, cfg, _ = load_models(tmp_path / "run")
    assert cfg.model.family == "tiny-vae" and set(models) == {"enc", "dec"}
    s = tiny_vae.sample(models, 2000, seed=1)
    radius = s.norm(dim=1)
    assert s.shape == (2000, 2) and 0.6 < float(radius.median()) < 1.4  # samples near the unit ring


def test_resume_is_exact(registered, tmp_path):
    full = train(config(tmp_path / "full", **{"train.steps": 60}))[1]
    part = build_trainer(config(tmp_path / "part", **{"train.steps": 60, "log.ckpt_every": 0}), tmp_path / "part" / "run")

    class Stop(HookBase):
        def after_step(self):
            if self.trainer.step == 23:
                self.trainer._on_signal(15, None)

    part.register(Stop())
    assert part.train() == "interrupted"
    resumed = train(config(tmp_path / "part", **{"train.steps": 60}), resume=tmp_path / "part" / "run")[1]
    for name in ("enc", "dec"):
        a, b = full.models[name].state_dict(), resumed.models[name].state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), name


def test_gan_stabilizer_options_do_not_leak_into_other_families(registered, tmp_path):
    """A VAE run never touches the GAN family's code: its phases are its own."""
    t = build_trainer(config(tmp_path, **{"train.steps": 2}), tmp_path / "run", hooks=False)
    assert [(p.name, p.optims) for p in t.phases] == [("elbo", ("vae",))]

