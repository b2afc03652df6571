"""What a model family declares; gankit.families.registry lists them by name.

A family is one module (gankit/families/NAME.py) that owns its model-config section, its networks, its
phases and losses, how it samples and how its progress is drawn. The loop only runs what `build` returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from torch import Tensor, nn

from gankit.core.phases import Setup
from gankit.core.spec import DataSpec


@dataclass(frozen=True)
class Family:
    name: str
    config: type  # the dataclass of the `model` section (its first field is `family`)
    validate: Callable[[Any], None]  # ConfigError for values/combinations the family does not support
    build: Callable[[Any, DataSpec], Setup]  # modules, optimizers, phases, hooks, sampling, preview
    models: Callable[[Any, DataSpec], dict[str, nn.Module]]  # just the modules (to load a checkpoint)
    sample: Callable[..., Tensor]  # sample(models, n, seed, **inputs) -> samples in the data's space
    description: str = ""
