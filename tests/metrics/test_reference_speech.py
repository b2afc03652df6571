"""LLR, WSS (the parts of CSIG / CBAK / COVL) and segmental SNR vs pysepm, run in the reference venv."""

from __future__ import annotations

import pytest

from tests.metrics.test_reference import run_ref


@pytest.fixture(scope="module")
def results() -> dict:
    return run_ref("refcheck_speech.py")


def test_llr_wss_and_segmental_snr_match_pysepm(results: dict) -> None:
    assert len(results) == 2 * 4 * 4
    for key, (mine, ref) in results.items():
        assert abs(mine - ref) <= 1e-9 * max(1.0, abs(ref)), (key, mine, ref)
    # the comparison is not vacuous: the cases spread over the measures' ranges, and the clip changes the burst
    assert results["8000/burst/llr"][1] > results["8000/burst/llr_clip"][1] > 0
    assert min(v[1] for k, v in results.items() if k.endswith("/wss")) < 5 < max(v[1] for k, v in results.items()
                                                                                   if k.endswith("/wss"))
