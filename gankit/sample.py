"""Load a trained generator from a run directory and write samples (PNG files, a PNG grid or .npz)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from gankit import viz
from gankit.config import Config
from gankit.core import checkpoint as ck
from gankit.core.spec import spec_from_meta
from gankit.errors import CheckpointError, ConfigError
from gankit.families.gan import generate_seeded
from gankit.families.registry import family_of, from_dict


def load_models(run: Path, device: str = "cpu") -> tuple[dict[str, nn.Module], Config, dict]:
    """The newest checkpoint's modules, rebuilt by the run's family from its config and data spec, in eval mode."""
    tensors, meta = ck.load_checkpoint(Path(run))
    cfg = from_dict(meta["config"])
    models = family_of(cfg).models(cfg, spec_from_meta(meta))
    source = str(ck.find_checkpoint(Path(run)))
    for name, m in models.items():
        ck.load_module(f"model.{name}", m, tensors, source)
    return {k: m.to(device).eval() for k, m in models.items()}, cfg, meta


def without_ema(models: dict[str, nn.Module]) -> dict[str, nn.Module]:
    """The modules less their averaged copies (named NAME_ema), so that sampling uses the trained weights."""
    return {k: m for k, m in models.items() if not k.endswith("_ema")}


def load_generator(run: Path, device: str = "cpu", ema: bool = True) -> tuple[nn.Module, Config, dict]:
    """The newest checkpoint's generator (its EMA copy when there is one and `ema`), in eval mode."""
    models, cfg, meta = load_models(run, device)
    if cfg.model.family == "vae":  # its decoder's mean image as G(z)
        from gankit.families.vae import MeanDecoder

        models = {"G": MeanDecoder(models["dec"]).eval()}
    if "G" not in models:
        raise CheckpointError(f"{run}: a {cfg.model.family} run has no generator G")
    return (models["G_ema"] if ema and "G_ema" in models else models["G"]), cfg, meta


def load_discriminator(run: Path, device: str = "cpu") -> nn.Module:
    """The newest checkpoint's discriminator (PacGAN wrapper included), in eval mode; for rejection sampling."""
    models, cfg, _ = load_models(run, device)
    if cfg.model.family != "gan" or cfg.model.cond != "none" or cfg.stab.madgan_k:
        raise ConfigError(f"{run}: discriminator rejection sampling needs an unconditional single-output D "
                          "(not a conditional or MAD-GAN run)")
    return models["D"]


def run_num_classes(meta: dict) -> int | None:
    """Classes of a checkpoint's conditional generator (older checkpoints: the data set's class names)."""
    if meta.get("num_classes") is not None:
        return int(meta["num_classes"])
    return len(meta["class_names"]) if meta.get("class_names") else None


def generate(G: nn.Module, n: int, seed: int = 0, batch_size: int = 500, device: str = "cpu",
             labels: torch.Tensor | None = None) -> torch.Tensor:
    """n samples of a GAN generator from z ~ N(0, I) drawn with a seeded generator (same seed, same samples).

    `labels` (n,) int64 are passed to a conditional generator as G(z, y)."""
    return generate_seeded(G.to(device), n, seed, labels, batch_size)


def text_samples(models: dict[str, nn.Module], meta: dict, texts: list[str], n: int, seed: int = 0) -> torch.Tensor:
    """A text2image run's n samples of each caption (n per caption, in order; column j has the same z for every
    caption), z seeded; DataError names an unknown word."""
    from gankit.data.captions import encode
    from gankit.families.text2image import generate_text

    info = meta.get("captions") or {}
    if not meta.get("vocab") or "max_words" not in info:
        raise CheckpointError("this text2image checkpoint has no vocabulary in its meta")
    ids = [encode(t, meta["vocab"], int(info["max_words"])) for t in texts]
    return torch.cat([generate_text(models, row.expand(n, -1), seed) for row in ids])


def write_samples(samples: torch.Tensor, out: Path, nrow: int | None = None, modality: str | None = None) -> Path:
    """`.npz` -> array 'samples' (float32 in the data's scale); `.png` -> one grid (images) or a scatter (2-D
    vectors); otherwise a folder of PNGs. `modality` is the run's DataSpec modality (default: by shape).
    A path that cannot be written (no such folder can be made, no permission) raises ConfigError naming it."""
    out = Path(out)
    image = modality == "image" if modality else samples.dim() == 4
    if out.suffix not in (".npz", ".png") and not image:
        raise ConfigError(f"--out {out}: samples of shape {tuple(samples.shape[1:])} are not images; use a .npz path")
    try:
        if out.suffix == ".npz":
            out.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(out, samples=samples.numpy().astype(np.float32))
        elif out.suffix == ".png" and not image:
            viz.save_scatter(samples, out)
        elif out.suffix == ".png":
            viz.save_grid(samples, out, nrow=nrow, scale=2)
        else:
            viz.save_images(samples, out)
    except OSError as e:
        blocker = next((p for p in out.parents if p.is_file()), None)
        detail = f"{blocker} is a file, not a folder" if blocker else e.strerror or str(e)
        raise ConfigError(f"--out {out}: cannot write samples ({detail})") from None
    return out
