"""The StarGAN family on Fashion-MNIST (10 classes as domains): the preset trains, the losses by hand, exact resume,
deterministic sampling, translate --to CLASS, the target-class accuracy matrix on the test split, refusals."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from gankit import viz
from gankit.cli import main
from gankit.core.phases import StepContext
from gankit.data import build_dataset
from gankit.errors import ConfigError
from gankit.families import stargan
from gankit.families.registry import apply_overrides
from gankit.losses import get_loss, gradient_penalty
from gankit.metrics.translation import per_class_images, stargan_accuracy
from gankit.presets import preset_config
from gankit.run import build_trainer, train
from gankit.sample import load_models

from .resume import quiet
from .test_cyclegan import Stop

val = lambda t: t.detach().item()  # noqa: E731

QUIET = quiet(ckpt_every=3)


def tiny(tmp_path, **over):
    base = {"train.steps": 2, "train.batch_size": 4, "train.n_critic": 2, "data.limit": 32, "model.g_width": 4,
            "model.d_width": 4, "model.n_blocks": 1, "log.out_dir": str(tmp_path), **QUIET}
    return apply_overrides(preset_config("stargan-fashion"), {**base, **over})


def test_preset_trains_and_previews_every_domain(tmp_path):
    cfg = preset_config("stargan-fashion")
    assert (cfg.train.loss, cfg.train.n_critic, cfg.train.g_lr, cfg.train.beta1) == ("wgan-gp", 5, 1e-4, 0.5)
    status, t = train(tiny(tmp_path, **{"train.n_critic": 5, "log.sample_every": 2, "log.n_grid": 3}))
    assert status == "finished"
    assert [(p.name, p.optims, p.repeats) for p in t.phases] == [("D", ("D",), 5), ("G", ("G",), 1)]
    assert {"loss/d", "loss/d_cls", "loss/penalty", "loss/g", "loss/g_cls", "loss/rec"} <= t.scalars.keys()
    img = Image.open(tmp_path / "run" / "samples" / "latest.png")
    assert img.size == (2 * (11 * 30 + 2), 2 * (3 * 30 + 2))  # 3 rows: input | to each of the 10 classes


def test_losses_by_hand(tmp_path):
    """D: WGAN adversarial + 1 * CE(D_cls(x), true y) + 10 * GP; G (on D's targets and fakes): adversarial + CE of
    the fakes' class vs the targets + 10 * |G(G(x, c), y) - x|_1."""
    cfg = tiny(tmp_path)
    t = build_trainer(cfg, tmp_path / "run", hooks=False)
    G, D, batch = t.models["G"], t.models["D"], t.next_batch()
    x, y = batch["x"], batch["y"]
    state = t.noise.get_state()
    ctx = StepContext(t.models, t.optims, 0, t.noise, t.device)
    total, scalars = stargan.d_loss(cfg, get_loss("wgan-gp"), batch, ctx)
    t.noise.set_state(state)
    target = torch.randint(10, y.shape, generator=t.noise)
    assert torch.equal(ctx.scratch["target"], target)
    fake = G(x, target).detach()
    (src_real, cls_real), (src_fake, _) = D(x), D(fake)
    cls = F.cross_entropy(cls_real, y.long()).detach()  # the class head learns the real images' true labels
    gp = gradient_penalty(lambda v: D(v)[0], x, fake, t.noise)
    assert scalars["loss/d_cls"] == pytest.approx(val(cls), rel=1e-5)
    assert val(total) == pytest.approx(val(src_fake.mean() - src_real.mean() + cls + 10 * gp), rel=1e-5)
    g_total, g_scalars = stargan.g_loss(cfg, get_loss("wgan-gp"), batch, ctx)
    rec = (G(fake, y) - x).abs().mean()
    want = -D(fake)[0].mean() + F.cross_entropy(D(fake)[1], target) + 10 * rec
    assert val(g_total) == pytest.approx(val(want), rel=1e-5)
    assert g_scalars["loss/rec"] == pytest.approx(val(rec), rel=1e-5)


def test_sample_translates_to_the_next_class(tmp_path):
    t = build_trainer(tiny(tmp_path), tmp_path / "run", hooks=False)
    inputs, G = t.first(6), t.models["G"]
    out = t.setup.sample(6, 0, inputs=inputs)
    assert torch.equal(out, stargan.translate_to(G, inputs["x"], (inputs["y"] + 1) % 10))
    assert torch.equal(out, t.setup.sample(6, 1, inputs=inputs))  # deterministic, seed unused
    with pytest.raises(ConfigError, match="--to CLASS"):
        t.setup.sample(6, 0)


def test_resume_is_exact(tmp_path):
    full = train(tiny(tmp_path / "full", **{"train.steps": 4}))[1]
    t = build_trainer(tiny(tmp_path / "part", **{"train.steps": 4}), tmp_path / "part" / "run")
    t.register(Stop())
    assert t.train() == "interrupted" and load_models(tmp_path / "part" / "run")[2]["step"] == 2
    resumed = train(tiny(tmp_path / "part", **{"train.steps": 4}), resume=tmp_path / "part" / "run")[1]
    for name in full.models:
        a, b = full.models[name].state_dict(), resumed.models[name].state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), name


