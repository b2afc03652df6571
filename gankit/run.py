"""Set up a run from a config — data, the family's modules and phases, trainer, hooks, run directory — and train it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from gankit.config import Config, to_dict
from gankit.core import checkpoint as ck
from gankit.core.hooks import CheckpointHook, LogHook, LRDecayHook, SampleHook
from gankit.core.loop import Trainer, resolve_device
from gankit.data import build_dataset
from gankit.errors import CheckpointError, ConfigError
from gankit.families.registry import family_of, from_dict
from gankit.monitor import MonitorHook


def new_run_dir(cfg: Config) -> Path:
    """runs/<name>; a name given explicitly must not exist yet (nothing is ever overwritten)."""
    out = Path(cfg.log.out_dir)
    if cfg.log.name:
        run_dir = out / cfg.log.name
        if run_dir.exists() and any(run_dir.iterdir()):
            raise ConfigError(f"run directory {run_dir} already exists; use --resume {run_dir} to continue it "
                              "or choose another --log.name")
        return run_dir
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = out / f"{cfg.preset}-{stamp}"
    i = 1
    while run_dir.exists():
        i += 1
        run_dir = out / f"{cfg.preset}-{stamp}-{i}"
    return run_dir


def load_run_config(run_dir: Path) -> Config:
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{path}: missing; {run_dir} is not a gankit run directory")
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: unreadable run config ({e})") from None
    return from_dict(data)


def build_trainer(cfg: Config, run_dir: Path, hooks: bool = True) -> Trainer:
    """Everything a run needs, seeded from cfg.train.seed (network initialisation included)."""
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    device = resolve_device(cfg.train.device)
    torch.manual_seed(cfg.train.seed)
    dataset = build_dataset(cfg.data)
    setup = family_of(cfg).build(cfg, dataset.spec)  # its own hooks (e.g. EMA) come first
    trainer = Trainer(cfg, run_dir, dataset, setup, device)
    if cfg.stab.lr_decay != "none":
        trainer.register(LRDecayHook(cfg.stab.lr_decay, cfg.stab.lr_decay_floor))
    if hooks:
        lg = cfg.log
        trainer.register(LogHook(lg.log_every, lg.progress, lg.tensorboard), SampleHook(lg.sample_every, lg.n_grid),
                         CheckpointHook(lg.ckpt_every))
        if cfg.stab.monitor:  # warnings with advice: D loss ~0, G falls while D rises, low diversity, NaN/Inf
            trainer.register(MonitorHook(every=lg.sample_every or 500))
        if lg.eval_every > 0 or lg.eval_at_end:  # FID (or cfg.log.eval_metrics), logged and plotted
            from gankit.metrics.hook import eval_hook_from_config

            trainer.register(eval_hook_from_config(cfg))
    return trainer


def train(cfg: Config, resume: Path | None = None) -> tuple[str, Trainer]:
    """Train a new run, or continue the run at `resume` from its newest checkpoint."""
    if resume is not None:
        run_dir = Path(resume)
        ck.load_checkpoint(run_dir)  # fail early, before anything is touched
    else:
        run_dir = new_run_dir(cfg)
    trainer = build_trainer(cfg, run_dir)
    if resume is not None:
        trainer.resume(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ck.atomic_write_json(run_dir / "config.json", to_dict(cfg))
    status = trainer.train()
    return status, trainer
