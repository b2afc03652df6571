"""Speech waveforms: WAV input/output, pre-/de-emphasis, spectrogram pictures, and the `speech` data set.

Registry key ``speech`` (see ``gankit.data.DATASETS``): ``data.root`` is a folder written by the builder
(`gankit build-speech-data`, gankit.data.speech_build): ``manifest.json`` and ``{train,test}/{noisy,clean}/*.wav``
(mono 16-bit PCM at the manifest's rate). Every file's SHA-256 is checked against the manifest. The pairs of
``data.split`` are cut into chunks of ``data.resolution`` samples (default 16384 at 16 kHz, 8192 at 8 kHz, as the
SEGAN paper's ~1 s) with 50% overlap (a clip shorter than one chunk is zero-padded to it). Batches are
{"noisy": (1, L), "clean": (1, L)} in [-1, 1]; "clean" is the main field, the modality "audio".

WAV reading (`read_wav`, for the builder and `gankit enhance-speech`): PCM (8/16/24/32-bit) or float WAVs by
scipy.io.wavfile; stereo (or more channels) is down-mixed to mono by averaging the channels, with a note; an empty
file, a file that is not a WAV, or one without samples gives one DataError line.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.core.spec import DataSpec
from gankit.errors import ConfigError, DataError

PREEMPH = 0.95  # SEGAN's pre-emphasis coefficient
DEFAULT_CHUNK = {16000: 16384, 8000: 8192}  # ~1 s, as the paper's 16384 samples at 16 kHz
MANIFEST = "manifest.json"


# ----------------------------------------------------------------------------- WAV files
def read_wav(path: str | Path) -> tuple[np.ndarray, int, list[str]]:
    """(float32 mono samples in [-1, 1], sample rate, notes) of a WAV file; DataError with one line otherwise."""
    from scipy.io import wavfile

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes), not a WAV file")
    try:
        rate, data = wavfile.read(str(path))
    except (ValueError, EOFError, OSError, TypeError) as e:
        raise DataError(f"{path}: not a readable WAV file ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    notes = []
    x = _to_float(np.asarray(data), path)
    if x.ndim == 2:
        if x.shape[1] > 1:
            notes.append(f"{path.name}: {x.shape[1]} channels down-mixed to mono (their mean)")
        x = x.mean(axis=1)
    if x.size == 0:
        raise DataError(f"{path}: the WAV file holds no samples")
    return x.astype(np.float32), int(rate), notes


def _to_float(data: np.ndarray, path: Path) -> np.ndarray:
    if data.dtype == np.uint8:
        return (data.astype(np.float32) - 128) / 128
    if data.dtype.kind == "i":
        return data.astype(np.float32) / float(2 ** (8 * data.dtype.itemsize - 1))
    if data.dtype.kind == "f":
        return np.clip(data.astype(np.float32), -1, 1)
    raise DataError(f"{path}: unsupported WAV sample type {data.dtype}")


def write_wav(path: str | Path, x: np.ndarray, rate: int) -> Path:
    """Mono float samples (clipped to [-1, 1]) as a 16-bit PCM WAV file."""
    from scipy.io import wavfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = np.round(np.clip(np.asarray(x, dtype=np.float64), -1, 1) * 32767).astype(np.int16)
    wavfile.write(str(path), int(rate), pcm)
    return path


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling (scipy.signal.resample_poly, its default Kaiser-windowed anti-aliasing filter)."""
    if rate_in == rate_out:
        return x
    from scipy.signal import resample_poly

    g = math.gcd(int(rate_in), int(rate_out))
    return resample_poly(x, rate_out // g, rate_in // g).astype(np.float32)


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- emphasis, spectrograms
def preemphasis(x: torch.Tensor, coeff: float = PREEMPH) -> torch.Tensor:
    """y[n] = x[n] - coeff * x[n-1] along the last axis (y[0] = x[0])."""
    if coeff == 0:
        return x
    return torch.cat([x[..., :1], x[..., 1:] - coeff * x[..., :-1]], dim=-1)


def deemphasis(y: np.ndarray, coeff: float = PREEMPH) -> np.ndarray:
    """The inverse of `preemphasis`: x[n] = y[n] + coeff * x[n-1] (an IIR filter, scipy.signal.lfilter)."""
    if coeff == 0:
        return y
    from scipy.signal import lfilter

    return lfilter([1.0], [1.0, -coeff], y, axis=-1).astype(np.float32)


def spectrogram_db(x: np.ndarray, rate: int, frame_ms: float = 32.0) -> np.ndarray:
    """Log power spectrogram (freq, time) in dB of a mono signal: Hann frames of `frame_ms`, 75% overlap."""
    from scipy.signal import stft

    n = max(16, int(round(rate * frame_ms / 1000)))
    _, _, z = stft(np.asarray(x, dtype=np.float64), fs=rate, nperseg=n, noverlap=3 * n // 4)
    return 10 * np.log10(np.abs(z) ** 2 + 1e-10)


def spectrogram_image(x: np.ndarray, rate: int, floor_db: float = -80.0) -> torch.Tensor:
    """(1, F, T) image in [-1, 1]: the spectrogram with low frequencies at the bottom, 0 dB (full scale) white and
    `floor_db` black."""
    s = spectrogram_db(x, rate)[::-1].copy()
    s = np.clip((s - floor_db) / -floor_db, 0, 1) * 2 - 1
    return torch.from_numpy(s.astype(np.float32))[None]


# ----------------------------------------------------------------------------- the data set
@dataclass
class SpeechDataset:
    """Overlapping chunks of (noisy, clean) waveforms in memory, float32 (N, 1, L) in [-1, 1]."""

    noisy: torch.Tensor
    clean: torch.Tensor
    rate: int
    name: str = "speech"
    extra: dict | None = None

    @property
    def fields(self) -> dict[str, torch.Tensor]:
        return {"noisy": self.noisy, "clean": self.clean}

    def __len__(self) -> int:
        return len(self.clean)

    @property
    def spec(self) -> DataSpec:
        shapes = {k: tuple(v.shape[1:]) for k, v in self.fields.items()}
        return DataSpec("audio", shapes, "clean", None, None, extra={"rate": self.rate, **(self.extra or {})})


def read_manifest(root: str | Path, check: bool = True) -> dict[str, Any]:
    """The builder's manifest of `root`; with `check`, every listed file must exist with its SHA-256."""
    root = Path(root).expanduser()
    path = root / MANIFEST
    if not path.is_file():
        raise DataError(f"{root}: no {MANIFEST}; build the mixtures first with `gankit build-speech-data --out {root}`")
    try:
        manifest = json.loads(path.read_text())
        files = manifest["files"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise DataError(f"{path}: not a speech-data manifest ({e})") from None
    if check:
        for item in files:
            for key in ("noisy", "clean"):
                f = root / item[key]
                if not f.is_file():
                    raise DataError(f"{f}: listed in {MANIFEST} but missing; rebuild the data")
                if sha256(f) != item[f"{key}_sha256"]:
                    raise DataError(f"{f}: its SHA-256 differs from {MANIFEST}; the file changed, rebuild the data")
    return manifest


def load_pairs(root: str | Path, split: str, check: bool = True) -> list[dict[str, Any]]:
    """Whole (noisy, clean) files of a split: the manifest's rows with arrays "noisy_wav" and "clean_wav" added."""
    root = Path(root).expanduser()
    manifest = read_manifest(root, check)
    rows = []
    for item in manifest["files"]:
        if item["split"] != split:
            continue
        noisy, rate_n, _ = read_wav(root / item["noisy"])
        clean, rate_c, _ = read_wav(root / item["clean"])
        if rate_n != manifest["rate"] or rate_c != manifest["rate"] or len(noisy) != len(clean):
            raise DataError(f"{root / item['noisy']}: rate or length differs from its clean file / the manifest")
        rows.append({**item, "noisy_wav": noisy, "clean_wav": clean})
    if not rows:
        raise DataError(f"{root}: no {split} mixtures in {MANIFEST}")
    return rows


def chunks(x: np.ndarray, size: int, hop: int) -> np.ndarray:
    """(K, size) overlapping windows of x, hop apart; the tail (or a clip shorter than one chunk) zero-padded."""
    n = max(1, math.ceil(max(len(x) - size, 0) / hop) + 1)
    padded = np.zeros((n - 1) * hop + size, dtype=np.float32)
    padded[: len(x)] = x
    return np.stack([padded[i * hop: i * hop + size] for i in range(n)])


def build_speech(cfg: Any) -> SpeechDataset:
    if cfg.root is None:
        raise ConfigError("data.root: required for the speech dataset (a folder from `gankit build-speech-data`)")
    manifest = read_manifest(cfg.root)
    rate = int(manifest["rate"])
    size = cfg.resolution or DEFAULT_CHUNK.get(rate, 16384)
    if size < 256:
        raise ConfigError(f"data.resolution: the chunk must be at least 256 samples, got {size}")
    rows = load_pairs(cfg.root, cfg.split, check=False)
    noisy = np.concatenate([chunks(r["noisy_wav"], size, size // 2) for r in rows])
    clean = np.concatenate([chunks(r["clean_wav"], size, size // 2) for r in rows])
    if cfg.limit is not None:
        noisy, clean = noisy[: cfg.limit], clean[: cfg.limit]
    as_t = lambda a: torch.from_numpy(np.ascontiguousarray(a))[:, None]  # noqa: E731
    return SpeechDataset(as_t(noisy), as_t(clean), rate, "speech",
                         {"root": str(Path(cfg.root).expanduser()), "files": len(rows), "chunk": size})
