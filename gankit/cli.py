"""The `gankit` command line: train, sample, presets (and the verbs other modules add).

Bad input (a wrong config key, a missing or corrupt file) prints one `error:` line and exits 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from gankit.errors import GankitError

# Modules that add sub-commands: each has `add_parser(subparsers)` which sets `func` on its parser.
COMMAND_MODULES = ["gankit.cli", "gankit.metrics.classifier_cli", "gankit.latent_cli", "gankit.cond_eval",
                   "gankit.metrics.cli", "gankit.bench", "gankit.export", "gankit.translate",
                   "gankit.enhance", "gankit.speech", "gankit.augment"]


def cmd_train(args: argparse.Namespace, rest: list[str]) -> int:
    from gankit.config import parse_overrides
    from gankit.families.registry import apply_overrides
    from gankit.presets import DEFAULT_PRESET, preset_config
    from gankit.run import load_run_config, train

    overrides = parse_overrides(rest)
    if args.resume:
        if args.preset:
            raise GankitError("give either a PRESET or --resume RUN_DIR, not both")
        cfg = apply_overrides(load_run_config(Path(args.resume)), overrides)
    else:
        cfg = apply_overrides(preset_config(args.preset or DEFAULT_PRESET), overrides)
    status, trainer = train(cfg, Path(args.resume) if args.resume else None)
    run_dir = trainer.run_dir
    print(f"{status} at step {trainer.step}/{cfg.train.steps}; run directory: {run_dir}")
    print(f"  samples:     {run_dir / 'samples' / 'latest.png'}")
    print(f"  loss curves: {run_dir / 'loss_curves.png'}")
    print(f"  metrics:     {run_dir / 'metrics.jsonl'}  (TensorBoard: tensorboard --logdir {run_dir / 'tb'})")
    print(f"  checkpoints: {run_dir / 'ckpt'}  (continue with: gankit train --resume {run_dir})")
    _print_quality(trainer)
    return {"finished": 0, "interrupted": 130, "diverged": 3}[status]


def _print_quality(trainer) -> None:
    """The last evaluation of the run (log.eval_every / log.eval_at_end), as the closing line."""
    hook = next((h for h in trainer.hooks if getattr(h, "history", None)), None)
    if hook is None:
        return
    row = hook.history[-1]
    values = {k[len("eval/"):]: v for k, v in row.items() if k.startswith("eval/") and k != "eval/seconds"}
    if values:
        text = ", ".join(f"{k} = {v:.4g}" for k, v in values.items())
        print(f"quality at step {row['step']}: {text} ({hook.n} generated samples vs the first {hook.n} training samples)")


def cmd_sample(args: argparse.Namespace, rest: list[str]) -> int:
    from gankit.cond_eval import generate_plan, sample_plan
    from gankit.core.spec import spec_from_meta
    from gankit.families.gan import sampler_module
    from gankit.families.registry import family_of
    from gankit.sample import load_models, without_ema, write_samples

    if rest:
        raise GankitError(f"unexpected arguments: {' '.join(rest)}")
    if args.n < 1:
        raise GankitError("-n must be at least 1")
    models, cfg, meta = load_models(Path(args.run), device=args.device)
    models = without_ema(models) if args.no_ema else models
    spec = spec_from_meta(meta)
    if spec.modality == "tokens":
        return _print_text(args, models, cfg, meta)
    if args.temperature != 1.0:
        raise GankitError("--temperature is for runs on token sequences")
    if args.out is None:
        raise GankitError("--out is required: a .png (grid), a .npz (array 'samples') or a folder of PNG files")
    if args.text and cfg.model.family != "text2image":
        raise GankitError(f"--text is for text2image runs, not model.family={cfg.model.family}")
    if args.text:
        from gankit.sample import text_samples

        if args.drs or args.cls or args.per_class:
            raise GankitError("--text takes no --drs, --class or --per-class")
        samples, nrow = text_samples(models, meta, args.text, args.n, args.seed), args.n
    elif cfg.model.family != "gan":  # other families sample from their own inputs
        if args.drs or args.cls or args.per_class:
            raise GankitError(f"--drs, --class and --per-class are for GAN runs, not model.family={cfg.model.family}")
        samples, nrow = family_of(cfg).sample(models, args.n, args.seed), None
    else:
        G = sampler_module(models)
        plan = sample_plan(cfg, meta, args.run, args.cls, args.per_class, args.n)  # None: unconditional
        if args.drs:
            samples, nrow = _drs_samples(args, G, cfg), None
        elif plan is None:
            samples, nrow = family_of(cfg).sample(models, args.n, args.seed), None
        else:
            samples, nrow = generate_plan(G, plan, seed=args.seed, device=args.device), plan.nrow
    out = write_samples(samples, Path(args.out), nrow=nrow, modality=spec.modality)
    print(f"wrote {len(samples)} samples to {out}")
    return 0


def _print_text(args: argparse.Namespace, models, cfg, meta) -> int:
    """Token runs: -n sequences decoded with the run's vocabulary, printed (or written to --out as text)."""
    from gankit.families.seqgan_hooks import decode, generate

    if args.drs or args.cls or args.per_class:
        raise GankitError("--drs, --class and --per-class are for GAN runs, not token sequences")
    if args.temperature < 0:
        raise GankitError(f"--temperature must be >= 0, got {args.temperature}")
    text = "\n".join(decode(generate(models["G"], args.n, args.seed, args.temperature), meta.get("vocab"))) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as e:
            raise GankitError(f"--out {args.out}: cannot write ({e.strerror or e})") from None
        print(f"wrote {args.n} sequences to {args.out}")
    return 0


