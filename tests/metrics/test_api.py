import numpy as np
import pytest
import torch
from scipy.special import softmax

from gankit.errors import ConfigError
from gankit.metrics import (
    METRICS,
    FeatureStats,
    MetricInputError,
    compute,
    density_coverage,
    fid_from_features,
    inception_score,
    kid,
    mode_score,
)

from .test_features import TinyClassifier, images


@pytest.fixture
def sets():
    rng = np.random.default_rng(0)
    return rng.normal(size=(200, 3)), rng.normal(size=(150, 3)) + 0.5


def test_results_equal_the_metric_functions(sets):
    real, fake = sets
    out = compute(real, fake, ["fid", "kid", "dc"], kid_subset_size=50, kid_subsets=10, seed=1)
    assert out["fid"] == fid_from_features(real, fake)
    assert (out["kid_mean"], out["kid_std"]) == kid(real, fake, subsets=10, subset_size=50, seed=1)
    assert (out["density"], out["coverage"]) == density_coverage(real, fake)


# Each metric's headline value and which way is better; every registered metric must be listed here.
HEADLINE = {"fid": ("fid", "lower"), "kid": ("kid_mean", "lower"), "is": ("is_mean", "higher"),
            "mode_score": ("mode_score_mean", "higher"), "mmd": ("mmd2", "lower"),
            "wasserstein": ("wasserstein", "lower"), "1nn": ("1nn_accuracy", "half"), "pr": ("precision", "higher"),
            "dc": ("coverage", "higher"), "modes": ("high_quality_pct", "higher")}


def test_every_registered_metric_prefers_a_matching_fake_to_a_wrong_one():
    """Each metric scores a fake drawn like the real data clearly better than a shifted (or, for the
    class-probability scores, collapsed) one, and returns finite floats."""
    assert HEADLINE.keys() == METRICS.keys()
    rng = np.random.default_rng(0)
    real, good = rng.normal(size=(200, 3)), rng.normal(size=(150, 3))
    bad = good + 3.0
    k = 4
    probs_real = np.random.default_rng(1).dirichlet(np.ones(k), size=200)

    def confident(classes):
        p = np.full((len(classes), k), 0.02)
        p[np.arange(len(classes)), classes] = 1 - 0.02 * (k - 1)
        return p

    probs_good, probs_bad = confident(np.arange(150) % k), confident(np.zeros(150, dtype=int))  # diverse / one class
    centers = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    for name, (key, better) in HEADLINE.items():
        if name in ("is", "mode_score"):
            out_good, out_bad = compute(probs_real, probs_good, [name]), compute(probs_real, probs_bad, [name])
        else:
            out_good, out_bad = (compute(real, f, [name], kid_subset_size=50, centers=centers, std=0.5)
                                 for f in (good, bad))
        for out in (out_good, out_bad):
            assert out and all(isinstance(v, float) and np.isfinite(v) for v in out.values()), (name, out)
        g, b = out_good[key], out_bad[key]
        if better == "lower":
            assert 0 <= g < b / 5, (name, g, b)
        elif better == "higher":
            assert g > 2 * b >= 0, (name, g, b)
        else:  # 1-NN two-sample accuracy: 0.5 when the sets are alike, 1 when they are apart
            assert abs(g - 0.5) < 0.1 and b > 0.9, (name, g, b)


class OnePassClassifier(TinyClassifier):
    def features_and_logits(self, x):
        f = self.forward(x)
        return f, self.head(f)


def test_tensors_images_and_a_classifier_extractor():
    net = OnePassClassifier()
    real, fake = torch.from_numpy(images(40, seed=1)), torch.from_numpy(images(30, seed=2))
    out = compute(real, fake, ["fid", "is", "mode_score"], extractor=net, splits=5)
    assert net.calls == 2  # features and logits in one pass per side
    with torch.no_grad():
        p_fake = softmax(net.logits(fake).double().numpy(), axis=1)
        p_real = softmax(net.logits(real).double().numpy(), axis=1)
    assert out["is_mean"] == pytest.approx(inception_score(p_fake, splits=5)[0], rel=1e-5)
    assert out["mode_score_mean"] == pytest.approx(mode_score(p_fake, p_real.mean(0), splits=5)[0], rel=1e-5)


def test_real_may_be_cached_statistics_or_absent(sets):
    real, fake = sets
    stats = FeatureStats.from_features(real)
    assert compute(stats, fake, ["fid"])["fid"] == pytest.approx(fid_from_features(real, fake), rel=1e-9)
    assert compute(stats, fake, ["pr"])["precision"] == pytest.approx(compute(real, fake, ["pr"])["precision"])
    slim = FeatureStats.from_features(real, keep_features=False)
    with pytest.raises(ConfigError, match="real features"):
        compute(slim, fake, ["kid"])
    centers = np.zeros((1, 3))
    assert compute(None, fake, ["modes"], centers=centers, std=1.0)["modes_captured"] == 1.0
    with pytest.raises(ConfigError, match="real is None"):
        compute(None, fake, ["fid"])


def test_configuration_errors_name_the_valid_choices(sets):
    real, fake = sets
    with pytest.raises(ConfigError, match="valid metrics: fid, kid, is, mode_score, mmd, wasserstein, 1nn, pr, dc, modes"):
        compute(real, fake, ["fid", "FID"])
    with pytest.raises(ConfigError, match="unknown metric option.*kid_subsetsize"):
        compute(real, fake, ["kid"], kid_subsetsize=10)
    with pytest.raises(ConfigError, match="list of names"):
        compute(real, fake, "fid")
    with pytest.raises(ConfigError, match="centers"):
        compute(real, fake, ["modes"])
    with pytest.raises(ConfigError, match="unknown feature extractor"):
        compute(real, fake, ["fid"], extractor="vgg")


def test_bad_data_is_a_clear_error(sets):
    real, fake = sets
    with pytest.raises(MetricInputError, match="dimension 3 but fake features have 2"):
        compute(real, fake[:, :2], ["fid"])
    bad = fake.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="fake samples contains 1 NaN"):
        compute(real, bad, ["pr"])
    with pytest.raises(MetricInputError, match="class probabilities"):
        compute(real, fake, ["is"])
    with pytest.warns(RuntimeWarning, match="singular covariance"):
        compute(real[:3], fake[:3], ["fid"])
