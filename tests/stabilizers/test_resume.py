"""Exact resume with stabilizers: extra models/optimizers, EMA, RNG-using options, lr decay."""

import pytest
import torch

from gankit.core import checkpoint as ck
from gankit.core.loop import HookBase
from gankit.run import build_trainer, train

from gankit.families.gan import generate, sampler_module

from ._helpers import params, tiny


class StopAt(HookBase):
    def __init__(self, step):
        self.at = step

    def after_step(self):
        if self.trainer.step == self.at:
            self.trainer._on_signal(2, None)


@pytest.mark.parametrize("over", [
    {"stab.ema": 0.9, "stab.pack": 2, "stab.label_smooth": 0.9, "stab.flip_prob": 0.1, "stab.instance_noise": 0.1,
     "stab.instance_noise_anneal_steps": 6, "stab.r1_gamma": 1.0, "stab.lr_decay": "cosine", "stab.g_noise": 0.1,
     "stab.g_dropout": 0.1, "stab.mbstd": True, "stab.spectral_norm_d": True},
    {"stab.mrgan_recon": 0.5, "stab.mrgan_mode": 0.1, "stab.unrolled_k": 2, "stab.unrolled_opt": "adam",
     "stab.minibatch_disc": 3},
    {"stab.madgan_k": 2, "stab.ema": 0.5},
])
def test_resumed_equals_uninterrupted(tmp_path, over):
    full = train(tiny(tmp_path / "full", **over))[1]
    t = build_trainer(tiny(tmp_path / "part", **over), tmp_path / "part" / "run")
    t.register(StopAt(3))
    assert t.train() == "interrupted"
    status, resumed = train(tiny(tmp_path / "part", **over), resume=tmp_path / "part" / "run")
    assert status == "finished"
    pf, pr = params(full), params(resumed)
    assert pf.keys() == pr.keys()
    for k in pf:
        torch.testing.assert_close(pr[k], pf[k], rtol=0, atol=0, msg=k)
    assert set(full.optims) == set(resumed.optims)


def test_sample_loads_a_stabilized_generator(tmp_path):
    from gankit.sample import generate, load_generator

    over = {"stab.ema": 0.9, "stab.spectral_norm_g": True, "stab.g_noise": 0.1, "stab.madgan_k": 2}
    _, t = train(tiny(tmp_path, **over))
    G, _, _ = load_generator(tmp_path / "run")
    z = torch.randn(6, 4)
    torch.testing.assert_close(G(z), _gen(t, z))
    assert generate(G, 10).shape == (10, 2)
    assert ck.find_checkpoint(tmp_path / "run").name == "step_00000008.json"


def _gen(t, z):
    """Samples of the trained run's sampling generator (G_ema when there is one), eval mode."""
    return generate(sampler_module(t.models), z)
