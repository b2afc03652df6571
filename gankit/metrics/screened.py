"""k-NN radii and ball tests with float32 distances screened by a rounding bound, refined in float64.

The N x M squared distances are formed in row blocks with a float32 matrix product (about twice as fast
as float64). Every float32 distance is within `tol` of the float64 one, where `tol` is a rigorous bound on
the float32 rounding (inputs, the d-term dot products, the norms and their sum: (d + 16) * 2^-23 * (|a|^2 +
max |b|^2), plus the rounding of the radii). A decision that the bound settles (`d32 + tol <= r` is inside,
`d32 - tol > r` is outside) is final; only the pairs inside the band are recomputed in float64, with the same
formula as `gankit.metrics.distances.sq_dists`. The answers are therefore those of the float64 computation,
not approximations of them. A block where the band holds too many pairs (near-duplicate samples, a collapsed
generator) is done wholly in float64.
"""

from __future__ import annotations

import numpy as np

from gankit.metrics.distances import row_blocks, sq_dists, sq_norms

F32_GUARD = 2.0**-23  # twice float32's unit roundoff: a factor 2 of margin over the rounding bound
REFINE_PER_ROW = 64  # more band pairs than this per block row: the block is done in float64
PAIR_CHUNK_ELEMENTS = 2**22  # gathered coordinates per float64 refinement chunk


class Side:
    """One sample set: float64 rows, their float64 squared norms, and float32 copies of both (built once per set
    and passed to kth_radius and ball_tests, which also take plain arrays)."""

    def __init__(self, x: np.ndarray):
        self.x = np.asarray(x, dtype=np.float64)
        self.norms = sq_norms(self.x)
        self.x32 = self.x.astype(np.float32)
        self.norms32 = self.norms.astype(np.float32)


def as_side(x) -> Side:
    return x if isinstance(x, Side) else Side(x)


