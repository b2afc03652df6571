"""Every preset (and each stabilizer) trains through the family core with the same logged losses as the
pre-port code: tests/fixtures/port_losses.json was recorded on the old core with tests/fixtures/port_cases.py
(same machine kind, same seeds, 1 thread). Tolerance: float32 rounding only."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from gankit.config import parse_overrides
from gankit.families.registry import apply_overrides
from gankit.presets import preset_config
from gankit.run import train
from tests.families.resume import RECORDED_ON_AVX2

FIXTURES = Path(__file__).parents[1] / "fixtures"
sys_path = str(FIXTURES)


def _cases():
    import importlib.util

    spec = importlib.util.spec_from_file_location("port_cases", FIXTURES / "port_cases.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CASES = _cases()
EXPECTED = json.loads((FIXTURES / "port_losses.json").read_text())


@pytest.fixture
def restore_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=2e-5, abs_tol=2e-6)


@RECORDED_ON_AVX2
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_same_losses_as_before_the_port(name, tmp_path, restore_threads):
    args = CASES.command(name, str(tmp_path))
    preset, overrides = args[0], parse_overrides(args[1:])
    cfg = apply_overrides(preset_config(preset), overrides)
    status, trainer = train(cfg)
    assert status == "finished"
    got = CASES.logged_rows(trainer.run_dir, CASES.CASES[name][2])
    want = EXPECTED[name]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert set(g) == set(w), (g["step"], set(g) ^ set(w))
        bad = {k: (g[k], w[k]) for k in w if not close(g[k], w[k])}
        assert not bad, f"step {w['step']}: {bad}"
