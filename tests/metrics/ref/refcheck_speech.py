"""gankit's LLR, WSS and segmental SNR vs pysepm (a Python port of Loizou's MATLAB code) on signals made here:
prints {"CASE": [gankit, pysepm], ...} as JSON. Usage: .venv-ref/bin/python refcheck_speech.py"""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import scipy.signal
import scipy.signal.windows

scipy.signal.kaiser = scipy.signal.windows.kaiser  # gone from scipy.signal since 1.13; pysepm's util imports it
sys.modules.setdefault("srmrpy", types.ModuleType("srmrpy"))  # a git-only package for its reverberation measures
from pysepm_evo import SNRseg, llr, wss  # noqa: E402

from gankit.metrics import speech_composite as sc  # noqa: E402
from gankit.metrics.speech import segmental_snr  # noqa: E402


def signals(rate: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A chirp with a 3 Hz envelope, a tone and noise as 'clean' speech, and four degraded copies."""
    t = np.arange(3 * rate) / rate
    clean = (0.3 * np.sin(2 * np.pi * (200 + 300 * t) * t) * (1 + np.sin(2 * np.pi * 3 * t))
             + 0.05 * np.sin(2 * np.pi * 1500 * t) + 0.02 * rng.standard_normal(len(t)))
    burst = clean.copy()
    burst[rate // 2: rate] = 0.5 * rng.standard_normal(rate // 2)  # frames with LLR above 2 (for comp_llr's clip)
    return clean, {"noise": clean + 0.05 * rng.standard_normal(len(t)),
                   "tone": 0.5 * clean + 0.2 * np.sin(2 * np.pi * 900 * t),
                   "filtered": scipy.signal.lfilter([1, -0.9], 1, clean), "burst": burst}


def main() -> None:
    rng = np.random.default_rng(0)
    out = {}
    for rate in (8000, 16000):
        clean, degraded = signals(rate, rng)
        for name, x in degraded.items():
            key = f"{rate}/{name}"
            out[f"{key}/llr"] = [sc.llr(clean, x, rate), llr(clean, x, rate, used_for_composite=True)]
            out[f"{key}/llr_clip"] = [sc.llr(clean, x, rate, clip=True), llr(clean, x, rate)]
            out[f"{key}/wss"] = [sc.wss(clean, x, rate), wss(clean, x, rate)]
            out[f"{key}/ssnr"] = [segmental_snr(clean, x, rate), SNRseg(clean, x, rate)]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
