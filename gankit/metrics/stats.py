"""Feature statistics of a data set, cached on disk under a hash of what produced them.

A cache entry is `$GANKIT_CACHE/stats/<key>.npz` (default cache ~/.cache/gankit), where <key>
hashes the dataset name, split, sample count, extractor name and extractor weights hash.
Files hold plain arrays only (read with allow_pickle=False) and are written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from gankit.errors import DataError
from gankit.metrics._validate import as_features
from gankit.metrics.fid import mean_cov
from gankit.metrics.inception import cache_dir

STATS_FORMAT_VERSION = 1


@dataclass
class FeatureStats:
    """mu, sigma (for FID), n; optionally the features (float32) and the mean class probabilities."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int
    features: np.ndarray | None = None
    class_probs: np.ndarray | None = None

    @classmethod
    def from_features(
        cls, features: np.ndarray, probs: np.ndarray | None = None, keep_features: bool = True
    ) -> "FeatureStats":
        x = as_features(features, "features")
        mu, sigma = mean_cov(x)
        mean_probs = None if probs is None else as_features(probs, "class probabilities").mean(axis=0)
        return cls(mu, sigma, len(x), x.astype(np.float32) if keep_features else None, mean_probs)

    def save(self, path: str | os.PathLike) -> None:
        """Write atomically (temporary file in the same folder, then rename)."""
        arrays = {"mu": self.mu, "sigma": self.sigma, "n": np.int64(self.n), "version": np.int64(STATS_FORMAT_VERSION)}
        if self.features is not None:
            arrays["features"] = self.features
        if self.class_probs is not None:
            arrays["class_probs"] = self.class_probs
        atomic_save_npz(Path(path), arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "FeatureStats":
        """Read a file written by `save`; DataError naming the file when it is unreadable."""
        try:
            with np.load(path, allow_pickle=False) as f:
                if int(f["version"]) != STATS_FORMAT_VERSION:
                    raise DataError(f"statistics file {path} has format version {int(f['version'])}")
                return cls(
                    mu=f["mu"],
                    sigma=f["sigma"],
                    n=int(f["n"]),
                    features=f["features"] if "features" in f.files else None,
                    class_probs=f["class_probs"] if "class_probs" in f.files else None,
                )
        except (OSError, KeyError, ValueError) as exc:
            raise DataError(f"cannot read statistics file {path}: {exc}") from exc


def atomic_save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez to a temporary file beside `path`, then os.replace (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def stats_key(dataset: str, split: str, n: int, extractor_name: str, weights_sha256: str | None) -> str:
    """Hex digest identifying statistics: dataset, split, sample count, extractor name and weights hash."""
    ident = {
        "version": STATS_FORMAT_VERSION,
        "dataset": dataset,
        "split": split,
        "n": int(n),
        "extractor": extractor_name,
        "weights_sha256": weights_sha256,
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:32]


def stats_path(key: str) -> Path:
    return cache_dir() / "stats" / f"{key}.npz"


def cached_stats(
    dataset: str,
    split: str,
    n: int,
    extractor: object,
    compute: Callable[[], FeatureStats],
) -> FeatureStats:
    """Statistics from the cache, or `compute()` saved to the cache on a miss.

    `extractor` supplies `name` and `weights_sha256`; `n` is the number of samples `compute` uses.
    """
    key = stats_key(dataset, split, n, extractor.name, getattr(extractor, "weights_sha256", None))
    path = stats_path(key)
    if path.is_file():
        return FeatureStats.load(path)
    stats = compute()
    if stats.n != n:
        raise DataError(f"statistics for {dataset}/{split} were computed on {stats.n} samples, not {n}")
    stats.save(path)
    return stats
