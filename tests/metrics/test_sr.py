"""SR evaluation (gankit.metrics.sr): the Y-channel protocol on 8-bit images against scikit-image, the high-frequency
energy ratio, and evaluate_sr on images written by the test."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from gankit.data.sr import bicubic_up, downsample, to_unit
from gankit.errors import ConfigError
from gankit.metrics._validate import MetricInputError
from gankit.metrics.sr import evaluate_sr, hf_ratio, high_frequency_energy, quantize, sr_scores


def test_sr_protocol_on_8bit_images_matches_scikit_image():
    """PSNR/SSIM on Y of YCbCr (scikit-image's rgb2ycbcr is MATLAB's), 4 px cut from each side, data_range 255,
    Wang et al.'s Gaussian SSIM: the SR literature's numbers for a bicubic up-sampling."""
    rng = np.random.default_rng(0)
    small = (rng.random((12, 10, 3)) * 255).astype(np.uint8)
    hr = np.asarray(Image.fromarray(small).resize((80, 96), Image.BICUBIC))
    up = bicubic_up(downsample(hr))
    y_hr, y_up = (rgb2ycbcr(a)[..., 0][4:-4, 4:-4] for a in (hr, up))
    want_psnr = peak_signal_noise_ratio(y_hr, y_up, data_range=255)
    want_ssim = structural_similarity(y_hr, y_up, data_range=255, gaussian_weights=True, sigma=1.5,
                                      use_sample_covariance=False)
    got = sr_scores(to_unit(up)[None], to_unit(hr)[None])
    assert got["PSNR_Y"] == pytest.approx(want_psnr, rel=1e-9)
    assert got["SSIM_Y"] == pytest.approx(want_ssim, rel=1e-9)


def test_quantize_rounds_to_8_bit_levels():
    x = torch.tensor([-1.0, -0.999, 0.0, 0.5, 1.2])
    q = quantize(x)
    assert torch.allclose((q + 1) * 127.5, torch.round((q + 1) * 127.5), atol=1e-4)
    assert q[0] == -1 and q[-1] == 1


def test_hf_energy_of_sinusoids_by_hand():
    """Energy sits where the frequency is: a wave above the cutoff counts (with its amplitude squared), one below
    does not."""
    h = w = 64
    xx = np.arange(w)[None, :].repeat(h, 0)
    low, high = np.sin(2 * np.pi * 0.05 * xx), np.sin(2 * np.pi * 0.3 * xx)  # cycles/pixel; cutoff 0.125
    assert high_frequency_energy(low) < 1e-3 * high_frequency_energy(high)
    assert high_frequency_energy(3 * high + low) == pytest.approx(9 * high_frequency_energy(high), rel=0.02)
    assert high_frequency_energy(high, cutoff=0.7) < 1e-3 * high_frequency_energy(high)  # 0.3 < 0.35 c/px


def test_hf_ratio_identity_blur_and_noise():
    rng = np.random.default_rng(1)
    hr = (rng.random((48, 48, 3)) * 255).astype(np.uint8)
    real = to_unit(hr)[None]
    assert hf_ratio(real, real) == pytest.approx(1.0)
    blurry = to_unit(bicubic_up(downsample(hr)))[None]
    assert hf_ratio(blurry, real) < 0.3
    noisy = (real + 0.3 * torch.randn_like(real)).clamp(-1, 1)
    assert hf_ratio(noisy, real) > 1
    with pytest.raises(MetricInputError, match="no high-frequency energy"):
        hf_ratio(real, torch.zeros_like(real))


def test_evaluate_sr_on_a_folder(tmp_path):
    from gankit.nets.srgan import SRResNet

    rng = np.random.default_rng(0)
    for i, size in enumerate([(40, 36), (33, 45)]):
        small = (rng.random((size[1] // 4, size[0] // 4, 3)) * 255).astype(np.uint8)
        Image.fromarray(small).resize(size, Image.BICUBIC).save(tmp_path / f"im{i}.png")
    G = SRResNet(4, 1, 4).eval()
    means, rows = evaluate_sr(G, str(tmp_path))
    assert [r["image"] for r in rows] == ["im0.png", "im1.png"]
    assert means["bicubic/PSNR_Y"] == pytest.approx(np.mean([r["bicubic/PSNR_Y"] for r in rows]))
    assert means["bicubic/PSNR_Y"] > means["PSNR_Y"]  # an untrained G is worse than bicubic
    with pytest.raises(ConfigError, match="--data-root"):
        evaluate_sr(G, None)