def _pair_sq_dists(a: Side, b: Side, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """float64 squared distances of the pairs (a_i, b_j), |a|^2 + |b|^2 - 2 a.b as sq_dists, clipped at 0."""
    out = np.empty(len(i))
    step = max(1, PAIR_CHUNK_ELEMENTS // max(1, a.x.shape[1]))
    for s in range(0, len(i), step):
        ii, jj = i[s : s + step], j[s : s + step]
        dots = np.einsum("ij,ij->i", a.x[ii], b.x[jj])
        out[s : s + step] = a.norms[ii] + b.norms[jj] - 2.0 * dots
    np.maximum(out, 0.0, out=out)
    return out


def _block32(a: Side, b: Side, rows: slice, radii_max: float) -> tuple[np.ndarray, np.ndarray]:
    """float32 squared distances of a[rows] to b, and each row's rounding bound (float32 column)."""
    d2 = a.x32[rows] @ b.x32.T
    d2 *= np.float32(-2.0)
    d2 += a.norms32[rows, None]
    d2 += b.norms32[None, :]
    np.maximum(d2, 0.0, out=d2)
    bmax = float(b.norms.max()) if len(b.norms) else 0.0
    dim = a.x.shape[1]
    tol = (dim + 16) * F32_GUARD * (a.norms[rows] + bmax) + F32_GUARD * radii_max
    return d2, tol.astype(np.float32)[:, None]


def kth_radius(x: np.ndarray | Side, k: int, chunk_size: int | None = None) -> np.ndarray:
    """Squared distance from each row to its k-th nearest other row (the point itself counts as distance 0).

    Equal to gankit.metrics.distances.kth_nn_sq_radius up to float64 rounding.
    """
    s = as_side(x)
    n = len(s.x)
    if not 1 <= k < n:
        raise ValueError(f"k={k} needs 1 <= k < number of samples ({n})")
    out = np.empty(n)
    for rows in row_blocks(n, n, chunk_size):
        d2, tol = _block32(s, s, rows, 0.0)
        n_rows = rows.stop - rows.start
        local = np.arange(n_rows)
        d2[local, local + rows.start] = 0.0
        kth = np.partition(d2, k, axis=1)[:, k : k + 1]
        cand = d2 <= kth + 2 * tol  # holds every true one of the k+1 nearest (each within tol of float64)
        ri, cj = np.nonzero(cand)
        if len(ri) > REFINE_PER_ROW * n_rows + (k + 1) * n_rows:
            exact = sq_dists(s.x[rows], s.x, s.norms)
            exact[local, local + rows.start] = 0.0
            out[rows] = np.partition(exact, k, axis=1)[:, k]
            continue
        gi = ri + rows.start
        dist = np.zeros(len(gi))
        other = gi != cj  # the point itself stays at distance 0
        dist[other] = _pair_sq_dists(s, s, gi[other], cj[other])
        order = np.lexsort((dist, ri))  # by row, then distance
        starts = np.searchsorted(ri[order], local)  # nonzero() lists rows in order; each has >= k+1 entries
        out[rows] = dist[order][starts + k]
    return out


def _decide(
    d2: np.ndarray, tol: np.ndarray, radii: np.ndarray, along_rows: bool, strict: bool, need: str,
    exact_fn, settled: np.ndarray | None = None,
) -> np.ndarray | None:
    """Boolean block: is pair (i, j) inside the ball of radius radii[j] (columns) or radii[i] (rows).

    Settled by the float32 bound where it can be; band pairs are refined with exact_fn(i, j) where the
    answer needs them: need "count" (every pair), "rows" (only `.any(axis=1)` is used: rows with a sure
    hit skip), "cols" (only `.any(axis=0)`: columns with a sure hit, or already True in `settled`, skip).
    None when the band is too full (the caller redoes the block in float64).
    """
    r = (radii[:, None] if along_rows else radii[None, :]).astype(np.float32)
    inside = d2 + tol <= r
    band = d2 - tol <= r
    band &= ~inside
    if need == "rows":
        band &= ~inside.any(axis=1, keepdims=True)
    elif need == "cols":
        done = inside.any(axis=0, keepdims=True)
        if settled is not None:
            done |= settled[None, :]
        band &= ~done
    bi, bj = np.nonzero(band)
    if len(bi) > REFINE_PER_ROW * len(d2):
        return None
    if len(bi):
        exact = exact_fn(bi, bj)
        rr = radii[bi] if along_rows else radii[bj]
        inside[bi, bj] = exact < rr if strict else exact <= rr
    return inside


def ball_tests(
    a: np.ndarray | Side,
    b: np.ndarray | Side,
    b_radii: np.ndarray,
    a_radii: np.ndarray | None = None,
    strict: bool = False,
    chunk_size: int | None = None,
    counts: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """One pass over the a x b distances, for the ball tests the neighbour metrics need.

    Returns (count_a, any_b, any_b_in_a):
      count_a[i]     how many balls (b_j, b_radii[j]) contain a_i;
      any_b[j]       whether some a_i lies in the ball (b_j, b_radii[j]);
      any_b_in_a[j]  whether b_j lies in some ball (a_i, a_radii[i]) (None without a_radii).
    Inside means distance^2 <= radius^2, or < when strict. counts=False when only count_a > 0 is used
    (fewer float64 refinements); any_b is then not computed.
    """
    need_b = "count" if counts else "rows"
    sa, sb = as_side(a), as_side(b)
    count_a = np.zeros(len(sa.x), dtype=np.int64)
    any_b = np.zeros(len(sb.x), dtype=bool)
    any_in_a = None if a_radii is None else np.zeros(len(sb.x), dtype=bool)
    r_max = max(float(b_radii.max()), 0.0 if a_radii is None else float(a_radii.max()))
    for rows in row_blocks(len(sa.x), len(sb.x), chunk_size):
        d2, tol = _block32(sa, sb, rows, r_max)
        exact_fn = lambda i, j: _pair_sq_dists(sa, sb, i + rows.start, j)  # noqa: E731
        in_b = _decide(d2, tol, b_radii, False, strict, need_b, exact_fn, any_b)
        in_a = None if a_radii is None else _decide(d2, tol, a_radii[rows], True, strict, "cols", exact_fn, any_in_a)
        if in_b is None or (a_radii is not None and in_a is None):
            exact = sq_dists(sa.x[rows], sb.x, sb.norms)
            in_b = exact < b_radii[None, :] if strict else exact <= b_radii[None, :]
            if a_radii is not None:
                ra = a_radii[rows, None]
                in_a = exact < ra if strict else exact <= ra
        count_a[rows] = in_b.sum(axis=1)
        if counts:
            any_b |= in_b.any(axis=0)
        if any_in_a is not None:
            any_in_a |= in_a.any(axis=0)
    return count_a, any_b, any_in_a
