"""Shared pieces of the family tests: the quiet logging overrides, the skip mark for numbers recorded on an AVX2
CPU, and the check that a run interrupted at `stop` and resumed ends exactly where an uninterrupted one does."""

from __future__ import annotations

import pytest
import torch

from gankit.core.loop import HookBase
from gankit.run import build_trainer, train


def quiet(ckpt_every: int) -> dict:
    """Overrides for a tiny test run: no progress bar, TensorBoard, samples or monitor; one thread; run dir "run"."""
    return {"log.progress": False, "log.tensorboard": False, "train.threads": 1, "log.name": "run",
            "log.sample_every": 0, "log.ckpt_every": ckpt_every, "stab.monitor": False}


def assert_resume_exact(make_cfg, tmp_path, steps: int, stop: int, names=("G", "D"), before_resume=None) -> None:
    """make_cfg(out_dir, **overrides) -> Config; compares the state of `names` after `steps` steps.
    `before_resume()` runs between the interruption and the resume (e.g. to take something away)."""
    full = train(make_cfg(tmp_path / "full", **{"train.steps": steps}))[1]
    t = build_trainer(make_cfg(tmp_path / "part", **{"train.steps": steps}), tmp_path / "part" / "run")

    class Stop(HookBase):
        def after_step(self):
            if self.trainer.step == stop:
                self.trainer._on_signal(15, None)

    t.register(Stop())
    assert t.train() == "interrupted"
    if before_resume is not None:
        before_resume()
    resumed = train(make_cfg(tmp_path / "part", **{"train.steps": steps}), resume=tmp_path / "part" / "run")[1]
    for name in names:
        a, b = full.models[name].state_dict(), resumed.models[name].state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), name


RECORDED_ON_AVX2 = pytest.mark.skipif(
    torch.backends.cpu.get_cpu_capability() != "AVX2",
    reason="numbers recorded on an AVX2 CPU: this CPU's kernels "
           f"({torch.backends.cpu.get_cpu_capability()}) round differently and training amplifies it")
