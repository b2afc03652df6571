"""Evaluation metrics: features -> statistics -> metric, as torch-fidelity organises them.

    from gankit import metrics
    metrics.compute(real, fake, ["fid", "kid", "pr"], extractor="inception-v3")

`real` / `fake` are tensors or arrays of images in [-1, 1] (N, C, H, W) or, with the "identity"
extractor, of samples / features (N, ...). `real` may also be a FeatureStats (cached statistics).
Metric names: METRICS; option names: OPTIONS (see gankit.metrics.registry and each metric module).
"""

from gankit.metrics._validate import MetricInputError
from gankit.metrics.api import compute
from gankit.metrics.features import EXTRACTORS, extract, get_extractor, register_extractor
from gankit.metrics.fid import fid_from_features, frechet_distance
from gankit.metrics.kernel import gaussian_mmd2, kid
from gankit.metrics.modes import mode_metrics
from gankit.metrics.neighbours import density_coverage, one_nn_accuracy, precision_recall
from gankit.metrics.registry import METRICS, OPTIONS
from gankit.metrics.scores import inception_score, mode_score
from gankit.metrics.stats import FeatureStats, cached_stats
from gankit.metrics.wasserstein import exact_emd, sliced_wasserstein

__all__ = [
    "compute", "METRICS", "OPTIONS", "EXTRACTORS", "register_extractor", "get_extractor", "extract",
    "FeatureStats", "cached_stats", "MetricInputError", "fid_from_features", "frechet_distance", "kid",
    "gaussian_mmd2", "inception_score", "mode_score", "precision_recall", "density_coverage",
    "one_nn_accuracy", "exact_emd", "sliced_wasserstein", "mode_metrics",
]  # fmt: skip
