"""Latent-space tools after the DCGAN paper (Radford et al. 2016, sections 6.1-6.3).

* interpolation: linear (lerp) and spherical (slerp, White 2016) strips between seeded codes;
* vector arithmetic: mean codes of chosen samples combined as ``A - B + C`` ("smiling woman - woman + man");
* concept removal: a logistic regression from G's intermediate unit activations (spatially averaged) to a
  concept, then every unit with a positive weight (or the top k) is zeroed at that layer.

Every function takes an optional label tensor ``y`` for conditional generators (G(z, y)).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from gankit.errors import GankitError

# ----------------------------------------------------------------------------- interpolation


def lerp(z0: Tensor, z1: Tensor, t: Tensor) -> Tensor:
    """(1 - t) z0 + t z1 for every t: (S,) -> (S, d)."""
    t = t.reshape(-1, 1).to(z0.dtype)
    return (1 - t) * z0 + t * z1


def slerp(z0: Tensor, z1: Tensor, t: Tensor, eps: float = 1e-6) -> Tensor:
    """Spherical interpolation sin((1-t)W)/sin(W) z0 + sin(tW)/sin(W) z1, W = angle(z0, z1); (S,) -> (S, d).

    Unit-norm endpoints give unit-norm points; (nearly) parallel endpoints fall back to lerp."""
    t = t.reshape(-1, 1).to(z0.dtype)
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega.abs() < eps or (torch.pi - omega).abs() < eps:
        return lerp(z0, z1, t)
    s = torch.sin(omega)
    return torch.sin((1 - t) * omega) / s * z0 + torch.sin(t * omega) / s * z1


INTERPOLATORS: dict[str, Callable[[Tensor, Tensor, Tensor], Tensor]] = {"lerp": lerp, "slerp": slerp}


def interpolation_codes(z0: Tensor, z1: Tensor, steps: int, mode: str = "slerp") -> Tensor:
    """Rows of `steps` codes from z0[r] to z1[r] (endpoints included): (R, d) x2 -> (R * steps, d)."""
    if mode not in INTERPOLATORS:
        raise GankitError(f"unknown interpolation mode {mode!r}; valid: {', '.join(INTERPOLATORS)}")
    if steps < 2:
        raise GankitError(f"an interpolation needs at least 2 steps, got {steps}")
    t = torch.linspace(0.0, 1.0, steps)
    return torch.cat([INTERPOLATORS[mode](a, b, t) for a, b in zip(z0, z1)])


def seeded_codes(n: int, z_dim: int, seed: int) -> Tensor:
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def decode(G: nn.Module, z: Tensor, y: Tensor | None = None, batch_size: int = 256) -> Tensor:
    """G(z) or G(z, y) in eval mode, batched, on the CPU."""
    was = G.training
    G.eval()
    dev = next(G.parameters()).device
    out = []
    for s in range(0, len(z), batch_size):
        zb = z[s:s + batch_size].to(dev)
        out.append((G(zb) if y is None else G(zb, y[s:s + batch_size].to(dev))).cpu())
    G.train(was)
    return torch.cat(out)


def interpolation_strips(G: nn.Module, rows: int, steps: int, mode: str = "slerp", seed: int = 0,
                         y: Tensor | None = None) -> Tensor:
    """`rows` strips of `steps` images each; strip r goes from code 2r to code 2r+1 of `seed`.
    `y` (rows,) gives each strip's class for a conditional G."""
    z = seeded_codes(2 * rows, G.z_dim, seed)
    codes = interpolation_codes(z[0::2], z[1::2], steps, mode)
    labels = None if y is None else y.repeat_interleave(steps)
    return decode(G, codes, labels)


# ----------------------------------------------------------------------------- vector arithmetic


def parse_expression(expr: str) -> list[tuple[int, list[int]]]:
    """'3,7,12 - 5,9 + 1' -> [(+1, [3, 7, 12]), (-1, [5, 9]), (+1, [1])]: each term a group of sample indices."""
    text = expr.strip()
    if not re.fullmatch(r"[+-]?\s*\d+(\s*,\s*\d+)*(\s*[+-]\s*\d+(\s*,\s*\d+)*)*", text):
        raise GankitError(f"bad arithmetic expression {expr!r}; write groups of sample indices joined by + and -, "
                          "e.g. '3,7,12 - 5,9 + 1,4'")
    terms = []
    for sign, group in re.findall(r"([+-]?)\s*(\d+(?:\s*,\s*\d+)*)", text):
        terms.append((-1 if sign == "-" else 1, [int(i) for i in group.split(",")]))
    return terms


def average_code(z: Tensor, indices: Sequence[int]) -> Tensor:
    """Mean of the codes z[indices] (the DCGAN paper averages 3 exemplars per concept)."""
    bad = [i for i in indices if not 0 <= i < len(z)]
    if bad or not indices:
        raise GankitError(f"sample indices {bad or '[]'} are not in the pool 0..{len(z) - 1}")
    return z[list(indices)].mean(dim=0)


