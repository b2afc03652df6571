import math

import pytest
import torch

from gankit.errors import ConfigError
from gankit.stabilizers.madgan import madgan_d_loss
from gankit.run import build_trainer

from ._helpers import gan_models, params, tiny


def test_madgan_generators_and_k_plus_one_outputs(tmp_path):
    cfg = tiny(tmp_path, **{"stab.madgan_k": 3})
    models = gan_models(cfg, (2,))
    G, D = models["G"], models["D"]
    assert len(G.gens) == 3 and G.assignment(7).tolist() == [0, 1, 2, 0, 1, 2, 0]
    z = torch.randn(6, 4)
    out = G(z)
    torch.testing.assert_close(out[1], G.gens[1](z[1:2])[0])  # sample 1 comes from generator 1
    logits = D(out)
    assert logits.shape == (6, 4)
    # a D that names the generators right and calls real "real" has a small loss
    which = G.assignment(6)
    perfect = torch.nn.functional.one_hot(which, 4).float() * 20
    real = torch.nn.functional.one_hot(torch.full((6,), 3), 4).float() * 20
    assert madgan_d_loss(real, perfect, which, 3) < 1e-6


def test_madgan_trains_and_rejects_clashes(tmp_path):
    t = build_trainer(tiny(tmp_path, **{"stab.madgan_k": 2, "train.steps": 3}), tmp_path / "r", hooks=False)
    before = params(t)
    assert t.train() == "finished"
    after = params(t)
    for part in ("G.gens.0.", "G.gens.1.", "D."):  # both generators and D are trained
        assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith(part)), part
    assert t.models["D"](torch.randn(5, 2)).shape == (5, 3)
    # a barely trained D is near chance over the k + 1 = 3 classes: the (k+1)-way losses are ~2 log 3 (D: real +
    # fake) and ~log 3 (G), where a binary GAN step logs ~2 log 2 = 1.39 and ~0.7; "d/real" and "d/fake" are the
    # mean probabilities of the class "real"
    s = t.scalars
    assert abs(s["loss/d"] - 2 * math.log(3)) < 0.2 and abs(s["loss/g"] - math.log(3)) < 0.1, s
    assert abs(s["d/real"] - 1 / 3) < 0.1 and abs(s["d/fake"] - 1 / 3) < 0.1, s
    with pytest.raises(ConfigError, match="madgan"):
        tiny(tmp_path, **{"stab.madgan_k": 2, "stab.pack": 2})
    with pytest.raises(ConfigError, match="madgan_k"):
        tiny(tmp_path, **{"stab.madgan_k": 1})


def test_mrgan_models_optimizers_and_terms(tmp_path):
    cfg = tiny(tmp_path, **{"stab.mrgan_recon": 0.5, "stab.mrgan_mode": 0.1, "train.steps": 2})
    t = build_trainer(cfg, tmp_path / "r", hooks=False)
    assert {"E", "D2"} <= t.models.keys() and {"E", "D2"} <= t.optims.keys()
    assert t.models["E"](torch.randn(5, 2)).shape == (5, 4)  # x -> z
    e0 = [p.clone() for p in t.models["E"].parameters()]
    assert t.train() == "finished"
    assert {"loss/d2", "mrgan/recon", "mrgan/mode", "mrgan/diffusion"} <= t.scalars.keys()
    assert any(not torch.equal(a, b) for a, b in zip(e0, t.models["E"].parameters()))  # E is trained
