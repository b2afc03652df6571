"""Token-sequence data sets: batches {"tokens": (B, L) int64 ids}, a DataSpec with the vocabulary size and length.

"oracle" (SeqGAN's synthetic benchmark): `--data.root` is the oracle's .npz (or a folder holding
seqgan_oracle.npz) with the authors' LSTM parameters (arrays in ORACLE_ARRAYS); the training set is 10,000
sequences sampled from it with `data.seed` (`data.limit` takes fewer; `data.split=test` draws another 10,000
with a different seed). The oracle itself travels in the spec's `extra["oracle"]` for the NLL-oracle metric.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.core.spec import DataSpec
from gankit.errors import ConfigError, DataError
from gankit.nets.seqgan import LSTMLM

ORACLE_FILE = "seqgan_oracle.npz"
ORACLE_VOCAB, ORACLE_LENGTH, ORACLE_EMB, ORACLE_HIDDEN, ORACLE_SAMPLES = 5000, 20, 32, 32, 10_000
TEST_SEED_OFFSET = 1_000_003  # the test split's sequences come from another seed


def oracle_arrays(emb: int = ORACLE_EMB, hidden: int = ORACLE_HIDDEN, vocab: int = ORACLE_VOCAB) -> dict:
    """The arrays of an oracle file and their shapes."""
    gate = {f"{k}{g}": s for g in ("i", "f", "og", "c")
            for k, s in (("W", (emb, hidden)), ("U", (hidden, hidden)), ("b", (hidden,)))}
    return {"embedding": (vocab, emb), **gate, "Wo": (hidden, vocab), "bo": (vocab,)}


@dataclass
class TokenDataset:
    """Sequences of equal length in memory; `vocab` names the ids (None: the ids are the tokens)."""

    tokens: torch.Tensor  # (N, L) int64
    vocab_size: int
    name: str
    vocab: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_tokens(self.tokens, self.vocab_size, self.name)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def fields(self) -> dict[str, torch.Tensor]:
        return {"tokens": self.tokens}

    @property
    def spec(self) -> DataSpec:
        extra = {**self.extra, **({"vocab": self.vocab} if self.vocab is not None else {})}
        return DataSpec("tokens", {"tokens": (self.tokens.shape[1],)}, "tokens", vocab_size=self.vocab_size,
                        extra=extra)


def check_tokens(tokens: torch.Tensor, vocab_size: int, name: str) -> None:
    """DataError for an empty corpus, ragged or non-integer sequences, or ids outside [0, vocab_size)."""
    if tokens.dim() != 2 or tokens.numel() == 0:
        raise DataError(f"{name}: empty corpus (no sequences of at least one token; shape {tuple(tokens.shape)})")
    if tokens.dtype != torch.long:
        raise DataError(f"{name}: token ids must be int64, got {tokens.dtype}")
    lo, hi = int(tokens.min()), int(tokens.max())
    if lo < 0 or hi >= vocab_size:
        bad = hi if hi >= vocab_size else lo
        row = int(((tokens == bad).any(1)).nonzero()[0])
        raise DataError(f"{name}: token id {bad} (sequence {row}) is outside the vocabulary of {vocab_size} ids")


def load_oracle(path: str | Path) -> LSTMLM:
    """The oracle LSTM from its .npz; DataError naming the file and the first missing or misshapen array."""
    path = Path(path)
    if path.is_dir():
        path = path / ORACLE_FILE
    if not path.is_file():
        raise DataError(f"{path}: no oracle file (give --data.root=PATH to {ORACLE_FILE} or its folder)")
    try:
        with np.load(path) as f:
            arrays = {k: np.asarray(f[k]) for k in f.files}
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"{path}: not a readable .npz file ({e})") from None
    vocab, emb = arrays["embedding"].shape if arrays.get("embedding", np.zeros(0)).ndim == 2 else (0, 0)
    hidden = arrays["Wo"].shape[0] if arrays.get("Wo", np.zeros(0)).ndim == 2 else 0
    for name, shape in oracle_arrays(emb, hidden, vocab).items():
        if name not in arrays:
            raise DataError(f"{path}: array {name!r} is missing (an oracle has {', '.join(oracle_arrays())})")
        if arrays[name].shape != shape or vocab == 0 or hidden == 0:
            raise DataError(f"{path}: array {name!r} has shape {arrays[name].shape}, expected {shape}")
    return oracle_from_arrays(arrays)


def oracle_from_arrays(a: dict[str, np.ndarray], length: int = ORACLE_LENGTH) -> LSTMLM:
    vocab, emb = a["embedding"].shape
    hidden = a["Wo"].shape[0]
    model = LSTMLM(vocab, length, emb, hidden, start=0)
    t = {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in a.items()}
    with torch.no_grad():
        model.embedding.copy_(t["embedding"])
        for name in ("W", "U", "b"):
            model.get_parameter(name).copy_(torch.cat([t[f"{name}{g}"] for g in ("i", "f", "og", "c")], dim=-1))
        model.Wo.copy_(t["Wo"])
        model.bo.copy_(t["bo"])
    return model.requires_grad_(False).eval()


def build_oracle(cfg: Any) -> TokenDataset:
    if cfg.root is None:
        raise ConfigError(f"data.root: required for the oracle data set (the path of {ORACLE_FILE})")
    oracle = load_oracle(cfg.root)
    n = min(ORACLE_SAMPLES, cfg.limit) if cfg.limit is not None else ORACLE_SAMPLES
    seed = cfg.seed + (TEST_SEED_OFFSET if cfg.split == "test" else 0)
    tokens = sample_batched(oracle, n, seed)
    return TokenDataset(tokens, oracle.vocab, "oracle", None, {"oracle": oracle, "root": str(cfg.root)})


def sample_batched(model: LSTMLM, n: int, seed: int, batch_size: int = 1000, temperature: float = 1.0) -> torch.Tensor:
    """n sequences of `model` drawn with a generator seeded by `seed` (same seed, same sequences), on the CPU."""
    g = torch.Generator(device=model.W.device).manual_seed(seed)
    out = [model.sample(min(batch_size, n - i), g, temperature).cpu() for i in range(0, n, batch_size)]
    return torch.cat(out) if out else torch.zeros(0, model.length, dtype=torch.long)