def code_arithmetic(z: Tensor, terms: Sequence[tuple[int, Sequence[int]]]) -> Tensor:
    """sum over terms of sign * mean(z[group])."""
    return torch.stack([sign * average_code(z, group) for sign, group in terms]).sum(dim=0)


def arithmetic_grid(G: nn.Module, z_pool: Tensor, terms: Sequence[tuple[int, Sequence[int]]], variants: int = 7,
                    noise: float = 0.25, seed: int = 0, y: int | None = None) -> Tensor:
    """Images: each term's mean code, then the result code and `variants` noisy copies (std `noise`)."""
    means = torch.stack([average_code(z_pool, group) for _, group in terms])
    result = code_arithmetic(z_pool, terms)
    jitter = noise * seeded_codes(variants, z_pool.shape[1], seed + 1)
    codes = torch.cat([means, result[None], result[None] + jitter])
    labels = None if y is None else torch.full((len(codes),), int(y), dtype=torch.long)
    return decode(G, codes, labels)


# ----------------------------------------------------------------------------- concept removal


def layer_names(G: nn.Module) -> list[str]:
    """Names of G's leaf modules (candidates for --layer)."""
    return [name for name, m in G.named_modules() if name and not list(m.children())]


def get_layer(G: nn.Module, name: str) -> nn.Module:
    modules = dict(G.named_modules())
    if not name or name not in modules:
        raise GankitError(f"generator has no layer {name!r}; valid layers: {', '.join(layer_names(G))}")
    return modules[name]


def default_layer(G: nn.Module) -> str:
    """The last ReLU: G's highest hidden features, right before the output layer."""
    relus = [name for name, m in G.named_modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise GankitError(f"generator has no ReLU layer; choose one with --layer from: {', '.join(layer_names(G))}")
    return relus[-1]


def _unit_means(out: Tensor) -> Tensor:
    """(N, C, H, W) -> (N, C) spatial means; (N, C) unchanged."""
    return out.mean(dim=tuple(range(2, out.dim()))) if out.dim() > 2 else out


@torch.no_grad()
def unit_activations(G: nn.Module, layer: str, z: Tensor, y: Tensor | None = None) -> Tensor:
    """Spatially averaged activations (N, units) of `layer` for codes z."""
    got: list[Tensor] = []
    handle = get_layer(G, layer).register_forward_hook(lambda m, i, o: got.append(_unit_means(o).detach().cpu()))
    try:
        decode(G, z, y)
    finally:
        handle.remove()
    return torch.cat(got)


@dataclass
class ConceptFit:
    coef: np.ndarray  # (units,) weights on standardised activations
    accuracy: float  # training accuracy of the logistic regression
    n_positive: int
    n_negative: int


def fit_concept(acts: np.ndarray, concept: np.ndarray, C: float = 1.0, seed: int = 0) -> ConceptFit:
    """Logistic regression (balanced classes, standardised inputs) from unit activations to a boolean concept."""
    from sklearn.linear_model import LogisticRegression

    x, t = np.asarray(acts, dtype=np.float64), np.asarray(concept, dtype=bool)
    n_pos = int(t.sum())
    if n_pos == 0 or n_pos == len(t):
        raise GankitError(f"the concept must have positive and negative samples; got {n_pos} of {len(t)} positive")
    x = (x - x.mean(0)) / (x.std(0) + 1e-8)
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=seed).fit(x, t)
    return ConceptFit(clf.coef_[0], float(clf.score(x, t)), n_pos, len(t) - n_pos)


def concept_units(coef: np.ndarray, top_k: int | None = None) -> list[int]:
    """Units with a positive weight (the paper's choice), largest first; at most `top_k`."""
    order = [int(i) for i in np.argsort(-coef) if coef[i] > 0]
    return order if top_k is None else order[:top_k]


@contextlib.contextmanager
def units_zeroed(G: nn.Module, layer: str, units: Sequence[int]) -> Iterator[None]:
    """Within the block, the chosen units (channels) of `layer`'s output are zero at every position."""
    idx = torch.as_tensor(list(units), dtype=torch.long)

    def hook(module: nn.Module, inputs, out: Tensor) -> Tensor:
        out = out.clone()
        out[:, idx.to(out.device)] = 0
        return out

    handle = get_layer(G, layer).register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def remove_concept(G: nn.Module, layer: str, units: Sequence[int], z: Tensor,
                   y: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """(images before, images after zeroing `units` of `layer`) for the same codes."""
    before = decode(G, z, y)
    with units_zeroed(G, layer, units):
        after = decode(G, z, y)
    return before, after
