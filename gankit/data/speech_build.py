"""The speech-enhancement mixtures, built offline from recorded prompts and noise (`gankit build-speech-data`).

Clean speech: the prompts of one language folder (default ``SOUNDS/en``: Debian's ``asterisk-core-sounds-en-wav``,
one studio voice, 8 kHz WAV; the ``silence/`` folder is skipped). At 16 kHz the prompt's ``.g722`` twin
(``asterisk-core-sounds-en-g722``) is decoded by ffmpeg (a subprocess); without ffmpeg or the .g722 file the 8 kHz
WAV is up-sampled by scipy's resample_poly instead (the manifest's ``decoder`` says which, per run).

The prompts are split by file (seeded): ``test_fraction`` of them are test prompts, never mixed into training.
Noise types, each a unit-RMS stream per split whose train and test parts share no recording segment:

- ``babble``: ``talkers`` streams of the other language's prompts (default ``SOUNDS/fr``; a different speaker),
  each a shuffled concatenation, summed; the babble prompt files are split into train / test halves.
- ``music``: music on hold (``MOH``, ``asterisk-moh-opsound-wav``): the first 75% of every track for training, the
  last 25% for testing.
- ``white`` and ``pink`` (1/f power) Gaussian noise from separate seeds per split.

Mixtures: noise scaled so that the speech-to-noise ratio is the SNR, speech power taken over its active 10 ms
frames (those within 30 dB of the loudest: a simplified stand-in for ITU-T P.56's active speech level); a mixture
peaking above 0.99 is scaled down with its clean file. Each train prompt is mixed `train_mixtures` times at distinct
SNRs of 0/5/10/15 dB, each test prompt once at each of 2.5/7.5/12.5/17.5 dB (SEGAN's VCTK + DEMAND protocol), noise
types drawn at random. Output: ``OUT/{train,test}/{noisy,clean}/NAME.wav`` (16-bit PCM) and ``OUT/manifest.json``
(sources, split, SNRs, every file's noise type, SNR, noise offset and SHA-256).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

import numpy as np

import gankit.data.speech as speech
from gankit.errors import ConfigError, DataError

TRAIN_SNRS = (0.0, 5.0, 10.0, 15.0)
TEST_SNRS = (2.5, 7.5, 12.5, 17.5)
NOISES = ("babble", "music", "white", "pink")
FORMAT = "gankit-speech-data/1"


def list_wavs(folder: Path, skip: tuple[str, ...] = ("silence",)) -> list[Path]:
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (install the asterisk sound packages: see docs/speech.md)")
    files = sorted(p for p in folder.rglob("*.wav") if not set(p.relative_to(folder).parts[:-1]) & set(skip))
    if not files:
        raise DataError(f"{folder}: no .wav files")
    return files


def decode_g722(path: Path, rate: int) -> np.ndarray:
    """A raw G.722 file decoded by ffmpeg to mono float32 at `rate`."""
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "g722", "-i", str(path), "-ac", "1", "-ar",
           str(rate), "-f", "s16le", "-"]
    out = subprocess.run(cmd, capture_output=True, check=False)
    if out.returncode or not out.stdout:
        raise DataError(f"{path}: ffmpeg could not decode it ({out.stderr.decode(errors='replace').strip()[:200]})")
    return np.frombuffer(out.stdout, dtype="<i2").astype(np.float32) / 32768


def clean_loader(rate: int, decoder: str) -> tuple[Callable[[Path], np.ndarray], str]:
    """(read a prompt at `rate`, the decoder's description). decoder: auto | ffmpeg | resample."""
    if decoder not in ("auto", "ffmpeg", "resample"):
        raise ConfigError(f"--decoder must be auto, ffmpeg or resample, got {decoder}")
    have_ffmpeg = shutil.which("ffmpeg") is not None
    if decoder == "ffmpeg" and not have_ffmpeg:
        raise ConfigError("--decoder ffmpeg: ffmpeg is not installed (apt-get install -y ffmpeg)")
    use_g722 = rate == 16000 and decoder != "resample" and have_ffmpeg

    def load(path: Path) -> np.ndarray:
        g722 = path.with_suffix(".g722")
        if use_g722 and g722.is_file():
            return decode_g722(g722, rate)
        if decoder == "ffmpeg" and rate == 16000:
            raise DataError(f"{g722}: missing (install asterisk-core-sounds-en-g722, or use --decoder resample)")
        x, r, _ = speech.read_wav(path)
        return speech.resample(x, r, rate)

    desc = "ffmpeg g722 -> 16 kHz" if use_g722 else (f"wav resampled to {rate} Hz by resample_poly"
                                                     if rate != 8000 else "wav (8 kHz, as recorded)")
    return load, desc


def _unit_rms(x: np.ndarray) -> np.ndarray:
    return (x / max(float(np.sqrt(np.mean(x ** 2))), 1e-8)).astype(np.float32)


def read_at(path: Path, rate: int) -> np.ndarray:
    x, r, _ = speech.read_wav(path)
    return speech.resample(x, r, rate)


def babble(files: list[Path], rate: int, talkers: int, rng: np.random.Generator) -> np.ndarray:
    """`talkers` shuffled concatenations of the prompts (each at unit RMS), summed, cut to the shortest."""
    clips = [_unit_rms(read_at(f, rate)) for f in files]
    streams = [np.concatenate([clips[i] for i in rng.permutation(len(clips))]) for _ in range(talkers)]
    n = min(len(s) for s in streams)
    return _unit_rms(np.sum([s[:n] for s in streams], axis=0))


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with a 1/f power spectrum (white noise shaped by 1/sqrt(f) in the frequency domain)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    return _unit_rms(np.fft.irfft(spec / np.sqrt(f), n))


def noise_streams(babble_files: list[Path], moh_files: list[Path], rate: int, talkers: int, seed: int,
                  seconds: float = 120.0) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, Any]]:
    """{split: {noise type: unit-RMS stream}}, disjoint between splits, and their description for the manifest."""
    rng = np.random.default_rng(seed + 1)
    order = rng.permutation(len(babble_files))
    half = max(1, len(order) // 2)
    b_files = {"train": [babble_files[i] for i in order[half:]], "test": [babble_files[i] for i in order[:half]]}
    if not b_files["train"]:
        raise DataError("babble needs at least two prompt files of the other language (one per split)")
    tracks = [read_at(f, rate) for f in moh_files]
    cut = [int(0.75 * len(t)) for t in tracks]
    music = {"train": np.concatenate([t[:c] for t, c in zip(tracks, cut)]),
             "test": np.concatenate([t[c:] for t, c in zip(tracks, cut)])}
    n = int(seconds * rate)
    out = {}
    for k, split in enumerate(("train", "test")):
        r = np.random.default_rng([seed, k, 7])
        out[split] = {"babble": babble(b_files[split], rate, talkers, r), "music": _unit_rms(music[split]),
                      "white": _unit_rms(r.standard_normal(n)), "pink": pink(n, r)}
    desc = {"babble": {"talkers": talkers, "files": {s: [f.name for f in v] for s, v in b_files.items()}},
            "music": {"files": [f.name for f in moh_files], "train": "first 75% of each track",
                      "test": "last 25% of each track"},
            "white": "Gaussian, seeds per split", "pink": "1/f Gaussian, seeds per split"}
    return out, desc


def active_power(x: np.ndarray, rate: int, range_db: float = 30.0) -> float:
    """Mean power of the 10 ms frames within `range_db` of the loudest frame."""
    n = max(1, rate // 100)
    frames = x[: len(x) // n * n].reshape(-1, n) if len(x) >= n else x[None]
    p = np.mean(frames.astype(np.float64) ** 2, axis=1)
    if p.max() <= 0:
        return 0.0
    return float(p[p >= p.max() * 10 ** (-range_db / 10)].mean())


def mix(clean: np.ndarray, stream: np.ndarray, snr: float, rate: int,
        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """(noisy, clean, noise offset): a segment of the unit-RMS noise stream scaled to `snr` dB below the speech."""
    if len(stream) < len(clean):
        stream = np.tile(stream, len(clean) // len(stream) + 1)
    offset = int(rng.integers(0, len(stream) - len(clean) + 1))
    noise = stream[offset: offset + len(clean)]
    gain = np.sqrt(active_power(clean, rate) / 10 ** (snr / 10) / max(float(np.mean(noise ** 2)), 1e-12))
    noisy = clean + gain * noise
    peak = float(np.abs(noisy).max())
    scale = 0.99 / peak if peak > 0.99 else 1.0
    return (noisy * scale).astype(np.float32), (clean * scale).astype(np.float32), offset


def build_speech_data(out: str | Path, clean_dir: str | Path, babble_dir: str | Path, moh_dir: str | Path,
                      rate: int = 8000, test_fraction: float = 0.12, train_mixtures: int = 2, talkers: int = 4,
                      seed: int = 0, decoder: str = "auto", log: Callable[[str], None] = print) -> dict[str, Any]:
    """Write the mixtures and the manifest to `out` (see the module's docstring); returns the manifest."""
    if rate not in (8000, 16000):
        raise ConfigError(f"--rate must be 8000 or 16000, got {rate}")
    if not 0 < test_fraction < 1 or not 1 <= train_mixtures <= len(TRAIN_SNRS) or talkers < 1:
        raise ConfigError("--test-fraction must be in (0, 1), --train-mixtures in 1..4 and --talkers >= 1")
    out, clean_dir = Path(out).expanduser(), Path(clean_dir).expanduser()
    if (out / speech.MANIFEST).exists():
        raise ConfigError(f"{out}: already holds a {speech.MANIFEST}; choose another --out or delete it")
    prompts = list_wavs(clean_dir)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(prompts))
    n_test = max(1, int(round(test_fraction * len(prompts))))
    split_of = {prompts[i]: ("test" if k < n_test else "train") for k, i in enumerate(order)}
    load, desc = clean_loader(rate, decoder)
    streams, noise_desc = noise_streams(list_wavs(Path(babble_dir).expanduser()),
                                        list_wavs(Path(moh_dir).expanduser(), ()), rate, talkers, seed)
    files = []
    for p in prompts:
        split = split_of[p]
        clean = load(p)
        snrs = TEST_SNRS if split == "test" else [TRAIN_SNRS[i] for i in rng.permutation(4)[:train_mixtures]]
        stem = "-".join(p.relative_to(clean_dir).with_suffix("").parts)
        for snr in snrs:
            kind = NOISES[int(rng.integers(len(NOISES)))]
            noisy, cl, offset = mix(clean, streams[split][kind], snr, rate, rng)
            name = f"{stem}__{kind}_{snr:g}dB.wav"
            row = {"split": split, "prompt": str(p.relative_to(clean_dir)), "noise": kind, "snr": snr,
                   "noise_offset": offset, "seconds": round(len(cl) / rate, 4)}
            for key, x in (("noisy", noisy), ("clean", cl)):
                rel = f"{split}/{key}/{name}"
                speech.write_wav(out / rel, x, rate)
                row[key], row[f"{key}_sha256"] = rel, speech.sha256(out / rel)
            files.append(row)
    manifest = {"format": FORMAT, "rate": rate, "decoder": desc, "seed": seed,
                "sources": {"clean": str(clean_dir), "babble": str(babble_dir), "music": str(moh_dir)},
                "split": "by prompt file, seeded", "test_fraction": test_fraction,
                "prompts": {s: sorted(str(p.relative_to(clean_dir)) for p in prompts if split_of[p] == s)
                            for s in ("train", "test")},
                "train_snrs": list(TRAIN_SNRS), "test_snrs": list(TEST_SNRS), "noise": noise_desc,
                "snr_reference": "active speech power (10 ms frames within 30 dB of the loudest)", "files": files}
    (out / speech.MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    n_tr = sum(f["split"] == "train" for f in files)
    log(f"wrote {n_tr} train and {len(files) - n_tr} test mixtures ({len(manifest['prompts']['train'])} / "
        f"{len(manifest['prompts']['test'])} prompts, {rate} Hz, clean speech: {desc}) to {out}")
    return manifest
