"""The CycleGAN family on Fashion-MNIST (edges <-> items, unpaired; sneakers <-> boots): presets, the losses, the
Table 4 cycle ablations, image pools in checkpoints and exact resume, translate in both directions, gankit eval on
held-out pairs, and clear refusals."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.core.loop import HookBase
from gankit.core.phases import StepContext
from gankit.errors import ConfigError
from gankit.families import cyclegan
from gankit.families.pix2pix import translate
from gankit.families.registry import apply_overrides
from gankit.losses import get_loss
from gankit.metrics.paired import paired_metrics
from gankit.metrics.translation import evaluate_translation, held_out_pairs
from gankit.presets import preset_config
from gankit.run import build_trainer, train
from gankit.sample import load_models

from .resume import quiet

QUIET = quiet(ckpt_every=3)


def tiny(tmp_path, preset="cyclegan-edges", **over):
    base = {"train.steps": 3, "train.batch_size": 4, "data.limit": 32, "model.g_width": 4, "model.d_width": 4,
            "model.n_blocks": 1, "model.pool_size": 6, "log.out_dir": str(tmp_path), **QUIET}
    return apply_overrides(preset_config(preset), {**base, **over})


def test_preset_trains_and_draws_both_cycles(tmp_path):
    status, t = train(tiny(tmp_path, **{"log.sample_every": 2, "log.n_grid": 4}))
    assert status == "finished" and t.cfg.train.loss == "lsgan"
    assert [(p.name, p.optims) for p in t.phases] == [("G", ("G",)), ("D", ("D",))]
    assert {"loss/g", "loss/cycle_a", "loss/cycle_b", "loss/identity", "loss/d_a", "loss/d_b"} <= t.scalars.keys()
    img = Image.open(tmp_path / "run" / "samples" / "latest.png")
    assert img.size == (2 * (3 * 30 + 2), 2 * (8 * 30 + 2))  # 4 rows A | A->B | A->B->A, 4 rows B | B->A | B->A->B


def test_models_and_optimizers(tmp_path):
    t = build_trainer(tiny(tmp_path), tmp_path / "run", hooks=False)
    assert sorted(t.models) == ["D_A", "D_B", "G_AB", "G_BA", "pool_A", "pool_B"]
    count = lambda *names: sum(p.numel() for n in names for p in t.models[n].parameters())  # noqa: E731
    in_opt = lambda name: sum(p.numel() for g in t.optims[name].param_groups for p in g["params"])  # noqa: E731
    assert in_opt("G") == count("G_AB", "G_BA") and in_opt("D") == count("D_A", "D_B")  # one optimizer each
    assert any(isinstance(m, torch.nn.InstanceNorm2d) for m in t.models["G_AB"].modules())
    assert t.models["pool_A"].images.shape == (6, 1, 28, 28)


def test_generator_loss_weights(tmp_path):
    """GAN terms + 10 * (forward + backward cycle L1) + 0.5 * 10 * identity L1, with the fakes kept for D."""
    cfg = tiny(tmp_path)
    t = build_trainer(cfg, tmp_path / "run", hooks=False)
    M, batch = t.models, t.next_batch()
    ctx = StepContext(M, t.optims, 0, t.noise, t.device)
    loss = get_loss("lsgan")
    total, scalars = cyclegan.g_loss(cfg, loss, batch, ctx)
    a, b = batch["a"], batch["b"]
    l1 = lambda x, y: (x - y).abs().mean()  # noqa: E731
    fb, fa = M["G_AB"](a), M["G_BA"](b)
    want = (loss.g(M["D_B"](fb)) + loss.g(M["D_A"](fa)) + 10 * (l1(M["G_BA"](fb), a) + l1(M["G_AB"](fa), b))
            + 5 * (l1(M["G_AB"](b), b) + l1(M["G_BA"](a), a)))
    assert torch.allclose(total, want) and torch.equal(ctx.scratch["fake_b"], fb.detach())
    d_total, d_scalars = cyclegan.d_loss(loss, batch, ctx)
    assert torch.allclose(d_total, d_scalars["loss/d_a"] + d_scalars["loss/d_b"]) and "loss/d" in d_scalars
    assert int(M["pool_A"].count) == int(M["pool_B"].count) == 4  # the D phase filled the pools


@pytest.mark.parametrize("over,present,absent", [
    ({"model.cycle": "forward"}, {"loss/cycle_a"}, {"loss/cycle_b"}),
    ({"model.cycle": "backward"}, {"loss/cycle_b"}, {"loss/cycle_a"}),
    ({"model.cycle": "none", "model.lambda_identity": 0.0}, {"loss/g"}, {"loss/cycle_a", "loss/cycle_b",
                                                                         "loss/identity"}),
    ({"model.pool_size": 0, "train.loss": "nonsat"}, {"loss/cycle_a", "loss/cycle_b"}, set()),
])
def test_ablations_train(tmp_path, over, present, absent):
    status, t = train(tiny(tmp_path, **over))
    assert status == "finished" and present <= t.scalars.keys() and not absent & t.scalars.keys()


def test_sneaker_boot_preset_trains(tmp_path):
    status, t = train(tiny(tmp_path, "cyclegan-sneaker-boot"))
    assert status == "finished" and t.dataset.extra["domains"] == ("Sneaker", "Ankle boot")


class Stop(HookBase):
    def after_step(self):
        if self.trainer.step == 2:
            self.trainer._on_signal(15, None)


def test_resume_is_exact_pools_included(tmp_path):
    """Batch 4, pool 6: the pools fill during the first two steps and draw at random after the resume."""
    full = train(tiny(tmp_path / "full", **{"train.steps": 5}))[1]
    t = build_trainer(tiny(tmp_path / "part", **{"train.steps": 5}), tmp_path / "part" / "run")
    t.register(Stop())
    assert t.train() == "interrupted"
    saved, _, meta = load_models(tmp_path / "part" / "run")
    assert meta["step"] == 2 and int(saved["pool_B"].count) == 6
    assert torch.equal(saved["pool_B"].images, t.models["pool_B"].images)  # the pool's contents are in the checkpoint
    resumed = train(tiny(tmp_path / "part", **{"train.steps": 5}), resume=tmp_path / "part" / "run")[1]
    for name in full.models:
        a, b = full.models[name].state_dict(), resumed.models[name].state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), name


def _mixed_channels_folder(root):
    rng = np.random.default_rng(0)
    for i in range(8):
        for side, shape, mode in (("A", (8, 8), "L"), ("B", (8, 8, 3), "RGB")):
            (root / side).mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode=mode).save(root / side / f"{i}.png")


@pytest.mark.parametrize("over,msg", [
    ({"data.name": "fashion-mnist"}, "cyclegan needs images of two domains (fields a and b"),  # found when built
    ({"stab.pack": 2}, "cyclegan does not use stab.pack; it supports stab.lr_decay"),
    ({"model.cycle": "sideways"}, "model.cycle='sideways' is not valid; choose one of: both, forward"),
    ({"train.loss": "wgan-gp"}, "cyclegan takes train.loss lsgan"),
    ({"train.n_critic": 2}, "train.n_critic must be 1"),
    ({"model.pool_size": -1}, "pool_size >= 0"),
])
def test_refusals(tmp_path, over, msg):
    with pytest.raises(ConfigError, match=re.escape(msg)):
        train(tiny(tmp_path, **over))
    assert not (tmp_path / "run").exists()


def test_identity_loss_needs_equal_channels(tmp_path):
    _mixed_channels_folder(tmp_path / "data")
    over = {"data.name": "paired-folder", "data.root": str(tmp_path / "data"), "data.limit": None}
    with pytest.raises(ConfigError, match="identity loss needs domains with the same channels"):
        train(tiny(tmp_path / "a", **over))
    status, t = train(tiny(tmp_path / "b", **over, **{"model.lambda_identity": 0.0}))
    assert status == "finished" and t.models["G_AB"](torch.zeros(1, 1, 8, 8)).shape == (1, 3, 8, 8)


@pytest.fixture(scope="module")
def edges_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cyc")
    train(tiny(out))
    return out / "run"


def test_translate_cli_both_directions(edges_run, tmp_path, capsys):
    edges = (np.random.default_rng(0).random((28, 28)) > 0.8).astype(np.uint8) * 255
    Image.fromarray(edges).save(tmp_path / "e.png")
    for to in ("B", "a"):
        out = tmp_path / f"to{to}.png"
        assert main(["translate", str(edges_run), "--input", str(tmp_path / "e.png"), "--out", str(out),
                     "--to", to]) == 0
        assert Image.open(out).size == (28, 28)
    capsys.readouterr()
    assert main(["translate", str(edges_run), "--input", str(tmp_path / "e.png"), "--out", str(tmp_path / "x.png"),
                 "--to", "C"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--to C: a cyclegan run translates to domain A or B" in err and len(err.splitlines()) == 1


def test_eval_restores_the_held_out_pairs(edges_run, capsys):
    models, cfg, _ = load_models(edges_run)
    pairs = held_out_pairs(cfg, "test", 40)
    edges = held_out_pairs(apply_overrides(cfg, {"data.name": "fashion-edges"}), "test", 40)
    assert all(torch.equal(pairs[k], edges[k]) for k in ("a", "b", "y"))  # the shuffle undone
    res = evaluate_translation(models, cfg, "test", 40)
    want = paired_metrics(translate(models["G_AB"], pairs["a"]), pairs["b"])
    assert all(res[k] == pytest.approx(want[k]) for k in ("L1", "PSNR", "SSIM"))
    assert main(["eval", str(edges_run), "--n", "40"]) == 0
    assert "40 generated vs 40 real (fashion-edges-unpaired/test)" in capsys.readouterr().out
    record = json.loads(next((edges_run / "eval").glob("*.json")).read_text())
    assert {"SSIM", "class_acc", "FID[fashion-cnn]"} <= record["metrics"].keys()


def test_eval_of_unpaired_domains_scores_domain_b(tmp_path):
    train(tiny(tmp_path, "cyclegan-sneaker-boot"))
    models, cfg, _ = load_models(tmp_path / "run")
    res = evaluate_translation(models, cfg, "test", 40)
    assert "L1" not in res and {"FID[fashion-cnn]", "class_acc", "class_acc_target"} <= res.keys()
    assert res["class_acc_target"] > 0.8  # fashion-cnn calls the real boots boots


def test_translate_refuses_a_domain_the_family_lacks():
    from gankit.translate import direction

    assert direction("cyclegan", "r", "a") == ("G_BA", "b") and direction("pix2pix", "r", "B") == ("G", "a")
    with pytest.raises(ConfigError, match="--to A: a pix2pix run translates to domain B, not A"):
        direction("pix2pix", "r", "A")
