"""Shared helpers for the data tests: IDX writers, a config stand-in, a local HTTP server."""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class DataCfg:
    """Duck-typed stand-in for gankit.config.DataConfig (same fields and defaults)."""

    name: str = "fashion-mnist"
    root: str | None = None
    split: str = "train"
    resolution: int | None = None
    channels: int | None = None
    download: bool = True
    cache_dir: str | None = None
    limit: int | None = None
    per_class: int | None = None
    subset_seed: int = 0
    n_samples: int = 100000
    seed: int = 0


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """Encode a uint8 array as IDX (magic 0x0800 | ndim unless given)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = (0x08 << 8) | array.ndim if magic is None else magic
    header = magic.to_bytes(4, "big") + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + array.tobytes()


def write_file(path: Path, data: bytes, compress: bool) -> Path:
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


def small_fashion(n: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def write_fashion_split(directory: Path, split: str = "train", n: int = 5, compress: bool = True,
                        seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Write a tiny valid Fashion-MNIST split into ``directory``; return its arrays."""
    from gankit.data.fashion import FILES

    images, labels = small_fashion(n, seed)
    suffix = ".gz" if compress else ""
    img_stem, lbl_stem = FILES[split]
    write_file(directory / (img_stem + suffix), idx_bytes(images), compress)
    write_file(directory / (lbl_stem + suffix), idx_bytes(labels), compress)
    return images, labels


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        super().do_GET()


@contextlib.contextmanager
def serve_directory(directory: Path, max_seconds: float = 20.0):
    """Serve ``directory`` on 127.0.0.1 (free port); yields (base_url, request paths).

    The server stops on exit, and on its own after ``max_seconds`` at the latest.
    """
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    watchdog = threading.Timer(max_seconds, server.shutdown)
    watchdog.daemon = True
    thread.start()
    watchdog.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", server.requests  # type: ignore[attr-defined]
    finally:
        watchdog.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
