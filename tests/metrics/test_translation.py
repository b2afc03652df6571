"""`gankit eval` on a translation run: held-out pairs, paired metrics, FID and class accuracy under fashion-cnn."""

from __future__ import annotations

import json

import pytest
import torch

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
