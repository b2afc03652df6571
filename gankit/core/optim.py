"""Optimizers from config values, and learning-rate schedules that work for optimizers of any name."""

from __future__ import annotations

import math

import torch

from gankit.errors import ConfigError

OPTIMIZERS = ("adam", "sgd", "rmsprop")


def make_optimizer(kind: str, params, lr: float, cfg) -> torch.optim.Optimizer:
    """`cfg` supplies beta1, beta2 (Adam) and momentum (SGD)."""
    factories = {
        "adam": lambda: torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2)),
        "sgd": lambda: torch.optim.SGD(params, lr=lr, momentum=cfg.momentum),
        "rmsprop": lambda: torch.optim.RMSprop(params, lr=lr),
    }
    if kind not in factories:
        raise ConfigError(f"unknown optimizer '{kind}'; valid: {', '.join(factories)}")
    return factories[kind]()


def decay_factor(kind: str, step: int, total: int, floor: float = 0.0) -> float:
    """Multiplier of the base lr at `step` of `total`: 1 for 'none'; linear or cosine from 1 down to `floor`."""
    frac = min(max(step / max(total, 1), 0.0), 1.0)
    shapes = {"none": lambda f: 1.0, "linear": lambda f: 1.0 - f, "cosine": lambda f: 0.5 * (1.0 + math.cos(math.pi * f))}
    return floor + (1.0 - floor) * shapes[kind](frac)


def base_lrs(optims: dict[str, torch.optim.Optimizer]) -> dict[str, list[float]]:
    """Each optimizer's per-group lr as configured (read before any schedule or checkpoint changes it)."""
    return {name: [float(g["lr"]) for g in opt.param_groups] for name, opt in optims.items()}


def set_lrs(optims: dict[str, torch.optim.Optimizer], base: dict[str, list[float]], factor: float) -> None:
    """lr = base * factor for every group of every optimizer (never compounding)."""
    for name, opt in optims.items():
        for group, lr in zip(opt.param_groups, base[name]):
            group["lr"] = lr * factor
