"""End-to-end command-line tests on tiny data."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gankit.cli import main
from gankit.presets import PRESETS

TINY = ["--train.steps=6", "--train.batch_size=16", "--model.g_width=8", "--model.d_width=8", "--model.z_dim=8",
        "--log.progress=false", "--log.tensorboard=false", "--log.ckpt_every=3", "--train.threads=1"]


def run(tmp_path, *args):
    return main(["train", *args, *TINY, f"--log.out_dir={tmp_path}", "--log.name=r"])


def test_train_sample_resume_fashion(tmp_path, capsys):
    assert run(tmp_path, "dcgan-fashion", "--data.limit=64") == 0
    out = capsys.readouterr().out
    assert "finished at step 6/6" in out and str(tmp_path / "r") in out
    run_dir = tmp_path / "r"
    assert main(["sample", str(run_dir), "-n", "10", "--out", str(tmp_path / "s.npz")]) == 0
    s = np.load(tmp_path / "s.npz")["samples"]
    assert s.shape == (10, 1, 28, 28) and s.min() >= -1 and s.max() <= 1
    assert main(["sample", str(run_dir), "-n", "9", "--out", str(tmp_path / "grid.png")]) == 0
    assert main(["sample", str(run_dir), "-n", "9", "--out", str(tmp_path / "s9.npz")]) == 0
    grid = np.asarray(Image.open(tmp_path / "grid.png"))
    assert grid.shape == (2 * (3 * 30 + 2), 2 * (3 * 30 + 2))  # 3 x 3 tiles of 28 px, 2 px gaps, drawn at 2x
    tiles = grid[::2, ::2]
    want = np.round((np.load(tmp_path / "s9.npz")["samples"][:, 0] + 1) * 127.5)
    for i in range(9):  # tile i (row-major) is sample i
        r, c = divmod(i, 3)
        assert np.abs(tiles[2 + 30 * r:30 + 30 * r, 2 + 30 * c:30 + 30 * c] - want[i]).max() <= 1
    assert main(["sample", str(run_dir), "-n", "3", "--out", str(tmp_path / "pngs")]) == 0
    assert sorted(p.name for p in (tmp_path / "pngs").iterdir()) == ["000000.png", "000001.png", "000002.png"]
    # same seed -> same samples
    main(["sample", str(run_dir), "-n", "10", "--out", str(tmp_path / "t.npz")])
    assert np.array_equal(np.load(tmp_path / "t.npz")["samples"], s)
    # continue to 9 steps with the same run directory
    assert main(["train", "--resume", str(run_dir), "--train.steps=9"]) == 0
    assert "finished at step 9/9" in capsys.readouterr().out


def test_presets_listed(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for name in ["dcgan-fashion", "gan-mlp-fashion", "wgan-fashion", "wgan-gp-fashion", "lsgan-fashion",
                 "hinge-fashion", "dragan-fashion", "gan-ring8", "gan-grid25"]:
        assert name in out and name in PRESETS


@pytest.mark.parametrize("args,msg", [
    (["--train.lrr=1"], "unknown config key 'train.lrr'; valid keys of 'train': steps, batch_size"),
    (["--trian.lr=1"], "unknown config section 'trian'; valid sections: data, model, train, log"),
    (["--train.steps=abc"], "train.steps: expected an integer, got 'abc'"),
    (["--train.loss=foo"], "train.loss='foo' is not valid; choose one of: minimax, nonsat"),
    (["nosuchpreset"], "unknown preset 'nosuchpreset'; valid presets: dcgan-fashion"),
    (["--data.root=/nonexistent/dir"], "/nonexistent/dir"),
    (["wgan-gp-fashion", "--model.d_norm=batch"], "batch norm"),
])
def test_bad_input_one_clear_line(tmp_path, capsys, args, msg):
    assert main(["train", *args, f"--log.out_dir={tmp_path}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and msg in err and "\n" not in err
    assert not (tmp_path / "r").exists()


def test_resume_missing_or_corrupt_checkpoint(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err
    assert run(tmp_path, "gan-ring8", "--data.n_samples=256") == 0
    ckpts = sorted((tmp_path / "r" / "ckpt").glob("*.safetensors"))
    before = {p: p.read_bytes() for p in (tmp_path / "r").rglob("*") if p.is_file()}
    ckpts[-1].write_bytes(b"garbage")
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "r"), "--train.steps=9"]) == 2
    err = capsys.readouterr().err
    assert ckpts[-1].name in err and "corrupt" in err
    after = {p: p.read_bytes() for p in (tmp_path / "r").rglob("*") if p.is_file()}
    assert after.keys() == before.keys() and all(after[p] == before[p] for p in after if p != ckpts[-1])


def test_existing_run_name_is_not_overwritten(tmp_path, capsys):
    assert run(tmp_path, "gan-ring8", "--data.n_samples=256") == 0
    cfg = (tmp_path / "r" / "config.json").read_bytes()
    assert run(tmp_path, "gan-ring8", "--data.n_samples=256") == 2
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "r" / "config.json").read_bytes() == cfg


def test_module_entry_point_exit_code(tmp_path):
    p = subprocess.run([sys.executable, "-m", "gankit", "train", "--model.zdim=3"], capture_output=True, text=True,
                       cwd=tmp_path)
    assert p.returncode == 2 and "valid keys of 'model'" in p.stderr


def test_sample_with_discriminator_rejection(tmp_path, capsys):
    assert run(tmp_path, "gan-ring8", "--data.n_samples=256", "--stab.pack=2") == 0
    capsys.readouterr()
    out = tmp_path / "drs.npz"
    assert main(["sample", str(tmp_path / "r"), "-n", "50", "--out", str(out), "--drs", "--drs-calibrate=20"]) == 0
    assert "DRS: accepted" in capsys.readouterr().out
    assert np.load(out)["samples"].shape == (50, 2)


def test_sample_with_a_fresh_ratio_classifier(tmp_path, capsys):
    assert run(tmp_path, "gan-ring8", "--data.n_samples=1024") == 0
    capsys.readouterr()
    out = tmp_path / "rff.npz"
    assert main(["sample", str(tmp_path / "r"), "-n", "40", "--out", str(out), "--drs", "--drs-classifier=rff",
                 "--drs-calibrate=30", "--drs-sigma=8"]) == 0
    assert "DRS: accepted" in capsys.readouterr().out
    assert np.load(out)["samples"].shape == (40, 2)


def test_the_fresh_ratio_classifier_refuses_images(tmp_path, capsys):
    assert run(tmp_path, "dcgan-fashion", "--data.limit=64") == 0
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "r"), "-n", "4", "--out", str(tmp_path / "x.npz"), "--drs",
                 "--drs-classifier=rff", "--drs-calibrate=1"]) == 2
    assert "vector data" in capsys.readouterr().err


def test_drs_refuses_a_conditional_run(tmp_path, capsys):
    assert run(tmp_path, "cgan-fashion", "--data.limit=64") == 0
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "r"), "-n", "4", "--out", str(tmp_path / "x.npz"), "--drs"]) == 2
    assert "unconditional" in capsys.readouterr().err


def test_demo_ends_with_the_runs_fid(tmp_path, capsys):
    """`make demo` passes --log.eval_at_end: the last line is the run's FID, the value logged in metrics.jsonl."""
    assert run(tmp_path, "dcgan-fashion", "--data.limit=300", "--log.eval_at_end=true", "--log.eval_n=200") == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("quality at step 6: FID[fashion-cnn] = ")
    fid = float(last.split("= ")[1].split(" ")[0])
    assert 50 < fid < 500  # an untrained-looking generator is far from the data, not 0
    import json

    rows = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in rows if "eval/FID[fashion-cnn]" in r]
    assert len(evals) == 1 and evals[0]["step"] == 6 and f"{evals[0]['eval/FID[fashion-cnn]']:.4g}" == f"{fid:.4g}"
