"""Benchmarks behind `gankit bench NAME`: BENCHES maps a name to the module that provides
`add_arguments(parser)` and `main(args) -> int`."""

from __future__ import annotations

import argparse
import importlib

BENCHES: dict[str, str] = {"mog": "gankit.bench.mog"}


def _run(args: argparse.Namespace, rest: list[str]) -> int:
    return importlib.import_module(BENCHES[args.bench]).main(args)


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="run a benchmark: gankit bench mog")
    bsub = p.add_subparsers(dest="bench", metavar="BENCH", required=True)
    for name, module in BENCHES.items():
        mod = importlib.import_module(module)
        bp = bsub.add_parser(name, help=mod.__doc__.strip().splitlines()[0])
        mod.add_arguments(bp)
        bp.set_defaults(func=_run)
