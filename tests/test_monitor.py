"""Training health monitor: triggers on synthetic loss sequences, stays quiet on healthy ones, reports to JSONL."""

import json
import math

import torch

from gankit.families.registry import apply_overrides, new_config
from gankit.monitor import (Monitor, advice, d_loss_collapsed, diversity_ratio, g_falls_d_rises,
                            mean_pairwise_distance, non_finite_keys)
from gankit.presets import preset_config
from gankit.run import build_trainer


def _feed(mon, g, d):
    found = []
    for i, (gv, dv) in enumerate(zip(g, d)):
        found += mon.update(i + 1, {"loss/g": gv, "loss/d": dv})
    return [w.kind for w in found]


def test_d_loss_collapse_triggers_once_per_cooldown():
    mon = Monitor(window=50, cooldown=1000)
    kinds = _feed(mon, [5.0] * 300, [1.3] * 100 + [0.001] * 200)
    assert kinds == ["d_loss_zero"]
    assert not d_loss_collapsed([0.001] * 10 + [0.5])


def test_g_falls_while_d_rises():
    n = 200
    g = [3.0 - 2.0 * i / n + 0.2 * math.sin(i) for i in range(n)]
    d = [0.5 + 0.8 * i / n + 0.2 * math.cos(i) for i in range(n)]
    assert g_falls_d_rises(g, d)
    assert _feed(Monitor(window=n), g, d) == ["g_falls_d_rises"]
    # both noisy but flat, or both falling: no warning
    flat = [1.0 + 0.3 * math.sin(i * 1.7) for i in range(n)]
    assert not g_falls_d_rises(flat, flat)
    assert not g_falls_d_rises(g, list(reversed(d)))
    assert _feed(Monitor(window=n), flat, [0.7] * n) == []


def test_non_finite():
    assert non_finite_keys({"loss/g": float("nan"), "loss/d": 1.0, "x": float("-inf")}) == ["loss/g", "x"]
    assert _feed(Monitor(), [1.0, float("inf")], [1.0, 1.0]) == ["non_finite"]


def test_diversity_measures():
    torch.manual_seed(0)
    real = torch.randn(200, 2)
    assert abs(mean_pairwise_distance(torch.tensor([[0.0, 0.0], [3.0, 4.0]])) - 5.0) < 1e-9
    assert diversity_ratio(real * 0.05, real) < 0.1
    assert abs(diversity_ratio(real, real) - 1.0) < 1e-9
    assert Monitor().diversity(10, 0.05, 0.3)[0].kind == "low_diversity"
    assert Monitor().diversity(10, 0.9, 0.3) == []


def test_hook_writes_warning_rows_and_nan_advice(tmp_path):
    cfg = apply_overrides(preset_config("gan-ring8"), {
        "train.steps": 6, "train.batch_size": 16, "data.n_samples": 256, "model.g_width": 8, "model.d_width": 8,
        "log.out_dir": str(tmp_path), "log.name": "run", "log.progress": False, "log.tensorboard": False,
        "log.sample_every": 0, "log.ckpt_every": 2, "log.log_every": 2, "train.threads": 1})
    t = build_trainer(cfg, tmp_path / "run")
    mon = next(h for h in t.hooks if type(h).__name__ == "MonitorHook")
    mon.every, mon.warmup = 2, 0  # check diversity early: an untrained G is nearly constant
    inner = t.run_step

    def poisoned():
        tr = t
        out = inner()
        if tr.step == 4:
            out["loss/d"] = float("nan")
        return out

    t.run_step = poisoned
    assert t.train() == "diverged"
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    warnings = [r for r in rows if "warning" in r]
    kinds = [r["warning"] for r in warnings]
    assert "low_diversity" in kinds and kinds[-1] == "non_finite"
    assert all(r["advice"] and "--" in r["advice"] for r in warnings)
    off = apply_overrides(cfg, {"stab.monitor": False, "log.name": "off"})
    assert not any(type(h).__name__ == "MonitorHook" for h in build_trainer(off, tmp_path / "off").hooks)


def test_advice_leaves_out_what_the_run_already_uses():
    cfg = apply_overrides(new_config(), {"stab.pack": 2, "train.n_critic": 2, "stab.ema": 0.99, "train.loss": "wgan-gp",
                                        "model.d_norm": "none"})
    a = advice("g_falls_d_rises", cfg)
    assert "--stab.pack" not in a and "--train.n_critic=3" in a and "--stab.mbstd=true" in a
    assert "already uses are not listed" in a
    low = advice("low_diversity", cfg)
    assert "--stab.pack" not in low and "--stab.ema" not in low and "--stab.unrolled_k=5" in low
    assert "--train.loss=wgan-gp" not in advice("non_finite", cfg)
    plain = advice("g_falls_d_rises", new_config())
    assert "--stab.pack=2" in plain and "--train.n_critic=2" in plain and "not listed" not in plain
    assert plain == advice("g_falls_d_rises")  # a run with every option at its default
