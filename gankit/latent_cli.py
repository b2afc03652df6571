"""`gankit latent interpolate | arithmetic | remove`: the latent-space tools of gankit.latent on a trained run.

    gankit latent interpolate RUN --out strips.png --rows 4 --steps 10 --mode slerp
    gankit latent arithmetic RUN --out pool.png                        # numbered pool of samples to choose from
    gankit latent arithmetic RUN --out sum.png --expr "3,7,12 - 5,9,20 + 1,4,8"
    gankit latent remove RUN --out removed.png --classes "sandal,ankle boot"   # or --marked 3,8,17
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit import latent, viz
from gankit.errors import GankitError

POOL_ROW = 16  # pool grids: sample i is at row i // 16, column i % 16 (and numbered)


def _load(args: argparse.Namespace) -> tuple[torch.nn.Module, Any, dict]:
    from gankit.sample import load_generator

    return load_generator(Path(args.run), device=args.device, ema=not args.no_ema)


def _conditional(cfg) -> bool:
    """A conditional GAN run (other families' model sections have no `cond`: VAE, VAE-GAN decoders are G(z))."""
    return getattr(cfg.model, "cond", "none") != "none"


def _fixed_class(args, cfg, meta) -> int | None:
    """The --class index, or None; GankitError on an unconditional run or for an unknown class."""
    from gankit.cond_eval import resolve_class, run_classes

    if args.cls is None:
        return None
    k, names = run_classes(cfg, meta, args.run)
    return resolve_class(args.cls, k, names)


def _pool(G, cfg, args, fixed: int | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The seeded pool of codes, with labels for a conditional G (--class, else balanced)."""
    z = latent.seeded_codes(args.pool, G.z_dim, args.seed)
    if not _conditional(cfg):
        return z, None
    k = int(G.num_classes)
    y = torch.full((args.pool,), fixed, dtype=torch.long) if fixed is not None else torch.arange(args.pool) % k
    return z, y


def _save(images: torch.Tensor, out: str, nrow: int) -> Path:
    path = viz.save_grid(images, Path(out), nrow=nrow, scale=2)
    print(f"wrote {path}")
    return path


def save_numbered_pool(images: torch.Tensor, out: str, nrow: int = POOL_ROW, scale: int = 2) -> Path:
    """A grid of the pool with each sample's index written in its top-left corner."""
    from PIL import Image, ImageDraw

    grid = viz.make_grid(images, nrow)
    img = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    draw, (h, w) = ImageDraw.Draw(img), images.shape[-2:]
    ink, paper = (255, 0) if img.mode == "L" else ((255, 255, 255), (0, 0, 0))
    for i in range(len(images)):
        r, c = divmod(i, nrow)
        xy = (scale * (2 + c * (w + 2)), scale * (2 + r * (h + 2)))
        draw.rectangle(draw.textbbox(xy, str(i)), fill=paper)
        draw.text(xy, str(i), fill=ink)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    img.save(out)
    print(f"wrote {out}")
    return Path(out)


def cmd_interpolate(args: argparse.Namespace, rest: list[str]) -> int:
    G, cfg, meta = _load(args)
    fixed = _fixed_class(args, cfg, meta)
    y = None
    if _conditional(cfg):
        k = int(G.num_classes)
        y = torch.full((args.rows,), fixed) if fixed is not None else torch.arange(args.rows) % k
    modes = list(latent.INTERPOLATORS) if args.mode == "both" else [args.mode]
    imgs = torch.cat([latent.interpolation_strips(G, args.rows, args.steps, m, args.seed, y) for m in modes])
    _save(imgs, args.out, args.steps)
    print(f"{args.rows} strips x {args.steps} steps ({', '.join(modes)}), seed {args.seed}")
    return 0


def cmd_arithmetic(args: argparse.Namespace, rest: list[str]) -> int:
    G, cfg, meta = _load(args)
    fixed = _fixed_class(args, cfg, meta)
    if _conditional(cfg) and fixed is None and args.expr:
        raise GankitError(f"{args.run} is a conditional run: choose the class of every sample with --class")
    z, y = _pool(G, cfg, args, fixed)
    if not args.expr:
        save_numbered_pool(latent.decode(G, z, y), args.out)
        print(f"pool of {args.pool} samples (seed {args.seed}), numbered; now pass --expr 'a,b,c - d,e,f + g,h,i' "
              "with the same --seed and --pool")
        return 0
    terms = latent.parse_expression(args.expr)
    imgs = latent.arithmetic_grid(G, z, terms, args.variants, args.noise, args.seed, fixed)
    _save(imgs, args.out, len(imgs))
    print(f"means of {len(terms)} groups, then the result and {args.variants} neighbours (noise {args.noise})")
    return 0


def _concept(args, G, cfg, meta, images: torch.Tensor, y: torch.Tensor | None) -> tuple[np.ndarray, list[int]]:
    """Boolean concept per pool sample (from --marked, or --classes via labels or the classifier), classes."""
    from gankit.cond_eval import resolve_class

    if bool(args.marked) == bool(args.classes):
        raise GankitError("give the concept either as --classes NAME[,NAME...] or as --marked INDEX[,INDEX...]")
    if args.marked:
        idx = [int(s) for s in args.marked.split(",") if s.strip()]
        bad = [i for i in idx if not 0 <= i < args.pool]
        if bad:
            raise GankitError(f"--marked {bad}: not in the pool 0..{args.pool - 1}")
        t = np.zeros(args.pool, dtype=bool)
        t[idx] = True
        return t, []
    names = meta.get("class_names")
    k = len(names) if names else int(getattr(G, "num_classes", 0))
    classes = [resolve_class(s, k, names) for s in args.classes.split(",") if s.strip()]
    if y is not None:
        return np.isin(y.numpy(), classes), classes
    return np.isin(_predict(args.classifier, images), classes), classes


def _predict(name: str, images: torch.Tensor) -> np.ndarray:
    from gankit.cond_eval import get_classifier
    from gankit.metrics.features import extract

    _, logits = extract(get_classifier(name), images, logits=True)
    return logits.argmax(1)


def _judge(args, G, y_fn, layer: str, units: list[int], classes: list[int]) -> None:
    """Fraction of fresh samples the classifier puts in the concept classes, before and after removal."""
    try:
        z = latent.seeded_codes(args.judge, G.z_dim, args.seed + 1)
        before, after = latent.remove_concept(G, layer, units, z, y_fn(args.judge))
        rates = [float(np.isin(_predict(args.classifier, imgs), classes).mean()) for imgs in (before, after)]
    except GankitError as e:
        print(f"(no before/after concept rate: {e})")
        return
    print(f"classifier {args.classifier}: {rates[0]:.3f} of {args.judge} fresh samples in the concept classes "
          f"before, {rates[1]:.3f} after")


def cmd_remove(args: argparse.Namespace, rest: list[str]) -> int:
    G, cfg, meta = _load(args)
    fixed = _fixed_class(args, cfg, meta)
    layer = args.layer or latent.default_layer(G)
    z, y = _pool(G, cfg, args, fixed)
    images = latent.decode(G, z, y)
    concept, classes = _concept(args, G, cfg, meta, images, y)
    fit = latent.fit_concept(latent.unit_activations(G, layer, z, y).numpy(), concept, seed=args.seed)
    units = latent.concept_units(fit.coef, args.top_k)
    show = np.flatnonzero(concept)[: args.n]
    ys = None if y is None else y[show]
    before, after = latent.remove_concept(G, layer, units, z[show], ys)
    _save(torch.cat([before, after]), args.out, len(show))
    n_units = len(fit.coef)
    print(f"layer {layer}: logistic regression on {fit.n_positive} concept / {fit.n_negative} other samples, "
          f"training accuracy {fit.accuracy:.3f}; zeroed {len(units)} of {n_units} units: {units[:20]}"
          f"{' ...' if len(units) > 20 else ''}")
    print(f"top row: {len(show)} concept samples; bottom row: the same codes with those units zeroed")
    if classes and args.judge:
        k = int(getattr(G, "num_classes", 0))
        y_fn = (lambda n: None) if y is None else (
            lambda n: torch.full((n,), fixed) if fixed is not None else torch.arange(n) % k)
        _judge(args, G, y_fn, layer, units, classes)
    return 0


def _common(p: argparse.ArgumentParser, pool: bool = False) -> None:
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--out", required=True, help="PNG grid to write")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--class", dest="cls", metavar="CLASS", help="conditional runs: the class (index or name)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-ema", action="store_true", help="use the trained G even when an EMA copy exists")
    if pool:
        p.add_argument("--pool", type=int, default=128, help="number of seeded samples to choose from")


def add_parser(sub) -> None:
    p = sub.add_parser("latent", help="latent-space tools: interpolate | arithmetic | remove")
    verbs = p.add_subparsers(dest="latent_command", metavar="VERB", required=True)
    q = verbs.add_parser("interpolate", help="lerp / slerp strips between seeded codes")
    _common(q)
    q.add_argument("--rows", type=int, default=4)
    q.add_argument("--steps", type=int, default=10)
    q.add_argument("--mode", choices=[*latent.INTERPOLATORS, "both"], default="slerp")
    q.set_defaults(func=cmd_interpolate)
    q = verbs.add_parser("arithmetic", help="vector arithmetic on mean codes of chosen pool samples")
    _common(q, pool=True)
    q.add_argument("--expr", help="e.g. '3,7,12 - 5,9,20 + 1,4,8' (pool indices); without it the pool is written")
    q.add_argument("--variants", type=int, default=7, help="noisy neighbours of the result code")
    q.add_argument("--noise", type=float, default=0.25)
    q.set_defaults(func=cmd_arithmetic)
    q = verbs.add_parser("remove", help="concept removal: zero the units a logistic regression relies on")
    _common(q, pool=True)
    q.add_argument("--classes", help="concept = these classes (labels of a conditional run, else the classifier's)")
    q.add_argument("--marked", help="concept = these pool indices (see `latent arithmetic` without --expr)")
    q.add_argument("--layer", help="G layer name (default: the last ReLU)")
    q.add_argument("--top-k", type=int, help="zero only the k units with the largest positive weights")
    q.add_argument("-n", type=int, default=10, help="concept samples shown before/after")
    q.add_argument("--classifier", default="fashion-cnn", help="feature extractor that classifies samples")
    q.add_argument("--judge", type=int, default=500, help="fresh samples for the before/after concept rate; 0 = off")
    q.set_defaults(func=cmd_remove)
