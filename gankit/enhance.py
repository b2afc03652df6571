"""Restoration commands.

`gankit enhance RUN_DIR --input IMG_OR_DIR --out PATH [--tile N]`: a trained super-resolution run (srgan family)
up-samples any image, of any size, by its scale (4x).

The image is processed in tiles of `--tile` LR pixels, each with the generator's receptive radius of context
around it, so a large photo fits in memory and the result equals the whole-image one. Grayscale images are
converted to RGB (R = G = B) with a note: the model is trained on colour photos. A folder of inputs gives a
folder of outputs with the same names (as PNG).

`gankit inpaint RUN_DIR --input IMG --mask MASK.png --out PATH`: a trained completion run fills the hole of an
image: the mask's white (> 127) pixels. The completion net is convolutional, so any image whose sides are
multiples of 4 works; a mask of another size than the image is refused; a colour image given to a grayscale model
is converted to luma, a grayscale one given to a colour model to RGB, each with a note.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from gankit.data.images import _images_in
from gankit.errors import ConfigError, DataError, GankitError
from gankit.translate import write_outputs


def _inputs(src: Path) -> list[Path]:
    if not src.exists():
        raise DataError(f"--input {src}: no such file or folder")
    files = _images_in(src) if src.is_dir() else [src]
    if not files:
        raise DataError(f"--input {src}: no PNG/JPEG images in this folder")
    return files


def enhance_file(G: torch.nn.Module, path: Path, tile: int) -> torch.Tensor:
    """One image file up-sampled by G: (3, s*H, s*W) in [-1, 1]."""
    import warnings

    from gankit.data.sr import read_rgb, to_unit
    from gankit.families.srgan import upsample_tiled

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rgb = read_rgb(path, "input")
    for w in caught:
        print(f"note: {w.message}", flush=True)
    return upsample_tiled(G, to_unit(rgb)[None], tile)[0]


def load_run(args: argparse.Namespace, rest: list[str], family: str, what: str) -> dict[str, torch.nn.Module]:
    """The modules of the run `args.run`, refused with one line unless it is a `family` run."""
    from gankit.sample import load_models

    if rest:
        raise GankitError(f"unexpected arguments: {' '.join(rest)}")
    models, cfg, _ = load_models(Path(args.run), device=args.device)
    if cfg.model.family != family:
        raise ConfigError(f"{args.run} is a {cfg.model.family} run; gankit {args.command} takes {what} runs")
    return models


def cmd_enhance(args: argparse.Namespace, rest: list[str]) -> int:
    models = load_run(args, rest, "srgan", "super-resolution (srgan)")
    src, out = Path(args.input), Path(args.out)
    files = _inputs(src)
    G, t0 = models["G"], time.perf_counter()
    outputs = [enhance_file(G, f, args.tile) for f in files]
    seconds = time.perf_counter() - t0
    targets = [write_outputs(o[None], [f], src, out)[0] for o, f in zip(outputs, files)]
    size = outputs[0].shape
    print(f"wrote {len(targets)} image(s), {G.scale}x ({size[2]}x{size[1]} for {files[0].name}), in "
          f"{seconds:.2f} s: {targets[0] if len(targets) == 1 else out}")
    return 0


def read_for_model(path: Path, channels: int) -> torch.Tensor:
    """An image as (1, channels, H, W) in [-1, 1], converted (with a note) when its colour mode differs."""
    import numpy as np

    from gankit.data.images import GRAY_MODES, open_image

    img = open_image(path)
    gray = img.mode in GRAY_MODES or img.mode == "LA"
    if gray != (channels == 1):
        print(f"note: {path.name} is {'grayscale' if gray else 'colour'}; the model takes "
              f"{'grayscale' if channels == 1 else 'RGB'} images, so it is converted", flush=True)
    arr = np.array(img.convert("L" if channels == 1 else "RGB"), dtype=np.uint8).reshape(img.size[1], img.size[0], -1)
    return torch.from_numpy(arr).permute(2, 0, 1)[None].float() / 127.5 - 1


def cmd_inpaint(args: argparse.Namespace, rest: list[str]) -> int:
    import numpy as np

    from gankit.data.images import open_image
    from gankit.families.completion import complete_eval

    models = load_run(args, rest, "completion", "completion")
    src, mask_path = Path(args.input), Path(args.mask)
    for p in (src, mask_path):
        if not p.is_file():
            raise DataError(f"{p}: no such image file")
    C = models["C"]
    x = read_for_model(src, C.net[-2].out_channels)
    mask_img = open_image(mask_path).convert("L")
    h, w = x.shape[-2:]
    if mask_img.size != (w, h):
        raise DataError(f"{mask_path}: the mask is {mask_img.size[0]}x{mask_img.size[1]} but the image is {w}x{h}; "
                        "they must have the same size")
    if h % 4 or w % 4:
        raise DataError(f"{src}: {w}x{h}; the completion net needs sides that are multiples of 4 (crop or pad it)")
    mask = torch.from_numpy((np.asarray(mask_img) > 127).astype(np.float32))[None, None]
    if not mask.any():
        raise DataError(f"{mask_path}: the mask has no white (hole) pixels")
    out = write_outputs(complete_eval(C, x, mask), [src], src, Path(args.out))[0]
    print(f"filled {int(mask.sum())} pixels of {src.name}: {out}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("enhance", help="up-sample images with a super-resolution run (srgan family, 4x)")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--input", required=True, help="an image or a folder of images (any size)")
    p.add_argument("--out", required=True, help="output .png (one input) or folder")
    p.add_argument("--tile", type=int, default=128, help="tile side in input pixels (memory: smaller tiles use less)")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=cmd_enhance)

    p = sub.add_parser("inpaint", help="fill the hole of an image with an image-completion run")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--input", required=True, help="an image (sides multiples of 4)")
    p.add_argument("--mask", required=True, help="a mask image of the same size: white (> 127) = the hole")
    p.add_argument("--out", required=True, help="output .png")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=cmd_inpaint)
