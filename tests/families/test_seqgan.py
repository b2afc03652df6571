"""The SeqGAN family on a tiny oracle and tiny poems: the phases switch by step count, every mode trains, exact
resume across the pretraining/adversarial boundary, NLL-oracle in metrics.jsonl, text from `gankit sample`, and
clear refusals."""

from __future__ import annotations

import pytest
import torch

from gankit.cli import main
from gankit.errors import ConfigError, GankitError
from gankit.families import seqgan
from gankit.families.registry import apply_overrides
from gankit.presets import preset_config
from gankit.run import train
from gankit.sample import load_models
from gankit.viz import read_jsonl
from tests.data._seq import oracle_file, poems_folder
from tests.families.resume import assert_resume_exact

QUIET = {"log.progress": False, "log.tensorboard": False, "train.threads": 1, "log.name": "run",
         "log.sample_every": 0, "log.ckpt_every": 2, "log.log_every": 1}
P, Q = 3, 2  # MLE steps, D pretraining steps


def tiny(tmp_path, preset="seqgan-oracle", **over):
    root = tmp_path / "seqgan_oracle.npz"
    if not root.exists():
        root.parent.mkdir(parents=True, exist_ok=True)
        oracle_file(root, vocab=13, emb=3, hidden=4)
    base = {"data.root": str(root), "data.limit": 64, "train.batch_size": 8, "model.emb": 4, "model.hidden": 5,
            "model.d_emb": 4, "model.d_filter_scale": 0.02, "model.pretrain_steps": P, "model.d_pretrain_steps": Q,
            "model.d_steps": 2, "model.rollouts": 2, "model.nll_every": 2, "model.nll_every_adv": 1,
            "model.nll_n": 50, "train.steps": P + Q + 3, "log.out_dir": str(tmp_path), **QUIET}
    return apply_overrides(preset_config(preset), {**base, **over})


def test_phases_switch_by_step_count_and_nll_oracle_is_logged(tmp_path):
    status, t = train(tiny(tmp_path))
    assert status == "finished"
    assert [p.name for p in t.phases] == ["mle", "d_pre", "g_adv", "d_adv"]
    rows = read_jsonl(tmp_path / "run" / "metrics.jsonl")
    losses = {r["step"]: {k for k in r if k.startswith("loss/")} for r in rows if "img_per_s" in r}
    expect = [{"loss/mle"}] * P + [{"loss/d"}] * Q + [{"loss/pg", "loss/d"}] * 3
    assert [losses[s] for s in range(1, P + Q + 4)] == expect
    nll = [r for r in rows if "eval/nll_oracle" in r]
    assert [r["step"] for r in nll] == [0, 2, 3, 4, 5, 6, 7, 8]  # every 2 MLE steps, the boundaries, every adv. step
    assert all(1 < r["eval/nll_oracle"] < 10 for r in nll) and nll[-1]["eval/epoch"] == 3
    assert (tmp_path / "run" / "nll_oracle.png").is_file()
    assert t.models["D"].filters[0] == (1, 2)  # 100 x 0.02
    models, _, meta = load_models(tmp_path / "run" / "pretrained")  # the pretraining's own checkpoint
    assert meta["step"] == P + Q and {"G", "G_roll", "D"} <= models.keys()


@pytest.mark.parametrize("mode,phases,keys", [
    ("mle", ["mle"], {"loss/mle"}),
    ("ss", ["mle", "ss"], {"loss/mle", "ss/eps"}),
    ("pg-bleu", ["mle", "g_adv"], {"loss/pg", "reward/mean"}),
])
def test_baselines_train(tmp_path, mode, phases, keys):
    status, t = train(tiny(tmp_path, **{"model.mode": mode, "model.nll_every": 0}))
    assert status == "finished" and [p.name for p in t.phases] == phases and keys <= t.scalars.keys()
    assert "D" not in t.models


def test_a_baseline_starts_from_another_runs_pretrained_g(tmp_path):
    """model.init_from: the baselines share one pretraining (G and G_roll start from the checkpoint's G)."""
    train(tiny(tmp_path))
    pre = load_models(tmp_path / "run" / "pretrained")[0]["G"]
    over = {"model.init_from": str(tmp_path / "run" / "pretrained"), "model.pretrain_steps": 0}
    built = seqgan.build(tiny(tmp_path / "x", **over), pre_spec(tmp_path))
    assert not torch.equal(built.models["G"].W, pre.W)  # loaded by Setup.init, for a fresh run only
    built.init()
    assert torch.equal(built.models["G"].W, pre.W) and torch.equal(built.models["G_roll"].W, pre.W)
    status, t = train(tiny(tmp_path / "ss", **over, **{"model.mode": "ss", "train.steps": 2}))
    assert status == "finished" and not torch.equal(t.models["G"].W, pre.W)


