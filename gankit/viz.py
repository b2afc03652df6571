"""Pictures of a run: sample grids (images), scatter plots (2D data) and loss curves."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (N, H, W, C) uint8."""
    x = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def make_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile (N, C, H, W) images in [-1, 1] into one (H', W', C) uint8 array."""
    arr = to_uint8(images)
    n, h, w, c = arr.shape
    nrow = nrow or max(1, int(math.ceil(math.sqrt(n))))
    ncol = int(math.ceil(n / nrow))
    grid = np.full((ncol * (h + pad) + pad, nrow * (w + pad) + pad, c), 255, dtype=np.uint8)
    for i in range(n):
        r, q = divmod(i, nrow)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        grid[y:y + h, x:x + w] = arr[i]
    return grid


def save_grid(images: torch.Tensor, path: Path, nrow: int | None = None, scale: int = 1) -> Path:
    grid = make_grid(images, nrow)
    img = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return Path(path)


def save_images(images: torch.Tensor, out_dir: Path, start: int = 0) -> list[Path]:
    """One PNG per sample: out_dir/000000.png, ..."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, a in enumerate(to_uint8(images)):
        p = out_dir / f"{start + i:06d}.png"
        Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a).save(p)
        paths.append(p)
    return paths


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_scatter(fake: torch.Tensor, path: Path, real: torch.Tensor | None = None,
                 centers: np.ndarray | None = None, title: str = "") -> Path:
    """Scatter of 2D samples (fake over real), with mode centres marked."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    if real is not None:
        r = real.detach().cpu().numpy()
        ax.scatter(r[:, 0], r[:, 1], s=2, c="tab:gray", alpha=0.3, label="real")
    f = fake.detach().cpu().numpy()
    ax.scatter(f[:, 0], f[:, 1], s=2, c="tab:blue", alpha=0.5, label="generated")
    if centers is not None:
        ax.scatter(centers[:, 0], centers[:, 1], s=40, marker="x", c="tab:red", label="modes")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    ax.set_title(title)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    if Path(path).is_file():
        for line in Path(path).read_text().splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


def plot_scalars(rows: list[dict], path: Path, groups: dict[str, list[str]], title: str = "") -> Path | None:
    """One panel per group of scalar keys, plotted against 'step'."""
    groups = {g: [k for k in keys if any(k in r for r in rows)] for g, keys in groups.items()}
    groups = {g: keys for g, keys in groups.items() if keys}
    if not groups:
        return None
    plt = _plt()
    fig, axes = plt.subplots(len(groups), 1, figsize=(7, 2.6 * len(groups)), dpi=100, squeeze=False)
    for ax, (g, keys) in zip(axes[:, 0], groups.items()):
        for k in keys:
            pts = [(r["step"], r[k]) for r in rows if k in r and r[k] is not None and math.isfinite(r[k])]
            if pts:
                ax.plot(*zip(*pts), label=k, lw=1)
        ax.set_ylabel(g)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("step")
    if title:
        axes[0, 0].set_title(title)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
