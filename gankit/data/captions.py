"""Captions of Fashion-MNIST images from their label and two attributes measured on the pixels (text -> image).

Data set ``fashion-captions``: batches {"x": image, "y": class, "attrs": (brightness, size) levels, "captions":
K token-id captions of the image}. The attributes are measured, never guessed:

- the **silhouette** is the set of pixels with ink (x + 1) / 2 > ``SILHOUETTE_INK`` (0.1);
- **size** = the silhouette's area (fraction of the image); **brightness** = the mean ink over the silhouette;
- each is cut into three levels (0 dark / 1 grey / 2 bright; 0 small / 1 medium-sized / 2 large) at the
  **tertiles of its class** on the training images, so a level says "for a coat, a large one" and is not a proxy
  of the class (bags are larger than sandals). The cut points travel with the run (spec.extra / checkpoint
  meta ``captions.cuts``), and the evaluation measures generated images with the same function and cuts.

A caption is a template filled with one of several words for the class and for each level ("a dark large coat",
"this sneaker is small and pale", "a photo of a big black bag", "a sweater"); a template may leave out one or
both attributes. The vocabulary (``vocabulary()``) is every word the templates can produce, sorted, after the
padding token 0; it is deterministic and saved with the run. Words are lower-case runs of letters and hyphens;
a word outside the vocabulary is refused with one line naming it (`encode`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from gankit.core.spec import DataSpec
import gankit.data.fashion as fashion
import gankit.data.images as images
from gankit.errors import DataError

SILHOUETTE_INK = 0.1  # a pixel belongs to the item when its ink (0 white .. 1 full) exceeds this
ATTRIBUTES = ("brightness", "size")
LEVEL_WORDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "brightness": (("dark", "black"), ("grey", "gray", "mid-tone"), ("bright", "pale", "light")),
    "size": (("small", "little"), ("medium-sized", "mid-sized"), ("large", "big")),
}
CLASS_WORDS: tuple[tuple[str, ...], ...] = (
    ("t-shirt", "top"), ("trousers", "pants"), ("pullover", "sweater"), ("dress",), ("coat",), ("sandal",),
    ("shirt",), ("sneaker", "trainer"), ("bag", "handbag"), ("ankle boot", "boot"))
TEMPLATES = (  # {b} brightness word, {s} size word, {c} class word
    "a {b} {s} {c}", "a {s} {b} {c}", "{s} {b} {c}", "a photo of a {s} {b} {c}", "an image of a {b} {s} {c}",
    "a {c} that is {b} and {s}", "this {c} is {s} and {b}", "a {b} {c}", "a {s} {c}", "a {c}")
PAD = "<pad>"
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")


# ----------------------------------------------------------------------------- attributes
def measure(x: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) images in [-1, 1] -> (N, 2) float: mean ink over the silhouette, silhouette area fraction."""
    ink = (x.float().flatten(1) + 1) / 2
    sil = ink > SILHOUETTE_INK
    area = sil.float().mean(1)
    bright = (ink * sil).sum(1) / sil.sum(1).clamp(min=1)
    return torch.stack([bright, area], 1)


def class_cuts(raw: torch.Tensor, y: torch.Tensor, num_classes: int) -> list[list[list[float]]]:
    """Per class, per attribute: the two tertile cut points of the raw measures (the training images')."""
    cuts = []
    for c in range(num_classes):
        r = raw[y == c]
        if len(r) == 0:
            r = raw  # a class missing from a tiny subset: the overall tertiles
        q = torch.quantile(r.double(), torch.tensor([1 / 3, 2 / 3], dtype=torch.float64), dim=0)  # (2, A)
        cuts.append(q.T.tolist())
    return cuts


def levels(raw: torch.Tensor, y: torch.Tensor, cuts: Sequence) -> torch.Tensor:
    """(N, 2) raw measures + classes -> (N, 2) int64 levels 0/1/2 by the class's cut points."""
    c = torch.tensor(cuts, dtype=raw.dtype)[y.long()]  # (N, A, 2)
    return (raw.unsqueeze(2) > c).sum(2).long()


def measure_levels(x: torch.Tensor, y: torch.Tensor, cuts: Sequence) -> torch.Tensor:
    """The attribute levels of images `x` of classes `y` (what labels the real images and judges generated ones)."""
    return levels(measure(x), y, cuts)


# ----------------------------------------------------------------------------- text
def fill(template: str, cls: int, b: int, s: int, pick: Sequence[int] = (0, 0, 0)) -> str:
    """A template with the pick[0]-th class word, pick[1]-th brightness word, pick[2]-th size word ('a'->'an')."""
    words = (CLASS_WORDS[cls], LEVEL_WORDS["brightness"][b], LEVEL_WORDS["size"][s])
    c, bw, sw = (w[p % len(w)] for w, p in zip(words, pick))
    text = template.format(c=c, b=bw, s=sw)
    return re.sub(r"\ba (?=[aeiou])", "an ", text)


def random_caption(cls: int, b: int, s: int, rng: np.random.Generator) -> str:
    return fill(TEMPLATES[rng.integers(len(TEMPLATES))], cls, b, s, tuple(rng.integers(0, 6, size=3)))


