import numpy as np
import pytest

import gankit.metrics.screened as screened
from gankit.metrics.distances import sq_dists
from gankit.metrics.screened import ball_tests, kth_radius


def brute_radius(x, k):
    d2 = sq_dists(x, x)
    np.fill_diagonal(d2, 0.0)
    return np.partition(d2, k, axis=1)[:, k]


def brute_balls(a, b, rb, ra, strict):
    d2 = sq_dists(a, b)
    cmp = np.less if strict else np.less_equal
    in_b, in_a = cmp(d2, rb[None, :]), cmp(d2, ra[:, None])
    return in_b.sum(1), in_b.any(0), in_a.any(0)


def cases():
    rng = np.random.default_rng(0)
    yield "gaussian d=128", rng.normal(size=(400, 128)), rng.normal(size=(300, 128)) * 1.2 + 0.2
    yield "relu d=700", np.maximum(rng.normal(size=(300, 700)), 0), np.maximum(rng.normal(size=(350, 700)) + 0.1, 0)
    # integer points: many distances tie exactly with a radius, so the float64 band refinement decides them
    yield "integer ties", rng.integers(-2, 3, size=(300, 6)).astype(float), rng.integers(-2, 3, size=(250, 6)).astype(float)
    # a collapsed generator: every fake sample the same (the band holds whole blocks: float64 fallback)
    yield "collapsed", rng.normal(size=(300, 16)), np.repeat(rng.normal(size=(1, 16)), 200, axis=0)


@pytest.mark.parametrize("name,a,b", list(cases()), ids=[c[0] for c in cases()])
@pytest.mark.parametrize("chunk", [None, 37])
def test_screened_answers_equal_the_float64_ones(name, a, b, chunk):
    for k in (1, 3, 5):  # the same float64 formula, the dot products summed in another order: a few ulps
        np.testing.assert_allclose(kth_radius(b, k, chunk), brute_radius(b, k), rtol=1e-12, atol=1e-12)
    rb, ra = brute_radius(b, 3), brute_radius(a, 3)
    for strict in (False, True):
        got = ball_tests(a, b, rb, ra, strict=strict, chunk_size=chunk)
        for g, want in zip(got, brute_balls(a, b, rb, ra, strict)):
            assert np.array_equal(g, want), (name, strict)


def test_band_refinement_and_float64_fallback_agree(monkeypatch):
    rng = np.random.default_rng(1)
    a, b = rng.integers(-2, 3, size=(200, 5)).astype(float), rng.integers(-2, 3, size=(150, 5)).astype(float)
    rb, ra = brute_radius(b, 3), brute_radius(a, 3)
    refined = ball_tests(a, b, rb, ra), kth_radius(a, 3)
    monkeypatch.setattr(screened, "REFINE_PER_ROW", -1)  # every block falls back to float64
    fallback = ball_tests(a, b, rb, ra), kth_radius(a, 3)
    for x, y in zip(refined[0], fallback[0]):
        assert np.array_equal(x, y)
    np.testing.assert_allclose(refined[1], fallback[1], rtol=1e-12, atol=1e-12)


def test_the_float32_distances_stay_inside_the_bound():
    rng = np.random.default_rng(2)
    a = screened.Side(rng.normal(size=(50, 2048)) * 30)
    b = screened.Side(rng.normal(size=(60, 2048)) * 30 + 5)
    d32, tol = screened._block32(a, b, slice(0, 50), 0.0)
    err = np.abs(d32.astype(np.float64) - sq_dists(a.x, b.x))
    assert (err <= tol).all()
    assert (err.max() > 0) and (tol.min() < 0.01 * sq_dists(a.x, b.x).min())  # a real bound, not a vacuous one
