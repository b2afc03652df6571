"""Synthetic stand-ins for the Asterisk sound packages: "prompts" of tones and chirps, a second "language" of
other tones for babble, and "music" tracks, as 8 kHz 16-bit WAV files the tests write themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gankit.data.speech import write_wav

RATE = 8000


def tone_prompt(seed: int, seconds: float = 1.0, rate: int = RATE) -> np.ndarray:
    """A sum of two tones and a chirp under a syllable-like envelope, with a little silence at both ends."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f1, f2, c0 = rng.uniform(150, 400), rng.uniform(600, 1500), rng.uniform(300, 800)
    x = np.sin(2 * np.pi * f1 * t) + 0.5 * np.sin(2 * np.pi * f2 * t) + 0.3 * np.sin(2 * np.pi * (c0 + 600 * t) * t)
    env = np.clip(np.sin(np.pi * t / seconds * 3), 0, None) ** 2
    env[t < 0.05] = env[t > seconds - 0.05] = 0
    return (0.3 * x * env).astype(np.float32)


def write_sounds(root: Path, n_prompts: int = 6, seconds: float = 1.0) -> dict[str, Path]:
    """root/sounds/en (prompts, one in a `silence/` folder that is skipped), root/sounds/fr, root/moh."""
    en, fr, moh = root / "sounds" / "en", root / "sounds" / "fr", root / "moh"
    for i in range(n_prompts):
        write_wav((en / "digits" if i == 0 else en) / f"p{i}.wav", tone_prompt(i, seconds), RATE)
    write_wav(en / "silence" / "1.wav", np.zeros(RATE, np.float32), RATE)
    for i in range(4):
        write_wav(fr / f"f{i}.wav", tone_prompt(100 + i, seconds), RATE)
    t = np.arange(3 * RATE) / RATE
    for i, f in enumerate((220.0, 330.0)):
        write_wav(moh / f"m{i}.wav", (0.2 * np.sin(2 * np.pi * f * t) * (1 + np.sin(2 * np.pi * 2 * t))), RATE)
    return {"clean": en, "babble": fr, "moh": moh}
