"""Speech-enhancement scores and baselines; `gankit eval SEGAN_RUN [--data-root MIXTURES]` dispatches here.

- PESQ (ITU-T P.862) by the `pesq` package: wide-band (P.862.2) at 16 kHz, narrow-band (P.862) at 8 kHz.
- STOI (Taal et al. 2011) by `pystoi` (it resamples to 10 kHz itself); NaN for a clip too short for it (fewer than
  30 speech frames), left out of the means.
- Segmental SNR as in Loizou's `comp_snr.m` (the SSNR of the SEGAN paper's table): 30 ms Hann-windowed frames
  every 7.5 ms, per-frame 10 log10(sum clean^2 / sum (clean - enhanced)^2) clipped to [-10, 35] dB, averaged over
  all frames (no voice-activity detection).
- CSIG / CBAK / COVL (Hu & Loizou 2008): gankit.metrics.speech_composite (LLR and WSS written from Loizou's
  MATLAB code, checked against pysepm).

Baselines, written with scipy.signal's STFT (32 ms Hann frames, 75% overlap), the noise power spectrum estimated
per frequency as the mean power of the file's quietest 20% of frames (by energy: a crude voice-activity detector;
the mixtures have no noise-only lead-in): `spectral_subtraction` (Boll 1979, power subtraction with over-subtraction 2 and a spectral
floor of 0.02) and `wiener` (a Wiener gain from the decision-directed a priori SNR, Ephraim & Malah 1984 /
Scalart & Filho 1996, alpha 0.98).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from gankit.errors import DataError
from gankit.metrics._validate import MetricInputError
from gankit.metrics.speech_composite import composite, frames, llr, pair, wss

__all__ = ["pesq_score", "stoi_score", "segmental_snr", "spectral_subtraction", "wiener", "speech_scores",
           "evaluate_speech", "METHODS"]


def pesq_score(clean: Any, enhanced: Any, rate: int) -> float:
    """PESQ MOS-LQO: wide-band at 16 kHz, narrow-band at 8 kHz (the `pesq` package)."""
    from pesq import pesq

    if rate not in (8000, 16000):
        raise MetricInputError(f"PESQ works at 8 or 16 kHz, got {rate} Hz")
    c, e = pair(clean, enhanced)
    return float(pesq(rate, c, e, "wb" if rate == 16000 else "nb"))


def stoi_score(clean: Any, enhanced: Any, rate: int) -> float:
    """STOI; NaN for a clip with fewer than 30 frames of speech (384 ms at 10 kHz) left after pystoi's removal of
    silent frames (pystoi then warns and returns 1e-5; averages here skip NaNs)."""
    import warnings

    from pystoi import stoi

    c, e = pair(clean, enhanced)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(stoi(c, e, rate, extended=False))
    short = any("Not enough STFT frames" in str(w.message) for w in caught)
    return float("nan") if short else value


def segmental_snr(clean: Any, enhanced: Any, rate: int, frame_ms: float = 30.0, lo: float = -10.0,
                  hi: float = 35.0) -> float:
    """Mean over frames of the clipped frame SNR in dB (Loizou's comp_snr; see the module docstring)."""
    c, e = pair(clean, enhanced)
    cf, ef = frames(c, rate, frame_ms), frames(e, rate, frame_ms)
    eps = np.finfo(float).eps
    snrs = 10 * np.log10(np.sum(cf ** 2, axis=1) / (np.sum((cf - ef) ** 2, axis=1) + eps) + eps)
    return float(np.mean(np.clip(snrs, lo, hi)))


# ----------------------------------------------------------------------------- baselines
def _stft(x: np.ndarray, rate: int):
    from scipy.signal import stft

    n = int(round(0.032 * rate))
    return n, stft(x, fs=rate, nperseg=n, noverlap=3 * n // 4)[2]


def _istft(z: np.ndarray, n: int, rate: int, length: int) -> np.ndarray:
    from scipy.signal import istft

    y = istft(z, fs=rate, nperseg=n, noverlap=3 * n // 4)[1][:length]
    return np.pad(y, (0, length - len(y))).astype(np.float32)


def noise_psd(power: np.ndarray, fraction: float = 0.2) -> np.ndarray:
    """Per-frequency noise power (F, 1): the mean power of the quietest `fraction` of the frames (by total energy;
    the pauses between words)."""
    k = max(1, int(round(fraction * power.shape[1])))
    quiet = np.argsort(power.sum(axis=0))[:k]
    return power[:, quiet].mean(axis=1, keepdims=True)


def spectral_subtraction(x: np.ndarray, rate: int, over: float = 2.0, floor: float = 0.02) -> np.ndarray:
    n, z = _stft(np.asarray(x, dtype=np.float64), rate)
    power = np.abs(z) ** 2
    clean = np.maximum(power - over * noise_psd(power), floor * power)
    return _istft(np.sqrt(clean) * np.exp(1j * np.angle(z)), n, rate, len(x))


def wiener(x: np.ndarray, rate: int, alpha: float = 0.98, xi_min: float = 10 ** (-25 / 10)) -> np.ndarray:
    n, z = _stft(np.asarray(x, dtype=np.float64), rate)
    power = np.abs(z) ** 2
    noise = noise_psd(power)[:, 0] + 1e-12
    gains = np.empty_like(power)
    prev = np.zeros(power.shape[0])  # |S_hat|^2 of the previous frame
    for t in range(power.shape[1]):
        post = power[:, t] / noise
        xi = np.maximum(alpha * prev / noise + (1 - alpha) * np.maximum(post - 1, 0), xi_min)
        gains[:, t] = xi / (1 + xi)
        prev = (gains[:, t] ** 2) * power[:, t]
    return _istft(gains * z, n, rate, len(x))


METHODS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "noisy": lambda x, rate: x, "specsub": spectral_subtraction, "wiener": wiener}


def speech_scores(clean: np.ndarray, enhanced: np.ndarray, rate: int) -> dict[str, float]:
    """PESQ, STOI, SSNR and the composite CSIG, CBAK, COVL of one enhanced signal."""
    scores = {"PESQ": pesq_score(clean, enhanced, rate), "STOI": stoi_score(clean, enhanced, rate),
              "SSNR": segmental_snr(clean, enhanced, rate)}
    return {**scores, **composite(scores["PESQ"], llr(clean, enhanced, rate), wss(clean, enhanced, rate),
                                  scores["SSNR"], rate)}


def _means(rows: list[dict], keys: list[str]) -> dict[str, float]:
    return {k: float(np.nanmean([r[k] for r in rows])) for k in keys}


def evaluate_speech(G, root: str, n: int | None = None, seed: int = 0, methods=("noisy", "specsub", "wiener"),
                    name: str = "model") -> tuple[dict[str, float], list[dict], dict[str, dict[str, float]]]:
    """Scores of G (enhance_waveform, whole files) and the baselines on the test mixtures of `root`:
    (overall means {"METHOD/PESQ", ...}, per-file rows, {snr: means})."""
    from gankit.data.speech import load_pairs, read_manifest
    from gankit.families.segan import enhance_waveform

    rate = int(read_manifest(root, check=False)["rate"])
    rows = []
    for item in load_pairs(root, "test")[:n]:
        noisy, clean = item["noisy_wav"], item["clean_wav"]
        outs = {m: METHODS[m](noisy, rate) for m in methods}
        if G is not None:
            outs[name] = enhance_waveform(G, noisy, seed)
        row = {"file": item["noisy"], "snr": item["snr"], "noise": item["noise"]}
        for m, y in outs.items():
            row.update({f"{m}/{k}": v for k, v in speech_scores(clean, y, rate).items()})
        rows.append(row)
    if not rows:
        raise DataError(f"{root}: no test mixtures to score")
    keys = [k for k in rows[0] if "/" in k]
    per_snr = {str(s): _means([r for r in rows if r["snr"] == s], keys) for s in sorted({r["snr"] for r in rows})}
    return _means(rows, keys), rows, per_snr


def real_time_factor(seconds: float, samples: int, rate: int) -> float:
    """Processing time / audio duration (< 1: faster than real time)."""
    return seconds / max(samples / rate, math.ulp(1.0))
