"""Paired image data sets for image-to-image translation (pix2pix): batches {"a": inputs, "b": targets}.

Registry keys (see ``gankit.data.DATASETS``):

- ``fashion-edges``: Fashion-MNIST; ``a`` is the Canny edge map of each image (edges +1, background -1),
  ``b`` the image, ``y`` its class. Edge maps are computed once and cached as an .npz in the gankit cache
  directory (``data.cache_dir``, ``$GANKIT_CACHE`` or ``~/.cache/gankit``), under ``fashion-edges/``,
  keyed by split, sigma and the SHA-256 of the source images; a corrupt or stale file is recomputed.
- ``paired-folder``: ``data.root`` holds either
    * sub-folders ``A/`` (inputs) and ``B/`` (targets) with images of the same file names (``A/x.png`` is
      paired with ``B/x.png``; sub-folders inside them count with their relative path), or
    * no ``A/``/``B/`` but image files side by side, as in the pix2pix data sets (facades, maps, ...):
      the left half of each image is ``a``, the right half ``b`` (the width must be even).
  ``data.channels`` applies to both sides (default per side: 1 if all its images are grayscale, else 3);
  ``data.resolution`` resizes both (default: the images' size, which must then be the same for all).
- ``colorize``: ``data.root`` is a folder of colour photos; ``data.n_samples`` random crops (at most
  ``data.limit``) of ``data.resolution`` pixels squared (default 64), seeded by ``data.seed``, spread evenly
  over the photos, each flipped horizontally with probability 1/2; ``b`` is the RGB crop and ``a`` its
  ITU-R 601 luma (1 channel). Grayscale photos are skipped with a warning.

All images are float32 (N, C, H, W) in [-1, 1].
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.core.spec import DataSpec
import gankit.data.fashion as fashion
import gankit.data.images as images
from gankit.errors import ConfigError, DataError

EDGE_SIGMA = 1.0  # Gaussian width of the Canny edge detector of fashion-edges
EDGE_CACHE_SUBDIR = "fashion-edges"
COLORIZE_RESOLUTION = 64  # crop size of colorize when data.resolution is unset
LAYOUT_HELP = ("paired-folder expects sub-folders A/ (inputs) and B/ (targets) with the same file names, "
               "or side-by-side images (left half A, right half B)")


@dataclass
class PairedDataset:
    """Pairs in memory: inputs ``a`` and targets ``b`` (N, C, H, W) in [-1, 1], optional int64 labels ``y``."""

    a: torch.Tensor
    b: torch.Tensor
    y: torch.Tensor | None
    name: str
    class_names: list[str] | None = None
    extra: dict = field(default_factory=dict)

    @property
    def fields(self) -> dict[str, torch.Tensor]:
        """The tensors a batch is cut from, by name."""
        return {"a": self.a, "b": self.b, **({"y": self.y} if self.y is not None else {})}

    def __post_init__(self) -> None:
        counts = {name: len(t) for name, t in self.fields.items()}
        if len(set(counts.values())) != 1:
            raise ValueError(f"{self.name}: fields of different lengths {counts}")

    def __len__(self) -> int:
        return len(self.b)

    @property
    def num_classes(self) -> int | None:
        """Number of classes: from ``class_names``, else the largest label + 1, else None."""
        if self.class_names is not None:
            return len(self.class_names)
        return int(self.y.max()) + 1 if self.y is not None and len(self.y) else None

    @property
    def spec(self) -> DataSpec:
        shapes = {name: tuple(t.shape[1:]) for name, t in self.fields.items()}  # "y": ()
        names = tuple(self.class_names) if self.class_names and self.y is not None else None
        return DataSpec("image", shapes, "b", self.num_classes if self.y is not None else None, names,
                        extra=self.extra)


def _finish(x: torch.Tensor, cfg: Any) -> torch.Tensor:
    return images.resize_images(images.match_channels(x, cfg.channels), cfg.resolution)


# ---- fashion-edges ------------------------------------------------------------------------------------------


def edge_maps(raw: np.ndarray, sigma: float = EDGE_SIGMA) -> np.ndarray:
    """Canny edges (bool, same shape) of uint8 images (N, H, W), each scaled to [0, 1]."""
    from skimage.feature import canny

    out = np.empty(raw.shape, dtype=bool)
    for i, img in enumerate(raw):
        out[i] = canny(img.astype(np.float64) / 255.0, sigma=sigma)
    return out


def images_sha256(raw: np.ndarray) -> str:
    """SHA-256 of an image array's shape, dtype and bytes."""
    digest = hashlib.sha256(f"{raw.dtype.str}{raw.shape}".encode())
    digest.update(np.ascontiguousarray(raw).tobytes())
    return digest.hexdigest()


def edge_cache_path(cache_dir: Path, split: str, sigma: float, digest: str) -> Path:
    return cache_dir / EDGE_CACHE_SUBDIR / f"{split}-sigma{sigma:g}-{digest}.npz"


