"""`gankit bench mog`: configs, one real (tiny) run, statistics and the report."""

import math

import numpy as np
import pytest
import torch

from gankit import drs
from gankit.bench import mog, samplers
from gankit.cli import main
from gankit.errors import ConfigError
from gankit import run as run_module
from gankit.run import build_trainer


def test_recipe_configs_cover_the_issue():
    need = {"minimax", "nonsat", "wgan-gp", "unrolled5", "minibatch", "pacgan2", "pacgan4", "madgan", "gankit-best"}
    assert need <= set(mog.RECIPES)
    for name in mog.RECIPES:
        for ds in mog.DATASETS:
            cfg = mog.recipe_config(name, ds, seed=3)
            assert cfg.data.name == ds and cfg.train.seed == 3 and cfg.train.threads == 1
    assert mog.recipe_config("unrolled5", "ring8", 0).stab.unrolled_k == 5
    assert mog.recipe_config("pacgan4", "grid25", 0).stab.pack == 4


def test_one_tiny_run_measures_its_samples(monkeypatch):
    built = []

    def keep(*a, **k):
        built.append(build_trainer(*a, **k))
        return built[-1]

    monkeypatch.setattr(run_module, "build_trainer", keep)
    row = mog.run_one(("pacgan2", "ring8", 1, 0.05))  # 200 steps: a few modes reached, most samples off them
    assert row["status"] == "finished" and row["n_modes"] == 8 and row["seed"] == 1
    # recompute the protocol here: 2,500 samples of the trained G at the fixed z, scored against the ring's
    # 8 centres (radius 1, std 0.01): high quality within 3 std of the nearest centre
    trainer, = built
    assert "G_ema" not in trainer.models  # so the samples are the plain G's
    G = trainer.models["G"].eval()
    g = torch.Generator().manual_seed(mog.SAMPLE_SEED + 1)
    z = torch.randn(mog.N_SAMPLES, trainer.cfg.model.z_dim, generator=g)
    with torch.no_grad():
        x = G(z).double().numpy()
    angles = 2 * np.pi * np.arange(8) / 8
    dist = np.linalg.norm(x[:, None, :] - np.stack([np.cos(angles), np.sin(angles)], 1)[None], axis=2)
    high = dist.min(1) < 0.03
    counts = np.bincount(dist.argmin(1)[high], minlength=8)
    p = counts[counts > 0] / counts.sum()
    assert 0 < high.sum() < len(x) and (counts > 0).sum() >= 2  # a non-trivial case
    assert row["modes_captured"] == (counts > 0).sum()
    assert row["high_quality_pct"] == pytest.approx(100 * high.mean(), abs=1e-9)
    assert row["reverse_kl"] == pytest.approx(float((p * np.log(p * 8)).sum()), abs=1e-6)


def test_mean_se_and_summary():
    m, se = mog.mean_se([1.0, 2.0, 3.0])
    assert m == 2.0 and abs(se - 1.0 / math.sqrt(3)) < 1e-12
    assert mog.mean_se([4.0]) == (4.0, 0.0)
    rows = [{"recipe": "nonsat", "dataset": "ring8", "seed": s, "status": "finished", "seconds": 1.0, "n_modes": 8,
             "modes_captured": 8.0, "high_quality_pct": hq, "reverse_kl": 0.01} for s, hq in enumerate([99.0, 97.0])]
    s = mog.summarize(rows)[("nonsat", "ring8")]
    assert s["goal"] == 1 and s["n"] == 2 and s["high_quality_pct"][0] == 98.0
    text = mog.render_markdown(rows, 2, 60.0, 2, "gankit bench mog --seeds 2")
    assert "| real data (the mixture itself, 10 draws) | - | - | 8.0 ± 0.0 | 98.9 ± 0.1 |" in text
    assert "98.0 ± 1.0" in text and "1/2" in text and "PacGAN Table 1" in text and "gankit bench mog --seeds 2" in text


