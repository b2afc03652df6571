"""Metrics for paired image-to-image translation: each output image is compared with its own target.

All functions take `fake` and `real` as tensors (or arrays) of shape (N, C, H, W) in [-1, 1], C = 1 (grayscale)
or 3 (RGB), with identical shapes; image i of `fake` is compared with image i of `real`. Per-image values are
averaged over the N images.

- `l1`: mean absolute error on the [-1, 1] scale (the pix2pix reconstruction loss).
- `psnr`, `ssim`: per image on the [0, 1] scale (data_range 1), with scikit-image's
  `peak_signal_noise_ratio` and `structural_similarity` (default settings: a uniform 7x7 window, sample
  covariance; RGB with channel_axis, i.e. the mean of the per-channel SSIMs). Images smaller than 7 px on a
  side use the largest odd window that fits (5 or 3); smaller than 3 px is refused.
- `psnr_y`, `ssim_y`: the super-resolution protocol. RGB images become the Y channel of YCbCr (ITU-R BT.601,
  as MATLAB's rgb2ycbcr: Y = 16 + 65.481 R + 128.553 G + 24.966 B, R, G, B in [0, 1], Y on the 0-255 scale);
  grayscale images are used as they are, times 255 (as the SR evaluation scripts do). `border` pixels are cut
  from each side, then PSNR / SSIM with data_range 255. SSIM uses Wang et al.'s (2004) settings, as
  scikit-image documents them for matching that implementation: an 11x11 Gaussian window with sigma 1.5,
  use_sample_covariance=False, K1 = 0.01, K2 = 0.03. The images are not quantized: MATLAB-based SR scripts
  evaluate 8-bit images (and round Y to integers), so to reproduce their numbers exactly, quantize first.
- `colourfulness`: Hasler & Suesstrunk (2003) on the 0-255 scale, per image, averaged (RGB only).
- `paired_metrics`: {"L1", "PSNR", "SSIM"} and, for RGB, "colourfulness" (of fake) and "colourfulness_real".

PSNR of two identical images is infinite and is reported as float("inf"); as the per-image values are
averaged, one identical pair makes the mean PSNR inf.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from gankit.errors import GankitError
from gankit.metrics._validate import MetricInputError, check_finite, to_numpy
from gankit.metrics.features import check_image_range

__all__ = ["l1", "psnr", "ssim", "psnr_y", "ssim_y", "colourfulness", "paired_metrics", "rgb_to_y"]

# ITU-R BT.601 luma for R, G, B in [0, 1], giving Y in [16, 235] on the 0-255 scale (MATLAB's rgb2ycbcr).
_Y_OFFSET = 16.0
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966])
# Wang et al.'s Gaussian window: sigma 1.5; scikit-image truncates it at 3.5 sigma, i.e. 11x11.
_WANG_SIGMA = 1.5
_WANG_WINDOW = 11


def _images(x: Any, name: str) -> np.ndarray:
    """One side as a finite float64 array (N, C, H, W) with C in (1, 3), checked to lie in [-1, 1]."""
    a = to_numpy(x)
    if a.ndim != 4 or a.shape[1] not in (1, 3):
        raise MetricInputError(
            f"{name} have shape {tuple(a.shape)}; paired metrics need images (N, C, H, W) with C = 1 or 3"
        )
    if a.dtype.kind not in "biuf":
        raise MetricInputError(f"{name} have dtype {a.dtype}; expected numbers")
    if a.shape[0] == 0 or a.shape[2] == 0 or a.shape[3] == 0:
        raise MetricInputError(f"{name} have shape {tuple(a.shape)}; there are no pixels to compare")
    check_finite(a, name)
    try:
        check_image_range(a, name)  # uint8 / 0..255 refused; [0, 1]-looking data warned about
    except GankitError as err:
        raise MetricInputError(str(err)) from None
    return np.clip(a.astype(np.float64), -1.0, 1.0)


def _pair(fake: Any, real: Any) -> tuple[np.ndarray, np.ndarray]:
    f, r = _images(fake, "fake images"), _images(real, "real images")
    if f.shape != r.shape:
        raise MetricInputError(
            f"fake images have shape {f.shape} but real images have {r.shape}; paired metrics compare "
            "image i of fake with image i of real, so the shapes must match"
        )
    return f, r


def _unit(x: np.ndarray) -> np.ndarray:
    """[-1, 1] -> [0, 1]."""
    return (x + 1.0) / 2.0


def _psnr_mean(fake: np.ndarray, real: np.ndarray, data_range: float) -> float:
    """Mean over images (axis 0) of the PSNR; inf (without a warning) where a pair is identical."""
    with np.errstate(divide="ignore"):
        values = [peak_signal_noise_ratio(r, f, data_range=data_range) for f, r in zip(fake, real)]
    return float(np.mean(values))


def _ssim_mean(fake: np.ndarray, real: np.ndarray, data_range: float, **kwargs: Any) -> float:
    """Mean over images (axis 0) of the SSIM of (C, H, W) images (channel axis 0) or (H, W) ones."""
    channel_axis = 0 if fake.ndim == 4 else None
    values = [
        structural_similarity(r, f, data_range=data_range, channel_axis=channel_axis, **kwargs)
        for f, r in zip(fake, real)
    ]
    return float(np.mean(values))


def _squeeze_gray(x: np.ndarray) -> np.ndarray:
    """(N, 1, H, W) -> (N, H, W); RGB (N, 3, H, W) unchanged."""
    return x[:, 0] if x.shape[1] == 1 else x


def _ssim_window(height: int, width: int) -> int:
    """scikit-image's default 7x7 window, or the largest odd window that fits a smaller image (5 or 3)."""
    side = min(height, width, 7)
    side -= 1 - side % 2
    if side < 3:
        raise MetricInputError(f"SSIM needs images of at least 3x3 pixels, got {height}x{width}")
    return side


