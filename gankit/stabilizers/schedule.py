"""Learning-rate decay of every optimizer over the run (a late-training stabilizer: G and D settle)."""

from __future__ import annotations

import math

from gankit.train.trainer import HookBase


def decay_factor(kind: str, step: int, total: int, floor: float = 0.0) -> float:
    """Multiplier of the base lr at `step` of `total`: 1 for 'none'; linear or cosine from 1 down to `floor`."""
    frac = min(max(step / max(total, 1), 0.0), 1.0)
    shapes = {"none": lambda f: 1.0, "linear": lambda f: 1.0 - f, "cosine": lambda f: 0.5 * (1.0 + math.cos(math.pi * f))}
    return floor + (1.0 - floor) * shapes[kind](frac)


class LRDecayHook(HookBase):
    """Sets each optimizer's lr from the step before every step (so resuming needs no extra state)."""

    def __init__(self, kind: str, floor: float = 0.0):
        self.kind, self.floor = kind, floor

    def _apply(self) -> None:
        t = self.trainer
        base = {"G": t.cfg.train.g_lr, "E": t.cfg.train.g_lr, "D": t.cfg.train.d_lr, "D2": t.cfg.train.d_lr}
        f = decay_factor(self.kind, t.step, t.cfg.train.steps, self.floor)
        for name, opt in t.optims.items():
            for group in opt.param_groups:
                group["lr"] = base.get(name, group["lr"]) * f

    def before_train(self) -> None:
        self._apply()

    def after_step(self) -> None:
        self._apply()
