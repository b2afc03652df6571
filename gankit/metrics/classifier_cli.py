"""`gankit train-classifier fashion`: train the Fashion-MNIST CNN behind FID[fashion-cnn]."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from gankit.errors import ConfigError

DATASETS = ("fashion",)


def _load_split(split: str, root: str | None):
    from gankit.config import DataConfig
    from gankit.data import build_dataset

    ds = build_dataset(DataConfig(name="fashion-mnist", split=split, root=root))
    return ds.x, ds.y


def cmd_train_classifier(args: argparse.Namespace, rest: list[str]) -> int:
    from gankit.metrics.fashion_cnn import TrainSettings, save_weights, train_classifier

    if args.dataset not in DATASETS:
        raise ConfigError(f"train-classifier: unknown dataset {args.dataset!r}; valid: {', '.join(DATASETS)}")
    s = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                      threads=args.threads, limit=args.limit)
    train, test = _load_split("train", args.data_root), _load_split("test", args.data_root)
    model, info = train_classifier(train, test, s)
    info["command"] = "gankit train-classifier " + " ".join(
        shlex.quote(a) for a in [args.dataset, "--epochs", str(args.epochs), "--seed", str(args.seed),
                                 "--threads", str(args.threads), "--batch-size", str(args.batch_size),
                                 "--lr", str(args.lr)] + (["--limit", str(args.limit)] if args.limit else []))
    sha = save_weights(model, Path(args.out), info)
    print(f"test accuracy {info['test_accuracy']:.4f}; wrote {args.out}")
    print(f"SHA-256 {sha}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("train-classifier", help="train the feature classifier for FID[fashion-cnn]")
    p.add_argument("dataset", choices=DATASETS, help="which classifier (only 'fashion')")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (bit-exact results need the same count)")
    p.add_argument("--limit", type=int, default=None, help="train on the first N images only (quick checks)")
    p.add_argument("--data-root", default=None, help="Fashion-MNIST directory (default: standard places)")
    p.add_argument("--out", default="fashion_cnn.safetensors", help="weights file to write (.safetensors)")
    p.set_defaults(func=cmd_train_classifier)
