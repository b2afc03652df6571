"""Stabilizers act inside the GAN family's phases (not only in their unit functions): instance noise reaches
D's inputs, R1 is the term added to D's loss, lr decay sets every optimizer's lr during a run."""

from __future__ import annotations

import pytest
import torch

from gankit.core.phases import StepContext
from gankit.losses import r1_penalty
from gankit.run import build_trainer, train
from tests.stabilizers._helpers import tiny


def d_inputs(trainer) -> list[torch.Tensor]:
    """Run one step and return what D was called with (real first, then fake, in the D phase)."""
    seen = []
    D = trainer.models["D"]
    handle = D.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    trainer.stream.load_state({"epoch": 0, "pos": 0})
    expected_real = trainer.next_batch()["x"]
    trainer.stream.load_state({"epoch": 0, "pos": 0})
    trainer.run_step()
    handle.remove()
    return seen, expected_real


@pytest.mark.parametrize("std", [0.0, 0.3])
def test_instance_noise_reaches_ds_inputs(tmp_path, std):
    t = build_trainer(tiny(tmp_path, **{"stab.instance_noise": std, "train.batch_size": 256,
                                        "data.n_samples": 1024}), tmp_path / "r", hooks=False)
    seen, real = d_inputs(t)
    noise = seen[0] - real
    if std == 0:
        assert torch.equal(seen[0], real)
    else:
        assert abs(float(noise.std()) - std) < 0.03 and abs(float(noise.mean())) < 0.03


def test_instance_noise_anneals_during_training(tmp_path):
    t = build_trainer(tiny(tmp_path, **{"stab.instance_noise": 0.5, "stab.instance_noise_anneal_steps": 4,
                                        "train.batch_size": 256, "data.n_samples": 1024}), tmp_path / "r", hooks=False)
    t.step = 2  # half way: std 0.25
    seen, real = d_inputs(t)
    assert abs(float((seen[0] - real).std()) - 0.25) < 0.03
    t.step = 4  # annealed away
    seen, real = d_inputs(t)
    assert torch.equal(seen[0], real)


def test_r1_is_the_term_added_to_ds_loss(tmp_path):
    gamma = 3.0
    t = build_trainer(tiny(tmp_path, **{"stab.r1_gamma": gamma}), tmp_path / "r", hooks=False)
    d_phase = t.phases[0]
    batch = t.next_batch()
    ctx = StepContext(t.models, t.optims, 0, t.noise, t.device)
    total, out = d_phase.loss(batch, ctx)
    expected = 0.5 * gamma * r1_penalty(t.models["D"], batch["x"]).detach()
    assert float(out["loss/r1"]) == pytest.approx(float(expected), rel=1e-5) and float(expected) > 0
    assert float(total.detach()) == pytest.approx(float(out["loss/d"]) + float(expected), rel=1e-5)


def test_lr_decay_sets_every_optimizers_lr(tmp_path):
    over = {"stab.lr_decay": "linear", "stab.lr_decay_floor": 0.1, "stab.mrgan_recon": 0.5, "train.steps": 10,
            "train.g_lr": 2e-3, "train.d_lr": 1e-3}
    status, t = train(tiny(tmp_path, **over))
    assert status == "finished" and set(t.optims) == {"G", "D", "E", "D2"}
    # after the last step the schedule is at its floor: 10% of each optimizer's configured lr
    want = {"G": 2e-4, "E": 2e-4, "D": 1e-4, "D2": 1e-4}
    assert {k: pytest.approx(o.param_groups[0]["lr"]) for k, o in t.optims.items()} == want


@pytest.mark.parametrize("reuse", [False, True])
def test_g_reuse_fakes_makes_one_g_forward_per_step_and_g_sees_ds_fakes(tmp_path, reuse):
    t = build_trainer(tiny(tmp_path, "dcgan-fashion", **{"model.g_reuse_fakes": reuse}), tmp_path / "r", hooks=False)
    G, D = t.models["G"], t.models["D"]
    g_calls, d_inputs_seen = [], []
    h1 = G.register_forward_hook(lambda m, a, out: g_calls.append(out.detach().clone()))
    h2 = D.register_forward_pre_hook(lambda m, args: d_inputs_seen.append(args[0].detach().clone()))
    before = {k: v.clone() for k, v in G.state_dict().items()}
    t.run_step()
    h1.remove(), h2.remove()
    assert len(g_calls) == (1 if reuse else 2)
    assert torch.equal(d_inputs_seen[2], d_inputs_seen[1]) == reuse  # G's loss sees D's fakes only when reusing
    assert any(not torch.equal(before[k], v) for k, v in G.state_dict().items())  # G was updated either way


def test_g_reuse_fakes_refused_with_madgan(tmp_path):
    from gankit.errors import ConfigError
    from gankit.families.gan import validate

    with pytest.raises(ConfigError, match="g_reuse_fakes does not apply to MAD-GAN"):
        validate(tiny(tmp_path, **{"model.g_reuse_fakes": True, "stab.madgan_k": 2}))
