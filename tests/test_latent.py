"""Latent tools (interpolation, arithmetic, concept removal) and the conditional / latent command lines."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gankit import latent
from gankit.cli import main
from gankit.errors import GankitError
from gankit.metrics import features
from gankit.nets.dcgan import DCGANGenerator

# ----------------------------------------------------------------------------- interpolation


def test_slerp_endpoints_and_unit_norm():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(16, generator=g), torch.randn(16, generator=g)
    t = torch.linspace(0, 1, 9)
    for f in (latent.slerp, latent.lerp):
        path = f(z0, z1, t)
        assert path.shape == (9, 16)
        assert torch.allclose(path[0], z0, atol=1e-5) and torch.allclose(path[-1], z1, atol=1e-5)
    u0, u1 = z0 / z0.norm(), z1 / z1.norm()
    norms = latent.slerp(u0, u1, t).norm(dim=1)
    assert torch.allclose(norms, torch.ones(9), atol=1e-5)
    assert latent.lerp(u0, u1, t)[4].norm() < 0.9  # the chord cuts inside the sphere
    # equal angular steps along the great circle
    angles = torch.arccos((latent.slerp(u0, u1, t) @ u0).clamp(-1, 1))
    assert torch.allclose(angles.diff(), angles.diff()[0].expand(8), atol=1e-4)


def test_slerp_parallel_falls_back_to_lerp():
    z = torch.tensor([1.0, 2.0, 2.0])
    t = torch.tensor([0.0, 0.5, 1.0])
    assert torch.allclose(latent.slerp(z, 2 * z, t), latent.lerp(z, 2 * z, t))


def test_interpolation_codes_rows_and_errors():
    z0, z1 = torch.randn(3, 4), torch.randn(3, 4)
    codes = latent.interpolation_codes(z0, z1, 5, "lerp")
    assert codes.shape == (15, 4)
    assert torch.allclose(codes[5], z0[1]) and torch.allclose(codes[9], z1[1])
    with pytest.raises(GankitError, match="slerp"):
        latent.interpolation_codes(z0, z1, 5, "cubic")
    with pytest.raises(GankitError, match="2 steps"):
        latent.interpolation_codes(z0, z1, 1)


# ----------------------------------------------------------------------------- arithmetic


def test_parse_expression():
    assert latent.parse_expression("3,7, 12 - 5,9 + 1") == [(1, [3, 7, 12]), (-1, [5, 9]), (1, [1])]
    assert latent.parse_expression("-2") == [(-1, [2])]
    for bad in ("", "1,,2", "a - b", "1 * 2", "1 -"):
        with pytest.raises(GankitError, match="expression"):
            latent.parse_expression(bad)


def test_arithmetic_on_averaged_codes():
    z = torch.randn(10, 5)
    terms = latent.parse_expression("0,1,2 - 3,4 + 5")
    expected = z[[0, 1, 2]].mean(0) - z[[3, 4]].mean(0) + z[5]
    assert torch.allclose(latent.code_arithmetic(z, terms), expected, atol=1e-6)
    with pytest.raises(GankitError, match="0..9"):
        latent.code_arithmetic(z, [(1, [10])])


def test_arithmetic_grid_decodes_means_and_result():
    torch.manual_seed(0)
    G = DCGANGenerator(z_dim=5, resolution=8, channels=1, width=4).eval()
    z = torch.randn(10, 5)
    terms = [(1, [0, 1]), (-1, [2]), (1, [3])]
    imgs = latent.arithmetic_grid(G, z, terms, variants=2, noise=0.0)
    assert imgs.shape == (3 + 1 + 2, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(imgs[0], G(z[[0, 1]].mean(0, keepdim=True))[0], atol=1e-5)
        assert torch.allclose(imgs[3], G(latent.code_arithmetic(z, terms)[None])[0], atol=1e-5)
    assert torch.allclose(imgs[4], imgs[3], atol=1e-6)  # zero noise: neighbours equal the result


# ----------------------------------------------------------------------------- concept removal


def tiny_g():
    torch.manual_seed(0)
    return DCGANGenerator(z_dim=6, resolution=8, channels=1, width=8).eval()


def _probe(G, layer, z):
    """The layer's output as the hooks registered so far leave it."""
    seen = []
    h = latent.get_layer(G, layer).register_forward_hook(lambda m, i, o: seen.append(o.clone()))
    latent.decode(G, z)
    h.remove()
    return seen[0]


def test_units_zeroed_zeroes_exactly_the_chosen_units():
    G, z = tiny_g(), torch.randn(4, 6)
    layer = latent.default_layer(G)
    assert isinstance(latent.get_layer(G, layer), torch.nn.ReLU)
    plain = _probe(G, layer, z)
    with latent.units_zeroed(G, layer, [1, 3]):
        act = _probe(G, layer, z)  # registered after the zeroing hook: sees its result
    keep = [c for c in range(plain.shape[1]) if c not in (1, 3)]
    assert plain[:, [1, 3]].abs().max() > 0 and act[:, [1, 3]].abs().max() == 0
    assert torch.equal(act[:, keep], plain[:, keep])
    before, after = latent.remove_concept(G, layer, [1, 3], z)
    assert (before - after).abs().max() > 1e-4
    assert torch.equal(latent.decode(G, z), before) and torch.equal(_probe(G, layer, z), plain)  # hook removed


