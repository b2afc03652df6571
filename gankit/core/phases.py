"""Phases: the named updates a model family's training step is made of.

A phase says which optimizers it steps, how often, and what it minimises: `loss(batch, ctx)` returns
(loss tensor, {name: scalar}). The loop zeroes the phase's optimizers, back-propagates, steps them
and calls `after` (e.g. weight clipping). Phases of one step share `ctx.scratch` (e.g. a G phase
reusing the fakes of the last D repeat) and run in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor, nn

Scalars = dict[str, Any]  # float or 0-dim tensor values


@dataclass
class StepContext:
    """What a phase's loss may use besides its batch."""

    models: dict[str, nn.Module]
    optims: dict[str, torch.optim.Optimizer]
    step: int  # the step being taken (0 for the first)
    noise: torch.Generator  # the run's own generator for latent codes (checkpointed)
    device: torch.device
    repeat: int = 0  # index of this repeat of the phase
    repeats: int = 1
    scratch: dict[str, Any] = field(default_factory=dict)

    @property
    def last_repeat(self) -> bool:
        return self.repeat == self.repeats - 1


LossFn = Callable[[dict[str, Tensor], StepContext], tuple[Tensor, Scalars]]


@dataclass
class Phase:
    name: str
    optims: tuple[str, ...]
    loss: LossFn
    repeats: int = 1  # updates per step (e.g. n_critic)
    interval: int = 1  # run on steps where step % interval == 0
    new_batch: bool = True  # draw a fresh batch per repeat; False reuses the step's last batch
    after: Callable[[], None] | None = None
    active: Callable[[int], bool] | None = None  # a schedule: run only on steps where active(step) (e.g. pretraining)


@dataclass
class Setup:
    """What a family's `build` hands the trainer.

    `sample(n, seed, inputs)` returns n samples in the data's main field's space (for evaluation and monitoring:
    eval mode, averaged weights where there are some; `inputs` holds the first n samples of every field, for
    families that translate inputs); `preview(path, title, batch)` draws the run's progress picture from the
    first samples of the data set (`batch`, a dict of fields)."""

    models: dict[str, nn.Module]
    optims: dict[str, torch.optim.Optimizer]
    phases: list[Phase]
    hooks: list[Any] = field(default_factory=list)
    sample: Callable[..., Tensor] | None = None
    preview: Callable[[Path, str, dict[str, Tensor]], None] | None = None
    scalar_groups: dict[str, list[str]] = field(default_factory=dict)  # panels of the loss-curve figure
    meta: dict[str, Any] = field(default_factory=dict)  # JSON facts for checkpoints (e.g. num_classes)
    init: Callable[[], None] | None = None  # weights from elsewhere (model.init_from): a fresh run only; a resume
    #                                         loads its own checkpoint instead, so the source need not still exist
