"""Rejection samplers the MoG bench scores a trained run with, besides plain sampling (rows '<recipe>+<name>').

Each one estimates log p_data / p_G on the run's training data, then keeps G_ema's samples with
probability exp(logit - D_max) (`gankit.drs.drs_sample`, gamma = 0: no extra sharpening):

- `drs`: the run's own discriminator, trained further against the frozen G (Azadi et al. 2019);
- `drs-rff`: a fresh classifier with random Fourier features (`gankit.ratio.fit_ratio_classifier`),
  D_max the 99th percentile of the burn-in logits (its largest logits are outliers).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from gankit import drs, ratio

DRS_CALIBRATE = drs.CALIBRATE_STEPS  # D steps (Adam 1e-4) on real data vs the frozen G_ema before rejection sampling
RFF_STEPS = ratio.STEPS  # steps of the fresh ratio classifier (Adam 1e-3 decayed to 0, batch 512 + 512)
RFF_QUANTILE = ratio.D_MAX_QUANTILE
FAILED = {"modes_captured": 0.0, "high_quality_pct": 0.0, "reverse_kl": float("inf")}  # the metrics of a failed run


@dataclass(frozen=True)
class Sampler:
    label: str  # appended to the recipe's label
    explain: str  # the report's paragraph on how these rows were made
    classifier: Callable[[Any, Any, int], Any]  # (trainer, G, seed) -> the log-ratio model
    d_max_quantile: float = 1.0


def _calibrated_d(trainer, G, seed: int):
    return drs.calibrate(trainer.models["D"], G, trainer.dataset.x, steps=DRS_CALIBRATE, seed=seed)


def _fresh_rff(trainer, G, seed: int):
    return ratio.fit_ratio_classifier(G, trainer.dataset.x, steps=RFF_STEPS, seed=seed)


SAMPLERS: dict[str, Sampler] = {
    "drs": Sampler(
        f"then discriminator rejection sampling (D calibrated {DRS_CALIBRATE:,} steps)",
        "`+drs` rows score the same trained runs as the plain row, sampled with discriminator rejection sampling "
        "(Azadi et al. 2019, `gankit.drs`, `gankit sample --drs`): a copy of D is trained "
        f"{DRS_CALIBRATE:,} more steps (Adam 1e-4, logistic loss) on the data against the frozen G_ema, then each "
        "PacGAN pack of G_ema's samples is kept with probability exp(D - D_max) (gamma = 0: exact rejection "
        "sampling, no extra sharpening). Its s/run includes training.",
        _calibrated_d),
    "drs-rff": Sampler(
        "then rejection sampling with a fresh Fourier-feature ratio classifier",
        "`+drs-rff` rows score the same trained runs with rejection sampling by a *fresh* density-ratio classifier "
        "(`gankit.ratio.fit_ratio_classifier`, `gankit sample --drs --drs-classifier rff`; the density-ratio "
        "trick as in Grover et al. 2019): inputs standardised by the data's mean/std, 256 random Fourier features "
        f"(sigma {ratio.SIGMA:g}), an MLP of 2 x 256 (LeakyReLU 0.2), trained "
        f"{RFF_STEPS:,} steps with the logistic loss (Adam 1e-3 decayed linearly to 0, 512 real + 512 G_ema samples "
        "a step) against the frozen G_ema. Samples are kept with probability exp(C - C_max), C_max the "
        f"{RFF_QUANTILE:.0%} quantile of 10,000 burn-in logits (gamma = 0). Its s/run includes training.",
        _fresh_rff, RFF_QUANTILE),
}


def sampler_metrics(name: str, trainer, seed: int, n: int, sample_seed: int) -> dict[str, Any]:
    """Mode metrics of n samples of the trained run drawn with sampler `name`; a sampler that fails (e.g.
    D_max so high that nearly nothing is accepted, or non-finite logits) gives the failed-run metrics and its
    error, so one bad run does not stop the bench."""
    from gankit.errors import GankitError
    from gankit.metrics.modes import mode_metrics

    s = SAMPLERS[name]
    t0 = time.perf_counter()
    G = trainer.models.get("G_ema", trainer.models["G"]).eval()
    try:
        C = s.classifier(trainer, G, seed)
        res = drs.drs_sample(G, C, n, seed=sample_seed, d_max_quantile=s.d_max_quantile)
    except GankitError as e:
        return {**FAILED, "acceptance": 0.0, "seconds": time.perf_counter() - t0, "error": str(e)}
    ds = trainer.dataset.extra
    return {**mode_metrics(res.samples.double().numpy(), ds["centers"], ds["std"]), "acceptance": res.acceptance,
            "rate": res.rate, "seconds": time.perf_counter() - t0}