def test_fit_concept_finds_the_responsible_unit():
    rng = np.random.default_rng(0)
    acts = rng.normal(size=(200, 6))
    concept = acts[:, 3] + 0.1 * rng.normal(size=200) > 0.5
    fit = latent.fit_concept(acts, concept)
    assert fit.accuracy > 0.9 and fit.n_positive == int(concept.sum())
    assert latent.concept_units(fit.coef, top_k=1) == [3]
    assert all(fit.coef[u] > 0 for u in latent.concept_units(fit.coef))
    with pytest.raises(GankitError, match="positive and negative"):
        latent.fit_concept(acts, np.zeros(200, bool))


def test_unit_activations_and_layer_errors():
    G = tiny_g()
    acts = latent.unit_activations(G, latent.default_layer(G), torch.randn(5, 6))
    assert acts.shape == (5, 8) and (acts >= 0).all()
    with pytest.raises(GankitError, match="valid layers: net"):
        latent.get_layer(G, "nope")


# ----------------------------------------------------------------------------- command line

TINY = ["--train.steps=2", "--train.batch_size=8", "--data.limit=32", "--model.g_width=8", "--model.d_width=8",
        "--model.z_dim=8", "--log.progress=false", "--log.tensorboard=false", "--log.sample_every=0",
        "--train.threads=1", "--log.n_grid=10"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    assert main(["train", "cgan-fashion", *TINY, f"--log.out_dir={root}", "--log.name=cond"]) == 0
    assert main(["train", "dcgan-fashion", *TINY, f"--log.out_dir={root}", "--log.name=plain"]) == 0
    return root / "cond", root / "plain"


def test_sample_by_class_index_and_name(runs, tmp_path):
    cond, _ = runs
    assert main(["sample", str(cond), "-n", "4", "--class", "7", "--out", str(tmp_path / "a.npz")]) == 0
    assert main(["sample", str(cond), "-n", "4", "--class", "sneaker", "--out", str(tmp_path / "b.npz")]) == 0
    a, b = (np.load(tmp_path / f"{n}.npz")["samples"] for n in "ab")
    assert a.shape == (4, 1, 28, 28) and np.array_equal(a, b)
    assert main(["sample", str(cond), "-n", "4", "--class", "bag", "--out", str(tmp_path / "c.npz")]) == 0
    assert not np.array_equal(np.load(tmp_path / "c.npz")["samples"], a)
    # --per-class: a row per class, the same codes in every row (so a column is one code in every class)
    assert main(["sample", str(cond), "-n", "3", "--per-class", "--out", str(tmp_path / "p.npz")]) == 0
    assert main(["sample", str(cond), "-n", "3", "--class", "2", "--out", str(tmp_path / "q.npz")]) == 0
    p, q = np.load(tmp_path / "p.npz")["samples"], np.load(tmp_path / "q.npz")["samples"]
    assert p.shape == (30, 1, 28, 28) and np.allclose(p[6:9], q, atol=1e-6)
    assert main(["sample", str(cond), "-n", "3", "--per-class", "--out", str(tmp_path / "g.png")]) == 0
    assert Image.open(tmp_path / "g.png").size == (2 * (3 * 30 + 2), 2 * (10 * 30 + 2))  # a row per class


@pytest.mark.parametrize("spec, msg", [("shoe", "not a class"), ("12", "out of range 0..9"), ("-1", "out of range")])
def test_sample_bad_class_lists_valid_classes(runs, tmp_path, capsys, spec, msg):
    assert main(["sample", str(runs[0]), "--class", spec, "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert msg in err and "0 T-shirt/top" in err and "7 Sneaker" in err and "9 Ankle boot" in err


def test_class_on_unconditional_run_says_so(runs, tmp_path, capsys):
    _, plain = runs
    for argv in (["sample", str(plain), "--class", "7"], ["sample", str(plain), "--per-class"],
                 ["latent", "interpolate", str(plain), "--class", "7"]):
        assert main([*argv, "--out", str(tmp_path / "x.png")]) == 2
        assert "without class conditioning" in capsys.readouterr().err
    assert main(["sample", str(plain), "-n", "5", "--out", str(tmp_path / "u.npz")]) == 0  # unchanged path


def test_latent_cli_verbs(runs, tmp_path, capsys):
    cond, plain = runs
    out = str(tmp_path / "s.png")
    assert main(["latent", "interpolate", str(cond), "--rows", "2", "--steps", "5", "--mode", "both",
                 "--out", out]) == 0
    assert Image.open(out).size == (2 * (5 * 30 + 2), 2 * (4 * 30 + 2))  # 2 modes x 2 rows
    assert main(["latent", "arithmetic", str(plain), "--pool", "16", "--out", out]) == 0
    assert "--expr" in capsys.readouterr().out
    assert main(["latent", "arithmetic", str(plain), "--pool", "16", "--expr", "0,1 - 2 + 3", "--variants", "2",
                 "--out", out]) == 0
    assert Image.open(out).size[0] == 2 * (6 * 30 + 2)
    assert main(["latent", "arithmetic", str(cond), "--pool", "16", "--expr", "0 + 1", "--out", out]) == 2
    assert "--class" in capsys.readouterr().err
    assert main(["latent", "remove", str(plain), "--pool", "32", "--marked", "1,4,9,15", "-n", "3", "--out", out]) == 0
    text = capsys.readouterr().out
    assert "zeroed" in text and "3 concept samples" in text
    assert main(["latent", "remove", str(cond), "--pool", "40", "--classes", "sandal,ankle boot", "--judge", "0",
                 "--out", out]) == 0
    assert "8 concept / 32 other" in capsys.readouterr().out
    assert main(["latent", "remove", str(cond), "--pool", "40", "--classes", "hat", "--out", out]) == 2
    assert "valid classes" in capsys.readouterr().err
    assert main(["latent", "remove", str(plain), "--layer", "bogus", "--marked", "1", "--out", out]) == 2
    assert "valid layers" in capsys.readouterr().err


CODES = torch.linspace(-0.9, 0.9, 10, dtype=torch.float64)  # centre-pixel value that marks each class


class CodeReader:
    """Stand-in for fashion-cnn: 3 image statistics as features; predicts the class whose code is nearest
    the centre pixel. Parameter-free, so gankit extracts in float64."""

    name, weights_sha256, expects_images = "code-reader", None, True

    def __call__(self, x):
        return torch.stack([x.mean(dim=(1, 2, 3)), x.std(dim=(1, 2, 3)), x[:, 0, 14, 14]], dim=1)

    def logits(self, x):
        return -(x[:, 0, 14, 14, None] - CODES.to(x.dtype)) ** 2


class PaintedG(torch.nn.Module):
    """Ignores z: class c is one fixed random image whose centre pixel holds class c's code for c < 3 and the
    next class's code for c >= 3, so CodeReader is right on exactly classes 0, 1 and 2."""

    def __init__(self, num_classes, z_dim):
        super().__init__()
        self.num_classes, self.z_dim = num_classes, z_dim
        img = torch.rand(num_classes, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
        img[:, 0, 14, 14] = CODES[[c if c < 3 else (c + 1) % num_classes for c in range(num_classes)]]
        self.img = img

    def forward(self, z, y):
        return self.img[y.cpu()]


def _frechet(a, b):
    from scipy import linalg

    ma, mb, sa, sb = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    return float(((ma - mb) ** 2).sum() + np.trace(sa + sb - 2 * linalg.sqrtm(sa @ sb).real))


def test_cond_eval_cli(runs, tmp_path, capsys, monkeypatch):
    import dataclasses

    from gankit import sample
    from gankit.data import build_dataset

    load = sample.load_generator

    def painted(run, **kw):
        G, cfg, meta = load(run, **kw)
        return (PaintedG(G.num_classes, G.z_dim) if hasattr(G, "num_classes") else G), cfg, meta

    monkeypatch.setitem(features.EXTRACTORS, "code-reader", CodeReader)
    monkeypatch.setattr(sample, "load_generator", painted)
    cond, plain = runs
    out = tmp_path / "eval.json"
    argv = ["cond-eval", str(cond), "--classifier", "code-reader", "--n-per-class", "8", "--n-real", "200"]
    assert main([*argv, "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["n_real"] == 200 and res["n_per_class"] == 8
    # the classifier sees the class G was asked for exactly on classes 0, 1 and 2
    assert res["accuracy"] == pytest.approx(0.3) and res["accuracy_per_class"] == [1.0] * 3 + [0.0] * 7
    # FID against the first 200 training images, recomputed here from the known fakes (8 copies of each image)
    _, cfg, _ = load(cond)
    real = build_dataset(dataclasses.replace(cfg.data, split="train", limit=200))
    real_f = CodeReader()(real.x.double()).numpy()
    fake_f = CodeReader()(PaintedG(10, 8).img.double()).numpy()
    assert res["fid"] == pytest.approx(_frechet(real_f, np.repeat(fake_f, 8, axis=0)), rel=1e-6)
    # intra-class FID against one repeated point: ||mu_real_c - f_c||^2 + tr(cov_real_c)
    y = real.y.numpy()
    expected = [float(((r.mean(0) - f) ** 2).sum() + np.trace(np.cov(r, rowvar=False)))
                for r, f in ((real_f[y == c], fake_f[c]) for c in range(10))]
    assert res["intra_fid"] == pytest.approx(expected, rel=1e-6)
    assert "9 Ankle boot" in capsys.readouterr().out
    assert main(["cond-eval", str(plain), "--classifier", "code-reader"]) == 2
    assert "without class conditioning" in capsys.readouterr().err
