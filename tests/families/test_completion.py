"""The completion family on images written by the test: the three phases switch by step count, ablations, exact
resume, eval with baselines, `gankit inpaint`, and clear refusals."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.errors import ConfigError
from gankit.families.registry import apply_overrides
from gankit.presets import preset_config
from gankit.run import build_trainer, train
from tests.families.resume import assert_resume_exact, quiet
from tests.families.test_srgan import write_photos

QUIET = quiet(ckpt_every=3)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return write_photos(tmp_path_factory.mktemp("photos"))


def tiny(root, tmp_path, **over):
    base = {"train.steps": 6, "train.batch_size": 4, "data.root": str(root), "data.resolution": 32,
            "data.n_samples": 16, "model.width": 4, "model.d_width": 4, "model.steps_c": 2, "model.steps_d": 2,
            "log.out_dir": str(tmp_path), **QUIET}
    return apply_overrides(preset_config("completion-photos"), {**base, **over})


def _snapshot(models):
    return {k: [p.detach().clone() for p in m.parameters()] for k, m in models.items()}


def _moved(before, models):
    return {k: any(not torch.equal(p, q) for p, q in zip(before[k], models[k].parameters())) for k in models}


def test_three_phases_switch_by_step_count(photos, tmp_path):
    t = build_trainer(tiny(photos, tmp_path, **{"log.sample_every": 6}), tmp_path / "run")
    seen = []
    for step in range(6):
        before = _snapshot(t.models)
        scalars = t.run_step()
        t.step += 1
        seen.append((scalars["phase"], _moved(before, t.models)))
    assert seen == [(1.0, {"C": True, "D": False})] * 2 + [(2.0, {"C": False, "D": True})] * 2 + \
        [(3.0, {"C": True, "D": True})] * 2


def test_d_optimizer_state_stays_empty_while_its_phase_is_off(photos, tmp_path):
    t = build_trainer(tiny(photos, tmp_path, **{"model.steps_c": 3}), tmp_path / "run")
    for _ in range(3):
        t.run_step()
        t.step += 1
    assert len(t.optims["D"].state) == 0 and len(t.optims["C"].state) > 0


@pytest.mark.parametrize("mode,models,keys", [
    ("none", {"C"}, {"loss/mse"}),
    ("global", {"C", "D"}, {"loss/mse", "loss/g", "loss/d"}),
    ("global+local", {"C", "D"}, {"loss/mse", "loss/g", "loss/d"}),
])
def test_ablations_train(photos, tmp_path, mode, models, keys):
    status, t = train(tiny(photos, tmp_path, **{"model.d_mode": mode, "log.sample_every": 6}))
    assert status == "finished" and set(t.models) == models and keys <= t.scalars.keys()
    assert (tmp_path / "run" / "samples" / "latest.png").is_file()
    if mode == "global":
        assert t.models["D"].local_d is None


def test_resume_is_exact(photos, tmp_path):
    assert_resume_exact(lambda out, **o: tiny(photos, out, **o), tmp_path, steps=7, stop=3, names=("C", "D"))


def labelled_gray(folder):
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (folder / c).mkdir(parents=True)
        for i in range(6):
            img = (rng.random((4, 4)) * 255).astype(np.uint8)
            Image.fromarray(img).resize((32, 32), Image.BILINEAR).save(folder / c / f"{i}.png")
    return folder


def test_eval_with_baselines_and_fashion_scores(tmp_path):
    root = labelled_gray(tmp_path / "gray")
    cfg = apply_overrides(tiny(root, tmp_path), {"data.name": "image-folder", "data.channels": 1})
    train(cfg)
    assert main(["eval", str(tmp_path / "run"), "--n", "8", "--json", str(tmp_path / "e.json")]) == 0
    m = json.loads((tmp_path / "e.json").read_text())["metrics"]
    for method in ("net", "mean_fill"):
        assert {f"{method}/L1", f"{method}/PSNR", f"{method}/SSIM", f"{method}/FID[fashion-cnn]",
                f"{method}/class_acc"} <= m.keys()
    has_cv2 = importlib.util.find_spec("cv2") is not None
    assert ({"telea/L1", "ns/PSNR"} <= m.keys()) == has_cv2


def test_inpaint_cli_and_refusals(photos, tmp_path, capsys):
    train(tiny(photos, tmp_path))
    run = tmp_path / "run"
    img = photos / "p0.png"  # 48x40
    mask = np.zeros((40, 48), np.uint8)
    mask[10:20, 12:30] = 255
    Image.fromarray(mask).save(tmp_path / "m.png")
    assert main(["inpaint", str(run), "--input", str(img), "--mask", str(tmp_path / "m.png"),
                 "--out", str(tmp_path / "o.png")]) == 0
    out, src = np.asarray(Image.open(tmp_path / "o.png")), np.asarray(Image.open(img))
    keep = mask == 0
    assert out.shape == src.shape and np.abs(out[keep].astype(int) - src[keep]).max() <= 1  # only the hole changes
    Image.fromarray(mask[:32]).save(tmp_path / "small.png")
    assert main(["inpaint", str(run), "--input", str(img), "--mask", str(tmp_path / "small.png"),
                 "--out", str(tmp_path / "x.png")]) == 2
    assert "the mask is 48x32 but the image is 48x40" in capsys.readouterr().err
    Image.fromarray(np.asarray(Image.open(img).convert("L"))).save(tmp_path / "g.png")
    assert main(["inpaint", str(run), "--input", str(tmp_path / "g.png"), "--mask", str(tmp_path / "m.png"),
                 "--out", str(tmp_path / "g_out.png")]) == 0
    assert "g.png is grayscale; the model takes RGB images" in capsys.readouterr().out


def test_refusals(photos, tmp_path):
    with pytest.raises(ConfigError, match="d_mode='both' is not valid"):
        tiny(photos, tmp_path, **{"model.d_mode": "both"})
    with pytest.raises(ConfigError, match="hole_min <= hole_max"):
        tiny(photos, tmp_path, **{"model.hole_min": 0.6})
    with pytest.raises(ConfigError, match="local patch holds the hole"):
        tiny(photos, tmp_path, **{"model.local": 0.3})
    with pytest.raises(ConfigError, match="side divisible by 4"):
        train(tiny(photos, tmp_path, **{"data.resolution": 30, "data.name": "image-folder"}))
