"""Fashion-MNIST (Xiao et al., 2017): local look-up, verified download, IDX parsing.

Search order of :func:`load_fashion_mnist`: ``root`` (exclusive), the Debian
package directory, the cache directory, then a download into the cache.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from gankit.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from gankit.errors import DataError

CLASS_NAMES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
DEFAULT_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
URL_ENV = "GANKIT_FASHION_MNIST_URL"
CACHE_ENV = "GANKIT_CACHE"
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian: dataset-fashion-mnist
CACHE_SUBDIR = "fashion-mnist"

# split -> (images file stem, labels file stem); files are "<stem>.gz" or "<stem>".
FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# SHA-256 of the *decompressed* IDX content, computed from the files of the Debian
# package. The package re-gzipped the upstream files (other gzip header, so other
# .gz digests than upstream's MD5s), but the content is the same; hashing the content
# verifies a download whichever gzip wrapper the server used.
SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
DOWNLOAD_TIMEOUT_S = 60.0
_CHUNK = 1 << 20


def default_cache_dir() -> Path:
    """``$GANKIT_CACHE`` or ``~/.cache/gankit``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gankit"


def find_idx(directory: Path, stem: str) -> Path | None:
    """Return ``directory/stem.gz`` or ``directory/stem`` (in that order) if it is a file."""
    for name in (stem + ".gz", stem):
        path = directory / name
        if path.is_file():
            return path
    return None


def _find_pair(directory: Path, split: str) -> tuple[Path, Path] | None:
    found = [find_idx(directory, stem) for stem in FILES[split]]
    if None in found:
        return None
    return found[0], found[1]


def _pair_in_root(root: Path, split: str) -> tuple[Path, Path]:
    if not root.is_dir():
        raise DataError(f"fashion-mnist root {root}: directory does not exist")
    found = _find_pair(root, split)
    if found is None:
        missing = [s for s in FILES[split] if find_idx(root, s) is None]
        names = ", ".join(f"{s}(.gz)" for s in missing)
        raise DataError(f"fashion-mnist root {root}: missing {names}")
    return found


def _sha256_of_content(path: Path) -> str:
    """SHA-256 of the file's content, gunzipped when it is gzip data."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        is_gzip = fh.read(2) == b"\x1f\x8b"
    opener = gzip.open if is_gzip else open
    try:
        with opener(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(chunk)
    except (EOFError, OSError, zlib.error) as exc:  # bad or truncated gzip
        return f"<unreadable: {exc}>"
    return digest.hexdigest()


def download_file(url: str, dest: Path, sha256: str) -> Path:
    """Download ``url`` to ``dest`` atomically; its (gunzipped) content must hash to ``sha256``.

    The data goes to a temp file beside ``dest`` and is renamed only when verified;
    a failed or mismatching download leaves nothing behind.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _fetch(url, out)
        actual = _sha256_of_content(tmp)
        if actual != sha256:
            raise DataError(
                f"{url}: checksum mismatch (SHA-256 of content {actual}, expected {sha256}); "
                "the file was not kept"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _fetch(url: str, out) -> None:
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as resp:
            for chunk in iter(lambda: resp.read(_CHUNK), b""):
                out.write(chunk)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        raise DataError(f"could not download {url}: {exc}") from None


def _download_pair(cache: Path, split: str, base_url: str | None) -> tuple[Path, Path]:
    base = base_url or os.environ.get(URL_ENV) or DEFAULT_URL
    paths = []
    for stem in FILES[split]:
        existing = find_idx(cache, stem)
        if existing is not None:
            paths.append(existing)
            continue
        url = base.rstrip("/") + "/" + stem + ".gz"
        paths.append(download_file(url, cache / (stem + ".gz"), SHA256[stem]))
    return paths[0], paths[1]


def locate_fashion_mnist(
    split: str = "train",
    root: str | Path | None = None,
    download: bool = True,
    cache_dir: str | Path | None = None,
    base_url: str | None = None,
) -> tuple[Path, Path]:
    """Return the (images, labels) file paths of ``split``, downloading them if allowed."""
    if split not in FILES:
        raise DataError(f"fashion-mnist: unknown split {split!r}; valid: {sorted(FILES)}")
    if root is not None:
        return _pair_in_root(Path(root).expanduser(), split)
    found = _find_pair(SYSTEM_DIR, split)
    if found is not None:
        return found
    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    cache = cache / CACHE_SUBDIR
    found = _find_pair(cache, split)
    if found is not None:
        return found
    if not download:
        raise DataError(
            f"fashion-mnist {split} files not found in {SYSTEM_DIR} or {cache} and download=False; "
            "install the Debian package dataset-fashion-mnist, set root, or allow download"
        )
    return _download_pair(cache, split, base_url)


def read_fashion_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse and check an images/labels IDX pair: (N, 28, 28) uint8 and (N,) int64 in 0..9."""
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{images_path}: expected 28x28 images, header gives shape {images.shape}")
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: expected 1-D labels, header gives shape {labels.shape}")
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels"
        )
    if labels.size and labels.max() >= len(CLASS_NAMES):
        raise DataError(f"{labels_path}: label {int(labels.max())} outside 0..{len(CLASS_NAMES) - 1}")
    return images, labels.astype(np.int64)


def load_fashion_mnist(
    split: str = "train",
    root: str | Path | None = None,
    download: bool = True,
    cache_dir: str | Path | None = None,
    base_url: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Load Fashion-MNIST ``split`` ("train" | "test") as uint8 (N, 28, 28) images and int64 labels.

    ``root`` (when given) must hold the files, as ``.gz`` or uncompressed; otherwise the
    Debian directory, then ``cache_dir/fashion-mnist`` (default cache: ``$GANKIT_CACHE`` or
    ``~/.cache/gankit``) are searched, then the files are downloaded from ``base_url``
    (default ``$GANKIT_FASHION_MNIST_URL`` or the official server) when ``download`` is set.
    """
    images_path, labels_path = locate_fashion_mnist(split, root, download, cache_dir, base_url)
    return read_fashion_pair(images_path, labels_path)
