"""Training loop: determinism, exact resume, checkpoints, NaN handling, signals."""

from __future__ import annotations

import json
import os
import signal

import pytest
import torch

from gankit.families.registry import apply_overrides
from gankit.errors import CheckpointError
from gankit.presets import preset_config
from gankit.core import checkpoint as ck
from gankit.core.loop import HookBase
from gankit.run import build_trainer, train
from gankit.core.loop import BatchStream


def tiny(tmp_path, preset="gan-ring8", **over):
    base = {"train.steps": 12, "train.batch_size": 16, "data.n_samples": 512, "model.g_width": 16,
            "model.d_width": 16, "log.out_dir": str(tmp_path), "log.name": "run", "log.progress": False,
            "log.tensorboard": False, "log.sample_every": 0, "log.ckpt_every": 4, "log.n_grid": 64,
            "train.threads": 1}
    if preset.endswith("fashion"):
        base.update({"data.limit": 128, "model.g_width": 8, "model.d_width": 8, "model.z_dim": 8})
        base.pop("data.n_samples")
    base.update(over)
    return apply_overrides(preset_config(preset), base)


def params(trainer):
    return {f"{n}.{k}": v.clone() for n, m in trainer.models.items() for k, v in m.state_dict().items()}


def test_batch_stream_resumes_exactly():
    a = BatchStream(10, 4, seed=3)
    seq = [a.next() for _ in range(7)]
    b = BatchStream(10, 4, seed=3)
    for _ in range(3):
        b.next()
    c = BatchStream(10, 4, seed=3)
    c.load_state(b.state())
    assert all(torch.equal(x, c.next()) for x in seq[3:])
    # drop-last epochs: every batch is full and within an epoch there is no repeat
    assert all(len(s) == 4 for s in seq) and len(set(torch.cat(seq[:2]).tolist())) == 8


def test_same_seed_same_parameters(tmp_path):
    p1 = params(train(tiny(tmp_path / "a"))[1])
    p2 = params(train(tiny(tmp_path / "b"))[1])
    p3 = params(train(tiny(tmp_path / "c", **{"train.seed": 1}))[1])
    assert all(torch.equal(p1[k], p2[k]) for k in p1)
    assert any(not torch.equal(p1[k], p3[k]) for k in p1)


class StopAt(HookBase):
    """Simulates Ctrl-C after a given step."""

    def __init__(self, step):
        self.at = step

    def after_step(self):
        if self.trainer.step == self.at:
            self.trainer._on_signal(signal.SIGINT, None)


@pytest.mark.parametrize("preset,over", [
    ("gan-ring8", {}),
    ("wgan-gp-fashion", {"train.n_critic": 2}),
    ("dcgan-fashion", {"train.g_opt": "sgd", "train.momentum": 0.9}),
    ("wgan-fashion", {"train.n_critic": 2}),
])
def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, preset, over):
    full = train(tiny(tmp_path / "full", preset, **over))[1]

    cfg = tiny(tmp_path / "part", preset, **over)
    t = build_trainer(cfg, tmp_path / "part" / "run")
    t.register(StopAt(5))
    assert t.train() == "interrupted"
    assert t.step == 5
    assert ck.find_checkpoint(tmp_path / "part" / "run").name == "step_00000005.json"

    cfg2 = tiny(tmp_path / "part", preset, **over)
    status, resumed = train(cfg2, resume=tmp_path / "part" / "run")
    assert status == "finished" and resumed.step == cfg.train.steps
    pf, pr = params(full), params(resumed)
    assert pf.keys() == pr.keys()
    for k in pf:
        torch.testing.assert_close(pr[k], pf[k], rtol=0, atol=0, msg=k)
    for name in ("G", "D"):
        sf, sr = full.optims[name].state_dict()["state"], resumed.optims[name].state_dict()["state"]
        for i in sf:
            for key, v in sf[i].items():
                assert torch.equal(torch.as_tensor(v), torch.as_tensor(sr[i][key]))


def test_run_directory_contents(tmp_path):
    status, t = train(tiny(tmp_path, **{"log.sample_every": 6, "log.log_every": 3}))
    run = tmp_path / "run"
    assert status == "finished"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["train"]["steps"] == 12 and cfg["preset"] == "gan-ring8"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [3, 6, 9, 12]
    assert all({"loss/d", "loss/g", "img_per_s", "critic/w_estimate"} <= r.keys() for r in rows)
    assert (run / "samples" / "step_00000006.png").is_file() and (run / "samples" / "latest.png").is_file()
    assert (run / "loss_curves.png").is_file()
    # keep_ckpts=3 of steps 4, 8, 12
    assert [p.name for p in ck.list_checkpoints(run / "ckpt")] == [f"step_{s:08d}.json" for s in (4, 8, 12)]


