"""Super-resolution data: high-resolution (HR) photos and their bicubic down-sampled low-resolution (LR) copies.

Registry key ``sr-crops`` (see ``gankit.data.DATASETS``): ``data.root`` is any folder of photos (PNG/JPEG, class
sub-folders allowed); ``data.n_samples`` random HR crops (at most ``data.limit``, at most MAX_CROPS) of
``data.resolution`` pixels squared (default 96, as in SRGAN), spread evenly over the photos in a seeded order
(``data.seed``) and flipped horizontally with probability 1/2. Each crop's LR copy is SCALE (4) times smaller,
down-sampled with Pillow's bicubic filter (antialiased, as MATLAB's imresize). Batches are {"lr": (3, 24, 24),
"hr": (3, 96, 96)} in [-1, 1]; "hr" is the main field. A photo smaller than the crop is refused with one line;
grayscale photos are converted to RGB (R = G = B) with a warning.

Test sets are whole images (`load_test_images`): each HR image is cut to a multiple of SCALE ("mod crop", the SR
literature's protocol), its LR copy down-sampled the same way; `bicubic_up` is the bicubic baseline.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

import gankit.data.images as images
import gankit.data.paired as paired
from gankit.core.spec import DataSpec
from gankit.errors import ConfigError, DataError

SCALE = 4  # SRGAN's 4x
DEFAULT_CROP = 96  # the paper's HR crop (LR 24x24)
MAX_CROPS = 20000  # 20000 96-px crops hold ~2.2 GB in memory: more is refused


@dataclass
class SRDataset:
    """HR crops and their LR copies in memory, float32 (N, 3, H, W) in [-1, 1]."""

    lr: torch.Tensor
    hr: torch.Tensor
    name: str = "sr-crops"
    extra: dict | None = None

    @property
    def fields(self) -> dict[str, torch.Tensor]:
        return {"lr": self.lr, "hr": self.hr}

    def __len__(self) -> int:
        return len(self.hr)

    @property
    def spec(self) -> DataSpec:
        shapes = {k: tuple(v.shape[1:]) for k, v in self.fields.items()}
        return DataSpec("image", shapes, "hr", None, None, extra=self.extra or {})


def to_unit(x: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) or (H, W, 3) -> float32 (N, 3, H, W) / (3, H, W) in [-1, 1]."""
    t = images.uint8_to_unit(np.array(x, dtype=np.uint8))
    return (t.permute(0, 3, 1, 2) if t.dim() == 4 else t.permute(2, 0, 1)).contiguous()


def downsample(hr: np.ndarray, scale: int = SCALE) -> np.ndarray:
    """uint8 (H, W, 3) -> uint8 (H // scale, W // scale, 3), Pillow's bicubic (antialiased when shrinking)."""
    h, w = hr.shape[:2]
    return np.array(Image.fromarray(hr).resize((w // scale, h // scale), Image.BICUBIC))


def bicubic_up(lr: np.ndarray, scale: int = SCALE) -> np.ndarray:
    """uint8 (h, w, 3) -> uint8 (h * scale, w * scale, 3), Pillow's bicubic: the baseline of SR tables."""
    h, w = lr.shape[:2]
    return np.array(Image.fromarray(lr).resize((w * scale, h * scale), Image.BICUBIC))


def read_rgb(path: Path, what: str = "photo") -> np.ndarray:
    """An image as uint8 (H, W, 3); grayscale is converted to RGB with a warning (an RGB model's input)."""
    img = images.open_image(path)
    if img.mode in images.GRAY_MODES or img.mode == "LA":
        warnings.warn(f"{path.name}: grayscale {what} converted to RGB (R = G = B)", RuntimeWarning, stacklevel=3)
    return np.array(img.convert("RGB"), dtype=np.uint8)


def _photos(root: Path, size: int) -> tuple[list[Path], list[np.ndarray]]:
    files, _, _ = images.list_image_folder(root)
    photos = []
    for path in files:
        rgb = read_rgb(path)
        h, w = rgb.shape[:2]
        if h < size or w < size:
            raise DataError(f"{path}: {w}x{h} is smaller than the {size}x{size} HR crop (data.resolution)")
        photos.append(rgb)
    return files, photos


def build_sr_crops(cfg: Any) -> SRDataset:
    if cfg.root is None:
        raise ConfigError("data.root: required for the sr-crops dataset (a folder of photos)")
    size = cfg.resolution or DEFAULT_CROP
    if size % SCALE or size < 4 * SCALE:
        raise ConfigError(f"data.resolution: the HR crop must be a multiple of {SCALE} and >= {4 * SCALE}, got {size}")
    if cfg.channels not in (None, 3):
        raise ConfigError(f"data.channels: super-resolution works on RGB images; leave it unset, got {cfg.channels}")
    n = cfg.n_samples if cfg.limit is None else min(cfg.n_samples, cfg.limit)
    if n > MAX_CROPS:
        raise ConfigError(f"data.n_samples: {n} crops is more than {MAX_CROPS} (they are held in memory); "
                          "lower data.n_samples")
    root = Path(cfg.root).expanduser()
    files, photos = _photos(root, size)
    hr = paired.random_crops(photos, n, size, cfg.seed)
    lr = np.stack([downsample(c) for c in hr])
    return SRDataset(to_unit(lr), to_unit(hr), "sr-crops",
                     {"root": str(root), "photos": len(files), "resolution": size, "scale": SCALE})


def load_test_images(root: str | Path, scale: int = SCALE) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, HR uint8 (H, W, 3) cut to a multiple of `scale`, LR uint8) for every image of a folder, sorted."""
    root = Path(root).expanduser()
    files = images._images_in(root) if root.is_dir() else []
    if not files:
        raise DataError(f"{root}: no PNG/JPEG images (an SR test set is a folder of whole HR images)")
    out = []
    for path in files:
        rgb = read_rgb(path, "test image")
        h, w = (rgb.shape[0] // scale) * scale, (rgb.shape[1] // scale) * scale
        if h < 4 * scale or w < 4 * scale:
            raise DataError(f"{path}: {rgb.shape[1]}x{rgb.shape[0]} is too small for {scale}x super-resolution")
        hr = np.ascontiguousarray(rgb[:h, :w])
        out.append((path.name, hr, downsample(hr, scale)))
    return out
