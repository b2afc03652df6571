"""EvalHook: FID rows in metrics.jsonl, eval_curves.png (with the critic's estimate for WGANs), no RNG effect."""

from __future__ import annotations

import math

import pytest
import torch
from PIL import Image

from gankit import viz
from gankit.families.registry import apply_overrides
from gankit.errors import ConfigError
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
    assert all(math.isfinite(f) and f > 0 for f in fids)
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


def test_toy_data_uses_identity_features_and_mode_metrics(tmp_path):
    _, t = train(tiny(tmp_path, preset="gan-ring8", **{"log.eval_metrics": "auto"}))
    row = eval_rows(t.run_dir)[-1]
    assert 0 <= row["eval/modes_captured"] <= 8 and 0 <= row["eval/high_quality_pct"] <= 100
    assert "eval/MMD2" in row and ("eval/wasserstein" in row or "eval/sliced_wasserstein" in row)
    assert not any("[" in k for k in row)  # identity features: no extractor tag


def test_bad_settings():
    with pytest.raises(ConfigError, match="log.eval_n"):
        tiny("unused", **{"log.eval_n": 0})
    with pytest.raises(Exception, match="every"):
        EvalHook(0)
