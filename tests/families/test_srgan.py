"""The srgan family on photos written by the test: presets, content losses, exact resume, g_init, enhance (tiled =
whole), eval, and clear refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.errors import ConfigError, DataError
from gankit.families.registry import apply_overrides
from gankit.families.srgan import upsample, upsample_tiled
from gankit.presets import preset_config
from gankit.run import build_trainer, train
from tests.families.resume import assert_resume_exact, quiet
from tests.nets.test_srgan_nets import random_vgg19

QUIET = quiet(ckpt_every=3)


def write_photos(folder, n=3, size=(48, 40), seed=0):
    """Smooth random colour photos (a blurred noise field), so there is something to learn."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        small = (rng.random((size[1] // 8, size[0] // 8, 3)) * 255).astype(np.uint8)
        Image.fromarray(small).resize(size, Image.BICUBIC).save(folder / f"p{i}.png")
    return folder


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return write_photos(tmp_path_factory.mktemp("photos"))


def tiny(photos, tmp_path, preset="srgan-photos", **over):
    base = {"train.steps": 3, "train.batch_size": 4, "data.root": str(photos), "data.resolution": 32,
            "data.n_samples": 16, "model.n_blocks": 1, "model.g_width": 8, "model.d_width": 4, "model.d_dense": 8,
            "log.out_dir": str(tmp_path), **QUIET}
    return apply_overrides(preset_config(preset), {**base, **over})


def test_srresnet_preset_trains_with_one_mse_phase_and_draws_bicubic_sr_hr(photos, tmp_path):
    status, t = train(tiny(photos, tmp_path, "srresnet-photos", **{"log.sample_every": 3, "log.n_grid": 2}))
    assert status == "finished" and [(p.name, p.optims) for p in t.phases] == [("G", ("G",))]
    assert set(t.models) == {"G"} and set(t.scalars) == {"loss/mse"}
    assert Image.open(tmp_path / "run" / "samples" / "latest.png").size[0] > 3 * 32


@pytest.mark.parametrize("content", ["mse", "dfeat", "vgg"])
def test_srgan_contents_train(photos, tmp_path, content):
    over = {"model.content": content}
    if content == "vgg":
        random_vgg19(tmp_path / "vgg.safetensors")
        over |= {"model.vgg_weights": str(tmp_path / "vgg.safetensors"), "model.vgg_layer": "22"}
    status, t = train(tiny(photos, tmp_path, **over))
    assert status == "finished" and [p.name for p in t.phases] == ["D", "G"]
    assert {"loss/d", "loss/g", "loss/content", "loss/mse", "d/real", "d/fake"} <= t.scalars.keys()
    if content == "mse":
        assert t.scalars["loss/content"] == pytest.approx(t.scalars["loss/mse"])
    else:
        assert t.scalars["loss/content"] != pytest.approx(t.scalars["loss/mse"])
    assert not any(k.startswith("vgg") for k in t.models)  # VGG is frozen and kept out of checkpoints


def test_one_g_step_moves_g_and_the_loss_is_content_plus_1e3_adversarial(photos, tmp_path):
    from gankit.families import srgan

    status, t = train(tiny(photos, tmp_path, **{"train.steps": 1}))
    batch = t.next_batch()
    ctx = type("Ctx", (), {"models": t.models, "scratch": {}})()
    loss, scalars = srgan.g_loss(t.cfg, srgan.loss_from_train(t.cfg.train), None, batch, ctx)
    assert loss.item() == pytest.approx(float(scalars["loss/content"]) + 1e-3 * float(scalars["loss/g"]), rel=1e-5)


@pytest.mark.parametrize("preset", ["srresnet-photos", "srgan-photos"])
def test_resume_is_exact(photos, tmp_path, preset):
    def make(out_dir, **over):
        return tiny(photos, out_dir, preset, **{"model.content": "dfeat"} if preset == "srgan-photos" else {},
                    **over)

    assert_resume_exact(make, tmp_path, steps=6, stop=2, names=("G", "D") if preset == "srgan-photos" else ("G",))


