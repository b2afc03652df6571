"""Completion metrics: in-hole L1 / PSNR / SSIM by hand and against scikit-image, OpenCV baselines, mean fill."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from gankit.families.completion import boxes_to_masks, mean_fill, random_holes
from gankit.metrics.completion import cv2_inpaint, hole_metrics


def test_hole_metrics_count_only_the_hole():
    real = torch.rand(2, 3, 16, 16) * 2 - 1
    mask = boxes_to_masks(torch.tensor([[2, 3, 8, 7, 0, 0], [0, 0, 16, 4, 0, 0]]), 16)
    real = real.clamp(-0.7, 0.7)
    fake = real + 0.2 * mask - 0.5 * (1 - mask)  # off by 0.2 in the hole; changes outside it do not count
    m = hole_metrics(fake, real, mask)
    assert m["L1"] == pytest.approx(0.2, rel=1e-5)
    assert m["PSNR"] == pytest.approx(10 * math.log10(1 / 0.1 ** 2), rel=1e-4)
    want = [structural_similarity((real[i, :, ys, xs].numpy() + 1) / 2, (fake[i, :, ys, xs].numpy() + 1) / 2,
                                  data_range=1.0, channel_axis=0, win_size=win)
            for i, (ys, xs, win) in enumerate([(slice(2, 10), slice(3, 10), 7), (slice(0, 16), slice(0, 4), 3)])]
    assert m["SSIM"] == pytest.approx(np.mean(want), rel=1e-6)


def test_random_holes_lie_inside_their_local_patch():
    g = torch.Generator().manual_seed(0)
    mask, boxes = random_holes(200, 32, 0.25, 0.5, 16, g)
    t, l, h, w, pt, pl = boxes.T
    assert ((h >= 8) & (h <= 16) & (w >= 8) & (w <= 16)).all()
    assert ((pt <= t) & (pl <= l) & (pt + 16 >= t + h) & (pl + 16 >= l + w)).all()
    assert ((pt >= 0) & (pt + 16 <= 32)).all()
    assert torch.equal(mask.sum((1, 2, 3)), (h * w).float())


def test_mean_fill_is_the_mean_of_the_visible_pixels():
    x = torch.arange(16.0).view(1, 1, 4, 4) / 16
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :2] = 1
    out = mean_fill(x, mask)
    visible = x[mask == 0].mean()
    assert torch.allclose(out[mask == 1], visible.expand(4)) and torch.equal(out[mask == 0], x[mask == 0])


def test_opencv_baselines_fill_a_smooth_image_well():
    pytest.importorskip("cv2")
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 32), torch.linspace(-1, 1, 32), indexing="ij")
    x = torch.stack([xx, yy, (xx + yy) / 2])[None] * 0.8
    mask = boxes_to_masks(torch.tensor([[10, 10, 8, 8, 0, 0]]), 32)
    holed = x * (1 - mask)
    for method in ("telea", "ns"):
        out = cv2_inpaint(holed, mask, method)
        assert torch.allclose(out * (1 - mask), holed * (1 - mask), atol=1 / 127.5)  # outside: the 8-bit image
        assert hole_metrics(out, x, mask)["L1"] < 0.5 * hole_metrics(holed, x, mask)["L1"]