def _read_edge_cache(path: Path, digest: str, sigma: float, shape: tuple[int, ...]) -> np.ndarray | None:
    """The cached edge maps, or None when the file is missing, corrupt or made for other images."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            edges, stored_digest, stored_sigma = z["edges"], str(z["sha256"]), float(z["sigma"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        warnings.warn(f"{path}: corrupt edge-map cache ({exc}); recomputing it", RuntimeWarning, stacklevel=4)
        return None
    if stored_digest != digest or stored_sigma != sigma or edges.dtype != bool or edges.shape != shape:
        warnings.warn(f"{path}: edge-map cache does not match its images; recomputing it", RuntimeWarning,
                      stacklevel=4)
        return None
    return edges


def _write_edge_cache(path: Path, edges: np.ndarray, digest: str, sigma: float) -> None:
    """Write atomically (temp file + rename); an unwritable cache only costs a warning."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        tmp = Path(tmp_name)
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, edges=edges, sha256=np.str_(digest), sigma=np.float64(sigma))
        os.replace(tmp, path)
    except OSError as exc:
        warnings.warn(f"{path}: could not cache the edge maps ({exc}); they will be recomputed next time",
                      RuntimeWarning, stacklevel=4)
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def cached_edge_maps(raw: np.ndarray, split: str, cache_dir: Path, sigma: float = EDGE_SIGMA) -> np.ndarray:
    """:func:`edge_maps` of ``raw``, read from / written to ``cache_dir`` (key: split, sigma, images' SHA-256)."""
    digest = images_sha256(raw)
    path = edge_cache_path(cache_dir, split, sigma, digest)
    edges = _read_edge_cache(path, digest, sigma, raw.shape)
    if edges is None:
        edges = edge_maps(raw, sigma)
        _write_edge_cache(path, edges, digest, sigma)
    return edges


def build_fashion_edges(cfg: Any) -> PairedDataset:
    raw, labels = fashion.load_fashion_mnist(cfg.split, cfg.root, cfg.download, cfg.cache_dir)
    if cfg.limit is not None:
        raw, labels = raw[: cfg.limit], labels[: cfg.limit]
    cache_dir = Path(cfg.cache_dir).expanduser() if cfg.cache_dir else fashion.default_cache_dir()
    edges = cached_edge_maps(raw, cfg.split, cache_dir)
    a = torch.from_numpy(np.where(edges, np.float32(1.0), np.float32(-1.0))).unsqueeze(1)
    b = images.uint8_to_unit(raw).unsqueeze(1)
    return PairedDataset(_finish(a, cfg), _finish(b, cfg), torch.from_numpy(labels), "fashion-edges",
                         list(fashion.CLASS_NAMES), {"edge_sigma": EDGE_SIGMA})


# ---- paired-folder ------------------------------------------------------------------------------------------


def _to_tensor(imgs: list, files: list[Path], cfg: Any) -> torch.Tensor:
    """Decoded images -> (N, C, H, W) in [-1, 1]; C = data.channels, else 1 if all are grayscale, else 3."""
    channels = cfg.channels or (1 if all(img.mode in images.GRAY_MODES for img in imgs) else 3)
    array = images.images_to_array(imgs, files, channels, cfg.resolution)
    return torch.from_numpy(array).permute(0, 3, 1, 2).contiguous()


def _unpaired_message(root: Path, only_a: list[str], only_b: list[str]) -> str:
    parts = []
    if only_a:
        parts.append(f"{len(only_a)} files in A have no partner in B (e.g. {only_a[0]})")
    if only_b:
        parts.append(f"{len(only_b)} in B none in A (e.g. {only_b[0]})")
    return f"{root}: unpaired folders: {' and '.join(parts)}; pix2pix needs pairs with the same names"


def _load_folder_pairs(root: Path, cfg: Any) -> tuple[torch.Tensor, torch.Tensor]:
    sides = {}
    for side in ("A", "B"):
        found = images._images_in(root / side)
        if not found:
            raise DataError(f"{root / side}: no PNG/JPEG images; {LAYOUT_HELP}")
        sides[side] = {p.relative_to(root / side).as_posix(): p for p in found}
    only_a = sorted(set(sides["A"]) - set(sides["B"]))
    only_b = sorted(set(sides["B"]) - set(sides["A"]))
    if only_a or only_b:
        raise DataError(_unpaired_message(root, only_a, only_b))
    names = sorted(sides["A"])[: cfg.limit]
    a_files, b_files = [sides["A"][n] for n in names], [sides["B"][n] for n in names]
    a = _to_tensor([images.open_image(p) for p in a_files], a_files, cfg)
    b = _to_tensor([images.open_image(p) for p in b_files], b_files, cfg)
    if a.shape[-2:] != b.shape[-2:]:
        raise DataError(f"{b_files[0]}: size {b.shape[-1]}x{b.shape[-2]} differs from its partner {a_files[0]} "
                        f"({a.shape[-1]}x{a.shape[-2]}); set data.resolution to resize both")
    return a, b


