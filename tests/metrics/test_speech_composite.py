"""CSIG / CBAK / COVL and their parts: by hand where it can be (the reference comparison is test_reference_speech)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gankit.metrics._validate import MetricInputError
from gankit.metrics.speech import speech_scores
from gankit.metrics.speech_composite import composite, critical_filters, frames, llr, lpc, raw_pesq_from_lqo, wss
from tests.data._speech import tone_prompt


def test_lpc_of_an_ar2_process_recovers_its_coefficients():
    rng = np.random.default_rng(0)
    x = np.zeros(40000)
    e = rng.standard_normal(len(x))
    for n in range(2, len(x)):
        x[n] = 1.3 * x[n - 1] - 0.6 * x[n - 2] + e[n]
    R, a = lpc(x[None], 2)
    assert np.allclose(a[0], [1, -1.3, 0.6], atol=0.02) and R[0, 0] == pytest.approx(np.sum(x * x))


def test_frames_and_filters_follow_the_matlab_layout():
    x = np.arange(8000.0)
    fr = frames(x, 8000)  # 240-sample frames every 60: floor(8000 / 60 - 4) = 129
    assert fr.shape == (129, 240) and fr[1, 0] == pytest.approx(60 * 0.5 * (1 - math.cos(2 * math.pi / 241)))
    f = critical_filters(8000, 256)
    assert f.shape == (25, 256) and f[0].argmax() == math.floor(50 / 4000 * 256) and f[0].max() == pytest.approx(1)
    assert f[24].max() == pytest.approx(70 / 346.136)  # the bandwidth normalisation
    with pytest.raises(MetricInputError, match="at least 300 samples"):
        frames(np.ones(299), 8000)


def test_identical_signals_have_zero_llr_and_wss_and_distortion_raises_them():
    clean = tone_prompt(0, 2.0).astype(np.float64)
    noisy = clean + 0.05 * np.random.default_rng(0).standard_normal(len(clean))
    assert llr(clean, clean, 8000) == pytest.approx(0, abs=1e-9) and wss(clean, clean, 8000) == 0
    assert llr(clean, noisy, 8000) > 0.1 and wss(clean, noisy, 8000) > 5
    assert llr(clean, noisy, 8000, clip=True) <= llr(clean, noisy, 8000)


def test_raw_pesq_inverts_the_p862_1_mapping():
    for raw in (-0.5, 1.0, 2.3, 4.5):
        lqo = 0.999 + 4.0 / (1 + math.exp(-1.4945 * raw + 4.6607))
        assert raw_pesq_from_lqo(lqo) == pytest.approx(raw, abs=1e-9)


def test_composite_formulas_and_their_clip():
    got = composite(3.0, 0.5, 30.0, 5.0, 16000)  # wide band: the MOS-LQO enters as it is
    assert got["CSIG"] == pytest.approx(3.093 - 1.029 * 0.5 + 0.603 * 3 - 0.009 * 30)
    assert got["CBAK"] == pytest.approx(1.634 + 0.478 * 3 - 0.007 * 30 + 0.063 * 5)
    assert got["COVL"] == pytest.approx(1.594 + 0.805 * 3 - 0.512 * 0.5 - 0.007 * 30)
    raw = raw_pesq_from_lqo(3.0)
    assert composite(3.0, 0.5, 30.0, 5.0, 8000)["CBAK"] == pytest.approx(1.634 + 0.478 * raw - 0.21 + 0.315)
    assert composite(4.6, 0.0, 0.0, 35.0, 16000) == {"CSIG": 5.0, "CBAK": 5.0, "COVL": 5.0}
    assert composite(1.05, 3.0, 150.0, -10.0, 16000) == {"CSIG": 1.0, "CBAK": 1.0, "COVL": 1.0}


def test_speech_scores_carry_the_composite_measures():
    clean = np.concatenate([tone_prompt(i, 1.0) for i in range(3)]).astype(np.float64)
    noisy = clean + 0.05 * np.random.default_rng(1).standard_normal(len(clean))
    s = speech_scores(clean, noisy, 8000)
    assert set(s) == {"PESQ", "STOI", "SSNR", "CSIG", "CBAK", "COVL"}
    assert all(1 <= s[k] <= 5 for k in ("CSIG", "CBAK", "COVL"))
    assert speech_scores(clean, clean, 8000)["COVL"] > s["COVL"]
