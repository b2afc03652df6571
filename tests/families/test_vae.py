"""The VAE family: ELBO <= IWAE <= log p(x) on a linear-Gaussian model whose log p(x) is exact, the loss by hand,
every likelihood trains, reconstructions in the preview, exact resume, `gankit eval --metrics nll`, refusals."""

from __future__ import annotations

import json
import math
import re

import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.core.phases import StepContext
from gankit.errors import ConfigError, DataError
from gankit.families import vae
from gankit.families.registry import apply_overrides
from gankit.metrics.likelihood import nll
from gankit.nets import likelihood as lik
from gankit.presets import preset_config
from gankit.run import build_trainer, train
from gankit.sample import load_models

from .resume import assert_resume_exact, quiet

QUIET = quiet(ckpt_every=2)


def tiny(tmp_path, **over):
    base = {"data.name": "digits", "data.limit": 64, "train.steps": 2, "train.batch_size": 8, "model.latent": 3,
            "model.width": 4, "model.iwae_k": 5, "log.out_dir": str(tmp_path), **QUIET}
    return apply_overrides(preset_config("vae-fashion"), {**base, **over})


# ----------------------------------------------------------------------------- the bounds, on an exact model
def linear_gaussian(d=2, dx=3, seed=0):
    """z ~ N(0, I_d), x | z ~ N(W z + b, s^2 I): log p(x) = log N(x; b, W W^T + s^2 I) exactly."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(dx, d, generator=g, dtype=torch.float64))
    W = q * torch.tensor([1.5, 0.6], dtype=torch.float64)[:d]  # orthogonal columns: p(z | x) has a diagonal covariance
    b, s = torch.randn(dx, generator=g, dtype=torch.float64), 0.7

    def log_lik(z, x):
        return torch.distributions.Normal(z @ W.T + b, s).log_prob(x).sum(-1)

    def exact(x):
        return torch.distributions.MultivariateNormal(b, W @ W.T + s ** 2 * torch.eye(dx)).log_prob(x)

    def posterior(x):  # the exact q(z | x) = p(z | x), diagonal here
        prec = torch.eye(d, dtype=torch.float64) + W.T @ W / s ** 2
        cov = torch.linalg.inv(prec)
        mean = (x - b) @ W @ cov.T / s ** 2
        return mean, torch.log(torch.diagonal(cov)).expand_as(mean)

    x = torch.randn(5, dx, generator=g, dtype=torch.float64) * 2
    return log_lik, exact, posterior, x, W, s


def test_elbo_le_iwae_le_log_px_on_a_linear_gaussian_model():
    """Averages over many draws (the 5 images repeated): ELBO = IWAE_1 < IWAE_5 < IWAE_50 < log p(x)."""
    log_lik, exact, posterior, x, _, _ = linear_gaussian()
    mean, logvar = posterior(x)
    reps = 20000

    def rough(v):  # an imperfect encoder, for the repeated rows
        return (mean * 0.5 + 0.3).repeat(len(v) // len(x), 1), (logvar + 0.8).repeat(len(v) // len(x), 1)

    g = torch.Generator().manual_seed(1)
    xr = x.repeat(reps, 1)
    log_px_z, kl = vae.elbo_terms(rough, log_lik, xr, g)
    elbo = (log_px_z - kl).view(reps, 5).mean(0)
    iwae = {k: vae.iwae_bound(rough, log_lik, x.repeat(reps // k, 1), k, g).view(reps // k, 5).mean(0)
            for k in (1, 5, 50)}
    log_px = exact(x)
    assert torch.allclose(iwae[1], elbo, atol=0.15)  # k = 1 is the ELBO in expectation
    assert (elbo + 0.5 < iwae[5]).all() and (iwae[5] < iwae[50]).all() and (iwae[50] < log_px).all()


def test_bounds_are_tight_with_the_exact_posterior():
    """With q = p(z | x), every importance weight is p(x): ELBO = IWAE_k = log p(x) for every draw."""
    log_lik, exact, posterior, x, W, s = linear_gaussian()
    g = torch.Generator().manual_seed(0)
    log_px = exact(x)
    assert torch.allclose(vae.iwae_bound(posterior, log_lik, x, 7, g), log_px, atol=1e-9)
    # the ELBO's expectation: E_q log p(x|z) - KL = log p(x); one draw differs, the average converges
    elbos = torch.stack([(lambda t: t[0] - t[1])(vae.elbo_terms(posterior, log_lik, x, g)) for _ in range(4000)])
    assert torch.allclose(elbos.mean(0), log_px, atol=0.05)


def test_kl_and_gaussian_density_against_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mean, logvar, z = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    q = torch.distributions.Normal(mean, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    assert torch.allclose(vae.kl_to_prior(mean, logvar), torch.distributions.kl_divergence(q, p).sum(-1), atol=1e-5)
    assert torch.allclose(vae.gaussian_log_density(z, mean, logvar), q.log_prob(z).sum(-1), atol=1e-5)


# ----------------------------------------------------------------------------- the family
def test_loss_by_hand(tmp_path):
    cfg = tiny(tmp_path, **{"model.beta": 0.5})
    t = build_trainer(cfg, tmp_path / "run", hooks=False)
    batch, state = t.next_batch(), t.noise.get_state()
    total, scalars = vae.elbo_loss(cfg, batch, StepContext(t.models, t.optims, 0, t.noise, t.device))
    t.noise.set_state(state)
    x, (mean, logvar) = batch["x"], t.models["enc"](batch["x"])
    z = mean + (0.5 * logvar).exp() * torch.randn(mean.shape, generator=t.noise)
    rec = -lik.log_prob("logistic", t.models["dec"](z), x).mean()
    kl = (0.5 * (mean ** 2 + logvar.exp() - 1 - logvar).sum(1)).mean()
    assert total.item() == pytest.approx((rec + 0.5 * kl).item(), rel=1e-5)
    assert scalars["elbo"].item() == pytest.approx(-(rec + kl).item(), rel=1e-5)
    assert scalars["bits_per_dim"].item() == pytest.approx((rec + kl).item() / (64 * math.log(2)), rel=1e-5)


@pytest.mark.parametrize("kind", lik.KINDS)
def test_every_likelihood_trains_and_previews_reconstructions(tmp_path, kind):
    status, t = train(tiny(tmp_path, **{"model.likelihood": kind, "log.sample_every": 2, "log.n_grid": 8}))
    assert status == "finished" and {"loss/rec", "loss/kl", "elbo", "bits_per_dim"} <= t.scalars.keys()
    img = Image.open(tmp_path / "run" / "samples" / "latest.png")
    assert img.size == (2 * (8 * 10 + 2), 2 * (4 * 10 + 2))  # 8 (input | reconstruction) pairs, 16 samples
    s = t.setup.sample(5, 3)
    assert s.shape == (5, 1, 8, 8) and torch.equal(s, t.setup.sample(5, 3)) and s.abs().max() <= 1


def test_reconstruction_rows_interleave():
    x, rec, smp = torch.zeros(2, 1, 4, 4), torch.ones(2, 1, 4, 4), torch.full((3, 1, 4, 4), 0.5)
    rows = vae.reconstruction_rows(x, rec, smp)
    assert [r.mean().item() for r in rows] == [0, 1, 0, 1, 0.5, 0.5, 0.5]


def test_resume_is_exact(tmp_path):
    assert_resume_exact(tiny, tmp_path, steps=4, stop=2, names=("enc", "dec"))


def test_eval_nll_on_the_test_split(tmp_path, capsys):
    train(tiny(tmp_path, **{"train.steps": 4}))
    run = tmp_path / "run"
    models, cfg, _ = load_models(run)
    r = nll(models, cfg, "test", 40, seed=0)
    assert r["n"] == 40 and r["nll_nats"] == r["nll_iwae"]
    assert r["nll_iwae"] < r["nelbo"]  # IWAE (k=5) is the tighter bound
    assert r["bits_per_dim"] == pytest.approx(r["nll_iwae"] / (64 * math.log(2)))
    assert main(["eval", str(run), "--metrics", "nll", "--n", "40"]) == 0
    out = capsys.readouterr().out
    assert "40 generated vs 40 real (digits/test)" in out and "bits_per_dim" in out
    record = json.loads((run / "eval" / "step_00000004.nll.json").read_text())
    assert record["metrics"]["nll_iwae"] == pytest.approx(r["nll_iwae"])
    assert main(["eval", str(run), "--metrics", "nll,fid", "--n", "40"]) == 2
    assert "--metrics nll is computed on its own" in capsys.readouterr().err


def test_sample_command(tmp_path):
    train(tiny(tmp_path))
    assert main(["sample", str(tmp_path / "run"), "-n", "6", "--out", str(tmp_path / "s.npz")]) == 0
    import numpy as np

    with np.load(tmp_path / "s.npz") as f:
        assert f["samples"].shape == (6, 1, 8, 8)


@pytest.mark.parametrize("over,msg", [
    ({"model.likelihood": "gauss"}, "unknown likelihood 'gauss'; valid: bernoulli, logistic, categorical"),
    ({"stab.ema": 0.9}, "vae does not use stab.ema"),
    ({"model.latent": 0}, "model.latent, model.width and model.iwae_k must be >= 1"),
    ({"data.name": "ring8"}, "vae models images, not vector data"),
])
def test_refusals(tmp_path, over, msg):
    with pytest.raises(ConfigError, match=re.escape(msg)):
        train(tiny(tmp_path, **over))


def test_binarised_fashion_mnist_is_a_fixed_threshold():
    from gankit.config import DataConfig
    from gankit.data import build_dataset

    try:
        gray = build_dataset(DataConfig(limit=50, download=False))
        binary = build_dataset(DataConfig(name="fashion-mnist-binary", limit=50, download=False))
    except DataError:
        pytest.skip("Fashion-MNIST is not installed")
    assert set(binary.x.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(binary.x > 0, lik.to_levels(gray.x) > 127) and torch.equal(binary.y, gray.y)


def test_latent_tools_walk_the_vae_latent_space(tmp_path):
    """`gankit latent` decodes codes through the decoder's mean image (MeanDecoder as G)."""
    from gankit.sample import load_generator

    train(tiny(tmp_path))
    run = tmp_path / "run"
    G, _, _ = load_generator(run)
    models = load_models(run)[0]
    z = torch.randn(3, 3)
    assert G.z_dim == 3 and torch.equal(G(z), vae.decode_mean(models, "logistic", z))
    out = str(tmp_path / "strips.png")
    assert main(["latent", "interpolate", str(run), "--rows", "2", "--steps", "4", "--out", out]) == 0
    assert main(["latent", "arithmetic", str(run), "--pool", "8", "--expr", "0,1 - 2 + 3", "--variants", "2",
                 "--out", str(tmp_path / "sum.png")]) == 0
