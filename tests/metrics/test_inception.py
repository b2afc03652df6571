"""Inception network structure, preprocessing and weight resolution (no network access needed).

The numerical match with torch-fidelity / pytorch-fid is in test_reference.py (reference venv).
"""

import io
import pickle
import urllib.error

import numpy as np
import pytest
import torch

from gankit.errors import CheckpointError, GankitError
from gankit.metrics import inception as inc
from gankit.metrics.features import extract, get_extractor


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / inc.WEIGHTS_FILENAME
    torch.save(inc.FIDInceptionV3().state_dict(), path)
    return path


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    monkeypatch.delenv(inc.WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_state_dict_layout_matches_the_pt_inception_file():
    state = inc.FIDInceptionV3().state_dict()
    assert state["Conv2d_1a_3x3.conv.weight"].shape == (32, 3, 3, 3)
    assert state["Mixed_6e.branch7x7dbl_5.conv.weight"].shape == (192, 192, 1, 7)
    assert state["Mixed_7c.branch_pool.conv.weight"].shape == (192, 2048, 1, 1)
    assert state["fc.weight"].shape == (1008, 2048)
    assert not any("Aux" in k for k in state)
    assert sum(k.endswith("conv.weight") for k in state) == 94


def test_tf1_resize_matches_hand_computed_values():
    x = torch.arange(16, dtype=torch.float32).reshape(1, 1, 4, 4)
    assert torch.equal(inc.resize_bilinear_tf1(x, 2), x[:, :, ::2, ::2])  # scale 2: every other pixel
    up = inc.resize_bilinear_tf1(x, 8)
    assert up[0, 0, 1, 1] == pytest.approx((0 + 1 + 4 + 5) / 4)  # half-way between 4 pixels
    assert up[0, 0, 7, 7] == 15.0  # clamped at the border, no half-pixel offset
    assert torch.equal(inc.resize_bilinear_tf1(torch.full((1, 3, 5, 7), 3.0), 299), torch.full((1, 3, 299, 299), 3.0))


@pytest.mark.parametrize("variant", ["torch-fidelity", "pytorch-fid"])
def test_preprocessing_maps_the_range_and_repeats_grayscale(variant):
    gray = torch.tensor([-1.0, 1.0]).view(1, 1, 1, 2).repeat(1, 1, 2, 1)
    out = inc.PREPROCESSORS[variant](inc.to_rgb(gray), True)
    assert out.shape == (1, 3, 299, 299)
    assert torch.equal(out[:, 0], out[:, 2])
    top = 127 / 128 if variant == "torch-fidelity" else 1.0  # (255 - 128) / 128 vs 2 * 1 - 1
    assert out.min().item() == pytest.approx(-1.0) and out.max().item() == pytest.approx(top)
    with pytest.raises(ValueError, match="1 or 3"):
        inc.to_rgb(torch.zeros(1, 2, 4, 4))


def test_extractor_outputs_features_and_logits(weights_file):
    ext = get_extractor("inception-v3", weights=weights_file)
    assert ext.name == "inception-v3" and len(ext.weights_sha256) == 64
    x = np.random.default_rng(0).uniform(-1, 1, size=(1, 1, 28, 28)).astype(np.float32)
    feats, logits = extract(ext, x, logits=True)
    assert feats.shape == (1, 2048) and logits.shape == (1, 1008)
    with torch.no_grad():
        pool3 = ext(torch.from_numpy(x))
    assert np.allclose(logits, (pool3 @ ext.net.fc.weight.T).numpy(), atol=1e-5)  # no bias: "unbiased" logits


def test_weights_resolution_order(weights_file, no_env, monkeypatch):
    assert inc.resolve_weights(weights_file) == weights_file
    monkeypatch.setenv(inc.WEIGHTS_ENV, str(weights_file))
    assert inc.resolve_weights() == weights_file
    monkeypatch.setenv(inc.WEIGHTS_ENV, str(no_env / "missing.pth"))
    with pytest.raises(CheckpointError, match="missing.pth.*GANKIT_INCEPTION_WEIGHTS"):
        inc.resolve_weights()
    monkeypatch.delenv(inc.WEIGHTS_ENV)
    cached = no_env / inc.WEIGHTS_FILENAME
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert inc.resolve_weights() == cached


def test_missing_weights_without_network_names_the_cache_path(no_env, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(inc.urllib.request, "urlopen", offline)
    with pytest.raises(GankitError, match=f"put it at {no_env / inc.WEIGHTS_FILENAME}"):
        inc.resolve_weights()
    with pytest.raises(GankitError, match="download disabled"):
        inc.resolve_weights(download=False)


def test_download_with_wrong_checksum_keeps_no_file(no_env, monkeypatch):
    monkeypatch.setattr(inc.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(b"not the weights"))
    with pytest.raises(CheckpointError, match="sha256"):
        inc.resolve_weights()
    assert not any(no_env.iterdir())


def test_corrupt_unsafe_or_wrong_weights_are_checkpoint_errors(tmp_path):
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match="corrupt.pth"):
        inc.load_network(corrupt)
    unsafe = tmp_path / "unsafe.pth"
    torch.save({"obj": pickle.loads(pickle.dumps(io.StringIO))}, unsafe)  # a class object: refused by weights_only
    with pytest.raises(CheckpointError, match="unsafe.pth"):
        inc.load_network(unsafe)
    wrong = tmp_path / "wrong.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, wrong)
    with pytest.raises(CheckpointError, match="do not fit"):
        inc.load_network(wrong)
