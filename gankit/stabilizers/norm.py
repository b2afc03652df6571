"""Spectral normalization (Miyato et al. 2018) of every Linear/Conv layer of a network."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

_LAYERS = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


def apply_spectral_norm(module: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    """Parametrize the weight of each Linear/Conv2d/ConvTranspose2d in `module` by W / sigma(W), in place."""
    for m in list(module.modules()):
        if isinstance(m, _LAYERS) and not _is_parametrized(m):
            dim = 1 if isinstance(m, nn.ConvTranspose2d) else 0
            spectral_norm(m, n_power_iterations=n_power_iterations, dim=dim)
    return module


def _is_parametrized(m: nn.Module) -> bool:
    return hasattr(m, "parametrizations") and "weight" in m.parametrizations


@torch.no_grad()
def largest_singular_value(weight: torch.Tensor, dim: int = 0) -> float:
    """sigma_max of `weight` reshaped to a matrix with `dim` as rows (as spectral norm sees it)."""
    w = weight.movedim(dim, 0).reshape(weight.shape[dim], -1)
    return float(torch.linalg.matrix_norm(w, ord=2))
