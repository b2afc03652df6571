"""Reader for the IDX format of (Fashion-)MNIST, plain or gzip-compressed.

An IDX file is a 4-byte big-endian magic number ``0x0000TTDD`` (TT: element
type code, DD: number of dimensions), DD big-endian uint32 sizes, then the
elements in C order. Images are magic 2051 (uint8, 3 dims), labels 2049
(uint8, 1 dim).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from gankit.errors import DataError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049

_GZIP_MAGIC = b"\x1f\x8b"

# IDX element type code -> big-endian numpy dtype.
_IDX_DTYPES: dict[int, str] = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


def read_idx_bytes(path: str | Path) -> bytes:
    """Return the raw IDX bytes of ``path``, gunzipping ``.gz`` or gzip-magic files."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({exc})") from None
    if path.suffix == ".gz" or raw[:2] == _GZIP_MAGIC:
        return _gunzip(raw, path)
    return raw


def _gunzip(raw: bytes, path: Path) -> bytes:
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise DataError(f"{path}: gzip stream is truncated") from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise DataError(f"{path}: corrupt gzip data ({exc})") from None


def parse_idx(data: bytes, source: str = "<bytes>", magic: int | None = None) -> np.ndarray:
    """Parse IDX ``data`` into a native-endian array; ``source`` names it in errors.

    When ``magic`` is given the header's magic number must equal it.
    """
    if len(data) < 4:
        raise DataError(f"{source}: too short for an IDX header ({len(data)} bytes)")
    found = int.from_bytes(data[:4], "big")
    if magic is not None and found != magic:
        raise DataError(f"{source}: wrong magic number {found} (expected {magic})")
    zero, type_code, ndim = found >> 16, (found >> 8) & 0xFF, found & 0xFF
    if zero != 0 or type_code not in _IDX_DTYPES:
        raise DataError(f"{source}: not an IDX file (magic number {found:#010x})")
    shape = _parse_dims(data, ndim, source)
    dtype = np.dtype(_IDX_DTYPES[type_code])
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - offset
    if actual < expected:
        raise DataError(
            f"{source}: truncated, header {shape} needs {expected} data bytes, found {actual}"
        )
    if actual > expected:
        raise DataError(
            f"{source}: wrong size, {actual - expected} unexpected bytes after the data of shape {shape}"
        )
    array = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=offset)
    return array.reshape(shape).astype(dtype.newbyteorder("="))  # writable native copy


def _parse_dims(data: bytes, ndim: int, source: str) -> tuple[int, ...]:
    end = 4 + 4 * ndim
    if len(data) < end:
        raise DataError(f"{source}: truncated header, expected {ndim} dimension sizes")
    return tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))


def read_idx(path: str | Path, magic: int | None = None) -> np.ndarray:
    """Read and parse the IDX file at ``path`` (``.gz`` or uncompressed)."""
    return parse_idx(read_idx_bytes(path), str(path), magic)
