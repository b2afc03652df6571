"""Kill training at random points — SIGKILL and SIGTERM, between steps and inside checkpoint writes — resume
each time, and check that the result is the uninterrupted run's: bit-identical parameters, optimizer states
and metrics.jsonl (timings aside). Also: two resumes at once, one refused."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch

from gankit.core import checkpoint as ck

DRIVER = Path(__file__).with_name("fault_driver.py")
STEPS = 150
ARGS = ["train", "gan-ring8", f"--train.steps={STEPS}", "--train.batch_size=64", "--data.n_samples=1024",
        "--model.g_width=32", "--model.d_width=32", "--log.log_every=4", "--log.ckpt_every=7", "--log.keep_ckpts=2",
        "--log.sample_every=0", "--log.progress=false", "--log.tensorboard=false", "--train.threads=1"]


def gankit(out: Path, *extra: str, fault: tuple[str, int] | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(DRIVER), *map(str, fault or ("none", 0)), "--", *ARGS, f"--log.out_dir={out}", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def rows(run: Path) -> list[dict]:
    out = []
    for line in (run / "metrics.jsonl").read_text().splitlines():
        r = json.loads(line)
        out.append({k: v for k, v in r.items() if k not in ("time", "img_per_s")})
    return out


def final_state(run: Path) -> dict[str, torch.Tensor]:
    tensors, meta = ck.load_checkpoint(run)
    assert meta["step"] == STEPS
    return {k: v for k, v in tensors.items() if k.startswith(("model.", "optim."))}


def test_random_kills_resume_to_the_uninterrupted_run(tmp_path):
    ref = gankit(tmp_path / "ref", "--log.name=run")
    assert ref.returncode == 0, ref.stderr
    run = tmp_path / "faulty" / "run"
    rng = random.Random(1234)
    kinds = ["step-kill", "write-kill", "step-term", "write-term", "write-term2"]
    kills, attempts = 0, 0
    while True:
        attempts += 1
        assert attempts < 60, "the faulty run never finished"
        kind = kinds[kills % len(kinds)]
        fault = (kind, rng.randint(1, 10 if kind.startswith("step") else 6)) if kills < 20 else ("none", 0)
        fresh = not ck.list_checkpoints(run / "ckpt")
        if fresh:
            shutil.rmtree(run, ignore_errors=True)
        proc = gankit(tmp_path / "faulty", "--log.name=run", fault=fault) if fresh else _resume(run, fault)
        if proc.returncode == 0:
            break  # finished (a fault planned after the end never fired)
        kills += 1
        assert "Traceback" not in proc.stderr, proc.stderr  # a stop is one line, never a traceback
    assert kills >= 20
    ref_state, got = final_state(tmp_path / "ref" / "run"), final_state(run)
    assert ref_state.keys() == got.keys()
    for k in ref_state:
        assert torch.equal(ref_state[k], got[k]), k
    assert rows(run) == rows(tmp_path / "ref" / "run")
    assert not [p for p in (run / "ckpt").iterdir() if p.name.startswith(".")]  # no temporary files left


def _resume(run: Path, fault: tuple[str, int]) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(DRIVER), *map(str, fault), "--", "train", "--resume", str(run)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_two_resumes_at_once_one_is_refused(tmp_path):
    assert gankit(tmp_path, "--log.name=run", "--train.steps=7").returncode == 0
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "gankit", "train", "--resume", str(run), "--train.steps=3000"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (run / ".lock").read_text().strip():
            time.sleep(0.1)  # wait until the first one holds the lock
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert "is in use by another gankit process (pid " + str(first.pid) in second.stderr
        assert "Traceback" not in second.stderr and len(second.stderr.strip().splitlines()) == 1
    finally:
        first.terminate()
        first.wait(timeout=60)
    assert first.returncode == 130  # SIGTERM: checkpoint, then exit
    steps = [r["step"] for r in rows(run) if "loss/d" in r]  # the logged windows (warnings share steps)
    assert steps == sorted(set(steps))  # one writer: no duplicated or interleaved rows
