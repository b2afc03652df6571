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


def self_block_mask(rows: slice, n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (i, j) of the diagonal entries of x[rows] against x (self-pairs)."""
    i = np.arange(rows.stop - rows.start)
    return i, i + rows.start


def kth_nn_sq_radius(x: np.ndarray, k: int, chunk_size: int | None = None) -> np.ndarray:
    """Squared distance from each row to its k-th nearest other row.

    Counted as the (k+1)-th smallest distance with the point itself included (distance 0),
    as prdc and torch-fidelity do; duplicates of a point therefore count as neighbours.
    """
    if not 1 <= k < len(x):
        raise ValueError(f"k={k} needs 1 <= k < number of samples ({len(x)})")
    norms = sq_norms(x)
    out = np.empty(len(x))
    for rows in row_blocks(len(x), len(x), chunk_size):
        d2 = sq_dists(x[rows], x, norms)
        i, j = self_block_mask(rows, len(x))
        d2[i, j] = 0.0
        out[rows] = np.partition(d2, k, axis=1)[:, k]
    return out


def nearest_sq_dist(a: np.ndarray, b: np.ndarray, chunk_size: int | None = None) -> np.ndarray:
    """For each row of a, the squared distance to its nearest row of b."""
    norms = sq_norms(b)
    out = np.empty(len(a))
    for rows in row_blocks(len(a), len(b), chunk_size):
        out[rows] = sq_dists(a[rows], b, norms).min(axis=1)
    return out


def count_within(
    a: np.ndarray, b: np.ndarray, b_sq_radii: np.ndarray, chunk_size: int | None, strict: bool
) -> np.ndarray:
    """For each row of a, how many balls (b_j, radius_j) contain it (`<` when strict, else `<=`)."""
    norms = sq_norms(b)
    out = np.empty(len(a), dtype=np.int64)
    for rows in row_blocks(len(a), len(b), chunk_size):
        d2 = sq_dists(a[rows], b, norms)
        inside = d2 < b_sq_radii[None, :] if strict else d2 <= b_sq_radii[None, :]
        out[rows] = inside.sum(axis=1)
    return out
