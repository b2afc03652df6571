"""`gankit augment`: does a class-conditional GAN trained on a small labelled set help a classifier trained on it?

One labelled subset (``--data.per_class=N --data.subset_seed=S``), one class-conditional GAN trained on exactly
that subset (a conditional preset, e.g. cgan-fashion, through the normal trainer; or an existing run with
``--gan-run``), then the same small CNN trained for the same number of steps from the same seeds in four arms:

* ``real``: the real subset only;
* ``standard``: the real subset with random horizontal flips and crops (pad ``shift`` px, crop back: shifts);
* ``gan``: every batch mixes real images and cGAN samples at the ratio ``--mix REAL:GEN``; a generated image's
  label is the class G was asked for;
* ``both``: the mixed batches, flipped and cropped.

Each arm is scored by its top-1 accuracy on the whole test split (10,000 images for Fashion-MNIST).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import ConfigError

ARMS = ("real", "standard", "gan", "both")
GAN_ARMS = ("gan", "both")
AUGMENTED_ARMS = ("standard", "both")


@dataclass
class ClassifierSettings:
    """The classifier and its training, the same in every arm (only the batches differ)."""

    steps: int = 400  # optimizer steps (a fixed count, so every arm gets the same compute)
    batch_size: int = 64
    lr: float = 2e-3  # AdamW, cosine decay to zero
    weight_decay: float = 1e-4
    width: int = 16  # FashionCNN channels of the first block (16, 32, 64)
    shift: int = 2  # standard augmentation: translations up to +-shift px (pad, random crop)
    threads: int = 1  # torch CPU threads (bit-exact reruns need the same count)

    def check(self) -> None:
        for key in ("steps", "batch_size", "width", "threads"):
            if getattr(self, key) < 1:
                raise ConfigError(f"augment: --{key.replace('_', '-')} must be at least 1, got {getattr(self, key)}")
        if self.lr <= 0 or self.weight_decay < 0 or self.shift < 0:
            raise ConfigError(f"augment: lr must be > 0, weight decay and shift >= 0 (got {self.lr}, "
                              f"{self.weight_decay}, {self.shift})")


def parse_mix(text: str) -> tuple[int, int]:
    """'1:1' -> (1, 1): parts of real and generated images in every batch of the GAN arms."""
    parts = str(text).split(":")
    try:
        real, gen = (int(p) for p in parts) if len(parts) == 2 else (-1, -1)
    except ValueError:
        real, gen = -1, -1
    if real < 0 or gen < 0 or real + gen == 0:
        raise ConfigError(f"--mix: expected REAL:GENERATED with non-negative integers, not both 0 (e.g. 1:1, 3:1), "
                          f"got {text!r}")
    return real, gen


def batch_split(batch_size: int, mix: tuple[int, int]) -> tuple[int, int]:
    """(real, generated) images of one batch for the ratio `mix`; generated = round(batch * gen / (real + gen))."""
    real, gen = mix
    n_gen = int(math.floor(batch_size * gen / (real + gen) + 0.5))
    if real and gen and n_gen in (0, batch_size):  # a batch too small for the ratio still gets both kinds
        n_gen = 1 if n_gen == 0 else batch_size - 1
    return batch_size - n_gen, n_gen


class Cycler:
    """Indices 0..n-1 in seeded random order, epoch after epoch (a new order every epoch)."""

    def __init__(self, n: int, gen: torch.Generator):
        self.n, self.gen, self.order, self.pos = n, gen, torch.empty(0, dtype=torch.long), 0

    def take(self, k: int) -> torch.Tensor:
        out = []
        while k > 0:
            if self.pos == len(self.order):
                self.order, self.pos = torch.randperm(self.n, generator=self.gen), 0
            part = self.order[self.pos:self.pos + k]
            out.append(part)
            self.pos, k = self.pos + len(part), k - len(part)
        return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


def flip_and_crop(x: torch.Tensor, gen: torch.Generator, shift: int = 2) -> torch.Tensor:
    """Standard augmentation: each image flipped left-right with probability 1/2, then padded by `shift` px
    with the background value (-1) and cropped back to its size at a random offset."""
    flip = torch.rand(len(x), generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    if shift == 0:
        return x
    h, w = x.shape[-2:]
    padded = F.pad(x, (shift, shift, shift, shift), value=-1.0)
    dy, dx = (torch.randint(0, 2 * shift + 1, (2, len(x)), generator=gen)).tolist()
    return torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(len(x))])


@torch.no_grad()
def generated_pool(G: nn.Module, n: int, num_classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n samples of the conditional G with balanced labels (0, 1, ..., K-1, 0, ...); the labels returned are the
    ones G was conditioned on."""
    from gankit.sample import generate

    labels = torch.arange(n) % num_classes
    return generate(G, n, seed=seed, labels=labels).clamp(-1, 1), labels


