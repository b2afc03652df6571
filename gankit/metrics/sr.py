"""Super-resolution evaluation: `gankit eval SR_RUN --data-root TEST_FOLDER` dispatches here.

Every image of the folder is cut to a multiple of the scale, down-sampled with Pillow's bicubic filter
(gankit.data.sr), and up-sampled twice: by the run's G (tiled, gankit.families.srgan.upsample_tiled) and by
Pillow's bicubic filter (the baseline). Both outputs are quantized to 8 bits (as saved images are) and compared
with the HR image by the SR protocol (gankit.metrics.paired.psnr_y / ssim_y: Y of YCbCr, BT.601 as MATLAB's
rgb2ycbcr, `border` = 4 pixels cut from each side); values are averaged over the images.

`hf_ratio` needs no pretrained network: the energy of an image's high frequencies (Y channel, border cut, a Hann
window against the wrap-around edges, spatial frequencies above `cutoff` x Nyquist; by default 1/4, the part of
the spectrum a 4x smaller LR image cannot hold) relative to that of the HR image, per image, averaged. 1 = as much
fine texture as the real image; a blurry output is below 1; noise or over-sharpening above.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gankit.data.sr import bicubic_up, load_test_images, to_unit
from gankit.errors import ConfigError
from gankit.metrics._validate import MetricInputError
from gankit.metrics.paired import _luma_cropped, psnr_y, ssim_y

__all__ = ["high_frequency_energy", "hf_ratio", "evaluate_sr", "sr_scores"]


def high_frequency_energy(y: np.ndarray, cutoff: float = 0.25) -> float:
    """Mean power of the 2-D spectrum of one image `y` (H, W) (Hann-windowed, mean removed) at radial spatial
    frequencies above `cutoff` times the Nyquist frequency (0.5 cycles per pixel)."""
    if not 0 <= cutoff < 1:
        raise MetricInputError(f"hf cutoff must be in [0, 1) of the Nyquist frequency, got {cutoff}")
    h, w = y.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    spectrum = np.abs(np.fft.fft2((y - y.mean()) * window)) ** 2
    radius = np.hypot(np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :])
    return float(spectrum[radius > 0.5 * cutoff].sum() / (h * w))


def hf_ratio(fake: Any, real: Any, border: int = 4, cutoff: float = 0.25) -> float:
    """Mean over images of high_frequency_energy(Y of fake) / high_frequency_energy(Y of real); images (N, C, H, W)
    in [-1, 1], Y and border as psnr_y."""
    f, r = _luma_cropped(fake, real, border, 2, "hf_ratio")
    ratios = []
    for a, b in zip(f, r):
        ref = high_frequency_energy(b, cutoff)
        if ref <= 0:
            raise MetricInputError("hf_ratio: a real image has no high-frequency energy (a flat image)")
        ratios.append(high_frequency_energy(a, cutoff) / ref)
    return float(np.mean(ratios))


def quantize(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] images rounded to the 256 levels of an 8-bit image."""
    return torch.round((x.clamp(-1, 1) + 1) * 127.5) / 127.5 - 1


def sr_scores(fake: torch.Tensor, hr: torch.Tensor, border: int = 4, cutoff: float = 0.25) -> dict[str, float]:
    """{"PSNR_Y", "SSIM_Y", "HF_ratio"} of one batch of same-sized images."""
    return {"PSNR_Y": psnr_y(fake, hr, border), "SSIM_Y": ssim_y(fake, hr, border),
            "HF_ratio": hf_ratio(fake, hr, border, cutoff)}


def evaluate_sr(G: torch.nn.Module, root: str, border: int = 4, tile: int = 128) -> tuple[dict[str, float], list]:
    """(means over the folder's images of the SR scores of G and of bicubic ("bicubic/..."), per-image rows)."""
    from gankit.families.srgan import upsample_tiled

    if not root:
        raise ConfigError("an SR run is evaluated on a folder of whole HR images: give --data-root FOLDER "
                          "(e.g. Set5 or Set14)")
    rows = []
    for name, hr, lr in load_test_images(root, G.scale):
        hr_t = to_unit(hr)[None]
        sr = quantize(upsample_tiled(G, to_unit(lr)[None], tile))
        row = {"image": name, **sr_scores(sr, hr_t, border)}
        row.update({f"bicubic/{k}": v for k, v in sr_scores(to_unit(bicubic_up(lr, G.scale))[None], hr_t,
                                                             border).items()})
        rows.append(row)
    keys = [k for k in rows[0] if k != "image"]
    return {k: float(np.mean([r[k] for r in rows])) for k in keys}, rows