def _l1(f: np.ndarray, r: np.ndarray) -> float:
    return float(np.abs(f - r).mean())


def _psnr(f: np.ndarray, r: np.ndarray) -> float:
    return _psnr_mean(_unit(f), _unit(r), data_range=1.0)


def _ssim(f: np.ndarray, r: np.ndarray) -> float:
    win = _ssim_window(f.shape[2], f.shape[3])
    return _ssim_mean(_squeeze_gray(_unit(f)), _squeeze_gray(_unit(r)), data_range=1.0, win_size=win)


def l1(fake: Any, real: Any) -> float:
    """Mean absolute error between paired images on the [-1, 1] scale."""
    return _l1(*_pair(fake, real))


def psnr(fake: Any, real: Any) -> float:
    """Mean per-image PSNR in dB on the [0, 1] scale (data_range 1); float("inf") if any pair is identical."""
    return _psnr(*_pair(fake, real))


def ssim(fake: Any, real: Any) -> float:
    """Mean per-image SSIM on the [0, 1] scale (data_range 1), scikit-image defaults (7x7 uniform window)."""
    return _ssim(*_pair(fake, real))


def rgb_to_y(images: np.ndarray) -> np.ndarray:
    """Y of YCbCr (ITU-R BT.601, 0-255 scale) of RGB images (N, 3, H, W) in [0, 1]; returns (N, H, W)."""
    return _Y_OFFSET + np.tensordot(_Y_WEIGHTS, images, axes=([0], [1]))


def _luma_cropped(fake: Any, real: Any, border: int, minimum: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Both sides as Y (0-255 scale, (N, H, W)) with `border` pixels cut from each side."""
    if isinstance(border, bool) or not isinstance(border, (int, np.integer)) or border < 0:
        raise MetricInputError(f"{what}: border must be an integer >= 0, got {border!r}")
    f, r = _pair(fake, real)
    height, width = f.shape[2] - 2 * border, f.shape[3] - 2 * border
    if height < minimum or width < minimum:
        raise MetricInputError(
            f"{what}: images of {f.shape[2]}x{f.shape[3]} pixels leave {max(height, 0)}x{max(width, 0)} after "
            f"cutting border={border} from each side; it needs at least {minimum}x{minimum}"
        )
    crop = (slice(None), slice(border, border + height), slice(border, border + width))
    if f.shape[1] == 3:
        return rgb_to_y(_unit(f))[crop], rgb_to_y(_unit(r))[crop]
    return (_unit(f[:, 0]) * 255.0)[crop], (_unit(r[:, 0]) * 255.0)[crop]


def psnr_y(fake: Any, real: Any, border: int = 4) -> float:
    """Super-resolution PSNR: on Y (BT.601, 0-255), `border` px cut from each side, data_range 255, mean over images."""
    f, r = _luma_cropped(fake, real, border, 1, "psnr_y")
    return _psnr_mean(f, r, data_range=255.0)


def ssim_y(fake: Any, real: Any, border: int = 4) -> float:
    """Super-resolution SSIM: on Y as psnr_y, Wang et al.'s 11x11 Gaussian window (sigma 1.5), data_range 255."""
    f, r = _luma_cropped(fake, real, border, _WANG_WINDOW, "ssim_y")
    return _ssim_mean(f, r, data_range=255.0, gaussian_weights=True, sigma=_WANG_SIGMA, use_sample_covariance=False)


def _colourfulness_per_image(images: np.ndarray) -> np.ndarray:
    """Hasler & Suesstrunk's M for RGB images (N, 3, H, W) on the 0-255 scale; returns (N,)."""
    red, green, blue = images[:, 0], images[:, 1], images[:, 2]
    rg = (red - green).reshape(len(images), -1)
    yb = (0.5 * (red + green) - blue).reshape(len(images), -1)
    spread = np.sqrt(rg.std(axis=1) ** 2 + yb.std(axis=1) ** 2)
    centre = np.sqrt(rg.mean(axis=1) ** 2 + yb.mean(axis=1) ** 2)
    return spread + 0.3 * centre


def colourfulness(images: Any) -> float:
    """Hasler & Suesstrunk (2003) colourfulness of RGB images in [-1, 1], on the 0-255 scale, mean over images.

    M = sqrt(sd_rg^2 + sd_yb^2) + 0.3 sqrt(mean_rg^2 + mean_yb^2), rg = R - G, yb = (R + G) / 2 - B,
    with population standard deviations over the pixels of each image. A gray image gives 0.
    """
    x = _images(images, "images")
    if x.shape[1] != 3:
        raise MetricInputError(f"colourfulness needs RGB images (N, 3, H, W), got shape {x.shape}")
    return _colourfulness(x)


def _colourfulness(x: np.ndarray) -> float:
    return float(_colourfulness_per_image(_unit(x) * 255.0).mean())


def paired_metrics(fake: Any, real: Any) -> dict[str, float]:
    """{"L1", "PSNR", "SSIM"} of fake against real, plus "colourfulness" / "colourfulness_real" for RGB."""
    f, r = _pair(fake, real)
    out = {"L1": _l1(f, r), "PSNR": _psnr(f, r), "SSIM": _ssim(f, r)}
    if f.shape[1] == 3:
        out["colourfulness"] = _colourfulness(f)
        out["colourfulness_real"] = _colourfulness(r)
    return out