def test_g_init_starts_srgan_from_an_srresnet_run(photos, tmp_path):
    _, pre = train(tiny(photos, tmp_path / "a", "srresnet-photos"))
    cfg = tiny(photos, tmp_path / "b", **{"model.g_init": str(tmp_path / "a" / "run")})
    t = build_trainer(cfg, tmp_path / "b" / "run")
    a, b = pre.models["G"].state_dict(), t.models["G"].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    resuming = build_trainer(cfg, tmp_path / "b" / "run", fresh=False)  # a resume loads its own checkpoint instead
    first = next(iter(a))
    assert not torch.equal(resuming.models["G"].state_dict()[first], a[first])
    with pytest.raises(ConfigError, match="model.g_init: .*no such run directory"):
        train(tiny(photos, tmp_path / "c", **{"model.g_init": str(tmp_path / "nowhere")}))


def test_tiled_upsampling_equals_the_whole_image():
    from gankit.nets.srgan import SRResNet

    torch.manual_seed(0)
    G = SRResNet(4, 2, 8).eval()
    for m in G.modules():  # non-trivial BN statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2)
    lr = torch.rand(1, 3, 37, 29) * 2 - 1
    whole = upsample(G, lr)
    assert torch.allclose(upsample_tiled(G, lr, tile=10), whole, atol=1e-5)
    assert torch.allclose(upsample_tiled(G, lr, tile=64), whole, atol=1e-5)
    assert not torch.allclose(upsample_tiled(G, lr, tile=10, overlap=1), whole, atol=1e-3)  # too little context


def test_enhance_and_eval_cli(photos, tmp_path, capsys):
    train(tiny(photos, tmp_path))
    run = tmp_path / "run"
    out = tmp_path / "big.png"
    assert main(["enhance", str(run), "--input", str(photos / "p0.png"), "--out", str(out), "--tile", "5"]) == 0
    assert Image.open(out).size == (4 * 48, 4 * 40) and Image.open(out).mode == "RGB"
    gray = tmp_path / "gray"
    gray.mkdir()
    Image.fromarray(np.full((9, 7), 100, np.uint8)).save(gray / "g.png")
    assert main(["enhance", str(run), "--input", str(gray), "--out", str(tmp_path / "outs")]) == 0
    assert "grayscale input converted to RGB" in capsys.readouterr().out
    assert Image.open(tmp_path / "outs" / "g.png").size == (28, 36)

    assert main(["eval", str(run), "--data-root", str(photos), "--json", str(tmp_path / "e.json")]) == 0
    record = json.loads((tmp_path / "e.json").read_text())
    m = record["metrics"]
    assert {"PSNR_Y", "SSIM_Y", "HF_ratio", "bicubic/PSNR_Y", "bicubic/SSIM_Y", "bicubic/HF_ratio"} <= m.keys()
    assert len(record["per_image"]) == 3 and 10 < m["bicubic/PSNR_Y"] < 60
    assert main(["eval", str(run)]) == 2
    assert "give --data-root FOLDER" in capsys.readouterr().err


def test_refusals(photos, tmp_path, capsys):
    with pytest.raises(ConfigError, match="srgan needs LR/HR image pairs"):
        train(tiny(photos, tmp_path, **{"data.name": "fashion-mnist", "data.root": None}))
    with pytest.raises(ConfigError, match="content=vgg needs model.vgg_weights"):
        tiny(photos, tmp_path, **{"model.content": "vgg"})
    with pytest.raises(ConfigError, match="vgg_weights: .* does not exist"):
        train(tiny(photos, tmp_path, **{"model.content": "vgg", "model.vgg_weights": str(tmp_path / "no.st")}))
    with pytest.raises(ConfigError, match="needs objective srgan"):
        tiny(photos, tmp_path, "srresnet-photos", **{"model.content": "dfeat"})
    with pytest.raises(ConfigError, match="does not use stab.pack"):
        tiny(photos, tmp_path, **{"stab.pack": 2})
    with pytest.raises(ConfigError, match="divisible by 16"):
        train(tiny(photos, tmp_path, **{"data.resolution": 36}))
    with pytest.raises(DataError, match="smaller than the 64x64 HR crop"):
        train(tiny(photos, tmp_path, **{"data.resolution": 64}))
    with pytest.raises(ConfigError, match="up-samples images: use `gankit enhance"):
        from gankit.families.srgan import sample
        sample({}, 1, 0)
    assert main(["enhance", str(tmp_path / "none"), "--input", "x", "--out", "y"]) == 2
