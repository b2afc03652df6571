"""EvalHook: FID rows in metrics.jsonl, eval_curves.png (with the critic's estimate for WGANs), no RNG effect."""

from __future__ import annotations

import inspect
import math

import pytest
import torch
from PIL import Image

from gankit import viz
from gankit.errors import ConfigError, GankitError
from gankit.families.registry import apply_overrides
from gankit.metrics.features import extract, get_extractor
from gankit.metrics.fid import fid_from_features
from gankit.families.gan import generate, sampler_module
from gankit.metrics.hook import EvalHook
from gankit.presets import preset_config
from gankit.run import train


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANKIT_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


def tiny(tmp_path, preset="dcgan-fashion", name="run", **over):
    base = {"train.steps": 4, "train.batch_size": 16, "data.limit": 256, "model.g_width": 8, "model.d_width": 8,
            "model.z_dim": 8, "log.out_dir": str(tmp_path), "log.name": name, "log.progress": False,
            "log.tensorboard": False, "log.sample_every": 0, "log.ckpt_every": 0, "log.log_every": 1,
            "log.eval_every": 2, "log.eval_n": 200, "train.threads": 1}
    if preset == "gan-ring8":
        base.pop("data.limit")
        base.update({"data.n_samples": 500, "model.g_width": 16, "model.d_width": 16})
    base.update(over)
    return apply_overrides(preset_config(preset), base)


def eval_rows(run_dir):
    return [r for r in viz.read_jsonl(run_dir / "metrics.jsonl") if any(k.startswith("eval/") for k in r)]


@pytest.fixture(scope="module")
def gan(tmp_path_factory):
    status, trainer = train(tiny(tmp_path_factory.mktemp("runs"), **{"train.steps": 5}))
    assert status == "finished"
    return trainer


def test_fid_rows_every_eval_every_steps(gan):
    rows = eval_rows(gan.run_dir)
    assert [r["step"] for r in rows] == [2, 4, 5]  # every 2 steps, and once at the end
    fids = [r["eval/FID[fashion-cnn]"] for r in rows]
    assert len(set(fids)) == 3  # G changes between evaluations, and so does its FID
    # the last row is the FID of the final G's samples at the fixed z ~ N(0, I) drawn from the hook's seed against
    # the first eval_n (200) training images
    seed = inspect.signature(EvalHook).parameters["seed"].default
    z = torch.randn(200, gan.models["G"].z_dim, generator=torch.Generator().manual_seed(seed))
    net = get_extractor("fashion-cnn")
    with torch.no_grad():
        fake = generate(sampler_module(gan.models), z)
    expected = fid_from_features(extract(net, gan.dataset.x[:200]), extract(net, fake))
    assert math.isfinite(expected) and fids[-1] == pytest.approx(expected, rel=1e-6)
    assert (gan.run_dir / "eval_curves.png").is_file()


def test_critic_estimate_is_plotted_for_wgans(gan, tmp_path):
    _, wgan = train(tiny(tmp_path, preset="wgan-fashion", name="wgan", **{"train.n_critic": 1}))
    assert any("critic/w_estimate" in r for r in viz.read_jsonl(wgan.run_dir / "metrics.jsonl"))
    h_gan = Image.open(gan.run_dir / "eval_curves.png").height
    h_wgan = Image.open(wgan.run_dir / "eval_curves.png").height
    assert h_wgan > 1.5 * h_gan  # two panels (FID, critic) instead of one


def test_evaluation_does_not_change_training(gan, tmp_path):
    _, b = train(tiny(tmp_path, name="b", **{"train.steps": 5, "log.eval_every": 0}))
    assert not eval_rows(b.run_dir)
    sa, sb = gan.models["G"].state_dict(), b.models["G"].state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_toy_data_uses_identity_features_and_mode_metrics(tmp_path, monkeypatch):
    _, t = train(tiny(tmp_path, preset="gan-ring8", **{"log.eval_metrics": "auto"}))
    row = eval_rows(t.run_dir)[-1]
    assert "eval/MMD2" in row and ("eval/wasserstein" in row or "eval/sliced_wasserstein" in row)
    assert not any("[" in k for k in row)  # identity features: no extractor tag
    # samples with known mode metrics (ring of radius 1, std 0.01, high quality within 3 std): for each of the
    # modes 0..3, 10 samples 2 std out from it and 10 samples 4 std out; 120 samples at the ring's centre
    hook = next(h for h in t.hooks if isinstance(h, EvalHook))
    angles = torch.arange(4) * (2 * math.pi / 8)
    centres = torch.stack([angles.cos(), angles.sin()], 1).repeat_interleave(20, 0)
    radius = torch.tensor([1.02] * 10 + [1.04] * 10).repeat(4)[:, None]
    points = torch.cat([centres * radius, torch.zeros(120, 2)])
    monkeypatch.setattr(hook, "generate", lambda: points)
    res = hook.run()
    assert res["modes_captured"] == 4.0 and res["high_quality_pct"] == pytest.approx(20.0)
    assert res["reverse_kl"] == pytest.approx(math.log(2), abs=1e-6)  # 4 of 8 modes, evenly
    last = eval_rows(t.run_dir)[-1]
    assert last["eval/modes_captured"] == 4.0 and last["eval/high_quality_pct"] == pytest.approx(20.0)


def test_bad_settings():
    with pytest.raises(ConfigError, match="log.eval_n"):
        tiny("unused", **{"log.eval_n": 0})
    with pytest.raises(GankitError, match=r"^EvalHook: every must be >= 1 and n >= 2 \(got every=0, n=2000\)$") as e:
        EvalHook(0)
    assert type(e.value) is GankitError
    with pytest.raises(GankitError, match=r"\(got every=1, n=1\)$"):
        EvalHook(1, n=1)
