"""Run under .venv-ref: gankit's metrics and torch-fidelity's on the same features.

Prints one JSON object {check: [gankit value, reference value]}; tests/metrics/test_reference.py
asserts the tolerances. torch-fidelity's metric modules import torchvision, hence the venv.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import torch
from scipy.special import softmax
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kernel_mmd, kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric

from gankit.metrics import fid_from_features, gaussian_mmd2, inception_score, kid, precision_recall


def features(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    d = 16
    mix = rng.normal(size=(d, d)) / np.sqrt(d)
    return {
        "real": rng.normal(size=(600, d)) @ mix,
        "fake": rng.normal(size=(500, d)) @ mix * 1.1 + 0.2,
        "logits": rng.normal(size=(500, 20)) * 3.0,
    }


def t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a)  # float64: the references then compute in float64 too


def checks(f: dict[str, np.ndarray]) -> dict[str, list[float]]:
    real, fake = f["real"], f["fake"]
    out: dict[str, list[float]] = {}
    ref_fid = fid_statistics_to_metric(fid_features_to_statistics(t(real)), fid_features_to_statistics(t(fake)), False)
    out["fid"] = [fid_from_features(real, fake), ref_fid["frechet_inception_distance"]]
    for size in (100, 250):
        ref = kid_features_to_metric(t(fake), t(real), kid_subsets=20, kid_subset_size=size, rng_seed=7, verbose=False)
        mine = kid(real, fake, subsets=20, subset_size=size, seed=7)
        out[f"kid_mean_{size}"] = [mine[0], ref["kernel_inception_distance_mean"]]
        out[f"kid_std_{size}"] = [mine[1], ref["kernel_inception_distance_std"]]
    ref_is = isc_features_to_metric(t(f["logits"]), splits=10, shuffle=True, rng_seed=2020)
    mine_is = inception_score(softmax(f["logits"], axis=1), splits=10, seed=2020)
    out["is_mean"] = [mine_is[0], ref_is["inception_score_mean"]]
    out["is_std"] = [mine_is[1], ref_is["inception_score_std"]]
    ref_pr = prc_features_to_metric(
        t(fake), t(real), prc_neighborhood=3, prc_batch_size=10000, save_cpu_ram=False, verbose=False
    )
    mine_pr = precision_recall(real, fake, k=3, chunk_size=64)
    out["precision"] = [mine_pr[0], ref_pr["precision"]]
    out["recall"] = [mine_pr[1], ref_pr["recall"]]
    sigma = 3.0
    ref_mmd = kernel_mmd(fake[:500], real[:500], kid_kernel="rbf", kid_kernel_rbf_sigma=sigma)
    out["mmd_rbf"] = [gaussian_mmd2(real[:500], fake[:500], bandwidth=sigma, chunk_size=77)[0], float(ref_mmd)]
    return out


if __name__ == "__main__":
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    print(json.dumps(checks(features(seed))))
