"""The composite speech-quality measures CSIG, CBAK, COVL (Hu & Loizou 2008) and their parts LLR and WSS.

Written from Loizou's MATLAB `composite.m`, `comp_llr.m` and `comp_wss.m` (Loizou, "Speech Enhancement: Theory
and Practice", 2007), frame by frame as there but vectorised over frames; checked against pysepm's Python port in
tests/metrics/test_reference_speech.py. Frames: 30 ms Hann windows (0.5 (1 - cos(2 pi n / (N + 1))), n = 1..N)
every N // 4 samples, floor(len / hop - N / hop) of them, as in `segmental_snr`.

- LLR (log-likelihood ratio): per frame log(a_e R_c a_e^T / a_c R_c a_c^T), a the LPC polynomials (order 10 below
  10 kHz, 16 above; autocorrelation method, Levinson-Durbin), R_c the clean frame's autocorrelation matrix.
- WSS (weighted spectral slope, Klatt 1982): 25 critical-band energies (Gaussian-shaped filters on a 2^k >= 2N
  point FFT) in dB, their slopes between neighbouring bands, the squared slope differences weighted by
  Klatt's weights (K_max 20 from the global maximum, K_locmax 1 from the nearest spectral peak, found as the
  MATLAB code finds it) and normalised by the weights per frame.
- Both are averaged over the 95 % of frames with the smallest distortion, as composite.m does; LLR is not clipped
  there (comp_llr's own [0, 2] clip is a stand-alone option: `llr(..., clip=True)`).
- CSIG = 3.093 - 1.029 LLR + 0.603 PESQ - 0.009 WSS, CBAK = 1.634 + 0.478 PESQ - 0.007 WSS + 0.063 segSNR,
  COVL = 1.594 + 0.805 PESQ - 0.512 LLR - 0.007 WSS, each clipped to [1, 5]. PESQ is composite.m's: the raw
  P.862 score at 8 kHz (recovered exactly from the `pesq` package's narrow-band MOS-LQO by inverting the P.862.1
  mapping) and the wide-band MOS-LQO (P.862.2) at 16 kHz.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gankit.metrics._validate import MetricInputError

ALPHA = 0.95  # the share of frames (the least distorted) that composite.m averages
EPS = np.finfo(np.float64).eps
# Klatt's critical bands as in comp_wss.m: centre frequencies and bandwidths (Hz)
CENTRES = (50.0, 120.0, 190.0, 260.0, 330.0, 400.0, 470.0, 540.0, 617.372, 703.378, 798.717, 904.128, 1020.38,
           1148.30, 1288.72, 1442.54, 1610.70, 1794.16, 1993.93, 2211.08, 2446.71, 2701.97, 2978.04, 3276.17,
           3597.63)
BANDWIDTHS = (70.0, 70.0, 70.0, 70.0, 70.0, 70.0, 70.0, 77.3724, 86.0056, 95.3398, 105.411, 116.256, 127.914,
              140.423, 153.823, 168.154, 183.457, 199.776, 217.153, 235.631, 255.255, 276.072, 298.126, 321.465,
              346.136)


def frames(x: np.ndarray, rate: int, frame_ms: float = 30.0) -> np.ndarray:
    """(n_frames, N) Hann-windowed frames of x (N = frame_ms at `rate`) every N // 4 samples, as Loizou's code
    frames them for segmental SNR, LLR and WSS."""
    win = int(round(frame_ms * rate / 1000))
    hop = win // 4
    n = int(len(x) / hop - win / hop)
    if n < 1:
        raise MetricInputError(f"the speech measures need at least {win + hop} samples at {rate} Hz, got {len(x)}")
    window = 0.5 * (1 - np.cos(2 * np.pi * np.arange(1, win + 1) / (win + 1)))
    idx = np.arange(n)[:, None] * hop + np.arange(win)[None]
    return x[idx] * window


def pair(clean: Any, enhanced: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both signals as flat float64 arrays of one non-zero length."""
    c, e = np.asarray(clean, dtype=np.float64).ravel(), np.asarray(enhanced, dtype=np.float64).ravel()
    if len(c) != len(e) or len(c) == 0:
        raise MetricInputError(f"clean and enhanced signals need one non-zero length, got {len(c)} and {len(e)}")
    return c, e


def _pair(clean: Any, enhanced: Any) -> tuple[np.ndarray, np.ndarray]:
    c, e = pair(clean, enhanced)
    return c + EPS, e + EPS  # as the reference code: no frame of exact zeros


def _trimmed_mean(d: np.ndarray) -> float:
    d = np.sort(d)
    return float(np.mean(d[: int(round(len(d) * ALPHA))]))


