"""Runs that cannot be corrupted (issue 17): config changes on resume, one-line errors, nothing half-made,
divergence messages, the log window across a stop."""

from __future__ import annotations

import json
from pathlib import Path


from gankit.cli import main
from gankit.core.hooks import cut_rows_after

TINY = ["--train.batch_size=16", "--model.g_width=8", "--model.d_width=8", "--model.z_dim=4", "--data.n_samples=256",
        "--log.progress=false", "--log.tensorboard=false", "--log.sample_every=0", "--train.threads=1"]


def train(tmp_path, *args) -> int:
    return main(["train", "gan-ring8", *TINY, f"--log.out_dir={tmp_path}", "--log.name=r", *args])


def resume(run: Path, *args) -> int:
    return main(["train", "--resume", str(run), *args])


def test_lr_change_on_resume_reaches_the_optimizer_and_is_recorded(tmp_path, capsys, monkeypatch):
    assert train(tmp_path, "--train.steps=4", "--train.g_lr=1e-3") == 0
    from gankit import run as run_mod

    seen = {}
    real_train = run_mod.train

    def spy(cfg, resume=None):
        status, t = real_train(cfg, resume)
        seen.update({k: o.param_groups[0]["lr"] for k, o in t.optims.items()})
        return status, t

    monkeypatch.setattr(run_mod, "train", spy)
    assert resume(tmp_path / "r", "--train.steps=6", "--train.g_lr=0.5") == 0
    assert seen == {"G": 0.5, "D": 1e-3}  # gan-ring8: d_lr 1e-3
    out = capsys.readouterr().out
    assert "resume: train.g_lr 0.001 -> 0.5 from step 4" in out
    rows = [json.loads(x) for x in (tmp_path / "r" / "config_changes.jsonl").read_text().splitlines()]
    assert {(r["key"], r["from"], r["to"], r["step"]) for r in rows} >= {("train.g_lr", 0.001, 0.5, 4),
                                                                          ("train.steps", 4, 6, 4)}
    assert json.loads((tmp_path / "r" / "config.json").read_text())["train"]["g_lr"] == 0.5


def test_defining_keys_cannot_change_on_resume(tmp_path, capsys):
    assert train(tmp_path, "--train.steps=2") == 0
    before = sorted(p.name for p in (tmp_path / "r").rglob("*"))
    assert resume(tmp_path / "r", "--train.loss=hinge", "--train.seed=3", "--train.batch_size=32") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "a resume cannot change train.batch_size 16 -> 32, train.loss 'nonsat' -> 'hinge', train.seed 0 -> 3" in err
    assert sorted(p.name for p in (tmp_path / "r").rglob("*")) == before  # nothing touched


def test_unwritable_out_dir_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("not a directory")
    assert main(["train", "gan-ring8", *TINY, "--train.steps=2", f"--log.out_dir={tmp_path / 'file'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot create the run directory") and len(err.splitlines()) == 1


def test_cut_rows_after(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps({"step": s, "x": s}) + "\n" for s in (4, 8, 12, 16)) + '{"step": 2')
    assert cut_rows_after(path, 8) == 3  # two later rows and a torn last line
    assert [json.loads(x)["step"] for x in path.read_text().splitlines()] == [4, 8]


def test_divergence_before_the_first_checkpoint_says_so(tmp_path, capsys):
    # a huge lr sends the MLP's losses to inf/nan within a few steps, long before the first checkpoint
    assert train(tmp_path, "--train.steps=200", "--train.g_lr=1e6", "--train.d_lr=1e6", "--log.ckpt_every=500") == 3
    rows = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    warn = [r for r in rows if r.get("warning") in ("non_finite", "exploding")]
    assert warn, rows[-3:]
    last = [r for r in rows if r.get("warning") == "non_finite"][-1]
    assert "nothing to resume" in last["advice"] and "--resume" not in last["advice"]


def test_exploding_finite_losses_are_flagged():
    from gankit.monitor import Monitor

    m = Monitor()
    assert m.update(1, {"loss/d": 1.0, "loss/g": 2.0}) == []
    (w,) = m.update(2, {"loss/d": -7e14, "loss/g": 3e14, "loss/penalty": 5e24})
    assert w.kind == "exploding" and "loss/penalty = 5e+24" in w.message


def test_refused_config_leaves_nothing_behind(tmp_path, capsys):
    out = tmp_path / "runs"
    assert main(["train", "wgan-fashion", "--train.clip=-1", f"--log.out_dir={out}"]) == 2
    assert "train.clip" in capsys.readouterr().err
    assert not out.exists()  # no run directory, config.json or tb/ for a refused run


def test_resume_says_which_checkpoint_it_uses(tmp_path, recwarn):
    assert train(tmp_path, "--train.steps=6", "--log.ckpt_every=3", "--log.keep_ckpts=5") == 0
    (tmp_path / "r" / "ckpt" / "step_00000006.json").unlink()  # the newest checkpoint's metadata is lost
    assert resume(tmp_path / "r", "--train.steps=8") == 0
    assert any("resuming from step 3: step 6 has no metadata file" in str(w.message) for w in recwarn)
