"""The speed options on a CUDA device (skipped without one; run by benchmarks/gpu_check.sh on a GPU machine)."""

from __future__ import annotations

import pytest
import torch

from gankit.run import build_trainer, train
from tests.core.test_trainer import params, tiny
from tests.families.resume import assert_resume_exact

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize("over", [{}, {"train.amp": "bf16"}, {"train.amp": "fp16"},
                                  {"train.amp": "bf16", "train.channels_last": True},
                                  {"train.amp": "bf16", "train.compile": True}])
def test_trains_on_the_gpu(tmp_path, over):
    status, t = train(tiny(tmp_path, "dcgan-fashion", **{"train.device": "cuda", "train.steps": 3, **over}))
    assert status == "finished" and t.device.type == "cuda"
    assert all(v.is_cuda and torch.isfinite(v).all() for v in params(t).values())


def test_data_set_lives_on_the_gpu_and_steps_sync_once(tmp_path):
    t = build_trainer(tiny(tmp_path, "dcgan-fashion", **{"train.device": "cuda"}), tmp_path / "r", hooks=False)
    assert all(v.is_cuda for v in t._fields.values()) and not t.first(2)["x"].is_cuda
    t.run_step()  # warm-up
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with pytest.warns(UserWarning) as record:
            t.run_step()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert len(record) <= 2, [str(w.message) for w in record]  # the one read of the logged scalars (+ randperm)


def test_resume_is_exact_on_the_gpu(tmp_path):
    def make(out, **over):
        return tiny(out, "dcgan-fashion", **{"train.device": "cuda", "train.amp": "bf16", "log.ckpt_every": 100,
                                             **over})

    assert_resume_exact(make, tmp_path, steps=6, stop=3)
