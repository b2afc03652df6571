"""Datasets held fully in memory, built from a config by name.

Registry keys: "fashion-mnist", "fashion-mnist-binary" (threshold 127), "image-folder", "digits", "ring8", "grid25"; paired translation
(gankit.data.paired): "fashion-edges", "paired-folder", "colorize"; unpaired translation (gankit.data.unpaired):
"fashion-edges-unpaired", "fashion-sneaker-boot";
super-resolution (gankit.data.sr): "sr-crops"; token sequences (gankit.data.tokens, gankit.data.poems): "oracle",
"poems"; captioned images (gankit.data.captions): "fashion-captions"; speech waveforms (gankit.data.speech):
"speech".
Images come as float32 (N, C, H, W) in [-1, 1]; toy sets as float32 (N, 2). Every data set gives the
trainer its tensors by field name (`fields`: {"x": samples, "y": labels}) and a `DataSpec` describing them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from gankit.core.spec import DataSpec
from gankit.data import captions, digits, fashion, images, paired, poems, speech, sr, subset, tokens, toy, unpaired
from gankit.errors import ConfigError


@dataclass
class ArrayDataset:
    """A whole dataset in memory: samples ``x``, optional int64 labels ``y``."""

    x: torch.Tensor
    y: torch.Tensor | None
    name: str
    class_names: list[str] | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.y is not None and len(self.y) != len(self.x):
            raise ValueError(f"{self.name}: {len(self.x)} samples but {len(self.y)} labels")

    def __len__(self) -> int:
        return len(self.x)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one sample, e.g. (1, 28, 28) or (2,)."""
        return tuple(self.x.shape[1:])

    @property
    def fields(self) -> dict[str, torch.Tensor]:
        """The tensors a batch is cut from, by name."""
        return {"x": self.x, **({"y": self.y} if self.y is not None else {})}

    @property
    def spec(self) -> DataSpec:
        shapes = {"x": self.shape, **({"y": ()} if self.y is not None else {})}
        labelled = self.y is not None
        return DataSpec("image" if self.x.dim() == 4 else "vector", shapes, "x",
                        self.num_classes if labelled else None,
                        tuple(self.class_names) if self.class_names and labelled else None, extra=self.extra)

    @property
    def num_classes(self) -> int | None:
        """Number of classes: from ``class_names``, else the largest label + 1, else None."""
        if self.class_names is not None:
            return len(self.class_names)
        if self.y is None or len(self.y) == 0:
            return None
        return int(self.y.max()) + 1


def _check_options(cfg: Any) -> None:
    """Validate the generic config fields; ConfigError naming the bad key."""
    if cfg.split not in ("train", "test"):
        raise ConfigError(f"data.split: must be 'train' or 'test', got {cfg.split!r}")
    if cfg.resolution is not None and (not isinstance(cfg.resolution, int) or cfg.resolution < 1):
        raise ConfigError(f"data.resolution: must be a positive integer or None, got {cfg.resolution!r}")
    if cfg.channels not in (None, 1, 3):
        raise ConfigError(f"data.channels: must be 1, 3 or None, got {cfg.channels!r}")
    if cfg.limit is not None and (not isinstance(cfg.limit, int) or cfg.limit < 1):
        raise ConfigError(f"data.limit: must be a positive integer or None, got {cfg.limit!r}")
    if not isinstance(cfg.n_samples, int) or cfg.n_samples < 1:
        raise ConfigError(f"data.n_samples: must be a positive integer, got {cfg.n_samples!r}")
    subset.check_per_class(cfg.per_class)
    if cfg.per_class is not None and cfg.name not in PER_CLASS_DATASETS:
        raise ConfigError(f"data.per_class: only for {', '.join(PER_CLASS_DATASETS)}, not {cfg.name!r}")


def _finish_images(x: torch.Tensor, cfg: Any) -> torch.Tensor:
    return images.resize_images(images.match_channels(x, cfg.channels), cfg.resolution)


