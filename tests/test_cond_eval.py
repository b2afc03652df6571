"""Class look-up, class-conditional accuracy and intra-class FID with a tiny stand-in classifier."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from gankit.cond_eval import class_accuracy, class_labels, evaluate_conditional, resolve_class
from gankit.errors import GankitError

NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
LEVELS = torch.tensor([-0.6, 0.0, 0.6])


@pytest.mark.parametrize("spec, idx", [("7", 7), (7, 7), ("sneaker", 7), ("Ankle Boot", 9), ("ankle-boot", 9),
                                       ("t-shirt", 0), ("T-shirt/top", 0), (" bag ", 8), ("trou", 1)])
def test_resolve_class(spec, idx):
    assert resolve_class(spec, 10, NAMES) == idx


@pytest.mark.parametrize("spec, msg", [("10", "out of range 0..9"), ("-1", "out of range"), ("s", "ambiguous"),
                                       ("hat", "not a class"), ("", "not a class")])
def test_resolve_class_errors_list_the_classes(spec, msg):
    with pytest.raises(GankitError, match=msg) as e:
        resolve_class(spec, 10, NAMES)
    assert "0 T-shirt/top, 1 Trouser" in str(e.value) and "9 Ankle boot" in str(e.value)


def test_resolve_class_without_names():
    assert resolve_class("2", 3) == 2
    with pytest.raises(GankitError, match="valid classes: 0, 1, 2"):
        resolve_class("cat", 3)


class LevelG(nn.Module):
    """Stand-in conditional G: class c gives 4x4 images near grey level LEVELS[c] (or class 0's with `ignore_y`)."""

    z_dim, num_classes = 2, 3

    def __init__(self, ignore_y: bool = False):
        super().__init__()
        self.ignore_y = ignore_y
        self.w = nn.Parameter(torch.zeros(1))  # gives the module a device

    def forward(self, z, y):
        level = LEVELS[torch.zeros_like(y) if self.ignore_y else y]
        img = (level + 0.05 * z[:, 0])[:, None, None, None].expand(-1, 1, 4, 4).clone()
        img[:, 0, 0, 0] += 0.05 * z[:, 1]
        return img


class StandInClassifier(nn.Module):
    """Features (mean grey, first pixel); logits: closeness of the mean to each class level."""

    name, weights_sha256, expects_images = "stand-in", None, True

    def forward(self, x):
        return torch.stack([x.mean(dim=(1, 2, 3)), x[:, 0, 0, 0]], dim=1)

    def logits(self, x):
        return -100.0 * (x.mean(dim=(1, 2, 3))[:, None] - LEVELS.to(x.dtype)[None]) ** 2


def test_class_accuracy():
    logits = np.array([[2.0, 0, 0], [0, 2.0, 0], [2.0, 0, 0], [0, 0, 1.0]])
    acc, per = class_accuracy(logits, np.array([0, 1, 1, 2]), 4)
    assert acc == 0.75 and per[:3] == [1.0, 0.5, 1.0] and math.isnan(per[3])


def test_class_labels_rows():
    assert class_labels([2, 0], 3).tolist() == [2, 2, 2, 0, 0, 0]


def test_evaluate_conditional_good_and_label_blind_generators():
    g = torch.Generator().manual_seed(5)
    real_y = torch.arange(600) % 3
    real_x = LevelG()(torch.randn(600, 2, generator=g), real_y)
    clf = StandInClassifier()
    good = evaluate_conditional(LevelG(), clf, real_x, real_y, n_per_class=200, seed=1)
    blind = evaluate_conditional(LevelG(ignore_y=True), clf, real_x, real_y, n_per_class=200, seed=1)
    assert good["accuracy"] == 1.0 and good["accuracy_per_class"] == [1.0, 1.0, 1.0]
    assert abs(blind["accuracy"] - 1 / 3) < 1e-9 and blind["accuracy_per_class"] == [1.0, 0.0, 0.0]
    assert good["intra_fid_mean"] < 1e-3 and good["fid"] < 1e-3
    # class 1 and 2 samples sit at the wrong level: both features shift by 0.6 and 1.2 -> 2 * 0.36, 2 * 1.44
    assert blind["intra_fid"][0] < 1e-3
    assert abs(blind["intra_fid"][1] - 0.72) < 0.03 and abs(blind["intra_fid"][2] - 2.88) < 0.1
    assert blind["fid"] > 0.2
