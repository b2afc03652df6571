"""Set up a run from a config — data, the family's modules and phases, trainer, hooks, run directory — and train it.

Everything is built and checked before the run directory is touched; one process at a time writes to a run
directory (RunLock); a resume may change only the keys in RESUMABLE (the changes are applied to the
optimizers for real and recorded in RUN_DIR/config_changes.jsonl)."""

from __future__ import annotations

import json
import time
import warnings
from contextlib import nullcontext
from pathlib import Path

import torch

from gankit.config import Config, to_dict
from gankit.core import checkpoint as ck
from gankit.core.hooks import CheckpointHook, LogHook, LRDecayHook, SampleHook
from gankit.core.dist import World, barrier, broadcast_text, rank_device, shutdown, world_from_env
from gankit.core.lock import RunLock
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


def build_trainer(cfg: Config, run_dir: Path, hooks: bool = True, fresh: bool = True) -> Trainer:
    """Everything a run needs, seeded from cfg.train.seed (network initialisation included). `fresh`: the run
    starts here, so the family's starting weights from elsewhere (Setup.init) are loaded; a resume skips them."""
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    world, device = run_world(cfg)
    torch.manual_seed(cfg.train.seed)  # the same initial modules on every rank
    dataset = build_dataset(cfg.data)
    setup = family_of(cfg).build(cfg, dataset.spec)  # its own hooks (e.g. EMA) come first
    if fresh and setup.init is not None:
        setup.init()
    if world.rank:  # dropout masks and other draws from the global generator differ per rank
        torch.manual_seed(cfg.train.seed + 1_000_003 * world.rank)
    trainer = Trainer(cfg, run_dir, dataset, setup, device, world)
    if cfg.stab.lr_decay != "none":
        trainer.register(LRDecayHook(cfg.stab.lr_decay, cfg.stab.lr_decay_floor))
    if hooks:
        lg = cfg.log
        if world.main:  # logs, pictures, warnings and evaluation: rank 0 only
            trainer.register(LogHook(lg.log_every, lg.progress, lg.tensorboard),
                             SampleHook(lg.sample_every, lg.n_grid))
            if cfg.stab.monitor:  # warnings with advice: D loss ~0, G falls while D rises, low diversity, NaN/Inf
                trainer.register(MonitorHook(every=lg.sample_every or 500))
            if lg.eval_every > 0 or lg.eval_at_end:  # FID (or cfg.log.eval_metrics), logged and plotted
                from gankit.metrics.hook import eval_hook_from_config

                trainer.register(eval_hook_from_config(cfg))
        # every rank (they gather their generators' states into it), last: it holds everything logged up to its step
        trainer.register(CheckpointHook(lg.ckpt_every))
    return trainer


def run_world(cfg: Config) -> tuple[World, torch.device]:
    """This process's place in a torchrun job (a single process: rank 0 of 1) and its device."""
    device = resolve_device(cfg.train.device)
    world = world_from_env(device.type)
    return world, rank_device(device, world)


# keys a resume may change; every other difference from the checkpoint's config is refused
RESUMABLE = ("train.steps", "train.g_lr", "train.d_lr", "train.threads", "train.device", "data.root",
             "data.cache_dir", "data.download", "stab.monitor", "log.")


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def resume_changes(saved: Config, cfg: Config) -> list[tuple[str, object, object]]:
    """(key, old, new) for every key that differs; ConfigError naming those that a resume may not change."""
    old, new = _flat(to_dict(saved)), _flat(to_dict(cfg))
    diff = [(k, old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    fixed = [d for d in diff if not any(d[0] == r or (r.endswith(".") and d[0].startswith(r)) for r in RESUMABLE)]
    if fixed:
        listed = ", ".join(f"{k} {a!r} -> {b!r}" for k, a, b in fixed)
        raise ConfigError(f"a resume cannot change {listed} (they define the run; start a new run instead). "
                          f"Keys that may change: {', '.join(r.rstrip('.') + ('.*' if r.endswith('.') else '') for r in RESUMABLE)}")
    return diff


def _record_changes(run_dir: Path, step: int, changes: list) -> None:
    path = run_dir / "config_changes.jsonl"
    with open(path, "a") as f:
        for key, old, new in changes:
            f.write(json.dumps({"step": step, "time": time.time(), "key": key, "from": old, "to": new}) + "\n")
            if not key.startswith("log."):
                print(f"resume: {key} {old!r} -> {new!r} from step {step} (recorded in {path.name})", flush=True)


def _make_dir(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create the run directory {run_dir} ({e.strerror or e}); "
                          "choose another --log.out_dir") from None


def train(cfg: Config, resume: Path | None = None) -> tuple[str, Trainer]:
    """Train a new run, or continue the run at `resume` from its newest checkpoint."""
    world, device = run_world(cfg)
    if resume is not None:
        run_dir = Path(resume)
        changes = resume_changes(from_dict(ck.load_checkpoint(run_dir)[1]["config"]), cfg)  # fail early
    else:  # rank 0 names it (a timestamp), the others take that name
        run_dir, changes = Path(broadcast_text(str(new_run_dir(cfg)) if world.main else "", world, device)), []
    trainer = build_trainer(cfg, run_dir, fresh=resume is None)  # all checked before anything is written
    if world.main:
        _make_dir(run_dir)
    with RunLock(run_dir) if world.main else nullcontext():  # rank 0 holds the lock for the job
        if resume is not None:
            _resume(trainer, run_dir, changes)
        if world.main:
            ck.atomic_write_json(run_dir / "config.json", to_dict(cfg))
        barrier(world)
        status = trainer.train()
    shutdown(world)
    return status, trainer


def _resume(trainer: Trainer, run_dir: Path, changes: list) -> None:
    """Under the lock: clear what killed runs left, say which checkpoint resumes, load it, record changes."""
    main = trainer.world.main
    if main:
        notice = ck.describe_resume(run_dir)  # before the cleaning removes what it describes
        if notice:
            warnings.warn(notice, RuntimeWarning, stacklevel=3)
        for path in ck.clean_leftovers(run_dir / "ckpt") + ck.clean_leftovers(run_dir):
            print(f"resume: removed {path.name} (left by an interrupted write)", flush=True)
    barrier(trainer.world)
    trainer.resume(run_dir)
    if main:
        _record_changes(run_dir, trainer.step, changes)
