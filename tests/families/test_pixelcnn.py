"""The PixelCNN family: its NLL against independent computations (a model whose output is a known distribution;
the chain rule pixel by pixel), sampling, class conditioning, exact resume, `gankit eval --metrics nll`."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.errors import ConfigError
from gankit.families import pixelcnn
from gankit.families.registry import apply_overrides
from gankit.metrics.likelihood import nll
from gankit.nets import likelihood as lik
from gankit.presets import preset_config
from gankit.run import build_trainer, train
from gankit.sample import load_models

from .resume import assert_resume_exact, quiet

QUIET = quiet(ckpt_every=2)


def tiny(tmp_path, **over):
    base = {"data.name": "digits", "data.limit": 64, "train.steps": 2, "train.batch_size": 8, "model.width": 4,
            "model.blocks": 1, "model.sample_batch": 3, "log.out_dir": str(tmp_path), **QUIET}
    return apply_overrides(preset_config("pixelcnn-fashion"), {**base, **over})


def known_model(tmp_path, logits: torch.Tensor):
    """A PixelCNN whose output is the same categorical distribution `logits` at every pixel, whatever the input."""
    t = build_trainer(tiny(tmp_path), tmp_path / "run", hooks=False)
    net = t.models["net"]
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.head[-1].bias.copy_(logits)
    return t, net


def test_nll_of_a_known_distribution(tmp_path):
    logits = torch.randn(256, generator=torch.Generator().manual_seed(0))
    t, net = known_model(tmp_path, logits)
    x = t.first(10)["x"]
    levels = np.rint((x.numpy() + 1) * 127.5).astype(int)
    logp = logits.double().numpy() - np.log(np.exp(logits.double().numpy()).sum())  # numpy log-softmax
    want = -logp[levels].reshape(10, -1).sum(1)
    got = -pixelcnn.log_likelihood(net, x).detach()
    assert np.allclose(got.double().numpy(), want, rtol=1e-5)
    _, scalars = pixelcnn.nll_loss({"x": x}, type("C", (), {"models": {"net": net}})())
    assert scalars["bits_per_dim"].item() == pytest.approx(want.mean() / (64 * math.log(2)), rel=1e-5)


def test_sampling_a_known_distribution(tmp_path):
    logits = torch.linspace(-2, 2, 256)
    _, net = known_model(tmp_path, logits)
    net.sample_batch = 100
    s = pixelcnn.generate(net, 200, seed=0)
    freq = torch.bincount(lik.to_levels(s).flatten(), minlength=256).float() / s.numel()
    assert (freq - logits.softmax(0)).abs().max() < 0.006  # 12,800 pixels
    assert torch.equal(s, lik.from_levels(lik.to_levels(s)))


def test_nll_is_the_chain_rule_pixel_by_pixel(tmp_path):
    """One pass's log p(x) equals the sum of the conditionals log p(x_ij | x_<ij), each computed from an image
    whose later pixels are replaced by noise (a trained model, so the outputs depend on the pixels)."""
    status, t = train(tiny(tmp_path, **{"train.steps": 3}))
    net, x = t.models["net"].eval(), t.first(2)["x"]
    total = pixelcnn.log_likelihood(net, x)
    g = torch.Generator().manual_seed(0)
    chain = torch.zeros(2)
    for i in range(8):
        for j in range(8):
            seen = x.clone().view(2, -1)
            seen[:, i * 8 + j:] = torch.rand(2, 64 - i * 8 - j, generator=g) * 2 - 1  # hide x_ij and after
            params = net(seen.view(2, 1, 8, 8))[:, :, i:i + 1, j:j + 1]
            chain += lik.log_prob("categorical", params, x[:, :, i:i + 1, j:j + 1])
    assert torch.allclose(total, chain, rtol=1e-5)


def test_preset_trains_samples_and_previews(tmp_path):
    cfg = preset_config("pixelcnn-fashion")
    assert (cfg.model.likelihood, cfg.model.first_kernel, cfg.model.kernel) == ("categorical", 7, 3)
    status, t = train(tiny(tmp_path, **{"log.sample_every": 2, "log.n_grid": 8}))
    assert status == "finished" and {"loss/nll", "bits_per_dim"} <= t.scalars.keys()
    assert Image.open(tmp_path / "run" / "samples" / "latest.png").size == (2 * (8 * 10 + 2), 2 * (10 + 2))
    a, b = t.setup.sample(7, 1), t.setup.sample(7, 1)
    assert a.shape == (7, 1, 8, 8) and torch.equal(a, b) and not torch.equal(a, t.setup.sample(7, 2))


def test_class_conditional(tmp_path):
    status, t = train(tiny(tmp_path, **{"model.cond": True}))
    net = t.models["net"]
    assert status == "finished" and net.num_classes == 10
    x = t.first(4)
    assert not torch.allclose(pixelcnn.log_likelihood(net, x["x"], x["y"]),
                              pixelcnn.log_likelihood(net, x["x"], (x["y"] + 1) % 10))
    assert pixelcnn.generate(net, 12, 0).shape == (12, 1, 8, 8)


@pytest.mark.parametrize("kind", ["bernoulli", "logistic"])
def test_other_likelihoods_train(tmp_path, kind):
    status, t = train(tiny(tmp_path, **{"model.likelihood": kind}))
    assert status == "finished" and t.setup.sample(2, 0).shape == (2, 1, 8, 8)


def test_resume_is_exact(tmp_path):
    assert_resume_exact(tiny, tmp_path, steps=4, stop=2, names=("net",))


def test_eval_nll_is_the_test_split_likelihood(tmp_path, capsys):
    train(tiny(tmp_path))
    run = tmp_path / "run"
    models, cfg, _ = load_models(run)
    r = nll(models, cfg, "test", 30)
    from gankit.data import build_dataset

    test = build_dataset(apply_overrides(cfg, {"data.split": "test", "data.limit": 30}).data)
    want = -pixelcnn.log_likelihood(models["net"], test.x).mean().item()
    assert r["nll_nats"] == pytest.approx(want, rel=1e-5)
    assert r["bits_per_dim"] == pytest.approx(want / (64 * math.log(2)), rel=1e-5)
    assert main(["eval", str(run), "--metrics", "nll", "--n", "30"]) == 0
    assert json.loads((run / "eval" / "step_00000002.nll.json").read_text())["metrics"]["nll"] == pytest.approx(want)
    capsys.readouterr()


@pytest.mark.parametrize("over,msg", [
    ({"model.kernel": 4}, "model.kernel and model.first_kernel must be odd and >= 3"),
    ({"data.name": "ring8"}, "pixelcnn models one-channel images, not vector data"),
    ({"stab.spectral_norm_d": True}, "pixelcnn does not use stab.spectral_norm_d"),
])
def test_refusals(tmp_path, over, msg):
    with pytest.raises(ConfigError, match=re.escape(msg)):
        train(tiny(tmp_path, **over))
