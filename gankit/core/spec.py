"""What a data set holds, so that families, hooks and tools work from a description, not from shapes.

A batch is a dict of tensors named by the spec's fields, e.g. {"x": images, "y": labels},
{"a": inputs, "b": targets} or {"tokens": ids}.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MODALITIES = ("image", "vector", "tokens", "audio")


@dataclass(frozen=True)
class DataSpec:
    """modality of the main field; per-sample shapes of every field; classes or vocabulary if any."""

    modality: str
    fields: dict[str, tuple[int, ...]]
    main: str = "x"  # the field a generator's samples are compared with
    num_classes: int | None = None
    class_names: tuple[str, ...] | None = None
    vocab_size: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise ValueError(f"unknown modality {self.modality!r}; valid: {', '.join(MODALITIES)}")
        if self.main not in self.fields:
            raise ValueError(f"main field {self.main!r} is not one of the fields {sorted(self.fields)}")

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one sample of the main field, e.g. (1, 28, 28) or (2,)."""
        return self.fields[self.main]

    @property
    def labelled(self) -> bool:
        return "y" in self.fields and self.num_classes is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (checkpoints keep it; `extra` holds arrays and is left out)."""
        return {"modality": self.modality, "fields": {k: list(v) for k, v in self.fields.items()}, "main": self.main,
                "num_classes": self.num_classes, "class_names": list(self.class_names) if self.class_names else None,
                "vocab_size": self.vocab_size}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DataSpec":
        return cls(d["modality"], {k: tuple(v) for k, v in d["fields"].items()}, d.get("main", "x"),
                   d.get("num_classes"), tuple(d["class_names"]) if d.get("class_names") else None,
                   d.get("vocab_size"))


def spec_from_meta(meta: dict[str, Any]) -> DataSpec:
    """A checkpoint's spec; checkpoints written before specs existed have data_shape/class_names."""
    if "spec" in meta:
        return DataSpec.from_dict(meta["spec"])
    shape = tuple(meta["data_shape"])
    names = meta.get("class_names")
    fields = {"x": shape, **({"y": ()} if names else {})}
    k = meta.get("num_classes") or (len(names) if names else None)
    return DataSpec("image" if len(shape) == 3 else "vector", fields, "x", k, tuple(names) if names else None)
