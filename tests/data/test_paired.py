"""Paired data sets for image-to-image translation: fashion-edges (and its edge-map cache), paired-folder
(A/ + B/ by name, side by side) and colorize (seeded crops, luma inputs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.feature
import torch
from PIL import Image

from gankit.data import build_dataset, paired
from gankit.data.fashion import CLASS_NAMES
from gankit.data.images import uint8_to_unit
from gankit.data.paired import EDGE_SIGMA, PairedDataset
from gankit.errors import ConfigError, DataError

from ._helpers import DataCfg, write_fashion_split

REAL_FASHION = Path("/usr/share/datasets/fashion-mnist")
CBSD68 = Path("/work/shared/data/sr/CBSD68")


def _save(path: Path, array, mode: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8), mode=mode).save(path)
    return path


def _one_line(exc_info) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg
    return msg


def _expected_edges(raw: np.ndarray) -> torch.Tensor:
    edges = np.stack([skimage.feature.canny(img / 255.0, sigma=1.0) for img in raw])
    return torch.from_numpy(np.where(edges, 1.0, -1.0).astype(np.float32)).unsqueeze(1)


# ---- fashion-edges ------------------------------------------------------------------------------------------


@pytest.fixture
def fashion_root(tmp_path):
    """A tiny Fashion-MNIST train split (6 random images) and a private cache directory."""
    root = tmp_path / "fashion"
    root.mkdir()
    raw, labels = write_fashion_split(root, "train", n=6)
    return root, tmp_path / "cache", raw, labels


def _edges_cfg(fashion_root, **kw) -> DataCfg:
    root, cache, _, _ = fashion_root
    return DataCfg(name="fashion-edges", root=str(root), cache_dir=str(cache), **kw)


def _cache_files(cache: Path) -> list[Path]:
    return sorted((cache / "fashion-edges").glob("*.npz"))


def test_fashion_edges_fields_and_spec(fashion_root):
    _, cache, raw, labels = fashion_root
    ds = build_dataset(_edges_cfg(fashion_root))
    assert isinstance(ds, PairedDataset) and ds.name == "fashion-edges" and len(ds) == 6
    assert set(ds.fields) == {"a", "b", "y"}
    assert ds.fields["a"].shape == ds.fields["b"].shape == (6, 1, 28, 28)
    assert ds.a.dtype == ds.b.dtype == torch.float32 and ds.y.dtype == torch.int64
    assert set(ds.a.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(ds.b, uint8_to_unit(raw).unsqueeze(1))
    assert torch.equal(ds.a, _expected_edges(raw))
    assert ds.y.tolist() == labels.tolist()
    spec = ds.spec
    assert spec.modality == "image" and spec.main == "b" and spec.shape == (1, 28, 28)
    assert spec.fields == {"a": (1, 28, 28), "b": (1, 28, 28), "y": ()}
    assert spec.num_classes == 10 and spec.class_names == tuple(CLASS_NAMES) and spec.labelled
    assert ds.class_names == list(CLASS_NAMES) and ds.extra["edge_sigma"] == EDGE_SIGMA == 1.0
    [cached] = _cache_files(cache)
    assert cached.name.startswith("train-sigma1-") and paired.images_sha256(raw) in cached.name


def test_fashion_edges_resolution_channels_limit(fashion_root):
    ds = build_dataset(_edges_cfg(fashion_root, resolution=16, channels=3, limit=4))
    assert ds.a.shape == ds.b.shape == (4, 3, 16, 16)
    assert ds.spec.fields["a"] == (3, 16, 16)
    assert -1.0 <= float(ds.a.min()) and float(ds.a.max()) <= 1.0


@pytest.mark.skipif(not (REAL_FASHION / "t10k-images-idx3-ubyte.gz").is_file(),
                    reason="dataset-fashion-mnist not installed")
def test_fashion_edges_match_canny_on_real_images(tmp_path):
    from gankit.data.fashion import load_fashion_mnist

    raw, labels = load_fashion_mnist("test")
    ds = build_dataset(DataCfg(name="fashion-edges", split="test", limit=5, cache_dir=str(tmp_path)))
    assert torch.equal(ds.a, _expected_edges(raw[:5]))
    assert torch.equal(ds.b, uint8_to_unit(raw[:5]).unsqueeze(1))
    assert ds.y.tolist() == labels[:5].tolist()
    edge_share = float((ds.a > 0).float().mean())
    assert 0.02 < edge_share < 0.5  # real outlines, not empty or all-edge maps
    assert _cache_files(tmp_path)[0].name.startswith("test-sigma1-")


def _no_canny(*args, **kwargs):
    raise AssertionError("canny called: the cache was not used")


def test_cache_is_used_the_second_time(fashion_root, monkeypatch):
    first = build_dataset(_edges_cfg(fashion_root))
    monkeypatch.setattr(skimage.feature, "canny", _no_canny)
    second = build_dataset(_edges_cfg(fashion_root))
    assert torch.equal(first.a, second.a)


def test_changed_source_or_limit_is_a_new_cache_entry(fashion_root, monkeypatch):
    root, cache, _, _ = fashion_root
    build_dataset(_edges_cfg(fashion_root))
    build_dataset(_edges_cfg(fashion_root, limit=3))  # other images, other key
    assert len(_cache_files(cache)) == 2
    new_raw, _ = write_fashion_split(root, "train", n=6, seed=1)  # the source changes under the same split
    ds = build_dataset(_edges_cfg(fashion_root))
    assert len(_cache_files(cache)) == 3
    assert torch.equal(ds.a, _expected_edges(new_raw))
    monkeypatch.setattr(skimage.feature, "canny", _no_canny)
    assert torch.equal(build_dataset(_edges_cfg(fashion_root)).a, ds.a)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garbage(path: Path) -> None:
    path.write_bytes(b"not an npz file at all" * 10)


def _wrong_keys(path: Path) -> None:
    with open(path, "wb") as fh:
        np.savez(fh, something=np.zeros(3))


def _wrong_digest(path: Path) -> None:
    with np.load(path) as z:
        edges = z["edges"]
    with open(path, "wb") as fh:
        np.savez(fh, edges=~edges, sha256=np.str_("0" * 64), sigma=np.float64(1.0))


def _wrong_shape(path: Path) -> None:
    with np.load(path) as z:
        digest = z["sha256"]
    with open(path, "wb") as fh:
        np.savez(fh, edges=np.ones((2, 28, 28), bool), sha256=digest, sigma=np.float64(1.0))


@pytest.mark.parametrize("corrupt", [_truncate, _garbage, _wrong_keys, _wrong_digest, _wrong_shape])
def test_corrupt_cache_is_recomputed(fashion_root, corrupt):
    _, cache, raw, _ = fashion_root
    build_dataset(_edges_cfg(fashion_root))
    [path] = _cache_files(cache)
    corrupt(path)
    with pytest.warns(RuntimeWarning, match="recomputing"):
        ds = build_dataset(_edges_cfg(fashion_root))
    assert torch.equal(ds.a, _expected_edges(raw))
    with np.load(path, allow_pickle=False) as z:  # rewritten, valid again
        assert z["edges"].shape == raw.shape and str(z["sha256"]) == paired.images_sha256(raw)


def test_unwritable_cache_only_warns(fashion_root, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    root, _, raw, _ = fashion_root
    with pytest.warns(RuntimeWarning, match="could not cache"):
        ds = build_dataset(DataCfg(name="fashion-edges", root=str(root), cache_dir=str(blocker)))
    assert torch.equal(ds.a, _expected_edges(raw))


# ---- paired-folder ------------------------------------------------------------------------------------------


@pytest.fixture
def pair_root(tmp_path):
    """A/ gray 6x8 images with value v, B/ RGB images (v, 255-v, 7); B written in another order."""
    root = tmp_path / "pairs"
    values = {"cat.png": 10, "dog.png": 200, "ant.png": 90}
    for name, v in values.items():
        _save(root / "A" / name, np.full((6, 8), v), "L")
    for name, v in reversed(list(values.items())):
        _save(root / "B" / name, np.stack([np.full((6, 8), c) for c in (v, 255 - v, 7)], axis=-1), "RGB")
    return root, values


def test_paired_folder_pairs_by_name(pair_root):
    root, values = pair_root
    ds = build_dataset(DataCfg(name="paired-folder", root=str(root)))
    assert ds.name == "paired-folder" and len(ds) == 3 and ds.y is None
    assert set(ds.fields) == {"a", "b"}
    assert ds.a.shape == (3, 1, 6, 8) and ds.b.shape == (3, 3, 6, 8)
    for i, name in enumerate(sorted(values)):  # ant, cat, dog
        v = values[name]
        assert torch.allclose(ds.a[i], torch.full((1, 6, 8), v / 127.5 - 1))
        assert torch.allclose(ds.b[i, 0], torch.full((6, 8), v / 127.5 - 1))
        assert torch.allclose(ds.b[i, 1], torch.full((6, 8), (255 - v) / 127.5 - 1))
    spec = ds.spec
    assert spec.fields == {"a": (1, 6, 8), "b": (3, 6, 8)} and spec.main == "b" and spec.num_classes is None
    assert spec.modality == "image" and ds.extra["layout"] == "folders"


def test_paired_folder_channels_resolution_limit(pair_root):
    root, _ = pair_root
    ds = build_dataset(DataCfg(name="paired-folder", root=str(root), channels=3, resolution=4, limit=2))
    assert ds.a.shape == ds.b.shape == (2, 3, 4, 4)
    gray = build_dataset(DataCfg(name="paired-folder", root=str(root), channels=1))
    assert gray.a.shape == gray.b.shape == (3, 1, 6, 8)


def test_unpaired_names_error(pair_root):
    root, _ = pair_root
    for name in ("x.png", "y.png", "z.png"):
        _save(root / "A" / name, np.zeros((6, 8)), "L")
    _save(root / "B" / "lonely.png", np.zeros((6, 8)), "L")
    with pytest.raises(DataError) as err:
        build_dataset(DataCfg(name="paired-folder", root=str(root)))
    msg = _one_line(err)
    assert msg == (f"{root}: unpaired folders: 3 files in A have no partner in B (e.g. x.png) and 1 in B none "
                   "in A (e.g. lonely.png); pix2pix needs pairs with the same names")


def test_unpaired_one_side_only(pair_root):
    root, _ = pair_root
    _save(root / "B" / "extra.jpg", np.zeros((6, 8)), "L")
    with pytest.raises(DataError, match=r"unpaired folders: 1 in B none in A \(e\.g\. extra\.jpg\); pix2pix"):
        build_dataset(DataCfg(name="paired-folder", root=str(root)))


def test_partner_sizes_must_match_without_resolution(tmp_path):
    _save(tmp_path / "A" / "p.png", np.zeros((6, 8)), "L")
    _save(tmp_path / "B" / "p.png", np.zeros((8, 8)), "L")
    with pytest.raises(DataError, match=r"B/p\.png: size 8x8 differs from its partner .*A/p\.png \(8x6\)"):
        build_dataset(DataCfg(name="paired-folder", root=str(tmp_path)))
    ds = build_dataset(DataCfg(name="paired-folder", root=str(tmp_path), resolution=5))
    assert ds.a.shape == ds.b.shape == (1, 1, 5, 5)


def test_side_by_side_layout(tmp_path):
    rng = np.random.default_rng(0)
    pictures = [rng.integers(0, 256, (5, 12, 3)) for _ in range(2)]
    for i, pic in enumerate(pictures):
        _save(tmp_path / f"{i}.png", pic, "RGB")
    ds = build_dataset(DataCfg(name="paired-folder", root=str(tmp_path)))
    assert ds.extra["layout"] == "side-by-side" and ds.a.shape == ds.b.shape == (2, 3, 5, 6)
    for i, pic in enumerate(pictures):
        assert torch.equal(ds.a[i], uint8_to_unit(pic[:, :6].astype(np.uint8)).permute(2, 0, 1))
        assert torch.equal(ds.b[i], uint8_to_unit(pic[:, 6:].astype(np.uint8)).permute(2, 0, 1))
    small = build_dataset(DataCfg(name="paired-folder", root=str(tmp_path), resolution=4, channels=1, limit=1))
    assert small.a.shape == small.b.shape == (1, 1, 4, 4)


def test_side_by_side_odd_width(tmp_path):
    bad = _save(tmp_path / "odd.png", np.zeros((4, 7)), "L")
    with pytest.raises(DataError) as err:
        build_dataset(DataCfg(name="paired-folder", root=str(tmp_path)))
    assert _one_line(err).startswith(f"{bad}: width 7 is odd")


@pytest.mark.parametrize("layout,expected", [
    ({"A/a.png"}, r"has A/ but no B/; paired-folder expects sub-folders A/ \(inputs\) and B/ \(targets\)"),
    ({"B/a.png"}, r"has B/ but no A/; paired-folder expects"),
    ({"notes.txt"}, r"no A/ and B/ sub-folders and no PNG/JPEG images; paired-folder expects .* side-by-side"),
    ({"A/a.png", "B/a.png", "loose.png"}, r"also loose images \(e\.g\. loose\.png\); use one layout"),
    ({"A/a.png", "B/"}, r"B: no PNG/JPEG images; paired-folder expects"),
])
def test_paired_folder_layout_errors(tmp_path, layout, expected):
    for rel in layout:
        if rel.endswith("/"):
            (tmp_path / rel).mkdir(parents=True)
        elif rel.endswith(".png"):
            _save(tmp_path / rel, np.zeros((4, 4)), "L")
        else:
            (tmp_path / rel).write_text("x")
    with pytest.raises(DataError, match=expected) as err:
        build_dataset(DataCfg(name="paired-folder", root=str(tmp_path)))
    _one_line(err)


def test_paired_folder_root_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"^data\.root: required for the paired-folder dataset"):
        build_dataset(DataCfg(name="paired-folder"))
    with pytest.raises(DataError, match="paired-folder root does not exist"):
        build_dataset(DataCfg(name="paired-folder", root=str(tmp_path / "missing")))


# ---- colorize -----------------------------------------------------------------------------------------------


@pytest.fixture
def photos(tmp_path):
    """Three small colour photos of random pixels (each crop position is then unique)."""
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (12, 14 + k, 3)).astype(np.uint8) for k in range(3)]
    for k, arr in enumerate(arrays):
        _save(tmp_path / "photos" / f"p{k}.png", arr, "RGB")
    return tmp_path / "photos", arrays


def _colorize(root, **kw) -> PairedDataset:
    return build_dataset(DataCfg(name="colorize", root=str(root), **{"n_samples": 30, "resolution": 8, **kw}))


def _locate(crop: np.ndarray, arrays: list[np.ndarray]) -> tuple[int, bool]:
    """(photo index, flipped) of a uint8 crop (H, W, 3) found in one of the photos."""
    s = crop.shape[0]
    for k, arr in enumerate(arrays):
        for top in range(arr.shape[0] - s + 1):
            for left in range(arr.shape[1] - s + 1):
                window = arr[top: top + s, left: left + s]
                for flipped in (False, True):
                    if np.array_equal(window[:, ::-1] if flipped else window, crop):
                        return k, flipped
    raise AssertionError("crop not found in any photo")


def test_colorize_fields_and_spec(photos):
    root, _ = photos
    ds = _colorize(root)
    assert ds.name == "colorize" and len(ds) == 30 and ds.y is None and set(ds.fields) == {"a", "b"}
    assert ds.a.shape == (30, 1, 8, 8) and ds.b.shape == (30, 3, 8, 8) and ds.a.dtype == torch.float32
    assert -1.0 <= float(ds.b.min()) and float(ds.b.max()) <= 1.0 and -1.0 <= float(ds.a.min())
    assert ds.spec.fields == {"a": (1, 8, 8), "b": (3, 8, 8)} and ds.spec.main == "b"
    assert ds.spec.num_classes is None and ds.extra["photos"] == ["p0.png", "p1.png", "p2.png"]


def test_colorize_default_resolution_is_64(tmp_path):
    rng = np.random.default_rng(1)
    _save(tmp_path / "big.png", rng.integers(0, 256, (70, 66, 3)), "RGB")
    ds = build_dataset(DataCfg(name="colorize", root=str(tmp_path), n_samples=5, limit=2))
    assert ds.b.shape == (2, 3, 64, 64) and ds.extra["resolution"] == 64


def test_colorize_a_is_luma_of_b(photos):
    root, _ = photos
    ds = _colorize(root)
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    assert torch.allclose(ds.a, (ds.b * weights).sum(1, keepdim=True), atol=1e-6)
    crop = ((ds.b[0].permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)
    pillow_luma = np.asarray(Image.fromarray(crop, "RGB").convert("L"), dtype=np.float32) / 127.5 - 1
    assert np.abs(ds.a[0, 0].numpy() - pillow_luma).max() <= 1.01 / 127.5  # Pillow rounds to integers


def test_colorize_crops_are_deterministic_spread_and_flipped(photos):
    root, arrays = photos
    ds = _colorize(root, seed=3)
    assert torch.equal(ds.b, _colorize(root, seed=3).b)
    assert not torch.equal(ds.b, _colorize(root, seed=4).b)
    crops = ((ds.b.permute(0, 2, 3, 1).numpy() + 1) * 127.5).round().astype(np.uint8)
    found = [_locate(c, arrays) for c in crops]
    counts = np.bincount([k for k, _ in found], minlength=3)
    assert counts.tolist() == [10, 10, 10]  # spread evenly over the photos
    flips = sum(f for _, f in found)
    assert 0 < flips < 30


def test_colorize_skips_grayscale_photos(photos):
    root, arrays = photos
    _save(root / "gray.png", np.full((12, 12), 80), "L")
    _save(root / "gray-rgb.png", np.full((12, 12, 3), 80), "RGB")
    with pytest.warns(RuntimeWarning, match=r"skipped 2 grayscale photo\(s\) \(e\.g\. gray-rgb\.png\)"):
        ds = _colorize(root)
    assert ds.extra["photos"] == ["p0.png", "p1.png", "p2.png"]


def test_colorize_all_grayscale_is_an_error(tmp_path):
    _save(tmp_path / "g.png", np.full((12, 12), 80), "L")
    with pytest.raises(DataError, match=r"no colour photos \(all 1 are grayscale\)") as err:
        _colorize(tmp_path)
    _one_line(err)


def test_colorize_photo_smaller_than_crop(photos):
    root, _ = photos
    small = _save(root / "small.png", np.random.default_rng(0).integers(0, 256, (20, 6, 3)), "RGB")
    with pytest.raises(DataError) as err:
        _colorize(root)
    assert _one_line(err) == f"{small}: 6x20 is smaller than the 8x8 crop (data.resolution)"


def test_colorize_config_errors(photos, tmp_path):
    root, _ = photos
    with pytest.raises(ConfigError, match=r"^data\.root: required for the colorize dataset"):
        build_dataset(DataCfg(name="colorize"))
    with pytest.raises(ConfigError, match=r"^data\.channels: colorize has 1-channel inputs"):
        _colorize(root, channels=3)
    with pytest.raises(DataError, match="does not exist"):
        _colorize(tmp_path / "missing")


@pytest.mark.skipif(not CBSD68.is_dir(), reason="CBSD68 photos not available")
def test_colorize_on_real_photos():
    ds = build_dataset(DataCfg(name="colorize", root=str(CBSD68), n_samples=16, resolution=32, seed=1))
    assert ds.a.shape == (16, 1, 32, 32) and ds.b.shape == (16, 3, 32, 32)
    assert len(ds.extra["photos"]) == 68
    assert torch.equal(ds.b, build_dataset(DataCfg(name="colorize", root=str(CBSD68), n_samples=16,
                                                   resolution=32, seed=1)).b)
    assert float((ds.b - ds.a).abs().mean()) > 0.01  # colour targets differ from their luma


def test_paired_dataset_checks_lengths():
    with pytest.raises(ValueError, match=r"x: fields of different lengths \{'a': 2, 'b': 3\}"):
        PairedDataset(torch.zeros(2, 1, 4, 4), torch.zeros(3, 1, 4, 4), None, "x")
    ds = PairedDataset(torch.zeros(2, 1, 4, 4), torch.zeros(2, 3, 4, 4), torch.tensor([0, 4]), "x")
    assert ds.num_classes == 5 and ds.spec.fields == {"a": (1, 4, 4), "b": (3, 4, 4), "y": ()}
    assert ds.spec.class_names is None and ds.spec.labelled