def tokenize(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def vocabulary() -> list[str]:
    """Every word the templates can produce, sorted, after the padding token (id 0)."""
    words = {w for t in TEMPLATES for w in tokenize(re.sub(r"\{.\}", "", t))} | {"an"}
    words |= {w for group in (*CLASS_WORDS, *LEVEL_WORDS["brightness"], *LEVEL_WORDS["size"])
              for phrase in group for w in tokenize(phrase)}
    return [PAD, *sorted(words)]


def max_words() -> int:
    longest = max(len(tokenize(fill(t, c, 0, 0, (p, p, p)))) for t in TEMPLATES for c in range(10) for p in range(3))
    return longest + 2  # room for a slightly longer caption typed by a user


def encode(text: str, vocab: Sequence[str], length: int) -> torch.Tensor:
    """A caption -> (length,) int64 ids, padded with 0; DataError naming an unknown word or an empty caption."""
    index = {w: i for i, w in enumerate(vocab)}
    words = tokenize(text)
    unknown = [w for w in words if w not in index or w == PAD]
    if unknown:
        known = ", ".join(w for w in vocab[1:] if len(w) > 3)
        raise DataError(f"unknown word {unknown[0]!r} in {text!r}; the run's vocabulary ({len(vocab) - 1} "
                        f"words) has e.g. {known[:160]}...")
    if not words:
        raise DataError(f"caption {text!r} has no words")
    if len(words) > length:
        raise DataError(f"caption {text!r} has {len(words)} words; this run reads at most {length}")
    ids = [index[w] for w in words]
    return torch.tensor(ids + [0] * (length - len(ids)), dtype=torch.long)


def decode(ids: torch.Tensor, vocab: Sequence[str]) -> str:
    return " ".join(vocab[i] for i in ids.tolist() if i != 0)


# ----------------------------------------------------------------------------- the data set
@dataclass
class CaptionDataset:
    x: torch.Tensor  # (N, 1, H, W) in [-1, 1]
    y: torch.Tensor  # (N,) int64
    attrs: torch.Tensor  # (N, 2) int64 levels
    captions: torch.Tensor  # (N, K, L) int64 token ids
    name: str
    class_names: list[str]
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.x)

    @property
    def fields(self) -> dict[str, torch.Tensor]:
        return {"x": self.x, "y": self.y, "attrs": self.attrs, "captions": self.captions}

    @property
    def spec(self) -> DataSpec:
        shapes = {k: tuple(v.shape[1:]) for k, v in self.fields.items()}
        return DataSpec("image", shapes, "x", len(self.class_names), tuple(self.class_names),
                        len(self.extra["vocab"]), extra=self.extra)


def caption_dataset(x: torch.Tensor, y: torch.Tensor, class_names: list[str], per_image: int, seed: int,
                    cuts: list | None = None, name: str = "fashion-captions") -> CaptionDataset:
    """Measure, cut (at this set's class tertiles unless `cuts` is given) and caption `per_image` times each."""
    raw = measure(x)
    cuts = cuts if cuts is not None else class_cuts(raw, y, len(class_names))
    attrs = levels(raw, y, cuts)
    vocab, length = vocabulary(), max_words()
    rng, memo = np.random.default_rng(seed), {}

    def ids(text: str) -> torch.Tensor:
        if text not in memo:
            memo[text] = encode(text, vocab, length)
        return memo[text]

    caps = torch.zeros(len(x), per_image, length, dtype=torch.long)
    for i, (c, (b, s)) in enumerate(zip(y.tolist(), attrs.tolist())):
        caps[i] = torch.stack([ids(random_caption(c, b, s, rng)) for _ in range(per_image)])
    extra = {"vocab": vocab, "captions": {"cuts": cuts, "attributes": list(ATTRIBUTES), "max_words": length,
                                          "silhouette_ink": SILHOUETTE_INK}}
    return CaptionDataset(x, y.long(), attrs, caps, name, class_names, extra)


CAPTIONS_PER_IMAGE = 4


def build_fashion_captions(cfg: Any) -> CaptionDataset:
    """Fashion-MNIST (data.split, data.limit) with CAPTIONS_PER_IMAGE captions each, seeded by data.seed; the
    attribute cut points are always the tertiles of the (limited) training split, also for the test split."""
    if cfg.resolution not in (None, 28) or cfg.channels not in (None, 1):
        raise DataError("fashion-captions is 28x28 gray Fashion-MNIST: leave data.resolution and data.channels unset")
    raw, labels = fashion.load_fashion_mnist(cfg.split, cfg.root, cfg.download, cfg.cache_dir)
    limit = slice(None, cfg.limit)
    x, y = images.uint8_to_unit(raw[limit]).unsqueeze(1), torch.from_numpy(labels[limit])
    cuts = None
    if cfg.split != "train":
        tr_raw, tr_labels = fashion.load_fashion_mnist("train", cfg.root, cfg.download, cfg.cache_dir)
        tr_x = images.uint8_to_unit(tr_raw[limit]).unsqueeze(1)
        cuts = class_cuts(measure(tr_x), torch.from_numpy(tr_labels[limit]), len(fashion.CLASS_NAMES))
    return caption_dataset(x, y, list(fashion.CLASS_NAMES), CAPTIONS_PER_IMAGE, cfg.seed, cuts)