def lpc(fr: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Per frame (rows of fr): the autocorrelation R[0..order] and the LPC polynomial [1, -a_1, ..., -a_order]
    by Levinson-Durbin (lpcoeff.m's recursion)."""
    n = fr.shape[1]
    R = np.stack([np.einsum("fi,fi->f", fr[:, : n - k], fr[:, k:]) for k in range(order + 1)], axis=1)
    a = np.ones((len(fr), order))
    E = R[:, 0].copy()
    for i in range(order):
        past = a[:, :i].copy()
        sum_term = np.einsum("fi,fi->f", past, R[:, i:0:-1])
        with np.errstate(divide="ignore", invalid="ignore"):
            k = (R[:, i + 1] - sum_term) / E
        a[:, i] = k
        if i:
            a[:, :i] = past - k[:, None] * past[:, ::-1]
        E = (1 - k * k) * E
    return R, np.concatenate([np.ones((len(fr), 1)), -a], axis=1)


def llr_frames(clean: Any, enhanced: Any, rate: int) -> np.ndarray:
    """The LLR of every frame."""
    c, e = _pair(clean, enhanced)
    order = 10 if rate < 10000 else 16
    R_c, a_c = lpc(frames(c, rate), order)
    _, a_e = lpc(frames(e, rate), order)
    idx = np.abs(np.arange(order + 1)[:, None] - np.arange(order + 1)[None])
    T = R_c[:, idx]  # (frames, order + 1, order + 1): toeplitz(R_c) per frame
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.einsum("fj,fjk,fk->f", a_e, T, a_e) / np.einsum("fj,fjk,fk->f", a_c, T, a_c)
    ratio[np.isnan(ratio)] = np.inf
    ratio[ratio <= 0] = 1000.0
    return np.log(ratio)


def llr(clean: Any, enhanced: Any, rate: int, clip: bool = False) -> float:
    """Mean LLR over the 95 % least distorted frames (clip=True: frames clipped to [0, 2] first, as comp_llr.m)."""
    d = llr_frames(clean, enhanced, rate)
    return _trimmed_mean(np.minimum(d, 2.0) if clip else d)


def critical_filters(rate: int, n_half: int) -> np.ndarray:
    """(25, n_half) Gaussian-shaped critical-band filters on the FFT bins, cut at their -30 dB point."""
    j = np.arange(n_half)
    bw_min = BANDWIDTHS[0]
    out = np.empty((len(CENTRES), n_half))
    for i, (f, b) in enumerate(zip(CENTRES, BANDWIDTHS)):
        f0 = math.floor(f / (rate / 2) * n_half)
        bw = b / (rate / 2) * n_half
        out[i] = np.exp(-11 * ((j - f0) / bw) ** 2 + math.log(bw_min) - math.log(b))
    return out * (out > math.exp(-30.0 / (2.0 * 2.303)))


def _band_db(fr: np.ndarray, filters: np.ndarray, n_fft: int) -> np.ndarray:
    spec = np.abs(np.fft.rfft(fr, n_fft, axis=1)[:, : n_fft // 2]) ** 2
    return 10 * np.log10(np.maximum(spec @ filters.T, 1e-10))  # (frames, 25)


def _nearest_peaks(slope: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """comp_wss.m's search for each band's nearest peak: rightwards while the slope rises, else leftwards
    (its indexing kept, so a rising band's 'peak' is the energy one band before where the rise stops)."""
    nb = slope.shape[1]
    rows = np.arange(len(slope))
    out = np.empty_like(slope)
    for i in range(nb):
        up = slope[:, i] > 0
        n = np.full(len(slope), i)
        moving = up.copy()
        while moving.any():  # right: while n < nb and slope[n] > 0
            n[moving] += 1
            moving &= n < nb
            moving[moving] = slope[rows[moving], n[moving]] > 0
        right = energy[rows, n - 1]
        m = np.full(len(slope), i)
        moving = ~up
        while moving.any():  # left: while n >= 0 and slope[n] <= 0
            m[moving] -= 1
            moving &= m >= 0
            moving[moving] = slope[rows[moving], m[moving]] <= 0
        out[:, i] = np.where(up, right, energy[rows, m + 1])
    return out


def wss_frames(clean: Any, enhanced: Any, rate: int, k_max: float = 20.0, k_locmax: float = 1.0) -> np.ndarray:
    """The weighted spectral slope distance of every frame."""
    c, e = _pair(clean, enhanced)
    win = int(round(0.03 * rate))
    n_fft = 2 ** math.ceil(math.log2(2 * win))
    filters = critical_filters(rate, n_fft // 2)
    weights, slopes = [], []
    for x in (c, e):
        db = _band_db(frames(x, rate), filters, n_fft)
        slope = np.diff(db, axis=1)
        w_max = k_max / (k_max + db.max(axis=1, keepdims=True) - db[:, :-1])
        w_loc = k_locmax / (k_locmax + _nearest_peaks(slope, db) - db[:, :-1])
        weights.append(w_max * w_loc)
        slopes.append(slope)
    W = (weights[0] + weights[1]) / 2
    return np.sum(W * (slopes[0] - slopes[1]) ** 2, axis=1) / np.sum(W, axis=1)


def wss(clean: Any, enhanced: Any, rate: int) -> float:
    """Mean WSS over the 95 % least distorted frames."""
    return _trimmed_mean(wss_frames(clean, enhanced, rate))


def raw_pesq_from_lqo(lqo: float) -> float:
    """The raw P.862 score behind a narrow-band MOS-LQO (P.862.1: lqo = 0.999 + 4 / (1 + exp(-1.4945 raw + 4.6607)))."""
    return (4.6607 - math.log(4.0 / (lqo - 0.999) - 1.0)) / 1.4945


def composite(pesq_lqo: float, llr_mean: float, wss_mean: float, seg_snr: float, rate: int) -> dict[str, float]:
    """CSIG, CBAK, COVL from the parts (pesq_lqo: the `pesq` package's score at `rate`)."""
    p = raw_pesq_from_lqo(pesq_lqo) if rate < 16000 else pesq_lqo
    scores = {"CSIG": 3.093 - 1.029 * llr_mean + 0.603 * p - 0.009 * wss_mean,
              "CBAK": 1.634 + 0.478 * p - 0.007 * wss_mean + 0.063 * seg_snr,
              "COVL": 1.594 + 0.805 * p - 0.512 * llr_mean - 0.007 * wss_mean}
    return {k: float(min(5.0, max(1.0, v))) for k, v in scores.items()}
