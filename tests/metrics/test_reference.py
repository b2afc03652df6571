"""gankit vs torch-fidelity / pytorch-fid, run in the reference venv (.venv-ref, scripts/ref-venv.sh).

torch-fidelity and pytorch-fid need torchvision, which imports only with torch 2.14.1 here, so the
comparisons run as scripts under .venv-ref/bin/python and print JSON that these tests check.
Skipped when .venv-ref is absent, unless GANKIT_REQUIRE_REF is set (CI), then they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REF_DIR = Path(__file__).resolve().parent / "ref"


def ref_python() -> Path | None:
    venv = Path(os.environ.get("GANKIT_REF_VENV") or REPO / ".venv-ref")
    python = venv / "bin" / "python"
    if python.is_file():
        return python
    if os.environ.get("GANKIT_REQUIRE_REF"):
        pytest.fail(f"GANKIT_REQUIRE_REF is set but {python} is missing: run scripts/ref-venv.sh")
    pytest.skip(f"reference venv {venv} absent: run scripts/ref-venv.sh (GANKIT_REQUIRE_REF makes this fail)")
    return None


def run_ref(script: str) -> dict:
    python = ref_python()
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        [str(python), str(REF_DIR / script)], capture_output=True, text=True, env=env, timeout=600, cwd=REPO
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        pytest.fail(f"{script} failed with exit code {proc.returncode}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def ref_results() -> dict:
    return run_ref("refcheck_all.py")


@pytest.fixture(scope="module")
def metric_results(ref_results: dict) -> dict:
    return ref_results["metrics"]


@pytest.fixture(scope="module")
def inception_results(ref_results: dict) -> dict:
    return ref_results["inception"]


TOLERANCES = {"is_mean": 1e-3, "is_std": 1e-3}
METRIC_CHECKS = [
    "fid", "kid_mean_100", "kid_std_100", "kid_mean_250", "kid_std_250", "is_mean", "is_std",
    "precision", "recall", "mmd_rbf",
]  # fmt: skip


@pytest.mark.parametrize("check", METRIC_CHECKS)
def test_matches_torch_fidelity(metric_results: dict, check: str) -> None:
    mine, ref = metric_results[check]
    assert ref != 0.0
    assert abs(mine - ref) <= TOLERANCES.get(check, 1e-5) * abs(ref), (check, mine, ref)


INCEPTION_CHECKS = [
    "torch-fidelity/rgb32/2048", "torch-fidelity/rgb32/logits", "torch-fidelity/gray28/2048",
    "torch-fidelity/gray28/logits", "pytorch-fid/rgb32/2048",
]  # fmt: skip


@pytest.mark.parametrize("check", INCEPTION_CHECKS)
def test_inception_matches_reference_networks(inception_results: dict, check: str) -> None:
    result = inception_results[check]
    assert result["scale"] > 0.05, "random weights gave near-zero features: the comparison would be vacuous"
    assert result["max_abs_diff"] <= 1e-5, result
