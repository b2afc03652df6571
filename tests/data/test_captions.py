"""Captions of images for text -> image: attributes measured on synthetic images, tertile levels, templates that
vary, the vocabulary's round trip, the unknown-word refusal, the caption data set."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

import gankit.data.captions as C
from gankit.errors import DataError


def box(ink: float, h: int, w: int) -> torch.Tensor:
    """A 28x28 image in [-1, 1]: an h x w rectangle of ink `ink` (0 white .. 1 full) on an empty background."""
    x = -torch.ones(1, 28, 28)
    x[:, 2:2 + h, 3:3 + w] = 2 * ink - 1
    return x


def test_measure_brightness_and_area_of_rectangles():
    x = torch.stack([box(0.5, 10, 10), box(1.0, 20, 14), box(0.05, 28, 28), -torch.ones(1, 28, 28)])
    raw = C.measure(x)
    assert raw[0].tolist() == pytest.approx([0.5, 100 / 784])
    assert raw[1].tolist() == pytest.approx([1.0, 280 / 784])
    assert raw[2].tolist() == pytest.approx([0.0, 0.0])  # ink below the silhouette threshold is background
    assert raw[3].tolist() == [0.0, 0.0]


def test_levels_are_the_class_tertiles():
    gen = torch.Generator().manual_seed(0)
    inks = torch.rand(90, generator=gen) * 0.8 + 0.15  # distinct brightnesses
    areas = torch.randperm(700, generator=gen)[:90] + 20  # distinct areas: the first k pixels have ink
    x = -torch.ones(90, 1, 28, 28)
    for i, (ink, k) in enumerate(zip(inks, areas)):
        x[i].view(-1)[:k] = 2 * ink - 1
    y = torch.arange(90) % 2
    y[y == 1] = 5  # classes 0 and 5; the other classes are absent and get the overall tertiles
    cuts = C.class_cuts(C.measure(x), y, 10)
    lv = C.levels(C.measure(x), y, cuts)
    for c in (0, 5):
        for a in range(2):
            assert torch.bincount(lv[y == c, a], minlength=3).tolist() == [15, 15, 15]
    assert torch.equal(C.measure_levels(x, y, cuts), lv)
    want_dark = C.measure(x)[:, 0] <= torch.tensor([cuts[int(c)][0][0] for c in y])
    assert torch.equal(lv[:, 0] == 0, want_dark)


def test_templates_vary_and_name_the_class_and_levels():
    rng = np.random.default_rng(0)
    caps = {C.random_caption(9, 0, 2, rng) for _ in range(300)}
    assert len(caps) > 40
    for text in caps:
        words = C.tokenize(text)
        assert "boot" in words
        assert not set(words) & {"bright", "pale", "light", "small", "little", "grey", "gray"}
        assert not re.search(r"\ba [aeiou]", text)  # "an ankle boot", "an image of"
    assert C.fill("a {b} {s} {c}", 9, 0, 0) == "a dark small ankle boot"
    assert C.fill("a {c}", 9, 0, 0) == "an ankle boot"
    assert C.fill("this {c} is {s} and {b}", 8, 2, 1, (1, 1, 0)) == "this handbag is medium-sized and pale"


def test_vocabulary_round_trip():
    vocab = C.vocabulary()
    assert vocab[0] == C.PAD and vocab == C.vocabulary() and len(set(vocab)) == len(vocab)
    assert json.loads(json.dumps(vocab)) == vocab
    rng = np.random.default_rng(1)
    for _ in range(200):
        text = C.random_caption(int(rng.integers(10)), int(rng.integers(3)), int(rng.integers(3)), rng)
        ids = C.encode(text, vocab, C.max_words())
        assert ids.shape == (C.max_words(),) and C.decode(ids, vocab) == " ".join(C.tokenize(text))
    assert C.decode(C.encode("A Dark,  ANKLE boot!", vocab, 10), vocab) == "a dark ankle boot"


def test_unknown_or_empty_captions_are_refused():
    vocab = C.vocabulary()
    with pytest.raises(DataError, match=r"unknown word 'wellington' in .*vocabulary \(\d+ words\) has e\.g\. ankle"):
        C.encode("a dark wellington", vocab, 10)
    with pytest.raises(DataError, match="no words"):
        C.encode("!!", vocab, 10)
    with pytest.raises(DataError, match="at most 3"):
        C.encode("a dark ankle boot", vocab, 3)


def test_caption_dataset_fields_and_spec():
    x = torch.stack([box(0.3 + 0.02 * i, 4 + i % 20, 8) for i in range(40)])
    y = torch.arange(40) % 10
    d = C.caption_dataset(x, y, [f"c{k}" for k in range(10)], 3, seed=0)
    assert d.captions.shape == (40, 3, C.max_words()) and d.attrs.shape == (40, 2)
    assert torch.equal(d.attrs, C.measure_levels(x, y, d.extra["captions"]["cuts"]))
    spec = d.spec
    assert spec.vocab_size == len(C.vocabulary()) and spec.fields["captions"] == (3, C.max_words())
    vocab = d.extra["vocab"]
    for i in range(40):
        for k in range(3):
            words = set(C.decode(d.captions[i, k], vocab).replace("ankle boot", "boot").split())
            assert words & {w for phrase in C.CLASS_WORDS[int(y[i])] for w in phrase.split()}
            b, s = d.attrs[i].tolist()
            other_b = {w for lv, ws in enumerate(C.LEVEL_WORDS["brightness"]) if lv != b for w in ws}
            assert not words & other_b
    again = C.caption_dataset(x, y, [f"c{k}" for k in range(10)], 3, seed=0)
    assert torch.equal(again.captions, d.captions)  # seeded
