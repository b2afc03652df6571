"""pix2pixHD as options of the pix2pix family: the preset trains and resumes exactly, the options refuse bad
values, and the default options keep pix2pix's numbers (recorded on the code before the options)."""

from __future__ import annotations

import pytest
import torch

from gankit.errors import ConfigError
from gankit.families.registry import apply_overrides
from gankit.nets.pix2pix import PatchGAN
from gankit.nets.pix2pixhd import LocalEnhancer, MultiScaleD
from gankit.presets import preset_config
from gankit.run import train
from tests.families.resume import RECORDED_ON_AVX2
from tests.families.resume import assert_resume_exact, quiet
from gankit.viz import read_jsonl

QUIET = quiet(ckpt_every=3)


def tiny(tmp_path, preset="pix2pixhd-edges", **over):
    base = {"train.steps": 3, "train.batch_size": 4, "data.limit": 16, "model.g_width": 4, "model.d_width": 4,
            "log.out_dir": str(tmp_path), **QUIET}
    return apply_overrides(preset_config(preset), {**base, **over})


# recorded with the unmodified pix2pix family (before num_d, lambda_fm, g_arch): 3 steps, log_every 1
BEFORE = {
    "nonsat l1+cgan": ({}, [(0.6935914754867554, 0.6967121362686157, 0.8028625249862671),
                            (0.6934604048728943, 0.6965886354446411, 0.8020324110984802),
                            (0.6933162212371826, 0.6963629126548767, 0.8095096945762634)]),
    "lsgan cgan": ({"train.loss": "lsgan", "model.objective": "cgan"},
                   [(0.2547379434108734, 0.5067815184593201, 0.8028625249862671),
                    (0.2541135847568512, 0.5061466097831726, 0.8024212718009949),
                    (0.25325894355773926, 0.5049775838851929, 0.8103035092353821)]),
}


@RECORDED_ON_AVX2
@pytest.mark.parametrize("case", sorted(BEFORE))
def test_default_options_keep_the_numbers(tmp_path, case):
    over, expected = BEFORE[case]
    status, t = train(tiny(tmp_path, "pix2pix-edges", **{"log.log_every": 1, "log.ckpt_every": 0, **over}))
    rows = [(r["loss/d"], r["loss/g"], r["loss/l1"]) for r in read_jsonl(tmp_path / "run" / "metrics.jsonl")
            if "loss/d" in r]
    assert status == "finished" and rows == expected
    assert type(t.models["D"]) is PatchGAN and "loss/fm" not in t.scalars


def test_preset_trains(tmp_path):
    status, t = train(tiny(tmp_path))
    assert status == "finished"
    assert isinstance(t.models["G"], LocalEnhancer) and isinstance(t.models["D"], MultiScaleD)
    assert len(t.models["D"].ds) == 3 and {"loss/d", "loss/g", "loss/fm"} <= t.scalars.keys()
    assert t.scalars["loss/fm"] > 0


@pytest.mark.parametrize("over", [{"model.g_arch": "global", "model.num_d": 2, "model.lambda_fm": 0.0},
                                  {"model.num_d": 1, "model.objective": "l1+cgan", "train.loss": "wgan-gp",
                                   "stab.r1_gamma": 1.0}])
def test_variants_train(tmp_path, over):
    status, t = train(tiny(tmp_path, **{"train.steps": 2, **over}))
    assert status == "finished" and torch.isfinite(torch.tensor(t.scalars["loss/d"]))


def test_resume_is_exact(tmp_path):
    assert_resume_exact(tiny, tmp_path, steps=4, stop=2)


@pytest.mark.parametrize("over,match", [
    ({"model.num_d": 0}, "model.num_d must be >= 1"),
    ({"model.lambda_fm": -1.0}, "lambda_fm >= 0"),
    ({"model.g_arch": "pix2pixhd"}, "model.g_arch='pix2pixhd' is not valid"),
    ({"model.objective": "l1"}, "need a discriminator"),
])
def test_refusals(tmp_path, over, match):
    with pytest.raises(ConfigError, match=match):
        tiny(tmp_path, **over)


def test_refuses_a_pyramid_too_small(tmp_path):
    with pytest.raises(ConfigError, match="down to 2 px"):
        train(tiny(tmp_path, **{"model.num_d": 5}))
