import numpy as np
import pytest
import torch
from torch import nn

from gankit.errors import ConfigError, GankitError
from gankit.metrics import features as feat
from gankit.metrics.features import IdentityExtractor, extract, get_extractor, register_extractor


class TinyClassifier(nn.Module):
    """A small image extractor with logits, standing in for a real network."""

    name = "tiny"
    weights_sha256 = None
    expects_images = True

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 4, 3)
        self.head = nn.Linear(4, 3)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.conv(x).mean(dim=(2, 3))

    def logits(self, x):
        return self.head(self.forward(x))


def images(n=10, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=(n, 1, 8, 8)).astype(np.float32)


def test_identity_flattens_and_keeps_float64():
    x = np.random.default_rng(0).normal(size=(5, 2, 3))
    out = extract(IdentityExtractor(), x, batch_size=2)
    assert out.shape == (5, 6) and out.dtype == np.float64
    assert np.array_equal(out, x.reshape(5, 6))


def test_extract_is_independent_of_batch_size_and_returns_logits():
    net, x = TinyClassifier(), images()
    full = extract(net, x, batch_size=10)
    for bs in (1, 3, 7):
        assert np.allclose(extract(net, x, batch_size=bs), full, atol=1e-6)
    feats, logits = extract(net, torch.from_numpy(x), batch_size=4, logits=True)
    assert feats.shape == (10, 4) and logits.shape == (10, 3) and feats.dtype == np.float64
    with torch.no_grad():
        assert np.allclose(logits, net.logits(torch.from_numpy(x)).numpy(), atol=1e-6)


def test_extract_rejects_non_finite_and_out_of_range_images():
    net, x = TinyClassifier(), images()
    bad = x.copy()
    bad[3, 0, 1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        extract(net, bad)
    with pytest.raises(GankitError, match="0..255"):
        extract(net, (x + 1) * 127.5)
    with pytest.raises(GankitError, match="uint8"):
        extract(net, ((x + 1) * 127.5).astype(np.uint8))
    with pytest.raises(GankitError, match="outside"):
        extract(net, x * 1.5)
    with pytest.warns(RuntimeWarning, match=r"\[0, 1\]"):
        extract(net, (x + 1) / 2)
    with pytest.raises(ValueError, match="Inf"):
        extract(IdentityExtractor(), np.array([[1.0, np.inf]]))


def test_registry_lookup_registration_and_errors(monkeypatch):
    monkeypatch.setattr(feat, "EXTRACTORS", dict(feat.EXTRACTORS))
    with pytest.raises(ConfigError, match="identity, inception-v3"):
        get_extractor("nope")
    register_extractor("tiny", TinyClassifier)
    assert isinstance(get_extractor("tiny"), TinyClassifier)
    with pytest.raises(ConfigError, match="already registered"):
        register_extractor("tiny", TinyClassifier)
    register_extractor("tiny", IdentityExtractor, overwrite=True)
    assert isinstance(get_extractor("tiny"), IdentityExtractor)


def test_logits_of_a_non_classifier_is_a_config_error():
    with pytest.raises(ConfigError, match="no logits"):
        extract(IdentityExtractor(), np.zeros((2, 3)), logits=True)