@pytest.mark.parametrize("over,msg", [
    ({"data.name": "fashion-edges"}, "stargan needs labelled images (fields x and y"),
    ({"train.loss": "wgan"}, "stargan takes train.loss wgan-gp (the paper's), nonsat, lsgan or hinge, not wgan"),
    ({"stab.pack": 2}, "stargan does not use stab.pack"),
    ({"model.lambda_rec": -1.0}, "lambda_cls and lambda_rec must be >= 0"),
])
def test_refusals(tmp_path, over, msg):
    with pytest.raises(ConfigError, match=re.escape(msg)):
        train(tiny(tmp_path, **over))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("star")
    train(tiny(out, **{"train.n_critic": 1}))
    return out / "run"


def test_translate_to_a_class(run_dir, tmp_path, capsys):
    img = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "in.png")
    args = ["translate", str(run_dir), "--input", str(tmp_path / "in.png")]
    for to in ("ankle boot", "9", "Trouser"):
        assert main([*args, "--out", str(tmp_path / f"{to}.png"), "--to", to]) == 0
    G, x = load_models(run_dir)[0]["G"], torch.from_numpy(img).float()[None, None] / 127.5 - 1
    for name, k in (("ankle boot", 9), ("9", 9), ("Trouser", 1)):  # a name (any case) or an index
        want = viz.to_uint8(stargan.translate_to(G, x, k))[0, ..., 0]
        assert np.array_equal(np.asarray(Image.open(tmp_path / f"{name}.png")), want), name
    capsys.readouterr()
    for extra, msg in (([], "--to CLASS is required"), (["--to", "Hat"], "--to Hat: not a class of this stargan run")):
        assert main([*args, "--out", str(tmp_path / "x.png"), *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert msg in err and "valid classes: T-shirt/top, Trouser" in err and len(err.splitlines()) == 1


def test_accuracy_matrix_on_the_test_split(run_dir, capsys):
    models, cfg, _ = load_models(run_dir)
    x, y, names = per_class_images(cfg, "test", 2)
    test = build_dataset(apply_overrides(cfg, {"data.split": "test", "data.limit": None}).data)
    first_boot = int(torch.nonzero(test.y == 9)[0])
    assert y.tolist() == [k for k in range(10) for _ in range(2)] and torch.equal(x[-2], test.x[first_boot])
    res = stargan_accuracy(models, cfg, "test", 2)
    m = np.array(res["matrix"])
    assert m.shape == (10, 10) and ((m >= 0) & (m <= 1)).all() and res["n"] == 20
    assert res["mean_offdiag_acc"] == pytest.approx(m[~np.eye(10, dtype=bool)].mean()) and res["rec_L1"] > 0
    assert main(["eval", str(run_dir), "--per-class", "2"]) == 0
    out = capsys.readouterr().out
    assert "20 generated vs 20 real (fashion-mnist/test)" in out and "target-class accuracy" in out
    record = json.loads(next((run_dir / "eval").glob("*.json")).read_text())
    assert np.allclose(record["matrix"], m) and record["class_names"][9] == "Ankle boot"