def test_cli_rejects_unknown_recipe(capsys):
    assert main(["bench", "mog", "--recipes", "nope", "--out", "-"]) == 2
    assert "nope" in capsys.readouterr().err


def test_sampler_rows_are_scored_and_rendered(monkeypatch):
    monkeypatch.setitem(mog.RECIPES, "pacgan2", mog.Recipe("PacGAN2", {"stab.pack": 2}, 4000,
                                                            samplers=("drs", "drs-rff")))
    monkeypatch.setattr(samplers, "DRS_CALIBRATE", 200)
    monkeypatch.setattr(samplers, "RFF_STEPS", 200)
    row = mog.run_one(("pacgan2", "ring8", 0, 0.1))
    for name in ("drs", "drs-rff"):
        d = row[name]
        assert 0 < d["acceptance"] <= d["rate"] <= 1 and 0 <= d["high_quality_pct"] <= 100 and d["seconds"] > 0
    rows = mog.with_sampler_rows([row])
    assert [r["recipe"] for r in rows] == ["pacgan2", "pacgan2+drs", "pacgan2+drs-rff"]
    assert rows[2]["high_quality_pct"] == row["drs-rff"]["high_quality_pct"]
    assert all("drs" not in r and "drs-rff" not in r for r in rows)
    assert rows[1]["seconds"] == row["seconds"] + row["drs"]["seconds"]
    text = mog.render_markdown([row], 1, 60.0, 2, "gankit bench mog --seeds 1")
    assert "then discriminator rejection sampling" in text and "(`pacgan2+drs`)" in text
    assert "fresh Fourier-feature ratio classifier" in text and "(`pacgan2+drs-rff`)" in text
    assert "`+drs-rff` rows score" in text


def test_rows_of_an_earlier_bench_still_render():
    old = {"recipe": "gankit-best", "dataset": "grid25", "seed": 0, "status": "finished", "seconds": 100.0,
           "n_modes": 25, "modes_captured": 25.0, "high_quality_pct": 96.0, "reverse_kl": 0.01,
           "drs": {"modes_captured": 25.0, "high_quality_pct": 97.0, "reverse_kl": 0.01, "acceptance": 0.1,
                   "seconds": 3.0}}
    assert [r["recipe"] for r in mog.with_sampler_rows([old])] == ["gankit-best", "gankit-best+drs"]


def test_a_failed_rejection_sampler_is_recorded_not_fatal(monkeypatch, tmp_path):
    def refuse(*a, **k):
        raise ConfigError("DRS accepted only 3 of 510000 candidates")

    monkeypatch.setattr(drs, "drs_sample", refuse)
    monkeypatch.setattr(samplers, "DRS_CALIBRATE", 5)
    trainer = build_trainer(mog.recipe_config("pacgan2", "ring8", 0, 0.005), tmp_path, hooks=False)
    assert trainer.train() == "finished"
    d = samplers.sampler_metrics("drs", trainer, 0, 100, 0)
    assert d["high_quality_pct"] == 0.0 and d["acceptance"] == 0.0 and "510000" in d["error"]


def test_first_seed_adds_only_the_missing_seeds(monkeypatch, tmp_path):
    ran = []
    monkeypatch.setattr(mog, "run_one", lambda job: ran.append(job) or
                        {"recipe": job[0], "dataset": job[1], "seed": job[2], "status": "finished", "seconds": 1.0,
                         "n_modes": 8, "modes_captured": 8.0, "high_quality_pct": 90.0, "reverse_kl": 0.01})
    rows = tmp_path / "rows.jsonl"
    mog.run_bench(["minimax"], ["ring8"], 5, 1, rows_path=rows, first_seed=3, log=lambda *a: None)
    assert [j[2] for j in ran] == [3, 4] and len(rows.read_text().splitlines()) == 2
    assert main(["bench", "mog", "--seeds", "3", "--first-seed", "3", "--out", "-"]) == 2
