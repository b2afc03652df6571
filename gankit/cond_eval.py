"""Conditional sampling and evaluation: classes by index or name, per-class grids, class-conditional
accuracy (does a classifier see the class G was asked for?) and intra-class FID.

The evaluation functions take any classifier / extractor object of gankit.metrics (``__call__`` ->
features, ``logits`` or ``features_and_logits``), e.g. ``get_extractor("fashion-cnn")``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from gankit.errors import GankitError


def class_table(num_classes: int, class_names: Sequence[str] | None) -> str:
    """'0 T-shirt/top, 1 Trouser, ...' (or '0, 1, ...' without names)."""
    if class_names:
        return ", ".join(f"{i} {n}" for i, n in enumerate(class_names))
    return ", ".join(str(i) for i in range(num_classes))


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def resolve_class(spec: str | int, num_classes: int, class_names: Sequence[str] | None = None) -> int:
    """A class index from an index ('7') or a name ('sneaker', 'ankle-boot', 't-shirt': case, spaces and
    punctuation ignored; a unique prefix is enough). GankitError listing the valid classes otherwise."""
    text = str(spec).strip()
    valid = f"valid classes: {class_table(num_classes, class_names)}"
    if re.fullmatch(r"-?\d+", text):
        idx = int(text)
        if not 0 <= idx < num_classes:
            raise GankitError(f"class index {idx} is out of range 0..{num_classes - 1}; {valid}")
        return idx
    names = [_norm(n) for n in (class_names or [])]
    key = _norm(text)
    exact = [i for i, n in enumerate(names) if n == key]
    prefix = [i for i, n in enumerate(names) if key and n.startswith(key)]
    found = exact or prefix
    if len(found) != 1:
        what = "is ambiguous" if len(found) > 1 else "is not a class of this run"
        raise GankitError(f"class {text!r} {what}; {valid}")
    return found[0]


def run_classes(cfg: Any, meta: dict, run: str = "the run") -> tuple[int, list[str] | None]:
    """(num_classes, class names) of a conditional run; GankitError for an unconditional one."""
    if cfg.model.cond == "none":
        raise GankitError(f"{run} was trained without class conditioning (model.cond=none), so it cannot "
                          "sample a chosen class; train with --model.cond=cgan|projection|acgan "
                          "(e.g. the cgan-fashion preset)")
    names = meta.get("class_names")
    k = meta.get("num_classes") or (len(names) if names else None)
    if not k:
        raise GankitError(f"{run}: checkpoint does not record its number of classes")
    return int(k), list(names) if names else None


def class_labels(classes: Sequence[int], n_each: int) -> torch.Tensor:
    """[c0]*n_each + [c1]*n_each + ... (int64): one grid row per class with nrow=n_each."""
    return torch.tensor([c for c in classes for _ in range(n_each)], dtype=torch.long)


def _features_logits(classifier: Any, images: torch.Tensor, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    from gankit.metrics.features import extract

    return extract(classifier, images, batch_size=batch_size, logits=True)


def class_accuracy(logits: np.ndarray, labels: np.ndarray, num_classes: int) -> tuple[float, list[float]]:
    """Fraction of samples whose predicted class is their label, overall and per class (NaN if absent)."""
    pred, labels = np.asarray(logits).argmax(1), np.asarray(labels)
    per = [float((pred[labels == c] == c).mean()) if (labels == c).any() else float("nan")
           for c in range(num_classes)]
    return float((pred == labels).mean()), per


def intra_class_fid(real_feats: np.ndarray, real_y: np.ndarray, fake_feats: np.ndarray, fake_y: np.ndarray,
                    num_classes: int) -> list[float]:
    """FID between the real and generated features of each class (NaN where a side has < 2 samples)."""
    from gankit.metrics.fid import fid_from_features

    out = []
    for c in range(num_classes):
        r, f = real_feats[real_y == c], fake_feats[fake_y == c]
        out.append(fid_from_features(r, f) if len(r) >= 2 and len(f) >= 2 else float("nan"))
    return out


def evaluate_conditional(G: nn.Module, classifier: Any, real_x: torch.Tensor, real_y: torch.Tensor,
                         n_per_class: int = 1000, seed: int = 0, batch_size: int = 500,
                         device: str | torch.device = "cpu") -> dict[str, Any]:
    """Class-conditional accuracy, FID and intra-class FID of G on the classifier's features.

    Generates n_per_class samples of every class; FID compares all of them with all of `real_x`."""
    from gankit.metrics.features import extract
    from gankit.metrics.fid import fid_from_features
    from gankit.sample import generate

    k = int(G.num_classes)
    labels = class_labels(range(k), n_per_class)
    fake = generate(G, len(labels), seed=seed, batch_size=batch_size, device=device, labels=labels)
    fake_feats, fake_logits = _features_logits(classifier, fake, batch_size)
    real_feats = extract(classifier, real_x, batch_size=batch_size)
    acc, per_acc = class_accuracy(fake_logits, labels.numpy(), k)
    intra = intra_class_fid(real_feats, np.asarray(real_y), fake_feats, labels.numpy(), k)
    return {"accuracy": acc, "accuracy_per_class": per_acc, "fid": fid_from_features(real_feats, fake_feats),
            "intra_fid": intra, "intra_fid_mean": float(np.nanmean(intra)), "n_per_class": n_per_class}


@dataclass
class SamplePlan:
    """What `gankit sample` draws from a conditional run: labels, which seeded code each sample uses
    (codes are shared across classes so a grid column / row shows one code in every class), grid row length."""

    labels: torch.Tensor
    z_index: torch.Tensor
    nrow: int | None


def sample_plan(cfg: Any, meta: dict, run: str, class_specs: Sequence[str] | None, per_class: bool,
                n: int) -> SamplePlan | None:
    """None for an unconditional run without class options; n samples of each chosen class (--class,
    comma-separated or repeated) or of every class (--per-class), a grid row per class; otherwise n samples
    with balanced labels, a grid column per class."""
    specs = [s for spec in (class_specs or []) for s in str(spec).split(",") if s.strip()]
    if cfg.model.cond == "none" and not specs and not per_class:
        return None
    k, names = run_classes(cfg, meta, run)
    if specs or per_class:
        classes = [resolve_class(s, k, names) for s in specs] if specs else list(range(k))
        return SamplePlan(class_labels(classes, n), torch.arange(n).repeat(len(classes)),
                          n if len(classes) > 1 else None)
    idx = torch.arange(n)
    return SamplePlan(idx % k, idx // k, min(k, n))


@torch.no_grad()
def generate_plan(G: nn.Module, plan: SamplePlan, seed: int = 0, batch_size: int = 500,
                  device: str | torch.device = "cpu") -> torch.Tensor:
    """G(z[plan.z_index], plan.labels) with z ~ N(0, I) drawn from `seed` (as gankit.sample.generate draws it)."""
    z = torch.randn(int(plan.z_index.max()) + 1, G.z_dim, generator=torch.Generator().manual_seed(seed))
    codes = z[plan.z_index]
    out = [G(codes[s:s + batch_size].to(device), plan.labels[s:s + batch_size].to(device)).cpu()
           for s in range(0, len(codes), batch_size)]
    return torch.cat(out)


def get_classifier(name: str) -> Any:
    """A classifier from the metrics feature registry (e.g. "fashion-cnn")."""
    from gankit.metrics import features

    return features.get_extractor(name)


def _real_data(cfg: Any, n: int, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    import dataclasses

    from gankit.data import build_dataset

    ds = build_dataset(dataclasses.replace(cfg.data, split=split, limit=n))
    if ds.y is None:
        raise GankitError(f"data set {cfg.data.name!r} has no labels to compare classes with")
    return ds.x, ds.y


def cmd_cond_eval(args: Any, rest: list[str]) -> int:
    import json
    from pathlib import Path

    from gankit.sample import load_generator

    G, cfg, meta = load_generator(Path(args.run), device=args.device, ema=not args.no_ema)
    k, names = run_classes(cfg, meta, args.run)
    real_x, real_y = _real_data(cfg, args.n_real, args.split)
    res = evaluate_conditional(G, get_classifier(args.classifier), real_x, real_y,
                               n_per_class=args.n_per_class, seed=args.seed, device=args.device)
    res.update({"run": str(args.run), "step": meta.get("step"), "classifier": args.classifier,
                "n_real": len(real_x), "split": args.split})
    for c in range(k):
        label = names[c] if names else str(c)
        print(f"{c:2d} {label:14s} accuracy {res['accuracy_per_class'][c]:.3f}  intra-FID {res['intra_fid'][c]:.3f}")
    print(f"accuracy {res['accuracy']:.4f}  FID[{args.classifier}] {res['fid']:.3f}  "
          f"mean intra-FID {res['intra_fid_mean']:.3f}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("cond-eval", help="class-conditional accuracy, FID and intra-class FID of a conditional run")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--classifier", default="fashion-cnn", help="feature extractor with logits (default fashion-cnn)")
    p.add_argument("--n-per-class", type=int, default=1000, help="generated samples of each class")
    p.add_argument("--n-real", type=int, default=10000, help="real samples (the first N of the split)")
    p.add_argument("--split", default="train", choices=["train", "test"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-ema", action="store_true")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.set_defaults(func=cmd_cond_eval)
