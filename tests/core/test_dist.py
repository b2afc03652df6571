"""Multi-process data-parallel training under torchrun with gloo on the CPU (gankit.core.dist): identical ranks,
2 ranks x batch 32 == 1 process x batch 64, every rank stops at the same step and resumes exactly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from gankit.errors import CheckpointError

DRIVER = Path(__file__).with_name("dist_driver.py")
AE = ["data.name=ring8", "data.n_samples=512", "model.width=32", "train.g_lr=0.003", "train.seed=3"]


def run(out: Path, family: str, args: list[str], ranks: int = 2, extra: tuple = ()) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if ranks == 1:
        cmd = [sys.executable, str(DRIVER)]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}", str(DRIVER)]
    proc = subprocess.run([*cmd, str(out), family, *extra, *args], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


def ranks(out: Path, n: int = 2) -> list[dict[str, torch.Tensor]]:
    return [load_file(str(out / f"rank{r}.safetensors")) for r in range(n)]


def test_two_ranks_of_32_equal_one_process_of_64(tmp_path):
    run(tmp_path / "two", "tiny-ae", [*AE, "train.batch_size=32", "train.steps=8", "log.ckpt_every=100"])
    run(tmp_path / "one", "tiny-ae", [*AE, "train.batch_size=64", "train.steps=8", "log.ckpt_every=100"], ranks=1)
    a, b = ranks(tmp_path / "two")
    (one,) = ranks(tmp_path / "one", 1)
    assert all(torch.equal(a[k], b[k]) for k in a)  # the ranks hold the same model
    assert all(torch.allclose(a[k], one[k], atol=1e-5, rtol=1e-4) for k in a)  # the same arithmetic as batch 64
    start = tiny_init(tmp_path)
    assert any(not torch.allclose(a[k], start[k]) for k in a)  # and it trained


def tiny_init(tmp_path) -> dict[str, torch.Tensor]:
    run(tmp_path / "zero", "tiny-ae", [*AE, "train.batch_size=64", "train.steps=1", "train.g_lr=1e-30",
                                       "log.ckpt_every=100"], ranks=1)
    return ranks(tmp_path / "zero", 1)[0]


def test_gan_with_batch_norm_stays_identical_on_every_rank(tmp_path):
    run(tmp_path, "gan", ["preset=dcgan-fashion", "data.limit=128", "model.g_width=8", "model.d_width=8",
                          "model.z_dim=8", "train.batch_size=16", "train.steps=4", "log.ckpt_every=100"])
    a, b = ranks(tmp_path)
    assert any("running_mean" in k for k in a)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_one_rank_signalled_all_stop_together_and_resume_exactly(tmp_path):
    args = [*AE, "train.batch_size=32", "train.steps=10", "log.ckpt_every=100"]
    run(tmp_path / "full", "tiny-ae", args)
    run(tmp_path / "part", "tiny-ae", args, extra=("--stop-at", "4"))
    assert {(tmp_path / "part" / f"status{r}.txt").read_text() for r in range(2)} == {"interrupted 5"}
    assert sorted(p.name for p in (tmp_path / "part" / "run" / "ckpt").glob("*.json")) == ["step_00000005.json"]
    run(tmp_path / "part", "tiny-ae", args, extra=("--resume",))
    full, part = ranks(tmp_path / "full"), ranks(tmp_path / "part")
    for r in range(2):
        assert all(torch.equal(full[r][k], part[r][k]) for k in full[r])


def test_a_two_process_checkpoint_is_refused_by_one_process(tmp_path):
    args = [*AE, "train.batch_size=32", "train.steps=2", "log.ckpt_every=100"]
    run(tmp_path, "tiny-ae", args)
    proc = subprocess.run([sys.executable, str(DRIVER), str(tmp_path), "tiny-ae", "--resume", *args,
                           "train.steps=3"], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "written by a run of 2 process(es); resume it with 2" in proc.stderr
    assert CheckpointError.__name__ in proc.stderr