def make_batch(real: tuple[torch.Tensor, torch.Tensor], pool: tuple[torch.Tensor, torch.Tensor] | None,
               cyclers: tuple[Cycler, Cycler | None], split: tuple[int, int], augment: bool, gen: torch.Generator,
               shift: int = 2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One training batch: split[0] real and split[1] generated images (and labels), flipped and cropped when
    `augment`; also a bool mask of the generated rows."""
    idx_r = cyclers[0].take(split[0])
    xs, ys = [real[0][idx_r]], [real[1][idx_r]]
    if split[1]:
        idx_g = cyclers[1].take(split[1])
        xs.append(pool[0][idx_g])
        ys.append(pool[1][idx_g])
    x, y = torch.cat(xs), torch.cat(ys)
    is_gen = torch.arange(len(x)) >= split[0]
    return (flip_and_crop(x, gen, shift) if augment else x), y, is_gen


def new_classifier(s: ClassifierSettings, seed: int) -> nn.Module:
    from gankit.metrics.fashion_cnn import FashionCNN

    torch.manual_seed(seed)
    return FashionCNN(width=s.width)


def train_arm(arm: str, real: tuple[torch.Tensor, torch.Tensor], pool: tuple[torch.Tensor, torch.Tensor] | None,
              s: ClassifierSettings, seed: int, mix: tuple[int, int] = (1, 1)) -> nn.Module:
    """The classifier of `arm` after s.steps AdamW steps; init, batch order and augmentation drawn from `seed`
    (the same initial weights in every arm)."""
    if arm not in ARMS:
        raise ConfigError(f"augment: unknown arm {arm!r}; choose from {', '.join(ARMS)}")
    gan = arm in GAN_ARMS
    if gan and pool is None:
        raise ConfigError(f"augment: arm {arm!r} needs generated samples")
    split = batch_split(s.batch_size, mix) if gan else (s.batch_size, 0)
    if split[0] and len(real[0]) == 0:
        raise ConfigError("augment: the real training set is empty")
    old_threads = torch.get_num_threads()
    torch.set_num_threads(s.threads)
    try:
        model = new_classifier(s, seed).train()
        gen = torch.Generator().manual_seed(seed + 1)
        cyclers = (Cycler(len(real[0]), gen), Cycler(len(pool[0]), gen) if split[1] else None)
        opt = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
        for step in range(s.steps):
            for group in opt.param_groups:
                group["lr"] = 0.5 * s.lr * (1 + math.cos(math.pi * step / s.steps))
            x, y, _ = make_batch(real, pool, cyclers, split, arm in AUGMENTED_ARMS, gen, s.shift)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(old_threads)
    return model.eval()


# ---- the whole experiment ----------------------------------------------------------------------------
def _check_gan_config(cfg: Any, where: str) -> None:
    if cfg.model.family != "gan" or cfg.model.cond == "none":
        raise ConfigError(f"augment: {where} is not a class-conditional GAN (model.family={cfg.model.family}, "
                          f"model.cond={getattr(cfg.model, 'cond', None)}); use cgan-fashion, projection-fashion "
                          "or acgan-fashion")


def train_gan(cfg: Any) -> Path:
    """Train the conditional GAN of `cfg` (its data section holds the subset) with the normal trainer."""
    from gankit.run import train

    _check_gan_config(cfg, f"preset {cfg.preset}")
    status, trainer = train(cfg)
    if status != "finished":
        raise ConfigError(f"augment: the GAN run {trainer.run_dir} {status} at step {trainer.step}")
    return trainer.run_dir


def load_gan(run_dir: Path, data_overrides: dict[str, str]) -> tuple[nn.Module, Any]:
    """The generator (EMA copy if any) and config of a finished conditional run; data.root/cache_dir/download
    may be changed (the data moved), nothing that would change the subset."""
    from gankit.families.registry import apply_overrides
    from gankit.run import load_run_config
    from gankit.sample import load_generator

    bad = [k for k in data_overrides if k not in ("data.root", "data.cache_dir", "data.download")]
    if bad:
        raise ConfigError(f"augment --gan-run: only --data.root, --data.cache_dir and --data.download may be given "
                          f"(the run's config defines the subset and the GAN), not {', '.join(bad)}")
    G, _, _ = load_generator(Path(run_dir))
    cfg = apply_overrides(load_run_config(Path(run_dir)), data_overrides)
    _check_gan_config(cfg, str(run_dir))
    return G, cfg


def load_splits(data_cfg: Any) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """(the labelled training subset of data_cfg, the whole test split)."""
    from gankit.data import build_dataset

    train_ds = build_dataset(data_cfg)
    test_ds = build_dataset(dataclasses.replace(data_cfg, split="test", per_class=None, limit=None))
    if train_ds.y is None:
        raise ConfigError(f"augment: data set {data_cfg.name!r} has no labels")
    return (train_ds.x, train_ds.y), (test_ds.x, test_ds.y)


@dataclass
class Experiment:
    arms: Sequence[str]
    seeds: Sequence[int]
    mix: tuple[int, int] = (1, 1)
    pool: int = 5000  # generated images drawn per seed (each seed its own draw)
    settings: ClassifierSettings = dataclasses.field(default_factory=ClassifierSettings)


def run_experiment(data_cfg: Any, G: nn.Module | None, exp: Experiment, info: dict[str, Any],
                   log: Callable[[str], None] = print, rows_path: Path | None = None) -> list[dict[str, Any]]:
    """Train and test every arm for every seed; a row each (appended to rows_path as it is made)."""
    from gankit.metrics.fashion_cnn import accuracy

    real, test = load_splits(data_cfg)
    k = int(G.num_classes) if G is not None else int(real[1].max()) + 1
    rows = []
    for seed in exp.seeds:
        pool = generated_pool(G, exp.pool, k, seed) if G is not None and set(exp.arms) & set(GAN_ARMS) else None
        for arm in exp.arms:
            t0 = time.perf_counter()
            model = train_arm(arm, real, pool, exp.settings, seed, exp.mix)
            acc = accuracy(model, *test)
            row = {**info, "arm": arm, "seed": seed, "test_accuracy": acc, "n_real": len(real[0]),
                   "n_test": len(test[0]), "mix": "%d:%d" % exp.mix if arm in GAN_ARMS else None,
                   "pool": exp.pool if arm in GAN_ARMS else None, **dataclasses.asdict(exp.settings),
                   "seconds": round(time.perf_counter() - t0, 1)}
            rows.append(row)
            log(f"{arm:9s} seed {seed}: test accuracy {acc:.4f} ({row['seconds']:.0f} s)")
            if rows_path is not None:
                rows_path.parent.mkdir(parents=True, exist_ok=True)
                with open(rows_path, "a") as f:
                    f.write(json.dumps(row) + "\n")
    return rows


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, tuple[float, float, int]]:
    """arm -> (mean, sample std (0 for one seed), number of seeds) of the test accuracy."""
    out = {}
    for arm in dict.fromkeys(r["arm"] for r in rows):
        acc = torch.tensor([r["test_accuracy"] for r in rows if r["arm"] == arm], dtype=torch.float64)
        out[arm] = (float(acc.mean()), float(acc.std()) if len(acc) > 1 else 0.0, len(acc))
    return out


# ---- the command ------------------------------------------------------------------------------------
def _int_list(text: str, what: str) -> list[int]:
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ConfigError(f"{what}: expected comma-separated integers, got {text!r}") from None


def _arms(text: str) -> list[str]:
    arms = [a.strip() for a in text.split(",") if a.strip()]
    bad = [a for a in arms if a not in ARMS]
    if bad or not arms:
        raise ConfigError(f"--arms: unknown arm {', '.join(bad) or '(none given)'}; choose from {', '.join(ARMS)}")
    return arms


def cmd_augment(args: argparse.Namespace, rest: list[str]) -> int:
    from gankit.config import parse_overrides
    from gankit.families.registry import apply_overrides
    from gankit.presets import preset_config
    from gankit.sample import load_generator

    arms, seeds = _arms(args.arms), _int_list(args.seeds, "--seeds")
    if not seeds:
        raise ConfigError("--seeds: give at least one seed")
    s = ClassifierSettings(steps=args.steps, batch_size=args.batch_size, lr=args.lr, width=args.width,
                           shift=args.shift, threads=args.threads)
    s.check()
    exp = Experiment(arms, seeds, parse_mix(args.mix), args.pool, s)
    if exp.pool < 1:
        raise ConfigError(f"--pool must be at least 1, got {exp.pool}")
    overrides = parse_overrides(rest)
    if args.gan_run:
        if args.preset:
            raise ConfigError("augment: give either a PRESET or --gan-run RUN_DIR, not both")
        G, cfg = load_gan(Path(args.gan_run), overrides)
        gan_run = Path(args.gan_run)
    else:
        cfg = apply_overrides(preset_config(args.preset or "cgan-fashion"), overrides)
        _check_gan_config(cfg, f"preset {cfg.preset}")
        gan_run = train_gan(cfg) if set(arms) & set(GAN_ARMS) else None
        G = load_generator(gan_run)[0] if gan_run is not None else None
        if gan_run is not None:
            print(f"cGAN trained on the subset: {gan_run} (gankit sample {gan_run} --per-class -n 8 --out s.png)")
    info = {"per_class": cfg.data.per_class, "subset_seed": cfg.data.subset_seed, "gan_run": str(gan_run) if gan_run
            else None, "gan_preset": cfg.preset, "gan_steps": cfg.train.steps}
    rows = run_experiment(cfg.data, G, exp, info, rows_path=Path(args.rows) if args.rows else None)
    size = f"{cfg.data.per_class} per class" if cfg.data.per_class else "the whole training split"
    print(f"test accuracy ({size}, {rows[0]['n_test']} test images; mean +- std over seeds):")
    for arm, (mean, std, n) in summarize(rows).items():
        print(f"  {arm:9s} {mean:.4f} +- {std:.4f}  ({n} seeds)")
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("augment", help="GAN data augmentation: a classifier on a small labelled subset, with and "
                                       "without flips/crops and samples of a cGAN trained on that subset")
    p.add_argument("preset", nargs="?", help="conditional GAN preset (default cgan-fashion); its overrides follow, "
                                             "e.g. --data.per_class=10 --data.subset_seed=0 --train.steps=1000")
    p.add_argument("--gan-run", metavar="RUN_DIR", help="use this finished conditional run (its subset) instead "
                                                        "of training one")
    p.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated, from {', '.join(ARMS)}")
    p.add_argument("--seeds", default="0,1,2", help="classifier seeds (init, batch order, augmentation, G samples)")
    p.add_argument("--mix", default="1:1", help="real:generated images in every batch of the gan arms")
    p.add_argument("--pool", type=int, default=5000, help="cGAN samples drawn per seed (balanced classes)")
    p.add_argument("--steps", type=int, default=400, help="classifier steps (the same in every arm)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--width", type=int, default=16, help="classifier width (FashionCNN's first block)")
    p.add_argument("--shift", type=int, default=2, help="crops: random translations up to this many pixels")
    p.add_argument("--threads", type=int, default=1, help="classifier torch CPU threads")
    p.add_argument("--rows", metavar="FILE.jsonl", help="append one JSON row per arm and seed to this file")
    p.set_defaults(func=cmd_augment, takes_overrides=True)
