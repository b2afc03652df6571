"""IDX parsing: valid files (plain and gzip) and every kind of broken file."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from gankit.data.idx import IMAGES_MAGIC, LABELS_MAGIC, parse_idx, read_idx
from gankit.errors import DataError

from ._helpers import idx_bytes, write_file


@pytest.mark.parametrize("compress", [False, True])
def test_reads_images_and_labels(tmp_path, compress):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    labels = np.array([7, 1], dtype=np.uint8)
    suffix = ".gz" if compress else ""
    img = write_file(tmp_path / f"img{suffix}", idx_bytes(images), compress)
    lbl = write_file(tmp_path / f"lbl{suffix}", idx_bytes(labels), compress)
    got_images = read_idx(img, IMAGES_MAGIC)
    got_labels = read_idx(lbl, LABELS_MAGIC)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert got_images.dtype == np.uint8 and got_images.flags.writeable


def test_gzip_detected_by_content_without_gz_suffix(tmp_path):
    labels = np.array([3, 4, 5], dtype=np.uint8)
    path = write_file(tmp_path / "labels-idx1-ubyte", idx_bytes(labels), compress=True)
    np.testing.assert_array_equal(read_idx(path, LABELS_MAGIC), labels)


def test_big_endian_wider_types_are_converted():
    values = np.array([[1, -2], [300, 70000]], dtype=">i4")
    data = (0x0C02).to_bytes(4, "big") + np.array([2, 2], dtype=">u4").tobytes() + values.tobytes()
    got = parse_idx(data, "ints")
    np.testing.assert_array_equal(got, values.astype(np.int32))
    assert got.dtype.byteorder in ("=", "<", "|")


def test_truncated_data_is_named(tmp_path):
    data = idx_bytes(np.zeros((4, 28, 28), dtype=np.uint8))[:-10]
    path = write_file(tmp_path / "short-idx3-ubyte", data, compress=False)
    with pytest.raises(DataError, match=r"short-idx3-ubyte.*truncated"):
        read_idx(path, IMAGES_MAGIC)


def test_truncated_header(tmp_path):
    path = write_file(tmp_path / "hdr", IMAGES_MAGIC.to_bytes(4, "big") + b"\x00\x00", compress=False)
    with pytest.raises(DataError, match=r"hdr.*truncated header"):
        read_idx(path, IMAGES_MAGIC)


def test_too_short_for_magic(tmp_path):
    path = write_file(tmp_path / "tiny", b"\x00\x00", compress=False)
    with pytest.raises(DataError, match=r"tiny.*too short"):
        read_idx(path)


def test_extra_bytes_are_wrong_size(tmp_path):
    data = idx_bytes(np.zeros(3, dtype=np.uint8)) + b"\x01\x02"
    path = write_file(tmp_path / "long", data, compress=False)
    with pytest.raises(DataError, match=r"long.*wrong size.*2 unexpected bytes"):
        read_idx(path, LABELS_MAGIC)


def test_wrong_magic(tmp_path):
    path = write_file(tmp_path / "labels.gz", idx_bytes(np.zeros(3, dtype=np.uint8)), compress=True)
    with pytest.raises(DataError, match=r"labels\.gz.*wrong magic number 2049.*expected 2051"):
        read_idx(path, IMAGES_MAGIC)


def test_not_idx_at_all(tmp_path):
    path = write_file(tmp_path / "text.txt", b"hello world, not idx", compress=False)
    with pytest.raises(DataError, match=r"text\.txt.*not an IDX file"):
        read_idx(path)


def test_bad_gzip(tmp_path):
    path = write_file(tmp_path / "bad.gz", b"this is not gzip data at all", compress=False)
    with pytest.raises(DataError, match=r"bad\.gz.*corrupt gzip"):
        read_idx(path)


def test_truncated_gzip(tmp_path):
    full = gzip.compress(idx_bytes(np.arange(1000, dtype=np.uint8) % 7))
    path = tmp_path / "cut.gz"
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(DataError, match=r"cut\.gz.*gzip stream is truncated"):
        read_idx(path)


def test_corrupt_gzip_body(tmp_path):
    full = bytearray(gzip.compress(idx_bytes(np.arange(4000, dtype=np.uint32).astype(np.uint8))))
    full[12:40] = b"\xff" * 28  # damage the deflate stream
    path = tmp_path / "damaged.gz"
    path.write_bytes(bytes(full))
    with pytest.raises(DataError, match=r"damaged\.gz"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nothere.*not found"):
        read_idx(tmp_path / "nothere")
