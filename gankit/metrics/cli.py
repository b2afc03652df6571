"""`gankit eval RUN_DIR | SAMPLES.npz`: metrics of generated samples against real data; a table and JSON."""

from __future__ import annotations

import argparse
import json
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.errors import DataError, GankitError
from gankit.translate import TRANSLATORS


def load_npz_samples(path: Path) -> torch.Tensor:
    """Array 'samples' of a .npz file (as written by `gankit sample --out X.npz`); never unpickles."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if "samples" not in f.files:
                raise DataError(f"{path}: no array 'samples' (arrays: {', '.join(f.files) or 'none'})")
            arr = f["samples"]
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable .npz file ({e})") from None
    if arr.dtype.kind not in "fiu":
        raise DataError(f"{path}: 'samples' has dtype {arr.dtype}; expected numbers")
    return torch.from_numpy(np.ascontiguousarray(arr))


def _fake_from_run(args: argparse.Namespace) -> tuple[torch.Tensor, Any, dict]:
    from gankit.families.registry import family_of
    from gankit.sample import load_models, without_ema

    models, cfg, meta = load_models(Path(args.target), device=args.device)
    fake = family_of(cfg).sample(without_ema(models) if args.no_ema else models, args.n, args.seed)
    return fake, cfg.data, {"step": int(meta.get("step", 0)), "preset": cfg.preset}


def _fake_from_npz(args: argparse.Namespace) -> tuple[torch.Tensor, Any, dict]:
    from gankit.config import DataConfig

    fake = load_npz_samples(Path(args.target))
    if len(fake) < args.n:
        warnings.warn(f"{args.target}: {len(fake)} samples, fewer than --n {args.n}; using all of them",
                      RuntimeWarning, stacklevel=2)
    return fake[:args.n], DataConfig(name=args.data or "fashion-mnist"), {}


def _default_json(args: argparse.Namespace, info: dict) -> Path:
    target = Path(args.target)
    if target.is_dir():
        nll = ".nll" if info.get("requested") == ["nll"] else ""  # beside, not over, the sample metrics
        return target / "eval" / f"step_{info.get('step', 0):08d}{nll}.json"
    return target.with_suffix(".eval.json")


def run_eval(args: argparse.Namespace) -> tuple[dict[str, float], dict]:
    """Everything `gankit eval` does except printing; returns (results, the JSON record)."""
    from gankit.metrics import evaluate as ev

    if args.n < 2:
        raise GankitError(f"--n must be at least 2, got {args.n}")
    target = Path(args.target)
    if not target.exists():
        raise DataError(f"{target}: no such run directory or .npz file")
    t0 = time.perf_counter()
    if target.is_dir() and _family(target) in TRANSLATORS:
        return _eval_translation(args, t0)
    if target.is_dir() and _family(target) == "srgan":
        return _eval_sr(args, t0)
    if target.is_dir() and _family(target) == "completion":
        return _eval_completion(args, t0)
    if target.is_dir() and _family(target) == "text2image":
        return _eval_text2image(args, t0)
    if target.is_dir() and _family(target) == "segan":
        return _eval_speech(args, t0)
    if "nll" in args.metrics.split(","):
        return _eval_nll(args, t0)
    fake, data_cfg, info = (_fake_from_run if target.is_dir() else _fake_from_npz)(args)
    if args.data or args.data_root:
        data_cfg = replace(data_cfg, name=args.data or data_cfg.name, root=args.data_root or data_cfg.root)
    real_x, data_cfg, extra = ev.load_real(data_cfg, args.split, args.n)
    shape = tuple(real_x.shape[1:])
    metrics = ev.parse_metrics(args.metrics, shape)
    extractor = ev.make_extractor(args.extractor, shape, args.device)
    ev.check_samples(fake, shape, extractor.name, str(target))
    real = ev.real_stats(real_x, data_cfg, extractor, use_cache=not args.no_cache)
    results = ev.evaluate(fake, real, metrics, extractor, extra=extra, seed=args.seed)
    record = {
        "target": str(target), **info, "metrics": results, "requested": metrics,
        "extractor": extractor.name, "extractor_weights_sha256": getattr(extractor, "weights_sha256", None),
        "n_fake": len(fake), "n_real": len(real_x), "real_data": {"name": data_cfg.name, "split": data_cfg.split},
        "seed": args.seed, "seconds": round(time.perf_counter() - t0, 3), "time": time.time(),
    }  # fmt: skip
    return results, record


def _family(run: Path) -> str:
    from gankit.run import load_run_config

    return load_run_config(run).model.family


def _eval_translation(args: argparse.Namespace, t0: float) -> tuple[dict[str, float], dict]:
    """A translation run: its outputs on held-out pairs against their targets (gankit.metrics.translation)."""
    from gankit.metrics.translation import evaluate_translation
    from gankit.sample import load_models

    models, cfg, meta = load_models(Path(args.target), device=args.device)
    split = args.split or "test"
    if args.data_root:  # score on another folder, e.g. a colourisation run trained on one set of photos
        cfg = replace(cfg, data=replace(cfg.data, root=args.data_root))
    extra = {"extractor": "paired (+ fashion-cnn for 28x28 gray)"}
    if cfg.model.family == "stargan":  # one G for K class domains: the target-class accuracy matrix
        from gankit.metrics.translation import stargan_accuracy

        results = stargan_accuracy(models, cfg, split, args.per_class)
        extra = {"extractor": "fashion-cnn", "matrix": results.pop("matrix"),
                 "class_names": results.pop("class_names")}
    else:
        results = evaluate_translation(models, cfg, split, args.n, args.seed)
    n = int(results.pop("n"))
    record = {"target": args.target, "step": int(meta.get("step", 0)), "preset": cfg.preset, "metrics": results,
              "n_fake": n, "n_real": n, "real_data": {"name": cfg.data.name, "split": split, **_root(args)},
              "seed": args.seed,
              "seconds": round(time.perf_counter() - t0, 3), "time": time.time(), **extra}
    return results, record


def _root(args: argparse.Namespace) -> dict[str, str]:
    return {"root": args.data_root} if args.data_root else {}


def _eval_sr(args: argparse.Namespace, t0: float) -> tuple[dict[str, float], dict]:
    """A super-resolution run: PSNR/SSIM on Y (4-px border) and the high-frequency energy ratio on a folder of
    whole HR images (--data-root), beside bicubic up-sampling (gankit.metrics.sr)."""
    from gankit.metrics.sr import evaluate_sr
    from gankit.sample import load_models

    models, cfg, meta = load_models(Path(args.target), device=args.device)
    results, rows = evaluate_sr(models["G"], args.data_root, border=args.border)
    record = {"target": args.target, "step": int(meta.get("step", 0)), "preset": cfg.preset, "metrics": results,
              "n_fake": len(rows), "n_real": len(rows), "real_data": {"name": str(args.data_root), "split": "whole"},
              "extractor": f"none (Y of YCbCr, border {args.border})", "per_image": rows, "seed": args.seed,
              "seconds": round(time.perf_counter() - t0, 3), "time": time.time()}
    return results, record


def _eval_completion(args: argparse.Namespace, t0: float) -> tuple[dict[str, float], dict]:
    """An image-completion run: L1/PSNR/SSIM in random holes for the net, mean fill, Telea and Navier-Stokes
    (gankit.metrics.completion)."""
    from gankit.metrics.completion import evaluate_completion
    from gankit.sample import load_models

    models, cfg, meta = load_models(Path(args.target), device=args.device)
    split = args.split or "test"
    results = evaluate_completion(models, cfg, split, args.n, args.seed, args.data_root)
    n = int(results.pop("n"))
    record = {"target": args.target, "step": int(meta.get("step", 0)), "preset": cfg.preset, "metrics": results,
              "n_fake": n, "n_real": n, "real_data": {"name": cfg.data.name, "split": split},
              "extractor": "in-hole L1/PSNR/SSIM (+ fashion-cnn for 1-channel data)", "seed": args.seed,
              "seconds": round(time.perf_counter() - t0, 3), "time": time.time()}
    return results, record


def _eval_text2image(args: argparse.Namespace, t0: float) -> tuple[dict[str, float], dict]:
    """A text -> image run: class and attribute accuracy of images of captions, FID[fashion-cnn] on test captions
    (gankit.metrics.text2image)."""
    from gankit.metrics.text2image import evaluate_text2image
    from gankit.sample import load_models

    models, cfg, meta = load_models(Path(args.target), device=args.device)
    if args.data_root:
        cfg = replace(cfg, data=replace(cfg.data, root=args.data_root))
    split = args.split or "test"
    results = evaluate_text2image(models, cfg, meta, args.per_class, args.n, args.seed, split)
    per_class = results.pop("class_accuracy_per_class")
    n = int(results.pop("n_fid"))
    record = {"target": args.target, "step": int(meta.get("step", 0)), "preset": cfg.preset, "metrics": results,
              "class_accuracy_per_class": per_class, "n_fake": n, "n_real": n,
              "real_data": {"name": "fashion-mnist captions", "split": split}, "extractor": "fashion-cnn",
              "seed": args.seed, "seconds": round(time.perf_counter() - t0, 3), "time": time.time()}
    return results, record


def _eval_speech(args: argparse.Namespace, t0: float) -> tuple[dict[str, float], dict]:
    """A speech-enhancement run: PESQ/STOI/segmental SNR/CSIG/CBAK/COVL of the run, the noisy input, spectral subtraction and a
    Wiener filter on the test mixtures (gankit.metrics.speech), overall and per SNR."""
    from gankit.metrics.speech import evaluate_speech
    from gankit.sample import load_models

    models, cfg, meta = load_models(Path(args.target), device=args.device)
    root = args.data_root or cfg.data.root
    results, rows, per_snr = evaluate_speech(models["G"], root, args.n, args.seed, name="segan")
    record = {"target": args.target, "step": int(meta.get("step", 0)), "preset": cfg.preset, "metrics": results,
              "n_fake": len(rows), "n_real": len(rows), "real_data": {"name": str(root), "split": "test"},
              "extractor": "none (PESQ, STOI, segmental SNR, CSIG/CBAK/COVL)", "per_snr": per_snr, "per_file": rows,
              "seed": args.seed, "seconds": round(time.perf_counter() - t0, 3), "time": time.time()}
    return results, record


def _eval_nll(args: argparse.Namespace, t0: float) -> tuple[dict[str, float], dict]:
    """Test-set NLL of a likelihood model (gankit.metrics.likelihood); other metrics in the same call are refused."""
    from gankit.metrics.likelihood import nll
    from gankit.sample import load_models

    if args.metrics != "nll":
        raise GankitError(f"--metrics nll is computed on its own (got {args.metrics}); run the sample metrics "
                          "in a second call")
    target = Path(args.target)
    if not target.is_dir():
        raise DataError(f"--metrics nll needs a run directory, not {target}")
    models, cfg, meta = load_models(target, device=args.device)
    split = args.split or "test"
    results = nll(models, cfg, split, args.n, args.seed)
    n = int(results.pop("n"))
    record = {"target": args.target, "step": int(meta.get("step", 0)), "preset": cfg.preset, "metrics": results,
              "requested": ["nll"], "extractor": "none (likelihood)", "n_fake": n, "n_real": n,
              "real_data": {"name": cfg.data.name, "split": split}, "seed": args.seed,
              "seconds": round(time.perf_counter() - t0, 3), "time": time.time()}
    return results, record


def format_matrix(matrix: list[list[float]], names: list[str]) -> str:
    """Rows: source class, columns: target class (the columns numbered, the rows named with their number)."""
    head = "source \\ target".ljust(19) + " ".join(f"{j:>5d}" for j in range(len(names)))
    rows = [f"{i:>2d} {name[:15]:<15s} " + " ".join(f"{v:5.2f}" for v in row)
            for i, (name, row) in enumerate(zip(names, matrix))]
    return "\n".join([head, *rows])


def cmd_eval(args: argparse.Namespace, rest: list[str]) -> int:
    if rest:
        raise GankitError(f"unexpected arguments: {' '.join(rest)}")
    from gankit.metrics.evaluate import format_table

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results, record = run_eval(args)
    for w in caught:
        print(f"warning: {w.message}", flush=True)
    record["warnings"] = [str(w.message) for w in caught]
    print(f"{record['target']}: {record['n_fake']} generated vs {record['n_real']} real "
          f"({record['real_data']['name']}/{record['real_data']['split']}), extractor {record['extractor']}")
    print(format_table(results))
    if "matrix" in record:
        print("target-class accuracy (fashion-cnn):\n" + format_matrix(record["matrix"], record["class_names"]))
    out = Path(args.json) if args.json else _default_json(args, record)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2, allow_nan=True) + "\n")
    print(f"wrote {out}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a run (or a .npz of samples): FID, KID, IS, precision/recall, ...")
    p.add_argument("target", metavar="RUN_DIR|SAMPLES.npz", help="a run directory or a .npz with array 'samples'")
    p.add_argument("--metrics", default="auto", help="comma-separated: fid,kid,is,mode_score,pr,dc,mmd,wasserstein,"
                   "1nn,modes; nll (vae, pixelcnn runs: test NLL, on its own); auto = fid,kid,is,pr for images, modes,mmd,wasserstein for 2D data")
    p.add_argument("--n", type=int, default=10000, help="generated samples (and at most as many real ones)")
    p.add_argument("--per-class", type=int, default=100, help="stargan runs: source images per class (each "
                   "translated to every class); text2image runs: captions per (class, brightness, size) cell")
    p.add_argument("--extractor", default="auto",
                   help="fashion-cnn, inception-v3, identity; auto = by data shape (fashion-cnn for 28x28 gray)")
    p.add_argument("--data", default=None, help="real data set name (default: the run's data, or fashion-mnist)")
    p.add_argument("--data-root", default=None, help="real data directory (default: standard places); a "
                   "translation run: the folder its held-out pairs come from (e.g. test photos for colorize); srgan "
                   "runs: the folder of whole HR test images (required); segan runs: the mixtures folder (default: the run's)")
    p.add_argument("--split", default=None, help="real data split: train or test (default: the run's, or train)")
    p.add_argument("--json", default=None, help="output JSON (default RUN_DIR/eval/step_XXXXXXXX.json or X.eval.json)")
    p.add_argument("--border", type=int, default=4, help="srgan runs: pixels cut from each side before PSNR/SSIM "
                   "on Y (the SR protocol's 4 for 4x)")
    p.add_argument("--seed", type=int, default=0, help="seed of z and of the metrics' random subsets")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-ema", action="store_true", help="use the trained G even when an EMA copy exists")
    p.add_argument("--no-cache", action="store_true", help="recompute the real-data statistics")
    p.set_defaults(func=cmd_eval)
