"""The VAE-GAN family: D's loss by hand, the gradients E and G receive (E: KL + feature reconstruction; G: gamma *
feature reconstruction + GAN), the preset trains with reconstructions in the preview, exact resume, refusals."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from gankit.cli import main
from gankit.core.phases import StepContext
from gankit.errors import ConfigError
from gankit.families import vaegan
from gankit.families.registry import apply_overrides
from gankit.families.vae import kl_to_prior
from gankit.nets.vae import Decoder, Encoder, FeatureDiscriminator, check_size
from gankit.presets import preset_config
from gankit.run import build_trainer, train

from .resume import assert_resume_exact, quiet

QUIET = quiet(ckpt_every=2)


def tiny(tmp_path, **over):
    base = {"data.name": "digits", "data.limit": 64, "train.steps": 2, "train.batch_size": 8, "model.latent": 3,
            "model.width": 4, "log.out_dir": str(tmp_path), **QUIET}
    return apply_overrides(preset_config("vaegan-fashion"), {**base, **over})


def test_nets_shapes():
    E, G, D = Encoder(1, 28, 5, 4), Decoder(5, 28, 4, 1, tanh=True), FeatureDiscriminator(1, 28, 4)
    mean, logvar = E(torch.zeros(3, 1, 28, 28))
    assert mean.shape == logvar.shape == (3, 5)
    x = G(mean)
    assert x.shape == (3, 1, 28, 28) and x.abs().max() <= 1
    logit, feat = D(x)
    assert logit.shape == (3,) and feat.shape == (3, 8 * 7 * 7)
    with pytest.raises(ConfigError, match="multiple of 4"):
        check_size(1, 30, 30, "t")


def grads(module):
    return [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in module.parameters()]


def test_losses_and_gradient_routing(tmp_path):
    cfg = tiny(tmp_path, **{"model.gamma": 0.1, "model.beta": 0.7})
    t = build_trainer(cfg, tmp_path / "run", hooks=False)
    E, G, D = (t.models[k] for k in "EGD")
    batch = t.next_batch()
    ctx = StepContext(t.models, t.optims, 0, t.noise, t.device)
    d_total, _ = vaegan.d_loss(batch, ctx)
    s, x = ctx.scratch, batch["x"]
    fakes = G(torch.cat([s["z"], s["z_p"]])).detach()
    real, fake = D(x)[0], D(fakes)[0]
    want_d = -(F.logsigmoid(real).mean() + F.logsigmoid(-fake[:8]).mean() + F.logsigmoid(-fake[8:]).mean())
    assert d_total.item() == pytest.approx(want_d.item(), rel=1e-5)

    for m in t.models.values():
        m.zero_grad()
    total, scalars = vaegan.eg_loss(cfg, batch, ctx)
    total.backward()
    got_e, got_g = grads(E), grads(G)
    # by hand: E's objective and G's objective, each differentiated on its own
    mean, logvar = E(x)
    z = mean + (0.5 * logvar).exp() * ((s["z"] - s["mean"]) / (0.5 * s["logvar"]).exp()).detach()
    llike = 0.5 * (D(x)[1] - D(G(z))[1]).pow(2).sum(1).mean()
    kl = kl_to_prior(mean, logvar).mean()
    gan = -F.logsigmoid(D(G(torch.cat([z.detach(), s["z_p"]])))[0]).mean() * 2
    assert scalars["loss/llike"].item() == pytest.approx(llike.item(), rel=1e-5)
    assert scalars["loss/g"].item() == pytest.approx(gan.item(), rel=1e-5)
    want_e = torch.autograd.grad(0.7 * kl + llike, list(E.parameters()), retain_graph=True)
    want_g = torch.autograd.grad(0.1 * llike + gan, list(G.parameters()))
    assert all(torch.allclose(a, b, atol=1e-6, rtol=1e-4) for a, b in zip(got_e, want_e))
    assert all(torch.allclose(a, b, atol=1e-6, rtol=1e-4) for a, b in zip(got_g, want_g))


def test_preset_trains_and_previews_reconstructions(tmp_path):
    cfg = preset_config("vaegan-fashion")
    assert (cfg.model.gamma, cfg.train.loss) == (1e-2, "nonsat")
    status, t = train(tiny(tmp_path, **{"log.sample_every": 2, "log.n_grid": 8}))
    assert status == "finished" and [p.name for p in t.phases] == ["D", "EG"]
    assert {"loss/d", "loss/g", "loss/kl", "loss/llike"} <= t.scalars.keys()
    assert Image.open(tmp_path / "run" / "samples" / "latest.png").size == (2 * (8 * 10 + 2), 2 * (4 * 10 + 2))
    s = t.setup.sample(5, 0)
    assert s.shape == (5, 1, 8, 8) and torch.equal(s, t.setup.sample(5, 0))
    assert main(["sample", str(tmp_path / "run"), "-n", "4", "--out", str(tmp_path / "s.png")]) == 0


def test_resume_is_exact(tmp_path):
    assert_resume_exact(tiny, tmp_path, steps=4, stop=2, names=("E", "G", "D"))


def test_nll_is_refused(tmp_path, capsys):
    train(tiny(tmp_path))
    assert main(["eval", str(tmp_path / "run"), "--metrics", "nll"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--metrics nll is defined for vae and pixelcnn runs, not model.family=vaegan" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("over,msg", [
    ({"model.gamma": 0.0}, "model.gamma > 0"),
    ({"train.loss": "wgan-gp"}, "vaegan trains with the paper's binary cross-entropy GAN loss"),
    ({"stab.pack": 2}, "vaegan does not use stab.pack"),
])
def test_refusals(tmp_path, over, msg):
    with pytest.raises(ConfigError, match=re.escape(msg)):
        train(tiny(tmp_path, **over))


def test_latent_interpolation(tmp_path):
    train(tiny(tmp_path))
    out = str(tmp_path / "strips.png")
    assert main(["latent", "interpolate", str(tmp_path / "run"), "--rows", "2", "--steps", "4", "--out", out]) == 0
