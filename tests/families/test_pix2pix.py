"""The pix2pix family on real Fashion-MNIST edge maps: presets, objectives and D ablations, exact resume,
translate, and clear refusals."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from gankit.cli import main
from gankit.errors import ConfigError
from gankit.families.registry import apply_overrides
from gankit.presets import preset_config
from gankit.run import train
from tests.families.resume import assert_resume_exact, quiet

QUIET = quiet(ckpt_every=3)


def tiny(tmp_path, **over):
    base = {"train.steps": 4, "train.batch_size": 8, "data.limit": 64, "model.g_width": 4, "model.d_width": 4,
            "log.out_dir": str(tmp_path), **QUIET}
    return apply_overrides(preset_config("pix2pix-edges"), {**base, **over})


def test_preset_trains_and_draws_input_output_target(tmp_path):
    status, t = train(tiny(tmp_path, **{"log.sample_every": 2, "log.n_grid": 4}))
    assert status == "finished"
    assert [(p.name, p.optims) for p in t.phases] == [("D", ("D",)), ("G", ("G",))]
    assert {"loss/d", "loss/g", "loss/l1"} <= t.scalars.keys()
    img = Image.open(tmp_path / "run" / "samples" / "latest.png")
    assert img.size == (2 * (3 * 30 + 2), 2 * (4 * 30 + 2))  # 4 rows of input | output | target at 2x


@pytest.mark.parametrize("over,phases,keys", [
    ({"model.objective": "l1"}, ["G"], {"loss/l1"}),
    ({"model.objective": "cgan"}, ["D", "G"], {"loss/g", "loss/d"}),
    ({"model.d_cond": False}, ["D", "G"], {"loss/g", "loss/l1"}),
    ({"model.d_patch": "pixel"}, ["D", "G"], {"loss/g"}),
    ({"model.d_patch": "image", "model.d_layers": 2}, ["D", "G"], {"loss/g"}),
    ({"train.loss": "wgan-gp"}, ["D", "G"], {"loss/penalty"}),
])
def test_ablations_train(tmp_path, over, phases, keys):
    status, t = train(tiny(tmp_path, **over))
    assert status == "finished" and [p.name for p in t.phases] == phases and keys <= t.scalars.keys()
    if "D" in t.models:
        in_ch = t.models["D"].net[0].in_channels
        assert in_ch == (1 if over.get("model.d_cond") is False else 2)  # D sees b, or (a, b)


def test_l1_objective_has_no_discriminator_and_l1_falls(tmp_path):
    status, t = train(tiny(tmp_path, **{"model.objective": "l1", "train.steps": 40, "train.g_lr": 2e-3,
                                       "log.log_every": 5}))
    rows = [r for r in __import__("gankit.viz").viz.read_jsonl(tmp_path / "run" / "metrics.jsonl") if "loss/l1" in r]
    assert "D" not in t.models and rows[-1]["loss/l1"] < 0.75 * rows[0]["loss/l1"]


def test_resume_is_exact(tmp_path):
    assert_resume_exact(tiny, tmp_path, steps=6, stop=2)


def test_refusals(tmp_path):
    with pytest.raises(ConfigError, match="pix2pix needs paired images"):
        train(tiny(tmp_path, **{"data.name": "fashion-mnist"}))
    with pytest.raises(ConfigError, match="does not use stab.pack"):
        tiny(tmp_path, **{"stab.pack": 2})
    with pytest.raises(ConfigError, match="model.objective='blur' is not valid"):
        tiny(tmp_path, **{"model.objective": "blur"})


def test_translate_cli(tmp_path, capsys):
    train(tiny(tmp_path))
    run = tmp_path / "run"
    src = tmp_path / "in"
    src.mkdir()
    edges = (np.random.default_rng(0).random((28, 28)) > 0.8).astype(np.uint8) * 255
    Image.fromarray(edges).save(src / "e1.png")
    Image.fromarray(edges[::-1].copy()).save(src / "e2.png")
    assert main(["translate", str(run), "--input", str(src / "e1.png"), "--out", str(tmp_path / "o.png")]) == 0
    assert Image.open(tmp_path / "o.png").size == (28, 28)
    assert main(["translate", str(run), "--input", str(src), "--out", str(tmp_path / "outs")]) == 0
    assert sorted(p.name for p in (tmp_path / "outs").iterdir()) == ["e1.png", "e2.png"]
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "big.png")
    capsys.readouterr()
    assert main(["translate", str(run), "--input", str(tmp_path / "big.png"), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert "is 32x32 but the model translates 28x28 images" in err and len(err.splitlines()) == 1
