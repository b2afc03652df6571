"""gankit augment: the batch mixing, the standard augmentation, the classifier and the command end to end."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from gankit.augment import (ARMS, ClassifierSettings, Cycler, batch_split, flip_and_crop, generated_pool, make_batch,
                            new_classifier, parse_mix, summarize, train_arm)
from gankit.cli import main
from gankit.errors import ConfigError

from tests.data._helpers import write_fashion_split


class LabelPainter(nn.Module):
    """A stand-in conditional G: the image of label y is filled with y / 10 (z is ignored)."""

    z_dim, num_classes = 4, 10

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (y.float() / 10)[:, None, None, None].expand(len(z), 1, 28, 28).clone()


def _real(n: int = 30) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.arange(n) % 10
    return torch.full((n, 1, 28, 28), -0.5), y  # real images are -0.5 everywhere, the generated ones >= 0


def test_parse_mix():
    assert parse_mix("1:1") == (1, 1) and parse_mix("3:1") == (3, 1) and parse_mix("0:1") == (0, 1)
    for bad in ("1", "0:0", "-1:2", "a:b", "1:1:1"):
        with pytest.raises(ConfigError, match=r"^--mix: expected REAL:GENERATED"):
            parse_mix(bad)


@pytest.mark.parametrize("batch,mix,want", [(64, (1, 1), (32, 32)), (64, (3, 1), (48, 16)), (64, (1, 3), (16, 48)),
                                            (64, (1, 0), (64, 0)), (64, (0, 1), (0, 64)), (2, (9, 1), (1, 1))])
def test_batch_split(batch, mix, want):
    assert batch_split(batch, mix) == want


def test_generated_labels_are_the_conditioning_labels():
    x, y = generated_pool(LabelPainter(), 25, 10, seed=0)
    assert x.shape == (25, 1, 28, 28) and y.tolist() == [i % 10 for i in range(25)]
    assert torch.equal(x[:, 0, 0, 0], y.float() / 10)


@pytest.mark.parametrize("mix", [(1, 1), (3, 1), (1, 3)])
def test_mixed_batches_honour_the_ratio_and_keep_labels(mix):
    real, pool = _real(), generated_pool(LabelPainter(), 40, 10, seed=1)
    gen = torch.Generator().manual_seed(0)
    cyclers = (Cycler(len(real[0]), gen), Cycler(len(pool[0]), gen))
    split = batch_split(16, mix)
    n_gen = 0
    for _ in range(10):
        x, y, is_gen = make_batch(real, pool, cyclers, split, augment=False, gen=gen)
        assert len(x) == 16 and int(is_gen.sum()) == split[1]
        assert (x[~is_gen] == -0.5).all()  # real rows are real images with their labels
        assert torch.equal(x[is_gen][:, 0, 0, 0], y[is_gen].float() / 10)  # generated rows: conditioning labels
        n_gen += int(is_gen.sum())
    assert n_gen / 160 == pytest.approx(mix[1] / sum(mix))


def test_cycler_visits_every_index_once_per_epoch():
    c = Cycler(7, torch.Generator().manual_seed(0))
    a, b = c.take(5), c.take(9)
    assert sorted(torch.cat([a, b[:2]]).tolist()) == list(range(7)) and sorted(b[2:].tolist()) == list(range(7))


def test_flip_and_crop():
    x = torch.rand(32, 1, 28, 28) * 2 - 1
    only_flip = flip_and_crop(x, torch.Generator().manual_seed(0), shift=0)
    flipped = [bool(torch.equal(a, b.flip(-1))) for a, b in zip(only_flip, x)]
    assert all(torch.equal(a, b) or f for a, b, f in zip(only_flip, x, flipped)) and 4 < sum(flipped) < 28
    out = flip_and_crop(x, torch.Generator().manual_seed(0), shift=2)
    assert out.shape == x.shape and torch.equal(out, flip_and_crop(x, torch.Generator().manual_seed(0), shift=2))
    one = torch.zeros(1, 1, 28, 28)  # a gray image: a shift moves background (-1) in at one edge or none
    shifted = flip_and_crop(one, torch.Generator().manual_seed(3), shift=2)
    assert set(shifted.unique().tolist()) <= {-1.0, 0.0} and int((shifted == 0).sum()) >= 26 * 26


def test_classifier_shape_and_one_step():
    s = ClassifierSettings(steps=1, batch_size=8)
    net = new_classifier(s, seed=0)
    assert net(torch.zeros(5, 1, 28, 28)).shape == (5, 10)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    after = train_arm("real", _real(), None, s, seed=0).state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if after[k].is_floating_point())


def test_arms_are_seeded_and_share_the_initial_weights():
    real, pool = _real(), generated_pool(LabelPainter(), 20, 10, seed=0)
    s = ClassifierSettings(steps=2, batch_size=8)
    a = train_arm("both", real, pool, s, seed=4).state_dict()
    b = train_arm("both", real, pool, s, seed=4).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = train_arm("gan", real, pool, s, seed=4).state_dict()
    assert any(not torch.equal(a[k], c[k]) for k in a if a[k].is_floating_point())
    with pytest.raises(ConfigError, match="unknown arm 'mixup'"):
        train_arm("mixup", real, pool, s, seed=0)
    with pytest.raises(ConfigError, match="arm 'gan' needs generated samples"):
        train_arm("gan", real, None, s, seed=0)


def test_summarize():
    rows = [{"arm": "real", "test_accuracy": a} for a in (0.5, 0.7)] + [{"arm": "gan", "test_accuracy": 0.6}]
    got = summarize(rows)
    assert got["real"][0] == pytest.approx(0.6) and got["real"][1] == pytest.approx(0.1414, abs=1e-4)
    assert got["gan"] == (pytest.approx(0.6), 0.0, 1)


@pytest.fixture
def fashion_root(tmp_path):
    (tmp_path / "fm").mkdir()
    write_fashion_split(tmp_path / "fm", "train", n=100)
    write_fashion_split(tmp_path / "fm", "test", n=20, seed=1)
    return tmp_path / "fm"


TINY_GAN = ["--data.download=false", "--train.steps=2", "--train.batch_size=8", "--model.g_width=8",
            "--model.d_width=8", "--model.z_dim=8", "--log.progress=false", "--log.tensorboard=false",
            "--train.threads=1"]
TINY_CLF = ["--steps", "2", "--batch-size", "8", "--pool", "20", "--width", "8"]


def test_cli_end_to_end(tmp_path, fashion_root, capsys):
    rows_path = tmp_path / "rows.jsonl"
    rc = main(["augment", "cgan-fashion", f"--data.root={fashion_root}", "--data.per_class=2", *TINY_GAN,
               f"--log.out_dir={tmp_path / 'runs'}", "--log.name=g", "--seeds", "0,1", *TINY_CLF,
               "--rows", str(rows_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "test accuracy (2 per class, 20 test images" in out and all(f"  {a} " in out for a in ARMS)
    rows = [json.loads(line) for line in rows_path.read_text().splitlines()]
    assert [(r["arm"], r["seed"]) for r in rows] == [(a, s) for s in (0, 1) for a in ARMS]
    assert all(r["n_real"] == 20 and r["n_test"] == 20 and 0 <= r["test_accuracy"] <= 1 for r in rows)
    assert rows[2]["mix"] == "1:1" and rows[0]["mix"] is None and rows[0]["gan_run"] == str(tmp_path / "runs" / "g")
    # the same cGAN again, from its run directory: the same accuracies
    assert main(["augment", "--gan-run", str(tmp_path / "runs" / "g"), "--arms", "gan,real", "--seeds", "1",
                 *TINY_CLF, "--rows", str(tmp_path / "again.jsonl")]) == 0
    again = {r["arm"]: r["test_accuracy"] for r in map(json.loads, (tmp_path / "again.jsonl").read_text().splitlines())}
    assert again == {r["arm"]: r["test_accuracy"] for r in rows if r["seed"] == 1 and r["arm"] in again}


@pytest.mark.parametrize("args,message", [
    (["--data.per_class=0"], "error: data.per_class: must be a positive integer"),
    (["--data.per_class=50"], "error: data.per_class=50: class 0 (T-shirt/top) has only"),
    (["--mix", "2"], "error: --mix: expected REAL:GENERATED"),
    (["--arms", "real,mixup"], "error: --arms: unknown arm mixup"),
    (["--model.cond=none"], "error: augment: preset cgan-fashion is not a class-conditional GAN"),
])
def test_cli_refuses_bad_input(tmp_path, fashion_root, capsys, args, message):
    rc = main(["augment", "cgan-fashion", f"--data.root={fashion_root}", *TINY_GAN, f"--log.out_dir={tmp_path}",
               *TINY_CLF, *args])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith(message) and err.count("\n") == 1


def test_gan_run_keeps_its_subset(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["augment", "--gan-run"])
    capsys.readouterr()
    from gankit.augment import load_gan

    with pytest.raises(ConfigError, match=r"only --data.root, --data.cache_dir and --data.download .* not "
                                          r"data.per_class"):
        load_gan(tmp_path, {"data.per_class": "5"})


def test_baselines_alone_train_no_gan(tmp_path, fashion_root, capsys):
    assert main(["augment", f"--data.root={fashion_root}", "--data.per_class=1", *TINY_GAN,
                 f"--log.out_dir={tmp_path / 'runs'}", "--arms", "standard", "--seeds", "3", *TINY_CLF]) == 0
    out = capsys.readouterr().out
    assert "1 per class" in out and "standard  " in out and "(1 seeds)" in out and "cGAN" not in out
    assert not (tmp_path / "runs").exists()
