"""scikit-learn digits and the 2D Gaussian mixtures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gankit.data.digits import load_digits
from gankit.data.toy import GaussianMixture2D, grid25, ring8
from gankit.errors import ConfigError, DataError

sklearn_datasets = pytest.importorskip("sklearn.datasets")


def test_digits_split_and_scaling():
    raw = sklearn_datasets.load_digits()
    x_train, y_train = load_digits("train")
    x_test, y_test = load_digits("test")
    assert x_train.shape[1:] == (1, 8, 8) and x_train.dtype == torch.float32
    assert len(x_train) + len(x_test) == len(raw.images) == 1797
    assert abs(len(x_train) / 1797 - 0.8) < 0.001
    np.testing.assert_allclose(x_train[:, 0].numpy(), raw.images[: len(x_train)] / 8 - 1, atol=1e-6)
    np.testing.assert_array_equal(y_test.numpy(), raw.target[len(x_train):])
    assert y_train.dtype == torch.int64
    assert float(x_train.min()) == -1.0 and float(x_train.max()) == 1.0
    with pytest.raises(DataError, match="unknown split 'dev'"):
        load_digits("dev")


def test_ring8_has_eight_distinct_modes_on_the_unit_circle():
    mix = ring8()
    assert mix.centers.shape == (8, 2) and mix.std == 0.01
    np.testing.assert_allclose(np.linalg.norm(mix.centers, axis=1), 1.0, atol=1e-12)
    dists = np.linalg.norm(mix.centers[:, None] - mix.centers[None], axis=-1)
    nearest = dists[~np.eye(8, dtype=bool)].min()
    assert abs(nearest - 2 * math.sin(math.pi / 8)) < 1e-9  # evenly spaced, none repeated
    angles = np.sort(np.mod(np.arctan2(mix.centers[:, 1], mix.centers[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-12)


def test_grid25_has_25_distinct_modes():
    mix = grid25()
    assert mix.std == 0.05
    assert {tuple(c) for c in mix.centers} == {(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}


@pytest.mark.parametrize("make", [ring8, grid25])
def test_samples_match_modes_and_std(make):
    mix = make()
    gen = torch.Generator().manual_seed(1)
    x, modes = mix.sample_with_modes(20000, gen)
    assert x.shape == (20000, 2) and x.dtype == torch.float32 and modes.dtype == torch.int64
    counts = torch.bincount(modes, minlength=mix.num_modes).numpy()
    expected = 20000 / mix.num_modes
    assert np.all(np.abs(counts - expected) < 6 * math.sqrt(expected))  # uniform mode choice
    centers = torch.as_tensor(mix.centers, dtype=torch.float32)
    offsets = x - centers[modes]
    assert float(offsets.abs().max()) < 6 * mix.std  # each point is near its own mode
    for k in range(mix.num_modes):
        sel = offsets[modes == k]
        assert torch.allclose(sel.mean(0), torch.zeros(2), atol=4 * mix.std / math.sqrt(len(sel)))
        np.testing.assert_allclose(sel.std(0).numpy(), mix.std, rtol=0.15)


def test_sampling_is_seeded():
    a = ring8().sample(50, torch.Generator().manual_seed(7))
    b = ring8().sample(50, torch.Generator().manual_seed(7))
    c = ring8().sample(50, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_mixture_validation():
    with pytest.raises(ConfigError, match=r"shape \(K, 2\)"):
        GaussianMixture2D(np.zeros((3, 3)), 0.1)
    with pytest.raises(ConfigError, match="std must be > 0"):
        GaussianMixture2D(np.zeros((3, 2)), 0.0)
