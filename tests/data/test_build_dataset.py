"""build_dataset: registry dispatch, option checks and the ArrayDataset it returns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data import DATASETS, ArrayDataset, build_dataset
from gankit.data.fashion import CLASS_NAMES
from gankit.errors import ConfigError

from ._helpers import DataCfg, write_fashion_split


def test_registry_names():
    assert set(DATASETS) == {"fashion-mnist", "fashion-mnist-binary", "image-folder", "digits", "ring8", "grid25",
                             "fashion-edges", "paired-folder", "colorize", "fashion-edges-unpaired",
                             "fashion-sneaker-boot", "sr-crops", "oracle", "poems", "fashion-captions",
                             "speech"}


def test_unknown_name_lists_valid_names():
    with pytest.raises(ConfigError, match=r"'mnist'.*colorize, digits, fashion-captions, fashion-edges, "
                                         r"fashion-edges-unpaired, "
                                         r"fashion-mnist, fashion-mnist-binary, fashion-sneaker-boot, grid25, "
                                         r"image-folder, oracle, paired-folder, poems, ring8, speech, sr-crops"):
        build_dataset(DataCfg(name="mnist"))


@pytest.mark.parametrize("field,value", [("split", "val"), ("resolution", 0), ("channels", 2),
                                         ("limit", 0), ("n_samples", -5)])
def test_bad_options(field, value):
    with pytest.raises(ConfigError, match=f"data.{field}"):
        build_dataset(DataCfg(name="ring8", **{field: value}))


def test_fashion_from_root_scaled_resized_limited(tmp_path):
    images, labels = write_fashion_split(tmp_path, "train", n=6)
    ds = build_dataset(DataCfg(root=str(tmp_path), download=False, limit=4))
    assert isinstance(ds, ArrayDataset) and ds.name == "fashion-mnist"
    assert len(ds) == 4 and ds.shape == (1, 28, 28) and ds.x.dtype == torch.float32
    np.testing.assert_allclose(ds.x[:, 0].numpy(), images[:4] / 127.5 - 1, atol=1e-6)
    assert ds.y.tolist() == labels[:4].tolist() and ds.y.dtype == torch.int64
    assert ds.class_names == CLASS_NAMES and ds.num_classes == 10
    big = build_dataset(DataCfg(root=str(tmp_path), download=False, resolution=32, channels=3))
    assert big.shape == (3, 32, 32) and len(big) == 6
    assert float(big.x.min()) >= -1.0 and float(big.x.max()) <= 1.0


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").is_dir(), reason="no system dataset")
def test_real_fashion_test_split():
    ds = build_dataset(DataCfg(split="test", download=False))
    assert len(ds) == 10000 and ds.shape == (1, 28, 28)
    assert float(ds.x.min()) == -1.0 and float(ds.x.max()) == 1.0


def test_image_folder_requires_root_and_loads(tmp_path):
    with pytest.raises(ConfigError, match="data.root"):
        build_dataset(DataCfg(name="image-folder"))
    for name in ("b", "a"):
        (tmp_path / name).mkdir()
        Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(tmp_path / name / "0.png")
    ds = build_dataset(DataCfg(name="image-folder", root=str(tmp_path), resolution=4))
    assert ds.shape == (3, 4, 4) and ds.class_names == ["a", "b"] and ds.num_classes == 2


def test_digits_dataset():
    pytest.importorskip("sklearn")
    ds = build_dataset(DataCfg(name="digits", split="test", resolution=16, limit=10))
    assert len(ds) == 10 and ds.shape == (1, 16, 16) and ds.num_classes == 10
    assert float(ds.x.min()) >= -1.0 and float(ds.x.max()) <= 1.0


@pytest.mark.parametrize("name,modes,std", [("ring8", 8, 0.01), ("grid25", 25, 0.05)])
def test_toy_datasets(name, modes, std):
    ds = build_dataset(DataCfg(name=name, n_samples=3000, seed=3))
    assert len(ds) == 3000 and ds.shape == (2,) and ds.num_classes == modes
    assert ds.extra["centers"].shape == (modes, 2) and ds.extra["std"] == std
    centers = torch.as_tensor(ds.extra["centers"], dtype=torch.float32)
    assert float((ds.x - centers[ds.y]).abs().max()) < 6 * std  # y is the source mode
    again = build_dataset(DataCfg(name=name, n_samples=3000, seed=3))
    assert torch.equal(ds.x, again.x)
    assert len(build_dataset(DataCfg(name=name, n_samples=3000, limit=100))) == 100


def test_array_dataset_properties():
    ds = ArrayDataset(torch.zeros(4, 2), torch.tensor([0, 2, 1, 2]), "t")
    assert len(ds) == 4 and ds.shape == (2,) and ds.num_classes == 3
    assert ArrayDataset(torch.zeros(3, 1, 2, 2), None, "u").num_classes is None
    with pytest.raises(ValueError, match="4 samples but 3 labels"):
        ArrayDataset(torch.zeros(4, 2), torch.zeros(3, dtype=torch.int64), "bad")
