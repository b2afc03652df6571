import math
import warnings

import numpy as np
import pytest
import torch
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from gankit.errors import GankitError
from gankit.metrics.paired import colourfulness, l1, paired_metrics, psnr, psnr_y, rgb_to_y, ssim, ssim_y


def structured(n, c, size=24, seed=0, amplitude=0.8):
    """Images in [-amplitude, amplitude]: gradients, a square and mild texture, different per image."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    out = np.empty((n, c, size, size))
    for i in range(n):
        for ch in range(c):
            a, b = rng.uniform(-1, 1, 2)
            img = a * xx + b * yy + 0.3 * np.sin(2 * np.pi * (xx * rng.uniform(1, 3) + yy * rng.uniform(1, 3)))
            lo, hi = sorted(rng.integers(2, size - 2, 2))
            img[lo : hi + 1, lo : hi + 1] += rng.uniform(-0.5, 0.5)
            img += 0.05 * rng.standard_normal((size, size))
            out[i, ch] = img
    out = out / np.abs(out).max() * amplitude
    return torch.from_numpy(out).float()


def noisy(x, sigma, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (x + sigma * torch.randn(x.shape, generator=g)).clamp(-1, 1)


def unit(x):
    return (x.double().numpy() + 1) / 2


# --------------------------------------------------------------------------- L1, PSNR, SSIM


def test_l1_is_mean_absolute_error_on_the_minus_one_one_scale():
    real = structured(3, 3)
    fake = noisy(real, 0.1)
    assert l1(fake, real) == pytest.approx(np.abs(fake.double().numpy() - real.double().numpy()).mean(), rel=1e-12)
    assert l1(real + 0.1, real) == pytest.approx(0.1, rel=1e-6)
    assert l1(real, real) == 0.0


@pytest.mark.parametrize("channels", [1, 3])
def test_psnr_and_ssim_match_scikit_image_per_image_on_zero_one_scale(channels):
    real = structured(4, channels, seed=2)
    fake = noisy(real, 0.15)
    f, r = unit(fake), unit(real)
    axis = 0 if channels == 3 else None
    f_, r_ = (f, r) if channels == 3 else (f[:, 0], r[:, 0])
    want_psnr = np.mean([peak_signal_noise_ratio(b, a, data_range=1) for a, b in zip(f_, r_)])
    want_ssim = np.mean([structural_similarity(b, a, data_range=1, channel_axis=axis) for a, b in zip(f_, r_)])
    assert psnr(fake, real) == pytest.approx(want_psnr, rel=1e-12)
    assert ssim(fake, real) == pytest.approx(want_ssim, rel=1e-12)
    # numpy arrays are accepted as well as tensors
    assert psnr(fake.numpy(), real.numpy()) == pytest.approx(want_psnr, rel=1e-12)


def test_psnr_of_a_constant_offset_is_known():
    real = structured(2, 3, amplitude=0.7)
    # +0.2 on [-1, 1] is +0.1 on [0, 1]: MSE 0.01, PSNR = 20 log10(1 / 0.1) = 20 dB
    assert psnr(real.double() + 0.2, real.double()) == pytest.approx(20.0, rel=1e-9)


def test_identical_images_give_inf_psnr_and_ssim_one_without_warnings():
    real = structured(3, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert psnr(real, real) == float("inf")
        assert psnr_y(real, real) == float("inf")
        assert ssim(real, real) == pytest.approx(1.0)
        assert ssim_y(real, real) == pytest.approx(1.0)
    # one identical pair among others makes the mean inf (documented)
    fake = real.clone()
    fake[1:] = noisy(real[1:], 0.1)
    assert psnr(fake, real) == float("inf")


def test_ssim_window_shrinks_for_small_images_and_tiny_ones_are_refused():
    rng = np.random.default_rng(3)
    real = torch.from_numpy(rng.uniform(-1, 1, (2, 1, 5, 6)))
    fake = noisy(real, 0.2)
    want = np.mean([
        structural_similarity(b, a, data_range=1, win_size=5) for a, b in zip(unit(fake)[:, 0], unit(real)[:, 0])
    ])  # fmt: skip
    assert ssim(fake, real) == pytest.approx(want, rel=1e-12)
    small = torch.zeros(1, 3, 4, 4)
    assert ssim(small, small) == pytest.approx(1.0)  # window 3
    with pytest.raises(GankitError, match="at least 3x3"):
        ssim(torch.zeros(1, 1, 2, 8), torch.zeros(1, 1, 2, 8))


# --------------------------------------------------------------------------- super-resolution protocol (Y channel)


def test_rgb_to_y_matches_scikit_image_and_the_bt601_formula():
    rgb = np.random.default_rng(4).uniform(0, 1, (2, 3, 5, 7))
    want = np.stack([rgb2ycbcr(im.transpose(1, 2, 0))[..., 0] for im in rgb])
    assert np.allclose(rgb_to_y(rgb), want, rtol=0, atol=1e-9)
    r, g, b = 0.2, 0.5, 0.9
    pixel = np.array([r, g, b]).reshape(1, 3, 1, 1)
    assert rgb_to_y(pixel)[0, 0, 0] == pytest.approx(16 + 65.481 * r + 128.553 * g + 24.966 * b, rel=1e-12)
    assert rgb_to_y(np.zeros((1, 3, 1, 1)))[0, 0, 0] == pytest.approx(16.0)
    assert rgb_to_y(np.ones((1, 3, 1, 1)))[0, 0, 0] == pytest.approx(235.0)


@pytest.mark.parametrize("d", [1.0, 2.19, 10.0])
def test_psnr_y_of_a_constant_luma_offset_is_20_log10_255_over_d(d):
    real = structured(2, 3, amplitude=0.8).double()
    # adding delta to R, G and B (on [0, 1]) adds (65.481 + 128.553 + 24.966) delta = 219 delta to Y
    delta01 = d / 219.0
    fake = real + 2 * delta01
    assert psnr_y(fake, real) == pytest.approx(20 * math.log10(255 / d), rel=1e-9)
    assert psnr_y(fake, real, border=0) == pytest.approx(20 * math.log10(255 / d), rel=1e-9)


def test_psnr_y_and_ssim_y_match_an_independent_computation():
    real = structured(3, 3, size=32, seed=5)
    fake = noisy(real, 0.1)
    border = 3
    psnrs, ssims = [], []
    for a, b in zip(unit(fake), unit(real)):
        ya = rgb2ycbcr(a.transpose(1, 2, 0))[border:-border, border:-border, 0]
        yb = rgb2ycbcr(b.transpose(1, 2, 0))[border:-border, border:-border, 0]
        mse = ((ya - yb) ** 2).mean()
        psnrs.append(10 * math.log10(255**2 / mse))
        ssims.append(structural_similarity(
            yb, ya, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
        ))  # fmt: skip
    assert psnr_y(fake, real, border=border) == pytest.approx(np.mean(psnrs), rel=1e-9)
    assert ssim_y(fake, real, border=border) == pytest.approx(np.mean(ssims), rel=1e-9)


def test_ssim_y_of_constant_images_is_the_luminance_term():
    # constant images: means a, b, no variance -> SSIM = (2ab + C1) / (a^2 + b^2 + C1), C1 = (0.01 * 255)^2
    a01, b01 = 0.3, 0.45
    fake = torch.full((1, 3, 20, 20), 2 * a01 - 1, dtype=torch.float64)
    real = torch.full((1, 3, 20, 20), 2 * b01 - 1, dtype=torch.float64)
    a, b, c1 = 16 + 219 * a01, 16 + 219 * b01, (0.01 * 255) ** 2
    assert ssim_y(fake, real) == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-9)


def test_border_pixels_are_ignored():
    real = structured(2, 3, size=24)
    fake = real.clone()
    fake[:, :, :4, :] = -1.0  # spoil the top 4 rows
    fake[:, :, :, -4:] = 1.0  # and the right 4 columns
    assert psnr_y(fake, real, border=4) == float("inf")
    assert ssim_y(fake, real, border=4) == pytest.approx(1.0)
    assert psnr_y(fake, real, border=3) < 30


def test_grayscale_y_metrics_use_the_image_as_luma():
    real = structured(3, 1, seed=6)
    fake = noisy(real, 0.1)
    # gray values times 255 with data_range 255: the same PSNR as on [0, 1] with data_range 1
    assert psnr_y(fake, real, border=0) == pytest.approx(psnr(fake, real), rel=1e-9)
    want = np.mean([
        structural_similarity(255 * b[0], 255 * a[0], data_range=255, gaussian_weights=True, sigma=1.5,
                              use_sample_covariance=False)
        for a, b in zip(unit(fake)[:, :, 2:-2, 2:-2], unit(real)[:, :, 2:-2, 2:-2])
    ])  # fmt: skip
    assert ssim_y(fake, real, border=2) == pytest.approx(want, rel=1e-9)


def test_y_metrics_refuse_bad_borders_and_too_small_crops():
    x = torch.zeros(1, 3, 16, 16)
    with pytest.raises(GankitError, match="border must be an integer >= 0"):
        psnr_y(x, x, border=-1)
    with pytest.raises(GankitError, match="border must be an integer >= 0"):
        psnr_y(x, x, border=1.5)
    with pytest.raises(GankitError, match="leave 0x0 after cutting border=8"):
        psnr_y(x, x, border=8)
    with pytest.raises(GankitError, match="needs at least 11x11"):
        ssim_y(x, x, border=3)  # 10x10 left
    assert ssim_y(x, x, border=2) == pytest.approx(1.0)  # 12x12 left


# --------------------------------------------------------------------------- colourfulness


def test_colourfulness_of_gray_images_is_zero():
    gray = torch.linspace(-1, 1, 64).reshape(1, 1, 8, 8).repeat(2, 3, 1, 1)
    assert colourfulness(gray) == pytest.approx(0.0, abs=1e-12)


def test_colourfulness_of_a_red_blue_image_by_hand():
    # half pure red (255, 0, 0), half pure blue (0, 0, 255) on the 0-255 scale
    img = torch.full((1, 3, 4, 4), -1.0, dtype=torch.float64)
    img[0, 0, :2] = 1.0  # top half red
    img[0, 2, 2:] = 1.0  # bottom half blue
    # red: rg = 255, yb = 127.5; blue: rg = 0, yb = -255
    # mean_rg = 127.5, sd_rg = 127.5; mean_yb = -63.75, sd_yb = 191.25
    # M = sqrt(127.5^2 + 191.25^2) + 0.3 sqrt(127.5^2 + 63.75^2) = 127.5 (sqrt(3.25) + 0.3 sqrt(1.25))
    want = 127.5 * (math.sqrt(3.25) + 0.3 * math.sqrt(1.25))
    assert want == pytest.approx(272.61, abs=0.01)
    assert colourfulness(img) == pytest.approx(want, rel=1e-12)
    # averaged per image: a gray image alongside gives half
    both = torch.cat([img, torch.zeros_like(img)])
    assert colourfulness(both) == pytest.approx(want / 2, rel=1e-12)


def test_colourfulness_of_a_single_colour_is_its_centre_term():
    # pure green everywhere: rg = -255, yb = 127.5, no spread -> M = 0.3 sqrt(255^2 + 127.5^2)
    img = torch.full((1, 3, 3, 3), -1.0)
    img[0, 1] = 1.0
    assert colourfulness(img) == pytest.approx(0.3 * math.hypot(255, 127.5), rel=1e-6)


def test_colourfulness_needs_rgb():
    with pytest.raises(GankitError, match="needs RGB images"):
        colourfulness(torch.zeros(2, 1, 8, 8))


# --------------------------------------------------------------------------- paired_metrics, errors, sanity


def test_images_that_look_like_zero_one_data_are_warned_about():
    x = (structured(1, 3) + 1) / 2
    with pytest.warns(RuntimeWarning, match=r"in \[0, 1\] instead of \[-1, 1\]"):
        psnr(x, x)


def test_paired_metrics_keys_and_values():
    gray = structured(2, 1)
    rgb = structured(2, 3)
    fg, fr = noisy(gray, 0.1), noisy(rgb, 0.1)
    out = paired_metrics(fg, gray)
    assert out == {"L1": l1(fg, gray), "PSNR": psnr(fg, gray), "SSIM": ssim(fg, gray)}
    out = paired_metrics(fr, rgb)
    assert list(out) == ["L1", "PSNR", "SSIM", "colourfulness", "colourfulness_real"]
    assert out["colourfulness"] == colourfulness(fr) and out["colourfulness_real"] == colourfulness(rgb)
    assert all(isinstance(v, float) for v in out.values())


@pytest.mark.parametrize(
    "fake, real, match",
    [
        (torch.zeros(2, 3, 8, 8), torch.zeros(2, 3, 8, 9), r"shape \(2, 3, 8, 8\) but real images have \(2, 3, 8, 9\)"),
        (torch.zeros(3, 3, 8, 8), torch.zeros(2, 3, 8, 8), "shapes must match"),
        (torch.zeros(2, 1, 8, 8), torch.zeros(2, 3, 8, 8), "shapes must match"),
        (torch.zeros(3, 8, 8), torch.zeros(3, 8, 8), r"need images \(N, C, H, W\) with C = 1 or 3"),
        (torch.zeros(2, 2, 8, 8), torch.zeros(2, 2, 8, 8), "C = 1 or 3"),
        (torch.zeros(0, 3, 8, 8), torch.zeros(0, 3, 8, 8), "no pixels"),
        (torch.full((1, 3, 8, 8), float("nan")), torch.zeros(1, 3, 8, 8), "NaN"),
        (torch.full((1, 3, 8, 8), 200.0), torch.zeros(1, 3, 8, 8), r"outside \[-1, 1\]"),
        (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), torch.zeros(1, 3, 8, 8), "uint8"),
    ],
)  # fmt: skip
def test_bad_inputs_fail_with_one_clear_line(fake, real, match):
    for fn in (l1, psnr, ssim, psnr_y, paired_metrics):
        with pytest.raises(GankitError, match=match) as info:
            fn(fake, real)
        assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_metrics_rank_outputs_by_noise_monotonically():
    real = structured(4, 3, size=32, seed=7)
    sigmas = [0.0, 0.02, 0.05, 0.1, 0.2, 0.4]
    rows = []
    for sigma in sigmas:  # sigma 0 first: PSNR inf, SSIM 1, L1 0
        fake = noisy(real, sigma)
        rows.append(paired_metrics(fake, real) | {"PSNR_Y": psnr_y(fake, real), "SSIM_Y": ssim_y(fake, real)})
    for key, sign in (("L1", 1), ("PSNR", -1), ("SSIM", -1), ("PSNR_Y", -1), ("SSIM_Y", -1)):
        values = [row[key] for row in rows]
        assert all(sign * (b - a) > 0 for a, b in zip(values, values[1:])), (key, values)
    # noise adds colour variation: the noisy outputs get more colourful than the target
    assert rows[-1]["colourfulness"] > rows[-1]["colourfulness_real"]


def test_a_wrongly_paired_output_scores_worse_than_a_noisy_one():
    real = structured(4, 3, size=32, seed=8)
    good = noisy(real, 0.05)
    shuffled = real[[1, 2, 3, 0]]  # realistic images, but not the targets
    g, b = paired_metrics(good, real), paired_metrics(shuffled, real)
    assert g["L1"] < b["L1"] and g["PSNR"] > b["PSNR"] and g["SSIM"] > b["SSIM"]
    assert psnr_y(good, real) > psnr_y(shuffled, real) and ssim_y(good, real) > ssim_y(shuffled, real)
