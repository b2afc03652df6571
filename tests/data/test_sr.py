"""Super-resolution data (gankit.data.sr): HR crops with Pillow-bicubic LR copies, whole test images, refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data import build_dataset
from gankit.data.sr import bicubic_up, build_sr_crops, downsample, load_test_images
from gankit.errors import ConfigError, DataError
from tests.data._helpers import DataCfg


def photos(folder, sizes=((50, 40), (64, 48)), gray=False, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i, (w, h) in enumerate(sizes):
        arr = (rng.random((h, w, 3)) * 255).astype(np.uint8)
        Image.fromarray(arr).save(folder / f"p{i}.png")
    if gray:
        Image.fromarray((rng.random((40, 40)) * 255).astype(np.uint8)).save(folder / "gray.png")
    return folder


def cfg(root, **kw):
    return DataCfg(name="sr-crops", root=str(root), resolution=32, n_samples=12, **kw)


def test_crops_and_their_bicubic_lr_copies(tmp_path):
    data = build_dataset(cfg(photos(tmp_path / "p")))
    assert data.lr.shape == (12, 3, 8, 8) and data.hr.shape == (12, 3, 32, 32)
    spec = data.spec
    assert spec.main == "hr" and spec.fields == {"lr": (3, 8, 8), "hr": (3, 32, 32)}
    assert data.hr.min() >= -1 and data.hr.max() <= 1
    hr8 = np.round((data.hr[3].permute(1, 2, 0).numpy() + 1) * 127.5).astype(np.uint8)
    want = np.asarray(Image.fromarray(hr8).resize((8, 8), Image.BICUBIC)).astype(np.float32) / 127.5 - 1
    assert np.allclose(data.lr[3].permute(1, 2, 0).numpy(), want, atol=1e-6)
    # every crop is a window of one photo (maybe flipped): found in some photo
    again = build_dataset(cfg(tmp_path / "p"))
    assert torch.equal(again.hr, data.hr)  # seeded
    other = build_dataset(cfg(tmp_path / "p", seed=1))
    assert not torch.equal(other.hr, data.hr)


def test_default_crop_is_the_papers_96(tmp_path):
    data = build_sr_crops(DataCfg(name="sr-crops", root=str(photos(tmp_path / "p", ((100, 97),))), n_samples=2))
    assert data.hr.shape == (2, 3, 96, 96) and data.lr.shape == (2, 3, 24, 24)


def test_an_image_smaller_than_the_crop_is_refused_in_one_line(tmp_path):
    root = photos(tmp_path / "p", ((50, 40), (30, 60)))
    with pytest.raises(DataError, match=r"p1.png: 30x60 is smaller than the 32x32 HR crop") as e:
        build_dataset(cfg(root))
    assert "\n" not in str(e.value)


def test_grayscale_photos_are_converted_with_a_warning(tmp_path):
    with pytest.warns(RuntimeWarning, match="gray.png: grayscale photo converted to RGB"):
        data = build_dataset(cfg(photos(tmp_path / "p", gray=True)))
    assert data.hr.shape[1] == 3


@pytest.mark.parametrize("kw,match", [
    ({"resolution": 30}, "multiple of 4"),
    ({"channels": 1}, "RGB"),
    ({"n_samples": 10 ** 6}, "held in memory"),
    ({"root": None}, "data.root: required"),
])
def test_bad_options(tmp_path, kw, match):
    c = cfg(photos(tmp_path / "p"))
    for k, v in kw.items():
        setattr(c, k, v)
    with pytest.raises(ConfigError, match=match):
        build_dataset(c)


def test_test_images_are_whole_and_cut_to_a_multiple_of_the_scale(tmp_path):
    root = photos(tmp_path / "t", ((50, 41), (64, 48)), gray=True)
    with pytest.warns(RuntimeWarning, match="grayscale test image"):
        rows = load_test_images(root)
    assert [r[0] for r in rows] == ["gray.png", "p0.png", "p1.png"]
    name, hr, lr = rows[1]
    assert hr.shape == (40, 48, 3) and lr.shape == (10, 12, 3) and hr.dtype == np.uint8
    full = np.asarray(Image.open(root / "p0.png"))
    assert np.array_equal(hr, full[:40, :48])
    assert np.array_equal(lr, downsample(hr))
    assert bicubic_up(lr).shape == hr.shape
    with pytest.raises(DataError, match="no PNG/JPEG images"):
        load_test_images(tmp_path / "missing")
