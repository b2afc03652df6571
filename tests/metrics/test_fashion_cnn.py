"""The shipped Fashion-MNIST CNN: shapes, weights hash, accuracy, deterministic training, the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from gankit.cli import main
from gankit.config import DataConfig
from gankit.data import build_dataset
from gankit.errors import CheckpointError
from gankit.metrics import fashion_cnn as fc
from gankit.metrics import get_extractor
from gankit.metrics._validate import MetricInputError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


@pytest.fixture(scope="module")
def extractor():
    return fc.FashionCNNExtractor()


def test_shapes_and_resizing(extractor):
    torch.manual_seed(0)
    x28 = torch.rand(5, 1, 28, 28) * 2 - 1
    f, logits = extractor.features_and_logits(x28)
    assert f.shape == (5, fc.FEATURE_DIM) and logits.shape == (5, fc.NUM_CLASSES)
    assert torch.allclose(extractor.probs(x28).sum(1), torch.ones(5), atol=1e-6)
    # 32x32 inputs (DCGAN at resolution 32) are resized to 28x28 first
    x32 = torch.nn.functional.interpolate(x28, size=(32, 32), mode="bilinear", align_corners=False)
    assert extractor(x32).shape == (5, fc.FEATURE_DIM)
    with pytest.raises(MetricInputError, match="grayscale"):
        extractor(torch.zeros(2, 3, 28, 28))
    # eval mode is permanent: batch statistics never leak between samples
    extractor.train()
    assert not extractor.training
    assert torch.allclose(extractor(x28[:1]), extractor(x28)[:1], atol=1e-5)


def test_shipped_weights_match_recorded_hash():
    assert fc.ASSET_PATH.is_file() and fc.ASSET_PATH.stat().st_size < 2_000_000
    assert fc.file_sha256(fc.ASSET_PATH) == fc.ASSET_SHA256
    assert fc.ASSET_SHA256 in DOCS.read_text(), "docs/metrics.md must record the shipped weights' SHA-256"
    info = fc.read_info(fc.ASSET_PATH)
    assert info["command"].startswith("gankit train-classifier fashion") and info["test_accuracy"] >= 0.92
    ext = get_extractor("fashion-cnn")  # a built-in registry entry, loaded on first use
    assert ext.name == "fashion-cnn" and ext.weights_sha256 == fc.ASSET_SHA256


def test_rejects_wrong_or_corrupt_weights(tmp_path):
    copy = tmp_path / "w.safetensors"
    shutil.copy(fc.ASSET_PATH, copy)
    with pytest.raises(CheckpointError, match="does not match"):
        fc.load_model(copy, expected_sha256="0" * 64)
    copy.write_bytes(copy.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="w.safetensors"):
        fc.FashionCNNExtractor(weights=copy)
    with pytest.raises(CheckpointError, match="not found"):
        fc.load_model(tmp_path / "missing.safetensors")


def test_shipped_model_accuracy_on_real_test_images(extractor):
    ds = build_dataset(DataConfig(name="fashion-mnist", split="test", limit=2000))
    with torch.no_grad():
        pred = extractor.logits(ds.x).argmax(1)
    assert (pred == ds.y).float().mean() >= 0.92
    # the check can fail: against shuffled labels the same predictions are at chance level
    perm = torch.randperm(len(ds.y), generator=torch.Generator().manual_seed(0))
    assert (pred == ds.y[perm]).float().mean() < 0.2
    # 32x32 images (DCGAN at resolution 32) are resized back to 28x28 and still classified well
    x32 = torch.nn.functional.interpolate(ds.x[:500], size=(32, 32), mode="bilinear", align_corners=False)
    assert fc.accuracy(extractor.net, x32, ds.y[:500]) >= 0.85


def _toy_data(n: int, seed: int):
    """Two easily separable classes of noisy 28x28 images."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 1, 28, 28, generator=g) * 0.2
    x[:, :, :, :14] += torch.where(y == 1, 0.6, -0.6)[:, None, None, None]
    return x.clamp(-1, 1), y


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_training_is_deterministic_for_a_seed():
    train, test = _toy_data(256, 0), _toy_data(64, 1)
    settings = fc.TrainSettings(epochs=1, batch_size=32, seed=3, flip=False)
    m1, info = fc.train_classifier(train, test, settings, log=lambda s: None)
    m2, _ = fc.train_classifier(train, test, settings, log=lambda s: None)
    m3, _ = fc.train_classifier(train, test, fc.TrainSettings(epochs=1, batch_size=32, seed=4, flip=False),
                                log=lambda s: None)
    s1, s2, s3 = _state(m1), _state(m2), _state(m3)
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert any(not torch.equal(s1[k], s3[k]) for k in s1)
    assert info["test_accuracy"] > 0.9  # the toy task is easy: training really trains


def test_cli_writes_weights_that_load(tmp_path, monkeypatch, capsys):
    from gankit.metrics import classifier_cli

    monkeypatch.setattr(classifier_cli, "_load_split",
                        lambda split, root: _toy_data(128 if split == "train" else 32, int(split == "test")))
    out = tmp_path / "cnn.safetensors"
    assert main(["train-classifier", "fashion", "--epochs", "1", "--batch-size", "32", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    model, sha = fc.load_model(out)
    assert sha in text and fc.read_info(out)["command"].startswith("gankit train-classifier fashion --epochs 1")
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
