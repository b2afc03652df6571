"""Image folders: class sub-folders, flat folders, channels, resizing and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data.images import load_image_folder, match_channels, resize_images, uint8_to_unit
from gankit.errors import DataError


def _save(path, array, mode):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8), mode=mode).save(path)


@pytest.fixture
def class_folder(tmp_path):
    """zebra/ has 2 gray PNGs, cat/ has 1 gray PNG and 1 gray JPEG (8x8)."""
    root = tmp_path / "classes"
    _save(root / "zebra" / "a.png", np.zeros((8, 8)), "L")
    _save(root / "zebra" / "b.png", np.full((8, 8), 255), "L")
    _save(root / "cat" / "x.png", np.full((8, 8), 51), "L")
    _save(root / "cat" / "y.jpg", np.full((8, 8), 204), "L")
    (root / "cat" / "notes.txt").write_text("not an image")
    return root


def test_class_folders_give_sorted_labels(class_folder):
    x, y, names = load_image_folder(class_folder)
    assert names == ["cat", "zebra"]
    assert x.shape == (4, 1, 8, 8) and x.dtype == torch.float32
    assert y.tolist() == [0, 0, 1, 1]
    # cat/x.png = 51 -> 51/127.5-1 = -0.6; zebra a = 0 -> -1; zebra b = 255 -> 1.
    assert torch.allclose(x[0], torch.full((1, 8, 8), -0.6), atol=1e-6)
    assert abs(float(x[1].mean()) - (204 / 127.5 - 1)) < 0.05  # JPEG is lossy
    assert float(x[2].max()) == -1.0 and float(x[3].min()) == 1.0


def test_flat_folder_has_no_labels(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        _save(tmp_path / f"img{i}.png", rng.integers(0, 256, (6, 10, 3)), "RGB")
    x, y, names = load_image_folder(tmp_path)
    assert y is None and names is None
    assert x.shape == (3, 3, 6, 10)
    assert -1.0 <= float(x.min()) and float(x.max()) <= 1.0


def test_native_channels_mixed_modes_give_rgb(tmp_path):
    _save(tmp_path / "a.png", np.full((4, 4), 100), "L")
    _save(tmp_path / "b.png", np.zeros((4, 4, 3)), "RGB")
    x, _, _ = load_image_folder(tmp_path)
    assert x.shape == (2, 3, 4, 4)
    assert torch.allclose(x[0], torch.full((3, 4, 4), 100 / 127.5 - 1), atol=1e-6)


@pytest.mark.parametrize("channels", [1, 3])
def test_forced_channels(class_folder, channels):
    x, _, _ = load_image_folder(class_folder, channels=channels)
    assert x.shape == (4, channels, 8, 8)


def test_rgba_is_converted(tmp_path):
    _save(tmp_path / "a.png", np.full((4, 4, 4), 255), "RGBA")
    x, _, _ = load_image_folder(tmp_path, channels=None)
    assert x.shape == (1, 3, 4, 4) and float(x.min()) == 1.0


def test_resize_and_limit(class_folder):
    x, y, _ = load_image_folder(class_folder, resolution=5, limit=3)
    assert x.shape == (3, 1, 5, 5) and y.tolist() == [0, 0, 1]
    assert -1.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert torch.allclose(x[0], torch.full((1, 5, 5), -0.6), atol=1e-6)  # constant stays constant


def test_mixed_sizes_need_resolution(tmp_path):
    _save(tmp_path / "a.png", np.zeros((4, 4)), "L")
    _save(tmp_path / "b.png", np.zeros((6, 6)), "L")
    with pytest.raises(DataError, match=r"b\.png: size 6x6 differs.*set resolution"):
        load_image_folder(tmp_path)
    x, _, _ = load_image_folder(tmp_path, resolution=4)
    assert x.shape == (2, 1, 4, 4)


def test_unreadable_image_is_named(class_folder):
    (class_folder / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DataError, match=r"broken\.png: unreadable image"):
        load_image_folder(class_folder)


def test_truncated_jpeg_is_named(tmp_path):
    _save(tmp_path / "full.jpg", np.random.default_rng(0).integers(0, 256, (64, 64, 3)), "RGB")
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "full.jpg").unlink()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut\.jpg: unreadable image"):
        load_image_folder(tmp_path)


def test_empty_and_missing_folders(tmp_path):
    with pytest.raises(DataError, match="no PNG/JPEG images"):
        load_image_folder(tmp_path)
    (tmp_path / "empty-class").mkdir()
    with pytest.raises(DataError, match="class folder empty-class has no PNG/JPEG images"):
        load_image_folder(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load_image_folder(tmp_path / "missing")


def test_loose_images_beside_class_folders(class_folder):
    _save(class_folder / "stray.png", np.zeros((8, 8)), "L")
    with pytest.raises(DataError, match=r"loose images \(e\.g\. stray\.png\)"):
        load_image_folder(class_folder)


def test_scaling_and_resize_helpers():
    raw = np.array([[0, 127, 255]], dtype=np.uint8)
    np.testing.assert_allclose(uint8_to_unit(raw).numpy(), raw / 127.5 - 1, atol=1e-7)
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    out = resize_images(x, 13)
    assert out.shape == (2, 1, 13, 13) and float(out.abs().max()) <= 1.0
    assert abs(float(out.mean()) - float(x.mean())) < 0.02
    assert resize_images(x, None) is x
    rgb = match_channels(x, 3)
    assert rgb.shape == (2, 3, 28, 28) and torch.equal(rgb[:, 2], x[:, 0])
    assert torch.allclose(match_channels(rgb, 1), x, atol=1e-6)


def test_16bit_grayscale_png_is_scaled_by_its_bit_depth(tmp_path):
    raw = np.array([[0, 1000, 32768, 65535]] * 4, dtype=np.uint16)
    Image.fromarray(raw).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode in ("I;16", "I")
    x, _, _ = load_image_folder(tmp_path)
    assert x.shape == (1, 1, 4, 4)
    np.testing.assert_allclose(x[0, 0].numpy(), raw / 32767.5 - 1, atol=1e-6)  # not saturated at 255
    rgb, _, _ = load_image_folder(tmp_path, channels=3, resolution=2)
    assert rgb.shape == (1, 3, 2, 2) and -1.0 <= float(rgb.min()) < float(rgb.max()) <= 1.0
    assert torch.equal(rgb[:, 0], rgb[:, 2])


def test_16bit_and_8bit_images_share_one_scale(tmp_path):
    Image.fromarray(np.full((4, 4), 65535, dtype=np.uint16)).save(tmp_path / "a.png")
    _save(tmp_path / "b.png", np.full((4, 4), 255), "L")
    x, _, _ = load_image_folder(tmp_path)
    assert x.shape == (2, 1, 4, 4) and torch.equal(x, torch.ones_like(x))
