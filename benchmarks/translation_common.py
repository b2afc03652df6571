"""Shared by the translation benchmarks: train one row (a preset plus overrides) in a temporary run directory."""

from __future__ import annotations

import resource
import tempfile
import time
from contextlib import contextmanager
from typing import Any, Iterator

QUIET = {"log.progress": False, "log.tensorboard": False, "log.sample_every": 0, "stab.monitor": False}


@contextmanager
def trained(preset: str, overrides: dict[str, Any], steps: int, seed: int, threads: int = 2) -> Iterator[dict]:
    """Train `preset` with `overrides` for `steps` steps; yields {"trainer", "cfg", "train_s", "s_per_step",
    "status", "peak_rss_mb"}; the run directory is deleted afterwards."""
    from gankit.families.registry import apply_overrides
    from gankit.presets import preset_config
    from gankit.run import train

    over = {**overrides, **QUIET, "train.steps": steps, "train.seed": seed, "train.threads": threads,
            "log.ckpt_every": steps}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = apply_overrides(preset_config(preset), {**over, "log.out_dir": tmp, "log.name": "run"})
        t0 = time.perf_counter()
        status, trainer = train(cfg)
        seconds = time.perf_counter() - t0
        yield {"trainer": trainer, "cfg": cfg, "train_s": seconds, "s_per_step": seconds / steps, "status": status,
               "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
