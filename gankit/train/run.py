"""Set up a run from a config — data, networks, trainer, hooks, run directory — and train it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from gankit.config import Config, from_dict, to_dict
from gankit.data import build_dataset
from gankit.errors import CheckpointError, ConfigError
from gankit.monitor import MonitorHook
from gankit.stabilizers import build_stab_models, setup_trainer
from gankit.train import checkpoint as ck
from gankit.train.cond_steps import CondSampleHook
from gankit.train.hooks import CheckpointHook, LogHook, SampleHook
from gankit.train.steps import STEPS
from gankit.train.trainer import Trainer, resolve_device


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
    cond = cfg.model.cond != "none"
    models = build_stab_models(cfg, dataset.shape, dataset.num_classes if dataset.y is not None else None)
    step = STEPS["conditional" if cond else "unconditional"]
    trainer = Trainer(cfg, run_dir, dataset, models, step, device)
    setup_trainer(trainer)  # optimizers of extra models (MRGAN), the EMA hook, MAD-GAN's step
    if hooks:
        lg = cfg.log
        trainer.register(LogHook(lg.log_every, lg.progress, lg.tensorboard),
                         (CondSampleHook if cond else SampleHook)(lg.sample_every, lg.n_grid),
                         CheckpointHook(lg.ckpt_every))
        if cfg.stab.monitor:  # warnings with advice: D loss ~0, G falls while D rises, low diversity, NaN/Inf
            trainer.register(MonitorHook(every=lg.sample_every or 500))
        if lg.eval_every > 0:  # FID (or cfg.log.eval_metrics) during training, logged and plotted
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
