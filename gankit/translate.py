"""`gankit translate RUN_DIR --input IMG_OR_DIR --out PATH [--to A|B|CLASS]`: a trained translation model (pix2pix,
cyclegan, stargan) on any images. `--to` names the domain to translate to (default B: A -> B; a CycleGAN also goes
B -> A); a StarGAN run needs `--to CLASS`, a class name of its data set (case-insensitive) or an index.

Inputs must have the size the model was trained on (no silent resizing: a different size gives one error line
saying which size to use); colour inputs to a model trained on grayscale inputs (e.g. colourisation) are
converted to luma with a notice. A folder of inputs gives a folder of outputs with the same names.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gankit import viz
from gankit.core.spec import spec_from_meta
from gankit.data.images import _images_in, open_image
from gankit.errors import ConfigError, DataError, GankitError

# family -> {target domain: (generator, input field)}; CLASS: any class of the run's data set, named by --to
TRANSLATORS = {"pix2pix": {"B": ("G", "a")}, "cyclegan": {"B": ("G_AB", "a"), "A": ("G_BA", "b")},
               "stargan": {"CLASS": ("G", "x")}}


def load_inputs(src: Path, channels: int, size: int) -> tuple[torch.Tensor, list[Path]]:
    """(N, channels, size, size) in [-1, 1] from one image or a folder of images; DataError on a size mismatch."""
    if not src.exists():
        raise DataError(f"--input {src}: no such file or folder")
    files = _images_in(src) if src.is_dir() else [src]
    if not files:
        raise DataError(f"--input {src}: no PNG/JPEG images in this folder")
    arrays = []
    for path in files:
        img = open_image(path)
        if img.size != (size, size):
            raise DataError(f"{path}: the image is {img.size[0]}x{img.size[1]} but the model translates "
                            f"{size}x{size} images; resize it (or train at its size with --data.resolution)")
        if channels == 1 and img.mode not in ("L", "I", "I;16", "F", "1"):
            print(f"note: {path.name} is colour; the model takes grayscale inputs, so its luma is used", flush=True)
        img = img.convert("L" if channels == 1 else "RGB")
        arrays.append(np.asarray(img, dtype=np.uint8).reshape(size, size, channels))
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    return x, files


def write_outputs(images: torch.Tensor, files: list[Path], src: Path, out: Path) -> list[Path]:
    """One PNG for one input (`out` a .png path), else a folder `out` with the inputs' names as PNGs."""
    arr = viz.to_uint8(images)
    if not src.is_dir():
        targets = [out if out.suffix.lower() == ".png" else out / (files[0].stem + ".png")]
    else:
        if out.suffix:
            raise ConfigError(f"--out {out}: a folder of inputs needs an output folder, not a file name")
        targets = [out / (f.stem + ".png") for f in files]
    try:
        targets[0].parent.mkdir(parents=True, exist_ok=True)
        for a, path in zip(arr, targets):
            Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a).save(path)
    except OSError as e:
        raise ConfigError(f"--out {out}: cannot write ({e.strerror or e})") from None
    return targets


def direction(family: str, run: str, to: str) -> tuple[str, str]:
    """(generator, input field) of a `family` run translating to domain `to`; ConfigError otherwise."""
    if family not in TRANSLATORS:
        raise ConfigError(f"{run} is a {family} run; gankit translate takes runs of: {', '.join(TRANSLATORS)}")
    domains = TRANSLATORS[family]
    if to.upper() not in domains:
        raise ConfigError(f"--to {to}: a {family} run translates to domain {' or '.join(sorted(domains))}, not {to}")
    return domains[to.upper()]


def target_class(to: str | None, class_names: tuple[str, ...] | None, num_classes: int) -> int:
    """The class index `--to` names (a class name, case-insensitive, or an index); ConfigError otherwise."""
    names = list(class_names or [str(i) for i in range(num_classes)])
    valid = f"valid classes: {', '.join(names)} (or an index 0-{num_classes - 1})"
    if to is None:
        raise ConfigError(f"a stargan run translates to any class: --to CLASS is required; {valid}")
    if to.strip().isdigit() and int(to) < num_classes:
        return int(to)
    lower = [n.lower() for n in names]
    if to.strip().lower() not in lower:
        raise ConfigError(f"--to {to}: not a class of this stargan run; {valid}")
    return lower.index(to.strip().lower())


def cmd_translate(args: argparse.Namespace, rest: list[str]) -> int:
    from gankit.families.pix2pix import translate
    from gankit.sample import load_models

    if rest:
        raise GankitError(f"unexpected arguments: {' '.join(rest)}")
    models, cfg, meta = load_models(Path(args.run), device=args.device)
    family, spec = cfg.model.family, spec_from_meta(meta)
    if "CLASS" in TRANSLATORS.get(family, {}):
        from gankit.families.stargan import translate_to

        net, field = TRANSLATORS[family]["CLASS"]
        target = target_class(args.to, spec.class_names, spec.num_classes)
        run_net = partial(translate_to, models[net], target=target)
    else:
        net, field = direction(family, args.run, args.to or "B")
        run_net = partial(translate, models[net], seed=args.seed)
    channels, size, _ = spec.fields[field]
    x, files = load_inputs(Path(args.input), channels, size)
    written = write_outputs(run_net(x), files, Path(args.input), Path(args.out))
    print(f"translated {len(written)} image(s) -> {written[0] if len(written) == 1 else Path(args.out)}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("translate", help="translate images with a trained pix2pix, cyclegan or stargan run")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--input", required=True, help="an image or a folder of images (the model's input size)")
    p.add_argument("--out", required=True, help="output .png (one input) or folder")
    p.add_argument("--to", default=None, help="the domain to translate to: B (A -> B, the default) or A (B -> A, "
                   "cyclegan runs); for stargan runs (required) a class name or index")
    p.add_argument("--seed", type=int, default=0, help="seed of the dropout noise (kept on at test time)")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=cmd_translate)
