import warnings

import numpy as np
import pytest
from scipy import linalg

from gankit.metrics import MetricInputError
from gankit.metrics import fid as fid_module
from gankit.metrics.fid import fid_from_features, frechet_distance, mean_cov


def spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def closed_form(mu1, s1, mu2, s2):
    """Symmetric form Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2), independent of gankit's sqrtm path."""
    r1 = linalg.sqrtm(s1).real
    inner = np.linalg.eigvalsh(r1 @ s2 @ r1)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(inner, 0, None)).sum())


def test_frechet_distance_matches_closed_form_for_non_commuting_covariances():
    rng = np.random.default_rng(0)
    mu1, mu2, s1, s2 = rng.normal(size=5), rng.normal(size=5), spd(rng, 5), spd(rng, 5)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(closed_form(mu1, s1, mu2, s2), rel=1e-9)


def test_diagonal_gaussians_have_elementwise_formula():
    mu1, mu2 = np.array([0.0, 1.0]), np.array([3.0, -1.0])
    v1, v2 = np.array([1.0, 4.0]), np.array([9.0, 1.0])
    expected = 9 + 4 + ((np.sqrt(v1) - np.sqrt(v2)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected, abs=1e-10)


def test_identical_sets_give_zero_and_permutation_does_not_matter():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 6))
    assert abs(fid_from_features(x, x)) < 1e-8
    y = rng.normal(size=(300, 6)) + 0.5
    assert fid_from_features(x, y) == pytest.approx(fid_from_features(x[::-1], rng.permutation(y)), rel=1e-10)


def test_sample_fid_converges_to_closed_form():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(20000, 2))
    y = rng.normal(size=(20000, 2)) * np.array([2.0, 0.5]) + np.array([1.0, 0.0])
    expected = 1.0 + (1 - 2) ** 2 + (1 - 0.5) ** 2  # |dmu|^2 + sum (sqrt(v1) - sqrt(v2))^2
    assert fid_from_features(x, y) == pytest.approx(expected, abs=0.05)


def test_fewer_samples_than_dims_warns_and_stays_finite():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(10, 20)), rng.normal(size=(10, 20))
    with pytest.warns(RuntimeWarning, match="singular covariance"):
        value = fid_from_features(x, y)
    assert np.isfinite(value) and value > 0


def test_singular_covariances_stay_finite():
    s = np.diag([1.0, 0.0, 0.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = frechet_distance(np.zeros(3), s, np.ones(3), s)
    assert value == pytest.approx(3.0, abs=1e-3)
    assert not [w for w in caught if "FID" in str(w.message)]  # neither a retry nor a negative-eigenvalue report


def test_failed_decomposition_retries_with_eps_and_warns(monkeypatch):
    calls, real_eigh = [], linalg.eigh

    def flaky_eigh(m):
        calls.append(m.copy())
        if len(calls) == 1:
            raise linalg.LinAlgError("did not converge")
        return real_eigh(m)

    monkeypatch.setattr(fid_module.linalg, "eigh", flaky_eigh)
    with pytest.warns(RuntimeWarning, match="adding 0.01 to the covariance diagonals"):
        value = frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(2), eps=0.01)
    assert np.allclose(calls[1], np.eye(2) * 1.01)
    assert value == pytest.approx(4 - 2 * 2 * 1.01, abs=1e-9)  # traces 2 + 2, Tr sqrt((1.01 I)^2) = 2 * 1.01


def test_non_psd_input_is_reported_not_silently_used():
    bad = np.diag([1.0, -0.5])  # not a covariance: its product with I has a negative eigenvalue
    with pytest.warns(RuntimeWarning, match="negative eigenvalue"):
        value = frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), bad @ bad @ bad)
    assert np.isfinite(value)


def test_trace_sqrt_matches_scipy_sqrtm_on_ill_conditioned_covariances():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(40, 64))  # rank-40 covariances in 64 dimensions plus tiny ridge
    s1, s2 = a.T @ a / 40 + 1e-9 * np.eye(64), np.cov(rng.normal(size=(50, 64)), rowvar=False)
    expected = np.trace(linalg.sqrtm(s1 @ s2)).real
    assert fid_module.trace_sqrt_product(s1, s2, 1e-6) == pytest.approx(expected, rel=1e-6)


def test_bad_statistics_are_clear_errors():
    with pytest.raises(MetricInputError, match="do not match"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.array([np.nan, 0]), np.eye(2), np.zeros(2), np.eye(2))
    with pytest.raises(MetricInputError, match="at least 2"):
        mean_cov(np.zeros((1, 3)))