def _load_side_by_side(files: list[Path], cfg: Any) -> tuple[torch.Tensor, torch.Tensor]:
    files, lefts, rights = files[: cfg.limit], [], []
    for path in files:
        img = images.open_image(path)
        w, h = img.size
        if w % 2:
            raise DataError(f"{path}: width {w} is odd; a side-by-side pair is left half A, right half B "
                            "of the same width")
        lefts.append(img.crop((0, 0, w // 2, h)))
        rights.append(img.crop((w // 2, 0, w, h)))
    return _to_tensor(lefts, files, cfg), _to_tensor(rights, files, cfg)


def build_paired_folder(cfg: Any) -> PairedDataset:
    if cfg.root is None:
        raise ConfigError(f"data.root: required for the paired-folder dataset; {LAYOUT_HELP}")
    root = Path(cfg.root).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: paired-folder root does not exist; {LAYOUT_HELP}")
    present = [s for s in ("A", "B") if (root / s).is_dir()]
    loose = sorted(p for p in root.iterdir() if images._is_image(p))
    if present == ["A", "B"]:
        if loose:
            raise DataError(f"{root}: has A/ and B/ and also loose images (e.g. {loose[0].name}); "
                            "use one layout: A/ + B/ with the same names, or only side-by-side images")
        a, b = _load_folder_pairs(root, cfg)
        layout = "folders"
    elif present:
        missing = "B" if present == ["A"] else "A"
        raise DataError(f"{root}: has {present[0]}/ but no {missing}/; {LAYOUT_HELP}")
    elif loose:
        a, b = _load_side_by_side(loose, cfg)
        layout = "side-by-side"
    else:
        raise DataError(f"{root}: no A/ and B/ sub-folders and no PNG/JPEG images; {LAYOUT_HELP}")
    return PairedDataset(a, b, None, "paired-folder", None, {"root": str(root), "layout": layout})


# ---- colorize -----------------------------------------------------------------------------------------------


def _is_gray(img, rgb: np.ndarray) -> bool:
    if img.mode in images.GRAY_MODES or img.mode == "LA":
        return True
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


def _colour_photos(root: Path, size: int) -> tuple[list[Path], list[np.ndarray]]:
    """The folder's colour photos as uint8 (H, W, 3); grayscale ones are skipped with a warning."""
    files, _, _ = images.list_image_folder(root)
    kept, photos, gray = [], [], []
    for path in files:
        img = images.open_image(path)
        rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
        if _is_gray(img, rgb):
            gray.append(path)
            continue
        h, w = rgb.shape[:2]
        if h < size or w < size:
            raise DataError(f"{path}: {w}x{h} is smaller than the {size}x{size} crop (data.resolution)")
        kept.append(path)
        photos.append(rgb)
    if not photos:
        raise DataError(f"{root}: no colour photos (all {len(files)} are grayscale); colorize needs colour targets")
    if gray:
        warnings.warn(f"{root}: skipped {len(gray)} grayscale photo(s) (e.g. {gray[0].name}); "
                      "colorize needs colour targets", RuntimeWarning, stacklevel=3)
    return kept, photos


def random_crops(photos: list[np.ndarray], n: int, size: int, seed: int) -> np.ndarray:
    """``n`` random ``size``-squared crops (uint8 (n, size, size, 3)), spread evenly over the photos in a
    seeded random order, each flipped horizontally with probability 1/2."""
    rng = np.random.default_rng(seed)
    which = rng.permutation(len(photos))[np.arange(n) % len(photos)]
    heights = np.array([p.shape[0] for p in photos])[which]
    widths = np.array([p.shape[1] for p in photos])[which]
    tops = rng.integers(0, heights - size + 1)
    lefts = rng.integers(0, widths - size + 1)
    flips = rng.random(n) < 0.5
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        crop = photos[which[i]][tops[i]: tops[i] + size, lefts[i]: lefts[i] + size]
        out[i] = crop[:, ::-1] if flips[i] else crop
    return out


def build_colorize(cfg: Any) -> PairedDataset:
    if cfg.root is None:
        raise ConfigError("data.root: required for the colorize dataset (a folder of colour photos)")
    if cfg.channels is not None:
        raise ConfigError(f"data.channels: colorize has 1-channel inputs (luma) and 3-channel targets (RGB); "
                          f"leave it unset, got {cfg.channels!r}")
    size = cfg.resolution or COLORIZE_RESOLUTION
    root = Path(cfg.root).expanduser()
    files, photos = _colour_photos(root, size)
    n = cfg.n_samples if cfg.limit is None else min(cfg.n_samples, cfg.limit)
    b = images.uint8_to_unit(random_crops(photos, n, size, cfg.seed)).permute(0, 3, 1, 2).contiguous()
    a = images.match_channels(b, 1)  # ITU-R 601-2 luma
    return PairedDataset(a, b, None, "colorize", None,
                         {"root": str(root), "photos": [p.name for p in files], "resolution": size})
