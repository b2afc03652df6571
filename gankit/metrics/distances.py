"""Pairwise Euclidean distances in row blocks, so no full N x M matrix is ever held in memory.

Every function takes `chunk_size` (rows per block); None picks a block of about
`DEFAULT_BLOCK_ELEMENTS` float64 entries (128 MiB), e.g. 335 rows against 50,000 columns.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

DEFAULT_BLOCK_ELEMENTS = 2**24


def block_rows(n_cols: int, chunk_size: int | None) -> int:
    """Rows per block: `chunk_size` when given, else what fits DEFAULT_BLOCK_ELEMENTS."""
    if chunk_size is not None:
        if int(chunk_size) < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        return int(chunk_size)
    return max(1, DEFAULT_BLOCK_ELEMENTS // max(1, n_cols))


def row_blocks(n_rows: int, n_cols: int, chunk_size: int | None) -> Iterator[slice]:
    """Slices covering range(n_rows) in blocks sized by `block_rows`."""
    step = block_rows(n_cols, chunk_size)
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def sq_norms(x: np.ndarray) -> np.ndarray:
    """Squared Euclidean norm of every row."""
    return np.einsum("ij,ij->i", x, x)


def sq_dists(a: np.ndarray, b: np.ndarray, b_norms: np.ndarray | None = None) -> np.ndarray:
    """Squared Euclidean distances (len(a), len(b)) in float64, clipped at 0."""
    bn = sq_norms(b) if b_norms is None else b_norms
    d2 = sq_norms(a)[:, None] + bn[None, :] - 2.0 * (a @ b.T)
    np.maximum(d2, 0.0, out=d2)
    return d2
