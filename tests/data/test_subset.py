"""data.per_class / data.subset_seed: N seeded images of every class, bad sizes refused with one clear line."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gankit.data import build_dataset
from gankit.data.subset import per_class_indices
from gankit.errors import ConfigError, DataError

from ._helpers import DataCfg, write_fashion_split

LABELS = torch.arange(10).repeat(7)  # 7 images of every class


def test_counts_order_and_determinism():
    idx = per_class_indices(LABELS, 3, seed=0, num_classes=10)
    assert len(idx) == 30 and torch.equal(idx, idx.sort().values) and len(set(idx.tolist())) == 30
    assert torch.bincount(LABELS[idx], minlength=10).tolist() == [3] * 10
    assert torch.equal(idx, per_class_indices(LABELS, 3, seed=0, num_classes=10))  # same seed, same subset
    assert not torch.equal(idx, per_class_indices(LABELS, 3, seed=1, num_classes=10))


def test_a_larger_subset_with_the_same_seed_contains_the_smaller():
    small, big = per_class_indices(LABELS, 2, 5, 10), per_class_indices(LABELS, 5, 5, 10)
    assert set(small.tolist()) <= set(big.tolist())
    assert len(per_class_indices(LABELS, 7, 5, 10)) == 70  # all of them


@pytest.mark.parametrize("bad", [0, -3, True, 2.5, "4"])
def test_bad_sizes_refused(bad):
    with pytest.raises(ConfigError, match=r"^data\.per_class: must be a positive integer"):
        per_class_indices(LABELS, bad, 0, 10)


def test_more_than_available_names_the_class():
    labels = torch.cat([LABELS, torch.full((3,), 4)])  # class 4 has 10, the others 7
    with pytest.raises(DataError, match=r"^data\.per_class=8: class 0 \(T-shirt/top\) has only 7 images in the set$"):
        per_class_indices(labels, 8, 0, 10, ["T-shirt/top"] + ["x"] * 9, "the set")


def test_fashion_dataset_subset(tmp_path):
    images, labels = write_fashion_split(tmp_path, "train", n=120)
    cfg = DataCfg(root=str(tmp_path), download=False, per_class=2, subset_seed=3)
    ds = build_dataset(cfg)
    assert len(ds) == 20 and torch.bincount(ds.y, minlength=10).tolist() == [2] * 10
    idx = per_class_indices(torch.from_numpy(labels.astype(np.int64)), 2, 3, 10).numpy()
    np.testing.assert_allclose(ds.x[:, 0].numpy(), images[idx] / 127.5 - 1, atol=1e-6)
    assert torch.equal(build_dataset(cfg).x, ds.x)
    binary = build_dataset(DataCfg(name="fashion-mnist-binary", root=str(tmp_path), download=False, per_class=2,
                                   subset_seed=3))
    assert torch.equal(binary.y, ds.y)


@pytest.mark.parametrize("per_class,error,message", [
    (0, ConfigError, r"data\.per_class: must be a positive integer"),
    (-1, ConfigError, r"data\.per_class: must be a positive integer"),
    (10_000, DataError, r"data\.per_class=10000: class 0 \(T-shirt/top\) has only \d+ images in the fashion-mnist "
                        r"train split \(first 50\)"),
])
def test_fashion_bad_sizes(tmp_path, per_class, error, message):
    write_fashion_split(tmp_path, "train", n=60)
    with pytest.raises(error, match=message):
        build_dataset(DataCfg(root=str(tmp_path), download=False, limit=50, per_class=per_class))


def test_other_data_sets_refuse_per_class():
    with pytest.raises(ConfigError, match=r"data\.per_class: only for fashion-mnist, fashion-mnist-binary, not 'ring8'"):
        build_dataset(DataCfg(name="ring8", per_class=5))


def test_real_statistics_cache_tells_subsets_apart():
    from gankit.config import DataConfig
    from gankit.metrics.evaluate import dataset_id

    whole = dataset_id(DataConfig())
    assert "per_class" not in whole  # the keys of caches made before the option are unchanged
    ids = {whole, dataset_id(DataConfig(per_class=10)), dataset_id(DataConfig(per_class=10, subset_seed=1))}
    assert len(ids) == 3
