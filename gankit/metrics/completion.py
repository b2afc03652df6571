"""Evaluation of image completion: `gankit eval COMPLETION_RUN` dispatches here.

The first n images of the run's data set on `split` (test by default; `--data-root` to use another folder) get
random holes drawn from `seed` (the run's hole sizes), and are completed by: the run's net, mean fill (the
hole's pixels set to the per-channel mean of the visible ones), and OpenCV's classical inpainting (`cv2.inpaint`,
Telea and Navier-Stokes, radius 3, on 8-bit images; from opencv-python-headless, `pip install gankit[restoration]`;
skipped with a warning when it is not installed). Metrics in the hole: L1 on the [-1, 1] scale over the hole's
pixels, PSNR on the [0, 1] scale over the hole's pixels, SSIM (scikit-image's defaults, as gankit.metrics.paired.ssim) on the
hole's bounding box; per image, averaged. For Fashion-MNIST-shaped data (1 channel) also FID[fashion-cnn] of the
completed images against the originals and fashion-cnn's class accuracy on them (images resized to 28x28).
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from gankit.metrics.paired import _ssim

__all__ = ["hole_metrics", "cv2_inpaint", "evaluate_completion"]


def _boxes(mask: torch.Tensor) -> list[tuple[slice, slice]]:
    out = []
    for m in mask[:, 0]:
        rows, cols = m.any(1).nonzero().flatten(), m.any(0).nonzero().flatten()
        out.append((slice(int(rows.min()), int(rows.max()) + 1), slice(int(cols.min()), int(cols.max()) + 1)))
    return out


def hole_metrics(fake: torch.Tensor, real: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
    """{"L1", "PSNR", "SSIM"} in the hole (mask 1) of (N, C, H, W) images in [-1, 1], averaged over images."""
    m = mask.expand_as(real).bool()
    l1s, psnrs, ssims = [], [], []
    for f, r, mm, (ys, xs) in zip(fake, real, m, _boxes(mask)):
        diff = (f - r)[mm]
        l1s.append(float(diff.abs().mean()))
        mse = float(((diff / 2) ** 2).mean())
        psnrs.append(10 * np.log10(1 / mse) if mse > 0 else float("inf"))
        ssims.append(_ssim(f[None, :, ys, xs].double().numpy(), r[None, :, ys, xs].double().numpy()))
    return {"L1": float(np.mean(l1s)), "PSNR": float(np.mean(psnrs)), "SSIM": float(np.mean(ssims))}


def cv2_inpaint(x: torch.Tensor, mask: torch.Tensor, method: str = "telea", radius: int = 3) -> torch.Tensor:
    """OpenCV's inpainting (Telea 2004 or Navier-Stokes) of (N, C, H, W) images in [-1, 1], on 8-bit images."""
    import cv2

    flag = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}[method]
    imgs = np.round((x.clamp(-1, 1) + 1) * 127.5).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    masks = (mask[:, 0] > 0.5).to(torch.uint8).numpy() * 255
    out = []
    for img, m in zip(imgs, masks):
        filled = cv2.inpaint(np.ascontiguousarray(img), np.ascontiguousarray(m), radius, flag)
        out.append(filled.reshape(img.shape))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 127.5 - 1


def _fashion(completed: torch.Tensor, real: torch.Tensor, labels) -> dict[str, float]:
    from gankit.metrics.translation import fashion_scores

    def to28(t):
        return t if t.shape[-1] == 28 else F.interpolate(t, size=(28, 28), mode="bilinear", antialias=True,
                                                         align_corners=False).clamp(-1, 1)

    return fashion_scores(to28(completed), to28(real), labels)


def evaluate_completion(models: dict, cfg: Any, split: str = "test", n: int = 1000, seed: int = 0,
                        root: str | None = None) -> dict[str, float]:
    from gankit.data import build_dataset
    from gankit.families.completion import complete_eval, eval_holes, image_field, mean_fill

    data_cfg = replace(cfg.data, split=split, limit=None, root=root or cfg.data.root)
    fields = build_dataset(data_cfg).fields
    x = fields[image_field(fields)][:n]
    mask = eval_holes(len(x), x.shape[-1], cfg.model, seed)
    methods = {"net": complete_eval(models["C"], x, mask), "mean_fill": mean_fill(x, mask)}
    try:
        methods["telea"], methods["ns"] = cv2_inpaint(x, mask, "telea"), cv2_inpaint(x, mask, "ns")
    except ImportError:
        warnings.warn("opencv-python-headless is not installed: the Telea and Navier-Stokes baselines are skipped "
                      "(pip install gankit[restoration])", RuntimeWarning, stacklevel=2)
    out: dict[str, float] = {}
    for name, completed in methods.items():
        out.update({f"{name}/{k}": v for k, v in hole_metrics(completed, x, mask).items()})
        if x.shape[1] == 1 and "y" in fields:
            out.update({f"{name}/{k}": v for k, v in _fashion(completed, x, fields["y"][:n]).items()})
    out["n"] = float(len(x))
    return out
