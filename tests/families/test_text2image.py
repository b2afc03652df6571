"""The text2image family (GAN-CLS / GAN-INT): presets, phases, the matching-aware loss as a pure function, wrong
texts and interpolations, exact resume, `gankit sample --text` end to end with the unknown-word refusal, the
evaluation, refusals."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

import gankit.data.captions as C
from gankit.cli import main
from gankit.core.phases import StepContext
from gankit.errors import ConfigError
from gankit.families import text2image as t2i
from gankit.families.registry import apply_overrides
from gankit.losses import d_minimax, get_loss
from gankit.presets import preset_config
from gankit.run import build_trainer, train
from gankit.sample import load_models, text_samples

from .resume import assert_resume_exact, quiet

QUIET = quiet(ckpt_every=2)


def tiny(tmp_path, preset="text2image-fashion", **over):
    base = {"train.steps": 2, "train.batch_size": 8, "data.limit": 48, "model.g_width": 4, "model.d_width": 4,
            "model.z_dim": 4, "model.word_dim": 4, "model.emb_dim": 8, "model.t_dim": 4,
            "log.out_dir": str(tmp_path), **QUIET}
    return apply_overrides(preset_config(preset), {**base, **over})


def test_presets_differ_only_in_cls_and_int():
    a, b = preset_config("text2image-fashion"), preset_config("text2image-plain-fashion")
    assert (a.model.cls, a.model.int, b.model.cls, b.model.int) == (True, True, False, False)
    assert a.data.name == b.data.name == "fashion-captions" and a.train == b.train
    assert apply_overrides(a, {"model.cls": "false", "model.int": "false"}).model == b.model


def test_matching_aware_loss_is_pure_and_pushes_wrong_text_down():
    s_real, s_fake = torch.tensor([2.0, 1.0]), torch.tensor([-1.0, 0.5])
    s_wrong = torch.tensor([0.3, -0.2], requires_grad=True)
    loss = t2i.matching_aware_d_loss(d_minimax, s_real, s_wrong, s_fake)
    want = 0.5 * (d_minimax(s_real, s_wrong) + d_minimax(s_real, s_fake))
    assert torch.equal(loss, want)
    assert torch.isclose(loss, torch.nn.functional.softplus(-s_real).mean()
                         + 0.5 * (torch.nn.functional.softplus(s_wrong).mean()
                                  + torch.nn.functional.softplus(s_fake).mean()))
    loss.backward()
    assert (s_wrong.grad > 0).all()  # gradient descent lowers D's score of (real image, wrong text)
    higher = t2i.matching_aware_d_loss(d_minimax, s_real, s_wrong.detach() + 1, s_fake)
    assert higher > loss  # a D that believes wrong texts more is penalised
    assert torch.equal(t2i.matching_aware_d_loss(d_minimax, s_real, None, s_fake), d_minimax(s_real, s_fake))


def test_wrong_index_picks_another_key():
    g = torch.Generator().manual_seed(0)
    keys = torch.tensor([0, 0, 1, 2, 2, 2, 3])
    for _ in range(20):
        j = t2i.wrong_index(keys, g)
        assert (keys[j] != keys).all()
    assert t2i.wrong_index(torch.tensor([5, 5, 5]), g).tolist() == [1, 2, 0]  # all the same: the next one


def test_interpolate_mixes_two_embeddings():
    e = torch.eye(4)
    out = t2i.interpolate(e, 0.5, torch.Generator().manual_seed(0))
    assert torch.allclose(out.sum(1), torch.ones(4)) and (out.max(1).values >= 0.5).all()
    assert torch.equal(t2i.interpolate(e, 1.0, torch.Generator().manual_seed(0)), e)


@pytest.mark.parametrize("preset", ["text2image-fashion", "text2image-plain-fashion"])
def test_trains_with_the_expected_phases_and_scalars(tmp_path, preset):
    status, t = train(tiny(tmp_path, preset, **{"log.sample_every": 2, "log.n_grid": 3}))
    assert status == "finished"
    assert [(p.name, p.optims) for p in t.phases] == [("D", ("D",)), ("G", ("G",))]
    cls = preset == "text2image-fashion"
    assert ("d/wrong" in t.scalars) == cls and ("loss/g_int" in t.scalars) == cls
    assert Image.open(tmp_path / "run" / "samples" / "latest.png").size == (2 * (3 * 30 + 2), 2 * (3 * 30 + 2))
    vocab = json.loads((tmp_path / "run" / "vocab.json").read_text())
    assert vocab["vocab"] == C.vocabulary() and len(vocab["captions"]["cuts"]) == 10
    assert {p for p in t.optims["D"].param_groups[0]["params"]} >= set(t.models["E"].parameters())


def test_d_loss_by_hand(tmp_path):
    cfg = tiny(tmp_path)
    t = build_trainer(cfg, tmp_path / "run", hooks=False)
    batch, loss = t.next_batch(), get_loss("nonsat")
    state = t.noise.get_state()
    ctx = StepContext(t.models, t.optims, 0, t.noise, t.device)
    total, scalars = t2i.d_loss(cfg, loss, batch, ctx)
    t.noise.set_state(state)
    E, G, D = t.models["E"], t.models["G"], t.models["D"]
    ids = t2i.pick_captions(batch, ctx)
    emb = E(ids)
    fake = t2i.fakes(G, emb.detach(), ctx)[0].detach()
    keys = batch["y"] * 9 + batch["attrs"][:, 0] * 3 + batch["attrs"][:, 1]
    wrong = emb[t2i.wrong_index(keys, t.noise)]
    x = batch["x"]
    s_real, s_wrong, s_fake = D(x, emb), D(x, wrong), D(fake, emb)  # three batches: batch norm as in G's phase
    want = loss.d(s_real, s_fake) * 0.5 + loss.d(s_real, s_wrong) * 0.5
    assert total.item() == pytest.approx(want.item(), rel=1e-5)
    assert scalars["d/wrong"].item() == pytest.approx(s_wrong.mean().item(), rel=1e-5)


@pytest.mark.parametrize("over", [{}, {"model.ca": True}])
def test_resume_is_exact(tmp_path, over):
    assert_resume_exact(lambda out, **o: tiny(out, **{"train.steps": 4, **over, **o}), tmp_path, 4, 2,
                        names=("E", "G", "D"))


@pytest.mark.parametrize("over,msg", [
    ({"data.name": "fashion-mnist"}, "text2image needs captioned images (fields x, y, attrs, captions"),
    ({"train.loss": "wgan-gp"}, "text2image takes train.loss nonsat, minimax, lsgan, hinge, not wgan-gp"),
    ({"stab.pack": 2}, "text2image does not use stab.pack"),
    ({"model.int_beta": 1.5}, "model.int_beta must be in [0, 1]"),
])
def test_refusals(tmp_path, over, msg):
    with pytest.raises(ConfigError, match=re.escape(msg)):
        train(tiny(tmp_path, **over))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("t2i")
    train(tiny(out))
    return out / "run"


def test_sample_text_end_to_end(run_dir, tmp_path, capsys):
    out = tmp_path / "x.png"
    assert main(["sample", str(run_dir), "--text", "a dark ankle boot", "--text", "small bright bag", "-n", "3",
                 "--out", str(out)]) == 0
    assert Image.open(out).size == (2 * (3 * 30 + 2), 2 * (2 * 30 + 2))
    npz = tmp_path / "x.npz"
    assert main(["sample", str(run_dir), "--text", "a dark ankle boot", "-n", "3", "--out", str(npz)]) == 0
    got = np.load(npz)["samples"]
    models, _, meta = load_models(run_dir)
    want = text_samples(models, meta, ["a dark ankle boot"], 3, 0)
    assert np.allclose(got, want.numpy()) and got.shape == (3, 1, 28, 28)
    two = text_samples(models, meta, ["a dark ankle boot", "a pale coat"], 3, 0)
    assert torch.equal(two[:3], want)  # the same z in every row
    ids = C.encode("a pale coat", meta["vocab"], meta["captions"]["max_words"]).expand(3, -1)
    assert torch.equal(two[3:], t2i.generate_text(models, ids, 0))
    capsys.readouterr()
    assert main(["sample", str(run_dir), "--text", "a dark wellington", "--out", str(tmp_path / "y.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown word 'wellington'" in err and "ankle" in err
    assert not (tmp_path / "y.png").exists()
    assert main(["sample", str(run_dir), "-n", "4", "--out", str(tmp_path / "z.png")]) == 0  # random captions


def test_text_is_refused_for_other_families(tmp_path, capsys):
    from tests.families.test_stargan import tiny as star_tiny

    train(star_tiny(tmp_path))
    assert main(["sample", str(tmp_path / "run"), "--text", "a coat", "--out", str(tmp_path / "x.png")]) == 2
    assert "--text is for text2image runs" in capsys.readouterr().err


def test_eval_scores_class_attributes_and_fid(run_dir, tmp_path, capsys):
    from gankit.metrics.text2image import attribute_accuracy, cell_captions

    models, cfg, meta = load_models(run_dir)
    ids, ys, lv = cell_captions(meta["vocab"], meta["captions"]["max_words"], 2, 0)
    assert len(ids) == 180 and torch.bincount(ys).tolist() == [18] * 10
    for i in (0, 17, 179):  # every cell caption names its class and both levels
        words = C.decode(ids[i], meta["vocab"]).split()
        assert set(words) & set(C.LEVEL_WORDS["brightness"][int(lv[i, 0])])
        assert set(words) & set(C.LEVEL_WORDS["size"][int(lv[i, 1])])
    cuts = meta["captions"]["cuts"]
    real = C.caption_dataset(*_few_real(), 1, 0, cuts)
    perfect = attribute_accuracy(real.x, real.y, real.attrs, cuts)  # real images are right by construction
    assert perfect == {"brightness_accuracy": 1.0, "size_accuracy": 1.0, "both_attributes_accuracy": 1.0}
    assert main(["eval", str(run_dir), "--n", "50", "--per-class", "1", "--json", str(tmp_path / "e.json")]) == 0
    rec = json.loads((tmp_path / "e.json").read_text())
    m = rec["metrics"]
    assert {"class_accuracy", "brightness_accuracy", "size_accuracy", "fid", "real_class_accuracy", "z_spread",
            "real_cell_spread"} <= m.keys()
    assert 0 <= m["class_accuracy"] <= 1 and m["fid"] > 0 and m["real_class_accuracy"] > 0.7
    assert rec["n_fake"] == 50 and len(rec["class_accuracy_per_class"]) == 10


def test_z_spread_against_numpy():
    from gankit.metrics.text2image import z_spread

    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 1, 4, 4)).astype(np.float32)
    groups = np.array([0, 0, 0, 1, 1, 1, 1, 2, 3, 3])  # group 2 has one image: left out
    want = np.mean([x[groups == g].reshape(-1, 16).std(0, ddof=1).mean() for g in (0, 1, 3)])
    assert z_spread(torch.from_numpy(x), torch.from_numpy(groups)) == pytest.approx(want, rel=1e-5)


def _few_real():
    from gankit.config import DataConfig
    from gankit.data import build_dataset

    d = build_dataset(DataConfig(name="fashion-mnist", limit=30))
    return d.x, d.y, d.class_names
