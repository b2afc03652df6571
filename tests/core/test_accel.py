"""Speed options (gankit.core.accel): autocast / fp16 loss scaling, channels_last, compile views, data placement,
and the one-transfer read of a step's scalars. On the CPU; the CUDA side is in benchmarks/gpu_check.sh."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gankit.core.accel import Precision, channels_last, place_fields, step_modules
from gankit.errors import ConfigError
from gankit.run import build_trainer, train
from tests.core.test_trainer import params, tiny
from tests.families.resume import assert_resume_exact

CPU = torch.device("cpu")


def test_precision_none_is_plain_float32():
    p = Precision("none", CPU)
    with p.autocast():
        y = nn.Linear(3, 2)(torch.randn(4, 3))
    assert y.dtype == torch.float32 and p.state() == {}


def test_bf16_autocasts_the_loss_and_trains(tmp_path):
    p = Precision("bf16", CPU)
    with p.autocast():
        assert nn.Linear(3, 2)(torch.randn(4, 3)).dtype == torch.bfloat16
    status, t = train(tiny(tmp_path, "dcgan-fashion", **{"train.amp": "bf16", "train.steps": 3}))
    assert status == "finished" and all(torch.isfinite(v).all() for v in params(t).values())
    ref = train(tiny(tmp_path / "ref", "dcgan-fashion", **{"train.steps": 3}))[1]
    assert any(not torch.equal(a, b) for a, b in zip(params(t).values(), params(ref).values()))  # it changed


def test_fp16_scaler_skips_overflowing_steps_and_its_scale_is_checkpointed(tmp_path):
    p = Precision("fp16", CPU)
    w = nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([w], lr=0.1)
    p.backward((w * float("inf")).sum())
    p.step([opt])  # inf gradients: the step is skipped and the scale backs off
    assert torch.equal(w.detach(), torch.ones(2)) and p.state()["scale"] == 2.0**16 * 0.5
    q = Precision("fp16", CPU)
    q.load_state(p.state())
    assert q.state() == p.state()
    status, t = train(tiny(tmp_path, "dcgan-fashion", **{"train.amp": "fp16", "train.steps": 4}))
    assert status == "finished" and "precision" in t.state()[1]


def test_fp16_resume_is_exact(tmp_path):
    def make(out, **over):
        return tiny(out, "dcgan-fashion", **{"train.amp": "fp16", "log.ckpt_every": 100, **over})

    assert_resume_exact(make, tmp_path, steps=6, stop=3)


def test_channels_last_batches_and_modules_same_result(tmp_path):
    cfg = tiny(tmp_path, "dcgan-fashion", **{"train.channels_last": True, "train.steps": 2})
    t = build_trainer(cfg, tmp_path / "cl", hooks=False)
    batch = t.next_batch()
    assert batch["x"].is_contiguous(memory_format=torch.channels_last)
    conv = next(m for m in t.models["D"].modules() if isinstance(m, nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    a = params(train(cfg)[1])
    b = params(train(tiny(tmp_path / "ref", "dcgan-fashion", **{"train.steps": 2}))[1])
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)  # same arithmetic, another memory order


def test_compile_views_keep_checkpoint_names():
    m = nn.Sequential(nn.Linear(2, 2))
    views = step_modules({"G": m, "pool": nn.Module()}, compile_=True, channels_last_=False)
    assert views["G"] is not m and views["G"]._orig_mod is m and views["pool"].__class__ is nn.Module
    assert list(m.state_dict()) == ["0.weight", "0.bias"]  # the trainer checkpoints the original
    assert step_modules({"G": m}, compile_=False, channels_last_=False)["G"] is m


def test_data_placement_on_the_cpu():
    fields = {"x": torch.zeros(4, 1, 2, 2)}
    assert place_fields(fields, CPU, "yes") is fields and place_fields(fields, CPU, "auto") is fields
    assert channels_last(torch.zeros(2, 3)).shape == (2, 3)


def test_step_scalars_are_read_exactly(tmp_path):
    t = build_trainer(tiny(tmp_path), tmp_path / "r", hooks=False)
    values = {"a": torch.tensor(0.1), "b": 2, "c": torch.tensor(1e-9, dtype=torch.float64)}
    out = t._read(values)
    assert list(out) == ["a", "b", "c"] and out["a"] == float(torch.tensor(0.1)) and out["b"] == 2.0
    assert out["c"] == 1e-9


@pytest.mark.parametrize("over, msg", [({"train.amp": "fp8"}, "train.amp='fp8' is not valid"),
                                       ({"train.data_on_device": "maybe"}, "train.data_on_device='maybe'")])
def test_bad_options_refused(tmp_path, over, msg):
    with pytest.raises(ConfigError, match=msg):
        tiny(tmp_path, **over)
