"""Test-set negative log-likelihood of the likelihood families (`gankit eval RUN --metrics nll`).

- pixelcnn: the exact NLL, -log p(x);
- vae: the importance-weighted bound (Burda et al. 2016) with model.iwae_k samples, an upper bound on -log p(x)
  (reported as `nll_iwae`), and the negative ELBO (`nelbo`, one z per image) beside it.
Both in nats per image and bits per dimension (the discrete likelihood of the images' 256 levels, or of the
binary pixels on binarised data); VAE-GAN and the GANs define no likelihood and are refused.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from gankit.errors import ConfigError

FAMILIES = ("vae", "pixelcnn")


def held_out_images(cfg: Any, split: str, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    from gankit.data import build_dataset

    ds = build_dataset(replace(cfg.data, split=split, limit=n))
    return ds.x, ds.y


@torch.no_grad()
def nll(models: dict[str, nn.Module], cfg: Any, split: str = "test", n: int = 10000, seed: int = 0,
        batch_size: int = 250) -> dict[str, float]:
    """{"nll_nats", "bits_per_dim", ...} averaged over the first n images of `split`."""
    family = cfg.model.family
    if family not in FAMILIES:
        raise ConfigError(f"--metrics nll is defined for {' and '.join(FAMILIES)} runs, not model.family={family} "
                          "(no likelihood)")
    x, y = held_out_images(cfg, split, n)
    gen = torch.Generator().manual_seed(seed)
    totals: dict[str, float] = {}
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size]
        yb = y[start:start + batch_size] if y is not None else None
        for key, value in _batch_terms(family, models, cfg, xb, yb, gen).items():
            totals[key] = totals.get(key, 0.0) + float(value.sum())
    dims = x[0].numel()
    out = {key: v / len(x) for key, v in totals.items()}
    main = "nll_iwae" if family == "vae" else "nll"
    out.update(nll_nats=out[main], bits_per_dim=out[main] / (dims * math.log(2)), n=len(x))
    return out


def _batch_terms(family: str, models, cfg, x, y, gen) -> dict[str, torch.Tensor]:
    if family == "pixelcnn":
        from gankit.families.pixelcnn import log_likelihood

        net = models["net"]
        dev = next(net.parameters()).device
        return {"nll": -log_likelihood(net, x.to(dev), y.to(dev) if y is not None else None).cpu()}
    from gankit.families.vae import elbo_terms, iwae_bound, model_fns

    dev = next(models["enc"].parameters()).device
    x = x.to(dev)
    encode, log_lik = model_fns(models, cfg.model.likelihood)
    log_px_z, kl = elbo_terms(encode, log_lik, x, gen)
    return {"nll_iwae": -iwae_bound(encode, log_lik, x, cfg.model.iwae_k, gen).cpu(), "nelbo": (kl - log_px_z).cpu()}
