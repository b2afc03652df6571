"""Time and peak memory of FID, KID and precision/recall: gankit vs torch-fidelity, same features.

    .venv-ref/bin/python benchmarks/metrics_speed.py [--n 10000] [--d 64]

Run it with the reference venv (scripts/ref-venv.sh): torch-fidelity's metric modules import
torchvision. Without torch-fidelity only gankit's rows are printed. Every (library, metric) runs
in a fresh subprocess after a warm-up call on 1000 samples (FID, PR); peak memory is the rise of the process's peak RSS (VmHWM) over its RSS
just before the metric, so it counts NumPy and torch allocations alike. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
METRICS = ("fid", "kid", "pr")


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _features(n: int, d: int):
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.normal(size=(n, d)).astype(np.float32), (rng.normal(size=(n, d)) * 1.1 + 0.1).astype(np.float32)


def _gankit_fn(metric: str, real, fake):
    from gankit import metrics as gm

    r, f = real.astype("float64"), fake.astype("float64")
    runs = {
        "fid": lambda: gm.fid_from_features(r, f),
        "kid": lambda: gm.kid(r, f, subsets=100, subset_size=1000),
        "pr": lambda: gm.precision_recall(r, f, k=3),
    }
    return runs[metric]


def _torch_fidelity_fn(metric: str, real, fake):
    import torch
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
    from torch_fidelity.metric_kid import kid_features_to_metric
    from torch_fidelity.metric_prc import prc_features_to_metric

    r, f = torch.from_numpy(real), torch.from_numpy(fake)
    runs = {
        "fid": lambda: fid_statistics_to_metric(fid_features_to_statistics(r), fid_features_to_statistics(f), False),
        "kid": lambda: kid_features_to_metric(f, r, verbose=False),
        "pr": lambda: prc_features_to_metric(f, r, verbose=False),
    }
    return runs[metric]


def run_one(lib: str, metric: str, n: int, d: int) -> dict:
    """Inside the child process: one metric, timed, with its peak-RSS rise."""
    real, fake = _features(n, d)
    make = _gankit_fn if lib == "gankit" else _torch_fidelity_fn
    if metric != "kid":  # warm-up: lazy imports, BLAS/LAPACK first calls (KID repeats 100 equal steps anyway)
        make(metric, real[:1000], fake[:1000])()
    fn = make(metric, real, fake)
    base = _status_kib("VmRSS")
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mib": max(0, _status_kib("VmHWM") - base) / 1024}


def child(lib: str, metric: str, n: int, d: int) -> dict | None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, __file__, "--child", lib, metric, "--n", str(n), "--d", str(d)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.stderr.write(f"{lib}/{metric} failed:\n{proc.stderr[-2000:]}\n")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def have_torch_fidelity() -> bool:
    try:
        import torch_fidelity.metric_fid  # noqa: F401
    except ImportError:
        return False
    return True


def table(results: dict, libs: list[str], n: int, d: int) -> str:
    lines = [f"FID / KID (100 subsets of 1000) / precision-recall (k=3), {n} vs {n} random features, d={d}", ""]
    head = "| metric | " + " | ".join(f"{lib} s | {lib} peak MiB" for lib in libs)
    head += " | time ratio gankit/torch-fidelity |" if len(libs) == 2 else " |"
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for metric in METRICS:
        cells, rows = [], [results.get((lib, metric)) for lib in libs]
        for r in rows:
            cells += ["failed", "-"] if r is None else [f"{r['seconds']:.2f}", f"{r['peak_mib']:.0f}"]
        line = f"| {metric} | " + " | ".join(cells)
        if len(libs) == 2:
            ok = all(rows) and rows[1]["seconds"] > 0
            line += f" | {rows[0]['seconds'] / rows[1]['seconds']:.2f} |" if ok else " | - |"
        else:
            line += " |"
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--child", nargs=2, metavar=("LIB", "METRIC"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child[0], args.child[1], args.n, args.d)))
        return
    libs = ["gankit"] + (["torch-fidelity"] if have_torch_fidelity() else [])
    if len(libs) == 1:
        print("torch-fidelity not importable (run with .venv-ref/bin/python): gankit only\n")
    results = {(lib, m): child(lib, m, args.n, args.d) for lib in libs for m in METRICS}
    print(table(results, libs, args.n, args.d))


if __name__ == "__main__":
    main()
