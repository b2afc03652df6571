"""Image folders (PNG/JPEG via Pillow) and the shared image scaling / resizing helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from gankit.errors import DataError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
WIDE_GRAY_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})  # 16-bit grayscale PNGs
GRAY_MODES = frozenset({"1", "L"}) | WIDE_GRAY_MODES


def uint8_to_unit(x: np.ndarray) -> torch.Tensor:
    """uint8 images (any layout) -> float32 tensor in [-1, 1] via ``x / 127.5 - 1``."""
    return torch.from_numpy(np.ascontiguousarray(x)).float().div_(127.5).sub_(1.0)


def resize_images(x: torch.Tensor, resolution: int | None) -> torch.Tensor:
    """Resize (N, C, H, W) images in [-1, 1] to ``resolution`` squared (antialiased bilinear)."""
    if resolution is None or tuple(x.shape[-2:]) == (resolution, resolution):
        return x
    out = F.interpolate(x, size=(resolution, resolution), mode="bilinear",
                        align_corners=False, antialias=True)
    return out.clamp_(-1.0, 1.0)


def match_channels(x: torch.Tensor, channels: int | None) -> torch.Tensor:
    """Turn (N, C, H, W) images with C in {1, 3} into ``channels`` (1: luma, 3: repeat gray)."""
    if channels is None or x.shape[1] == channels:
        return x
    if channels == 3 and x.shape[1] == 1:
        return x.repeat(1, 3, 1, 1)
    if channels == 1 and x.shape[1] == 3:  # ITU-R 601-2 luma, as Pillow's convert("L")
        weights = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype).view(1, 3, 1, 1)
        return (x * weights).sum(dim=1, keepdim=True).clamp_(-1.0, 1.0)
    raise DataError(f"cannot convert {x.shape[1]}-channel images to {channels} channels")


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _images_in(directory: Path) -> list[Path]:
    """Image files under ``directory`` (recursively, hidden entries skipped), sorted."""
    found = [p for p in directory.rglob("*") if _is_image(p)
             and not any(part.startswith(".") for part in p.relative_to(directory).parts)]
    return sorted(found)


def list_image_folder(root: Path) -> tuple[list[Path], list[int] | None, list[str] | None]:
    """Files, labels and class names of ``root``: class sub-folders or one flat folder."""
    if not root.is_dir():
        raise DataError(f"image folder {root}: directory does not exist")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    loose = sorted(p for p in root.iterdir() if _is_image(p))
    if not class_dirs:
        if not loose:
            raise DataError(f"image folder {root}: no PNG/JPEG images found")
        return loose, None, None
    if loose:
        raise DataError(
            f"image folder {root}: has both loose images (e.g. {loose[0].name}) and class "
            "sub-folders; put every image in a class folder or use a flat folder"
        )
    files: list[Path] = []
    labels: list[int] = []
    for label, class_dir in enumerate(class_dirs):
        images = _images_in(class_dir)
        if not images:
            raise DataError(f"image folder {root}: class folder {class_dir.name} has no PNG/JPEG images")
        files += images
        labels += [label] * len(images)
    return files, labels, [d.name for d in class_dirs]


def open_image(path: Path) -> Image.Image:
    """Decode ``path`` fully (EXIF orientation applied); DataError naming it if unreadable."""
    try:
        with Image.open(path) as img:
            img.load()
            return ImageOps.exif_transpose(img)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"{path}: unreadable image ({exc})") from None


def image_to_unit(img: Image.Image, channels: int, resolution: int | None) -> np.ndarray:
    """One decoded image as float32 (H, W, channels) in [-1, 1], resized to ``resolution`` squared.

    8-bit images are scaled by 255; 16-bit grayscale images (mode I;16 or I) by 65535, not clipped to 8 bits."""
    wide = img.mode in WIDE_GRAY_MODES
    img = img.convert("F" if wide else "L" if channels == 1 else "RGB")
    if resolution is not None and img.size != (resolution, resolution):
        img = img.resize((resolution, resolution), Image.BILINEAR, reducing_gap=None)
    if not wide:
        return uint8_to_unit(np.array(img, dtype=np.uint8).reshape(img.size[1], img.size[0], channels)).numpy()
    gray = np.clip(np.asarray(img, dtype=np.float32) / 32767.5 - 1.0, -1.0, 1.0)
    return np.repeat(gray[..., None], channels, axis=2)


def images_to_array(images: list[Image.Image], files: list[Path], channels: int,
                    resolution: int | None) -> np.ndarray:
    """Convert decoded images to one float32 array (N, H, W, channels) in [-1, 1]."""
    out = None
    for i, (img, path) in enumerate(zip(images, files)):
        arr = image_to_unit(img, channels, resolution)
        if out is None:
            out = np.empty((len(images), *arr.shape), dtype=np.float32)
        elif arr.shape != out.shape[1:]:
            raise DataError(
                f"{path}: size {arr.shape[1]}x{arr.shape[0]} differs from {files[0].name} "
                f"({out.shape[2]}x{out.shape[1]}); set resolution to resize all images"
            )
        out[i] = arr
    return out


def load_image_folder(
    root: str | Path,
    resolution: int | None = None,
    channels: int | None = None,
    limit: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None, list[str] | None]:
    """Load an image folder as (N, C, H, W) float32 in [-1, 1], int64 labels or None, class names.

    Class sub-folders (sorted names) become labels; a flat folder has none. ``channels``
    forces 1 or 3; by default all-grayscale folders (8- or 16-bit) give 1 channel, others 3.
    ``limit`` keeps only the first files (in sorted order) before decoding.
    """
    root = Path(root).expanduser()
    files, labels, class_names = list_image_folder(root)
    if limit is not None:
        files = files[:limit]
        labels = labels[:limit] if labels is not None else None
    images = [open_image(p) for p in files]
    if channels is None:
        channels = 1 if all(img.mode in GRAY_MODES for img in images) else 3
    array = images_to_array(images, files, channels, resolution)
    x = torch.from_numpy(array).permute(0, 3, 1, 2).contiguous()
    y = torch.tensor(labels, dtype=torch.int64) if labels is not None else None
    return x, y, class_names