def test_nan_stops_and_keeps_last_good_checkpoint(tmp_path):
    cfg = tiny(tmp_path, **{"log.ckpt_every": 3})
    t = build_trainer(cfg, tmp_path / "run")
    inner = t.run_step

    def poisoned():
        tr = t
        out = inner()
        if tr.step == 4:  # the 5th step goes bad
            with torch.no_grad():
                next(tr.models["G"].parameters()).fill_(float("nan"))
            out["loss/g"] = float("nan")
        return out

    t.run_step = poisoned
    assert t.train() == "diverged"
    assert t.step == 5
    tensors, meta = ck.load_checkpoint(tmp_path / "run")
    assert meta["step"] == 3 and all(torch.isfinite(v.float()).all() for k, v in tensors.items() if k.startswith("model."))


def test_corrupt_checkpoint_is_named(tmp_path):
    train(tiny(tmp_path))
    run = tmp_path / "run"
    last = ck.find_checkpoint(run)
    st = last.with_suffix(".safetensors")
    st.write_bytes(st.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match=str(st.name)):
        ck.load_checkpoint(run)
    last.write_text("{not json")
    with pytest.raises(CheckpointError, match="step_00000012.json"):
        ck.load_checkpoint(run)
    with pytest.raises(CheckpointError, match="no such"):
        ck.load_checkpoint(tmp_path / "missing")


def test_signal_writes_checkpoint(tmp_path):
    """A real SIGTERM delivered mid-run: the run stops after the current step with a checkpoint."""
    cfg = tiny(tmp_path, **{"train.steps": 1000, "log.ckpt_every": 10_000})
    t = build_trainer(cfg, tmp_path / "run")

    class Kill(HookBase):
        def after_step(self):
            if self.trainer.step == 7:
                os.kill(os.getpid(), signal.SIGTERM)

    t.register(Kill())
    assert t.train() == "interrupted"
    assert ck.load_checkpoint(tmp_path / "run")[1]["step"] == t.step
    assert signal.getsignal(signal.SIGTERM) is not t._on_signal  # handlers restored


def test_a_phase_runs_only_where_active_and_on_its_interval(tmp_path):
    """Phase.active(step) gates a phase by the step count (the stages of one run, e.g. SeqGAN's pretraining);
    Phase.interval runs it every k-th step."""
    t = build_trainer(tiny(tmp_path, **{"train.steps": 5}), tmp_path / "run", hooks=False)
    seen = []

    def logged(name, loss):
        return lambda batch, ctx: seen.append((ctx.step, name)) or loss(batch, ctx)

    for phase in t.phases:
        phase.loss = logged(phase.name, phase.loss)
        phase.active = (lambda step: step < 2) if phase.name == "D" else (lambda step: step >= 2)
    assert t.train() == "finished"
    assert seen == [(0, "D"), (1, "D"), (2, "G"), (3, "G"), (4, "G")]
    t2 = build_trainer(tiny(tmp_path / "b", **{"train.steps": 5}), tmp_path / "b" / "run", hooks=False)
    seen.clear()
    for phase in t2.phases:
        phase.loss = logged(phase.name, phase.loss)
        phase.interval = 2 if phase.name == "G" else 1
    assert t2.train() == "finished"
    assert seen == [(0, "D"), (0, "G"), (1, "D"), (2, "D"), (2, "G"), (3, "D"), (4, "D"), (4, "G")]


def test_log_rows_average_each_scalar_over_the_steps_that_produced_it(tmp_path):
    """A scalar logged on some steps only (a phase with an interval or a schedule) is the mean of those steps."""
    from gankit.core.hooks import LogHook

    t = build_trainer(tiny(tmp_path), tmp_path / "r", hooks=False)
    hook = LogHook(4, progress=False, tensorboard=False)
    t.register(hook)
    t.run_dir.mkdir(parents=True)
    hook.before_train()
    for step, scalars in enumerate([{"a": 1.0}, {"a": 3.0, "b": 10.0}, {"a": 5.0}, {"a": 7.0, "b": 20.0}], 1):
        t.step, t.scalars = step, scalars
        hook.after_step()
    row = json.loads((tmp_path / "r" / "metrics.jsonl").read_text().splitlines()[-1])
    assert row["a"] == 4.0 and row["b"] == 15.0  # b: two steps, not four
    old = LogHook(4, progress=False, tensorboard=False)
    old.load_state({"sums": {"a": 6.0}, "count": 3})  # a checkpoint from before per-scalar counts
    assert old._counts == {"a": 3}
