import numpy as np
import pytest

from gankit.errors import DataError
from gankit.metrics import stats as st
from gankit.metrics.features import IdentityExtractor
from gankit.metrics.stats import FeatureStats, cached_stats, stats_key


@pytest.fixture
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    return tmp_path


def sample_stats(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return FeatureStats.from_features(rng.normal(size=(n, 4)), probs=rng.dirichlet(np.ones(3), size=n))


def test_from_features_and_round_trip(tmp_path):
    s = sample_stats()
    assert s.n == 50 and s.mu.shape == (4,) and s.sigma.shape == (4, 4) and s.features.dtype == np.float32
    assert np.allclose(s.sigma, np.cov(s.features.astype(np.float64), rowvar=False), atol=1e-5)
    assert s.class_probs.sum() == pytest.approx(1.0)
    s.save(tmp_path / "s.npz")
    back = FeatureStats.load(tmp_path / "s.npz")
    assert back.n == 50 and np.array_equal(back.mu, s.mu) and np.array_equal(back.features, s.features)
    assert np.array_equal(back.class_probs, s.class_probs)
    slim = FeatureStats.from_features(np.ones((3, 2)) * np.arange(3)[:, None], keep_features=False)
    slim.save(tmp_path / "slim.npz")
    assert FeatureStats.load(tmp_path / "slim.npz").features is None


def test_cache_hit_skips_computation_and_key_covers_every_field(cache):
    calls = []

    def compute():
        calls.append(1)
        return sample_stats()

    ext = IdentityExtractor()
    first = cached_stats("ring8", "train", 50, ext, compute)
    second = cached_stats("ring8", "train", 50, ext, compute)
    assert len(calls) == 1 and np.array_equal(first.sigma, second.sigma)
    files = list((cache / "stats").iterdir())
    assert [f.name for f in files] == [stats_key("ring8", "train", 50, "identity", None) + ".npz"]
    base = stats_key("d", "train", 10, "inception-v3", "abc")
    others = [stats_key("e", "train", 10, "inception-v3", "abc"), stats_key("d", "test", 10, "inception-v3", "abc"),
              stats_key("d", "train", 11, "inception-v3", "abc"), stats_key("d", "train", 10, "fashion-cnn", "abc"),
              stats_key("d", "train", 10, "inception-v3", "abd")]  # fmt: skip
    assert len({base, *others}) == 6


def test_wrong_sample_count_is_refused_and_not_cached(cache):
    with pytest.raises(DataError, match="computed on 50 samples, not 60"):
        cached_stats("ring8", "train", 60, IdentityExtractor(), sample_stats)
    assert not (cache / "stats").exists() or not any((cache / "stats").iterdir())


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(st.np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        sample_stats().save(tmp_path / "x.npz")
    assert list(tmp_path.iterdir()) == []


def test_unreadable_or_pickled_files_are_data_errors(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="bad.npz"):
        FeatureStats.load(bad)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, mu=np.array([{"evil": 1}], dtype=object), sigma=np.eye(1), n=1, version=1)
    with pytest.raises(DataError, match="pickled.npz"):
        FeatureStats.load(pickled)