def _build_fashion(cfg: Any) -> ArrayDataset:
    raw, labels = fashion.load_fashion_mnist(
        cfg.split, cfg.root, cfg.download, cfg.cache_dir
    )
    if cfg.limit is not None:
        raw, labels = raw[: cfg.limit], labels[: cfg.limit]
    if cfg.per_class is not None:
        where = f"the fashion-mnist {cfg.split} split" + (f" (first {cfg.limit})" if cfg.limit else "")
        keep = subset.per_class_indices(torch.from_numpy(labels), cfg.per_class, cfg.subset_seed,
                                        len(fashion.CLASS_NAMES), fashion.CLASS_NAMES, where)
        raw, labels = raw[keep.numpy()], labels[keep.numpy()]
    x = _finish_images(images.uint8_to_unit(raw).unsqueeze(1), cfg)
    return ArrayDataset(x, torch.from_numpy(labels), "fashion-mnist", list(fashion.CLASS_NAMES))


def _build_fashion_binary(cfg: Any) -> ArrayDataset:
    """Fashion-MNIST binarised by a fixed threshold (pixel > 127 -> 1, else -1 on gankit's [-1, 1] scale)."""
    d = _build_fashion(cfg)
    return ArrayDataset(torch.where(d.x > 0, 1.0, -1.0), d.y, "fashion-mnist-binary", d.class_names,
                        {"binarised": "threshold 127"})


def _build_image_folder(cfg: Any) -> ArrayDataset:
    if cfg.root is None:
        raise ConfigError("data.root: required for the image-folder dataset")
    x, y, class_names = images.load_image_folder(cfg.root, cfg.resolution, cfg.channels, cfg.limit)
    return ArrayDataset(x, y, "image-folder", class_names, {"root": str(cfg.root)})


def _build_digits(cfg: Any) -> ArrayDataset:
    x, y = digits.load_digits(cfg.split)
    if cfg.limit is not None:
        x, y = x[: cfg.limit], y[: cfg.limit]
    return ArrayDataset(_finish_images(x, cfg), y, "digits", list(digits.CLASS_NAMES))


def _toy_builder(name: str) -> Callable[[Any], ArrayDataset]:
    def build(cfg: Any) -> ArrayDataset:
        mixture = toy.MIXTURES[name]()
        n = cfg.n_samples if cfg.limit is None else min(cfg.n_samples, cfg.limit)
        generator = torch.Generator().manual_seed(cfg.seed)
        x, modes = mixture.sample_with_modes(n, generator)
        names = [f"mode {k}" for k in range(mixture.num_modes)]
        extra = {"centers": mixture.centers.copy(), "std": mixture.std}
        return ArrayDataset(x, modes, name, names, extra)

    return build


PER_CLASS_DATASETS = ("fashion-mnist", "fashion-mnist-binary")  # data.per_class works on these

DATASETS: dict[str, Callable[[Any], ArrayDataset]] = {
    "fashion-mnist": _build_fashion,
    "fashion-mnist-binary": _build_fashion_binary,
    "image-folder": _build_image_folder,
    "digits": _build_digits,
    "ring8": _toy_builder("ring8"),
    "grid25": _toy_builder("grid25"),
    "fashion-edges": paired.build_fashion_edges,
    "paired-folder": paired.build_paired_folder,
    "colorize": paired.build_colorize,
    "fashion-edges-unpaired": unpaired.build_fashion_edges_unpaired,
    "fashion-sneaker-boot": unpaired.build_sneaker_boot,
    "sr-crops": sr.build_sr_crops,
    "oracle": tokens.build_oracle,
    "poems": poems.build_poems,
    "fashion-captions": captions.build_fashion_captions,
    "speech": speech.build_speech,
}


def build_dataset(cfg: Any):
    """Build the dataset ``cfg.name`` (see ``DATASETS``) with the options of ``cfg``."""
    builder = DATASETS.get(cfg.name)
    if builder is None:
        raise ConfigError(
            f"data.name: unknown dataset {cfg.name!r}; valid names: {', '.join(sorted(DATASETS))}"
        )
    _check_options(cfg)
    return builder(cfg)


__all__ = ["ArrayDataset", "DATASETS", "build_dataset"]
