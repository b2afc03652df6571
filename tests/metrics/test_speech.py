"""Speech scores: segmental SNR against hand-computed values, PESQ/STOI at their ends of the scale, the baselines
on tones in white noise."""

from __future__ import annotations

import numpy as np
import pytest

from gankit.metrics._validate import MetricInputError
from gankit.metrics.speech import pesq_score, segmental_snr, spectral_subtraction, stoi_score, wiener
from tests.data._speech import tone_prompt


def test_ssnr_of_a_scaled_copy_is_the_scale_in_db():
    """enhanced = 0.5 clean: every frame's error is 0.5 clean, so each frame's SNR is 10 log10(1 / 0.25)."""
    x = np.random.default_rng(0).standard_normal(4000)
    assert segmental_snr(x, 0.5 * x, 8000) == pytest.approx(10 * np.log10(4), abs=1e-9)
    assert segmental_snr(x, x, 8000) == pytest.approx(35.0)  # clipped at 35 dB
    assert segmental_snr(x, -10 * x, 8000) == pytest.approx(-10.0)  # 10 log10(1/121) = -20.8, clipped at -10


def test_ssnr_by_hand_on_four_frames():
    """rate 1000 Hz: 30-sample frames every 7 samples; 60 samples -> int(60/7 - 30/7) = 4 frames starting at 0, 7,
    14, 21. Clean = ones; enhanced = clean up to sample 36, 0 after: frames 0 and 1 are exact (35 dB), frame 2
    is wrong at its samples 23..29, frame 3 at 16..29 (window w[n] = 0.5 (1 - cos(2 pi n / 31)), n = 1..30)."""
    clean = np.ones(60)
    enhanced = clean.copy()
    enhanced[37:] = 0
    w2 = (0.5 * (1 - np.cos(2 * np.pi * np.arange(1, 31) / 31))) ** 2
    f2 = 10 * np.log10(w2.sum() / w2[23:].sum())
    f3 = 10 * np.log10(w2.sum() / w2[16:].sum())
    assert segmental_snr(clean, enhanced, 1000) == pytest.approx((35 + 35 + f2 + f3) / 4, abs=1e-9)
    with pytest.raises(MetricInputError):
        segmental_snr(clean[:20], enhanced[:20], 1000)


@pytest.fixture(scope="module")
def tones():
    clean = np.concatenate([tone_prompt(i, 1.0) for i in range(3)]).astype(np.float64)
    noise = np.random.default_rng(1).standard_normal(len(clean))
    noise *= np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2) / 10 ** (5 / 10))
    return clean, clean + noise


@pytest.mark.parametrize("rate", [8000, 16000])
def test_pesq_and_stoi_at_the_ends_of_their_scales(tones, rate):
    clean, noisy = tones
    assert pesq_score(clean, clean, rate) > 4.4
    assert pesq_score(clean, noisy, rate) < pesq_score(clean, clean, rate) - 1
    assert stoi_score(clean, clean, rate) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(MetricInputError):
        pesq_score(clean, noisy[:-1], rate)


def test_baselines_raise_the_segmental_snr_of_tones_in_white_noise(tones):
    clean, noisy = tones
    base = segmental_snr(clean, noisy, 8000)
    for f in (spectral_subtraction, wiener):
        y = f(noisy, 8000)
        assert y.shape == noisy.shape and segmental_snr(clean, y, 8000) > base + 2


def test_stoi_of_a_clip_too_short_for_it_is_nan():
    x = tone_prompt(4, 0.2).astype(np.float64)
    assert np.isnan(stoi_score(x, x, 8000))
