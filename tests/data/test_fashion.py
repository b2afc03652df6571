"""Fashion-MNIST: the real files, the search order, local errors and the verified download."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from gankit.data import fashion
from gankit.data.fashion import FILES, load_fashion_mnist
from gankit.errors import DataError

from ._helpers import idx_bytes, serve_directory, small_fashion, write_fashion_split, write_file

REAL_DIR = Path("/usr/share/datasets/fashion-mnist")
needs_real = pytest.mark.skipif(
    not (REAL_DIR / "t10k-images-idx3-ubyte.gz").is_file(), reason="dataset-fashion-mnist not installed"
)


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No system directory, a private cache, no URL override, no proxies for 127.0.0.1."""
    monkeypatch.setattr(fashion, "SYSTEM_DIR", tmp_path / "no-system-dir")
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GANKIT_FASHION_MNIST_URL", raising=False)
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return tmp_path / "cache" / "fashion-mnist"


def _serve_split(directory: Path, monkeypatch, split: str = "train", n: int = 6):
    """Write gz files of a tiny split to ``directory`` and patch SHA256 to their content."""
    directory.mkdir(parents=True, exist_ok=True)
    images, labels = small_fashion(n, seed=3)
    for stem, array in zip(FILES[split], (images, labels)):
        data = idx_bytes(array)
        write_file(directory / (stem + ".gz"), data, compress=True)
        monkeypatch.setitem(fashion.SHA256, stem, hashlib.sha256(data).hexdigest())
    return images, labels


@needs_real
def test_real_test_split():
    images, labels = load_fashion_mnist("test", root=REAL_DIR, download=False)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), np.full(10, 1000))
    assert images.min() == 0 and images.max() == 255
    assert 60 < images.mean() < 90  # Fashion-MNIST test mean is ~73.1


@needs_real
def test_real_train_split_from_system_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    images, labels = load_fashion_mnist("train", download=False)
    assert images.shape == (60000, 28, 28)
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), np.full(10, 6000))
    assert not any(tmp_path.iterdir())  # nothing cached or downloaded


@needs_real
def test_hardcoded_checksums_match_real_content():
    for stem, expected in fashion.SHA256.items():
        with gzip.open(REAL_DIR / (stem + ".gz"), "rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == expected, stem


@pytest.mark.parametrize("compress", [True, False])
def test_root_with_gz_or_plain_files(tmp_path, compress):
    images, labels = write_fashion_split(tmp_path, "test", n=4, compress=compress)
    got_images, got_labels = load_fashion_mnist("test", root=tmp_path, download=False)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels.astype(np.int64))


def test_missing_root_does_not_fall_through(tmp_path):
    root = tmp_path / "absent"
    with pytest.raises(DataError, match=f"{root}.*does not exist"):
        load_fashion_mnist("train", root=root)


def test_root_missing_files_names_them(tmp_path):
    write_fashion_split(tmp_path, "train", n=3)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"missing train-labels-idx1-ubyte\(\.gz\)") as info:
        load_fashion_mnist("train", root=tmp_path)
    assert str(tmp_path) in str(info.value) and "train-images" not in str(info.value)


def test_count_mismatch(tmp_path):
    images, _ = small_fashion(5)
    write_file(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(images), compress=False)
    write_file(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(np.zeros(4, np.uint8)), compress=False)
    with pytest.raises(DataError, match=r"5 images but .*t10k-labels-idx1-ubyte has 4 labels"):
        load_fashion_mnist("test", root=tmp_path)


def test_wrong_image_size_and_label_range(tmp_path):
    write_file(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(np.zeros((2, 14, 14), np.uint8)), False)
    write_file(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(np.zeros(2, np.uint8)), False)
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte: expected 28x28"):
        load_fashion_mnist("test", root=tmp_path)
    write_file(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(np.zeros((2, 28, 28), np.uint8)), False)
    write_file(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(np.array([1, 12], np.uint8)), False)
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte: label 12 outside 0\.\.9"):
        load_fashion_mnist("test", root=tmp_path)


def test_unknown_split(tmp_path):
    with pytest.raises(DataError, match="unknown split 'val'"):
        load_fashion_mnist("val", root=tmp_path)


def test_not_found_without_download(isolated):
    with pytest.raises(DataError, match="not found.*download=False"):
        load_fashion_mnist("test", download=False)


def test_cache_dir_is_used_before_download(isolated, tmp_path):
    cache_root = tmp_path / "mycache"
    (cache_root / "fashion-mnist").mkdir(parents=True)
    images, _ = write_fashion_split(cache_root / "fashion-mnist", "test", n=2)
    got, _ = load_fashion_mnist("test", download=False, cache_dir=cache_root)
    np.testing.assert_array_equal(got, images)


def test_download_verifies_and_caches(isolated, monkeypatch, tmp_path):
    images, labels = _serve_split(tmp_path / "server", monkeypatch, "train")
    with serve_directory(tmp_path / "server") as (url, requests):
        got_images, got_labels = load_fashion_mnist("train", base_url=url)
        assert sorted(requests) == ["/train-images-idx3-ubyte.gz", "/train-labels-idx1-ubyte.gz"]
        np.testing.assert_array_equal(got_images, images)
        np.testing.assert_array_equal(got_labels, labels.astype(np.int64))
        assert sorted(p.name for p in isolated.iterdir()) == [
            "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]  # no temp files left
        again, _ = load_fashion_mnist("train", download=False)  # from the cache, no request
        np.testing.assert_array_equal(again, images)
        assert len(requests) == 2


def test_download_url_from_environment(isolated, monkeypatch, tmp_path):
    images, _ = _serve_split(tmp_path / "server", monkeypatch, "test", n=3)
    with serve_directory(tmp_path / "server") as (url, requests):
        monkeypatch.setenv("GANKIT_FASHION_MNIST_URL", url.rstrip("/"))
        got, _ = load_fashion_mnist("test")
    np.testing.assert_array_equal(got, images)
    assert len(requests) == 2


def test_checksum_mismatch_leaves_nothing(isolated, monkeypatch, tmp_path):
    _serve_split(tmp_path / "server", monkeypatch, "test")
    monkeypatch.setitem(fashion.SHA256, "t10k-images-idx3-ubyte", "0" * 64)
    with serve_directory(tmp_path / "server") as (url, _):
        with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz: checksum mismatch"):
            load_fashion_mnist("test", base_url=url)
    assert not isolated.exists() or not any(isolated.iterdir())


def test_download_http_error_leaves_nothing(isolated, tmp_path):
    (tmp_path / "empty-server").mkdir()
    with serve_directory(tmp_path / "empty-server") as (url, requests):
        with pytest.raises(DataError, match=r"could not download .*t10k-images-idx3-ubyte\.gz.*404"):
            load_fashion_mnist("test", base_url=url)
    assert requests == ["/t10k-images-idx3-ubyte.gz"]
    assert not any(isolated.iterdir())


def test_download_of_corrupt_gzip_is_rejected(isolated, monkeypatch, tmp_path):
    _serve_split(tmp_path / "server", monkeypatch, "test")
    target = tmp_path / "server" / "t10k-images-idx3-ubyte.gz"
    target.write_bytes(target.read_bytes()[:40])  # truncated in transit
    with serve_directory(tmp_path / "server") as (url, _):
        with pytest.raises(DataError, match="checksum mismatch"):
            load_fashion_mnist("test", base_url=url)
    assert not any(isolated.iterdir())