def _drs_samples(args: argparse.Namespace, G, cfg):
    """Rejection sampling with a density-ratio estimate on the run's training data: the run's D, calibrated
    (`--drs-classifier d`), or a fresh random-Fourier-feature classifier (`rff`, vector data)."""
    from gankit import ratio
    from gankit.data import build_dataset
    from gankit.drs import CALIBRATE_STEPS, calibrate, drs_sample
    from gankit.sample import load_discriminator

    rff = args.drs_classifier == "rff"
    steps = args.drs_calibrate if args.drs_calibrate is not None else (ratio.STEPS if rff else CALIBRATE_STEPS)
    quantile = args.drs_quantile if args.drs_quantile is not None else (ratio.D_MAX_QUANTILE if rff else 1.0)
    if rff:
        sigma = args.drs_sigma if args.drs_sigma is not None else ratio.SIGMA
        C = ratio.fit_ratio_classifier(G, build_dataset(cfg.data).x, steps=steps, sigma=sigma, seed=args.seed)
    else:
        C = load_discriminator(Path(args.run), device=args.device)
        if steps > 0:
            C = calibrate(C, G, build_dataset(cfg.data).x, steps=steps, seed=args.seed)
    r = drs_sample(G, C, args.n, seed=args.seed, gamma=args.drs_gamma, d_max_quantile=quantile)
    print(f"DRS: accepted {r.accepted} of {r.considered} candidates ({100 * r.rate:.1f}%; {r.candidates} drawn with "
          f"the burn-in), D_max {r.d_max:.3f}")
    return r.samples


def cmd_presets(args: argparse.Namespace, rest: list[str]) -> int:
    from gankit.presets import DEFAULT_PRESET, PRESETS

    for name, p in PRESETS.items():
        mark = " (default)" if name == DEFAULT_PRESET else ""
        print(f"{name:18s} {p.description}{mark}")
        if args.verbose:
            for k, v in p.overrides.items():
                print(f"{'':20s}--{k}={v}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a GAN: gankit train [PRESET] [--section.key=value ...]")
    p.add_argument("preset", nargs="?", help="preset name (see `gankit presets`); default dcgan-fashion")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its newest checkpoint")
    p.set_defaults(func=cmd_train, takes_overrides=True)

    p = sub.add_parser("sample", help="write samples of a trained run")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("-n", type=int, default=64, help="number of samples")
    p.add_argument("--out", help="a .png (grid), a .npz (array 'samples') or a folder of PNG files; token runs: "
                   "a text file (default: print the sequences)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--temperature", type=float, default=1.0,
                   help="token runs: sample from softmax(logits / T) (0 = the most likely token each time)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-ema", action="store_true", help="use the trained G even when an EMA copy exists")
    p.add_argument("--class", dest="cls", action="append", metavar="CLASS",
                   help="conditional runs: -n samples of this class (index or name, e.g. 7 or sneaker; repeat or "
                        "comma-separate for several, one grid row each)")
    p.add_argument("--per-class", action="store_true", help="conditional runs: -n samples of every class, a row each")
    p.add_argument("--text", action="append", metavar="CAPTION",
                   help='text2image runs: -n samples of this caption, e.g. "a dark ankle boot" (repeat for several, '
                        "one grid row each); a word outside the run's vocabulary is refused")
    p.add_argument("--drs", action="store_true",
                   help="discriminator rejection sampling (Azadi et al. 2019): keep G's samples with probability "
                        "exp(D(x) - D_max), D calibrated on the training data first")
    p.add_argument("--drs-classifier", choices=("d", "rff"), default="d",
                   help="the density-ratio estimate: d = the run's discriminator, calibrated; rff = a fresh "
                        "classifier with random Fourier features (vector data such as the 2-D mixtures)")
    p.add_argument("--drs-calibrate", type=int, default=None, metavar="STEPS",
                   help="training steps on real data vs the (frozen) G before DRS: default 1000 for d (0 = use D "
                        "as trained), 3000 for rff")
    p.add_argument("--drs-sigma", type=float, default=None,
                   help="rff: Fourier frequency scale in units of the data's std (default 24, which suits ring-8 and "
                        "grid-25); larger resolves narrower structure")
    p.add_argument("--drs-gamma", type=float, default=0.0,
                   help="the paper's shift: > 0 rejects more, trading diversity for quality (0 = exact)")
    p.add_argument("--drs-quantile", type=float, default=None, metavar="Q",
                   help="D_max = this quantile of the burn-in logits (1 = their running maximum, exact; e.g. 0.99 "
                        "when a few outlying logits make DRS reject nearly everything); default 1 for d, 0.99 for rff")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("presets", help="list the presets")
    p.add_argument("-v", "--verbose", action="store_true", help="show each preset's overrides")
    p.set_defaults(func=cmd_presets)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gankit", description="GAN toolkit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = sys.modules[__name__] if name == __name__ else importlib.import_module(name)
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv:
        argv = ["train"]  # the main job: train the default preset
    args, rest = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if rest and not getattr(args, "takes_overrides", False):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return args.func(args, rest)
    except GankitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a second Ctrl-C: stopped at once; the last checkpoint written is intact
        print("error: interrupted twice; stopped without a new checkpoint (the last one written is intact)",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
