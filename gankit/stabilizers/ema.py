"""Exponential moving average of a module's weights (Yazici et al. 2019; Karras et al. 2018)."""

from __future__ import annotations

import copy

import torch
from torch import nn

from gankit.core.loop import HookBase


def make_ema(module: nn.Module) -> nn.Module:
    """A frozen copy of `module` to hold the average."""
    ema = copy.deepcopy(module)
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model for parameters; buffers (e.g. BN statistics) are copied."""
    for pe, pm in zip(ema.parameters(), model.parameters()):
        pe.lerp_(pm.detach(), 1.0 - decay)
    for be, bm in zip(ema.buffers(), model.buffers()):
        be.copy_(bm)


class EMAHook(HookBase):
    """After every step: `ema` copies `source` up to step `start`, then averages with `decay`."""

    def __init__(self, ema: nn.Module, source: nn.Module, decay: float, start: int = 0):
        self.ema, self.source, self.decay, self.start = ema, source, decay, start

    def after_step(self) -> None:
        t = self.trainer
        if t.status != "running" and t.status != "interrupted":
            return
        decay = 0.0 if t.step <= self.start else self.decay
        ema_update(self.ema, self.source, decay)
