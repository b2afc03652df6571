"""`gankit eval` on a translation run: held-out pairs, paired metrics, FID and class accuracy under fashion-cnn."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.families.pix2pix import translate
from gankit.metrics.paired import paired_metrics
from gankit.metrics.translation import evaluate_translation, held_out_pairs
from gankit.sample import load_models


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("p2p")
    assert main(["train", "pix2pix-edges", "--train.steps=3", "--train.batch_size=8", "--data.limit=64",
                 "--model.g_width=4", "--model.d_width=4", "--log.progress=false", "--log.tensorboard=false",
                 "--log.sample_every=0", "--train.threads=1", f"--log.out_dir={out}", "--log.name=r"]) == 0
    return out / "r"


def test_scores_the_test_split_not_the_training_pairs(run):
    models, cfg, _ = load_models(run)
    pairs = held_out_pairs(cfg, "test", 50)
    train_pairs = held_out_pairs(cfg, "train", 50)
    assert not torch.equal(pairs["b"], train_pairs["b"])  # the test split, though the run used data.limit=64
    res = evaluate_translation(models, cfg, "test", 50)
    want = paired_metrics(translate(models["G"], pairs["a"]), pairs["b"])
    for k in ("L1", "PSNR", "SSIM"):
        assert res[k] == pytest.approx(want[k])
    # fashion-cnn recognises the real targets; an untrained G's outputs are near chance
    assert res["class_acc_target"] > 0.8 and res["class_acc"] < 0.5 and res["FID[fashion-cnn]"] > 20


def test_eval_cli_writes_the_paired_table(run, capsys):
    assert main(["eval", str(run), "--n", "40"]) == 0
    out = capsys.readouterr().out
    assert "40 generated vs 40 real (fashion-edges/test)" in out and "class_acc" in out
    record = json.loads(next((run / "eval").glob("*.json")).read_text())
    assert record["real_data"] == {"name": "fashion-edges", "split": "test"} and "SSIM" in record["metrics"]


def _photos(root, seed: int) -> None:
    root.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for k in range(2):
        Image.fromarray(rng.integers(0, 256, (20, 22, 3)).astype(np.uint8), "RGB").save(root / f"p{k}.png")


def test_eval_data_root_scores_a_colorize_run_on_other_photos(tmp_path, capsys):
    """Trained on one folder, scored on another (the test photos): PSNR/SSIM/colourfulness in RGB on its crops."""
    _photos(tmp_path / "train", 0)
    _photos(tmp_path / "test", 1)
    assert main(["train", "pix2pix-colorize", f"--data.root={tmp_path / 'train'}", "--data.resolution=16",
                 "--data.n_samples=16", "--train.steps=2", "--train.batch_size=4", "--model.g_width=4",
                 "--model.d_width=4", "--log.progress=false", "--log.tensorboard=false", "--log.sample_every=0",
                 "--train.threads=1", f"--log.out_dir={tmp_path}", "--log.name=r"]) == 0
    run = tmp_path / "r"
    out = tmp_path / "e.json"
    assert main(["eval", str(run), "--n", "10", "--data-root", str(tmp_path / "test"), "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["real_data"]["root"] == str(tmp_path / "test") and record["n_real"] == 10
    models, cfg, _ = load_models(run)
    test_cfg = replace(cfg, data=replace(cfg.data, root=str(tmp_path / "test")))
    pairs = held_out_pairs(test_cfg, "test", 10)
    assert not torch.equal(pairs["b"], held_out_pairs(cfg, "test", 10)["b"])
    want = paired_metrics(translate(models["G"], pairs["a"]), pairs["b"])
    for k in ("L1", "SSIM", "colourfulness", "colourfulness_real"):
        assert record["metrics"][k] == pytest.approx(want[k], rel=1e-5)