def test_a_resume_does_not_need_the_init_from_source(tmp_path):
    """The checkpoint holds everything: a run started from another run's G resumes exactly after that run is
    gone (the source is read by a fresh run only)."""
    train(tiny(tmp_path / "src"))
    src = tmp_path / "src" / "run" / "pretrained"
    over = {"model.init_from": str(src), "model.pretrain_steps": 0, "model.d_pretrain_steps": 1}
    assert_resume_exact(lambda out, **o: tiny(out, **over, **o), tmp_path / "r", steps=4, stop=2,
                        names=("G", "D", "G_roll"), before_resume=lambda: src.rename(tmp_path / "gone"))
    with pytest.raises(GankitError, match="no such run"):  # a fresh run still needs it
        train(tiny(tmp_path / "fresh", **over))


def pre_spec(tmp_path):
    from gankit.core.spec import spec_from_meta

    return spec_from_meta(load_models(tmp_path / "run")[2])


def test_resume_is_exact_across_the_pretraining_boundary(tmp_path):
    for stop in (P - 1, P + Q - 1):  # the last MLE step, the last D pretraining step
        assert_resume_exact(lambda out, **o: tiny(out, **o), tmp_path / str(stop), steps=P + Q + 2, stop=stop,
                            names=("G", "D", "G_roll"))


def test_ema_averages_g_over_the_adversarial_steps_and_is_the_scored_g(tmp_path):
    ema = {"stab.ema": 0.5, "stab.ema_start": P + Q}
    status, t = train(tiny(tmp_path, **ema))
    assert status == "finished"
    rows = [r for r in read_jsonl(tmp_path / "run" / "metrics.jsonl") if "eval/nll_oracle" in r]
    before = [r for r in rows if r["step"] <= P + Q]
    after = [r for r in rows if r["step"] > P + Q]
    assert before and all(r["eval/nll_oracle"] == r["eval/nll_oracle_g"] for r in before)  # a copy of G so far
    assert after and all(r["eval/nll_oracle"] != r["eval/nll_oracle_g"] for r in after)
    G, G_ema = t.models["G"], t.models["G_ema"]
    assert not torch.equal(G.W, G_ema.W)
    pre = load_models(tmp_path / "run" / "pretrained")[0]  # at the start of the adversarial steps: equal
    assert torch.equal(pre["G"].W, pre["G_ema"].W)
    assert torch.equal(load_models(tmp_path / "run")[0]["G_ema"].W, G_ema.W)  # saved with the run
    assert torch.equal(seqgan.sample(t.models, 5, 3), seqgan.sample({"G": G_ema}, 5, 3))
    assert_resume_exact(lambda out, **o: tiny(out, **ema, **o), tmp_path / "resume", steps=P + Q + 3,
                        stop=P + Q + 1, names=("G", "D", "G_roll", "G_ema"))
    with pytest.raises(ConfigError, match="seqgan does not use stab.r1_gamma"):
        tiny(tmp_path, **{"stab.r1_gamma": 1.0})


def test_sample_prints_text_with_the_runs_vocabulary(tmp_path, capsys):
    root = poems_folder(tmp_path / "pkg")
    status, t = train(tiny(tmp_path, "seqgan-poems", **{"data.root": str(root), "data.limit": None,
                                                          "model.nll_every": 0}))
    assert status == "finished" and t.setup.meta["vocab"] == t.dataset.vocab
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "run"), "-n", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and all(len(line) == 20 and set(line) <= set(t.dataset.vocab) for line in lines)
    assert main(["sample", str(tmp_path / "run"), "-n", "3", "--temperature", "0"]) == 0
    greedy = capsys.readouterr().out.splitlines()
    assert len(set(greedy)) == 1  # the most likely token each time: one sequence
    out = tmp_path / "s.txt"
    assert main(["sample", str(tmp_path / "run"), "-n", "2", "--out", str(out)]) == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2


def test_sample_of_an_oracle_run_prints_ids(tmp_path, capsys):
    train(tiny(tmp_path, **{"train.steps": 2, "model.nll_every": 0}))
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "run"), "-n", "2", "--seed", "1"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2 and all(len(r) == 20 and all(0 <= int(x) < 13 for x in r) for r in rows)


def test_bad_input_is_refused_with_one_line(tmp_path, capsys):
    with pytest.raises(ConfigError, match="seqgan needs token sequences"):
        train(tiny(tmp_path, **{"data.name": "ring8"}))
    with pytest.raises(ConfigError, match="model.mode='gan' is not valid"):
        tiny(tmp_path, **{"model.mode": "gan"})
    with pytest.raises(ConfigError, match="rollout_rate"):
        tiny(tmp_path, **{"model.rollout_rate": 1.5})
    with pytest.raises(ConfigError, match="model.start=13 is not an id"):
        train(tiny(tmp_path, **{"model.start": 13}))
    bad = oracle_file(tmp_path / "bad.npz", bo=__import__("numpy").zeros(3, "float32"))
    assert main(["train", "seqgan-oracle", f"--data.root={bad}", f"--log.out_dir={tmp_path}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "array 'bo' has shape (3,), expected (11,)" in err[0]
