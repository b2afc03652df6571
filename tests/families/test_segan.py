"""The segan family on mixtures the test builds from synthetic tones: presets, phases and losses, exact resume,
whole-file enhancement, `gankit enhance-speech` (bad input: one error line) and `gankit eval`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.io import wavfile

from gankit.cli import main
from gankit.data.speech import read_wav, write_wav
from gankit.data.speech_build import build_speech_data
from gankit.errors import ConfigError, GankitError
from gankit.families import segan
from gankit.families.registry import apply_overrides
from gankit.presets import preset_config
from gankit.run import train
from tests.data._speech import RATE, tone_prompt, write_sounds
from tests.families.resume import assert_resume_exact, quiet

QUIET = quiet(ckpt_every=3)


@pytest.fixture(scope="module")
def mixtures(tmp_path_factory):
    root = tmp_path_factory.mktemp("speech")
    src = write_sounds(root, n_prompts=6, seconds=0.5)
    build_speech_data(root / "mix", src["clean"], src["babble"], src["moh"], rate=RATE, test_fraction=0.34,
                      train_mixtures=1, talkers=2, log=lambda s: None)
    return root / "mix"


def tiny(mixtures, tmp_path, preset="segan-speech", **over):
    base = {"train.steps": 3, "train.batch_size": 4, "data.root": str(mixtures), "data.resolution": 256,
            "model.depth": 4, "model.kernel": 5, "model.g_width": 2, "model.d_width": 2, "model.vbn_ref": 2, "log.n_grid": 2,
            "log.out_dir": str(tmp_path), **QUIET}
    return apply_overrides(preset_config(preset), {**base, **over})


def test_segan_preset_trains_and_writes_audio_samples(mixtures, tmp_path):
    status, t = train(tiny(mixtures, tmp_path, **{"log.sample_every": 3, "log.n_grid": 2}))
    assert status == "finished" and [(p.name, p.optims) for p in t.phases] == [("D", ("D",)), ("G", ("G",))]
    assert {"loss/d", "loss/g", "loss/l1", "d/real", "d/fake"} <= t.scalars.keys()
    folder = tmp_path / "run" / "samples" / "step_00000003"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{i}_{k}.wav" for i in range(2)
                                                             for k in ("noisy", "enhanced", "clean"))
    assert read_wav(folder / "0_enhanced.wav")[1] == RATE and (tmp_path / "run" / "samples" / "latest.png").is_file()
    assert bool(t.models["D"].ref_set)


def test_l1_only_arm_has_no_discriminator(mixtures, tmp_path):
    status, t = train(tiny(mixtures, tmp_path, "l1-speech"))
    assert status == "finished" and set(t.models) == {"G"} and set(t.scalars) == {"loss/l1"}


def test_one_g_step_is_adversarial_plus_100_l1_and_moves_g(mixtures, tmp_path):
    _, t = train(tiny(mixtures, tmp_path, **{"train.steps": 1}))
    batch = t.next_batch()
    ctx = type("Ctx", (), {"models": t.models, "scratch": {}, "noise": torch.Generator().manual_seed(0),
                           "device": torch.device("cpu")})()
    loss, s = segan.g_loss(t.cfg, segan.loss_from_train(t.cfg.train), batch, ctx)
    assert loss.item() == pytest.approx(float(s["loss/g"]) + 100 * float(s["loss/l1"]), rel=1e-5)
    before = [p.detach().clone() for p in t.models["G"].parameters()]
    t.run_step()
    assert all(not torch.equal(p, q) for p, q in zip(t.models["G"].parameters(), before))


def test_resume_is_exact(mixtures, tmp_path):
    assert_resume_exact(lambda out, **o: tiny(mixtures, out, **o), tmp_path, steps=6, stop=3)


def test_bad_configs_are_refused(mixtures, tmp_path):
    with pytest.raises(ConfigError, match="multiple of 16"):
        train(tiny(mixtures, tmp_path, **{"data.resolution": 264}))
    with pytest.raises(ConfigError, match="train.loss"):
        tiny(mixtures, tmp_path, **{"train.loss": "wgan"})
    with pytest.raises(ConfigError, match="vbn_ref"):
        tiny(mixtures, tmp_path, **{"model.vbn_ref": 9})


def test_whole_files_of_any_length_are_enhanced_by_overlapping_chunks():
    torch.manual_seed(0)
    cfg = apply_overrides(preset_config("segan-speech"), {"model.depth": 4, "model.kernel": 5, "model.g_width": 2})
    G = segan.build_models(cfg, _spec(256))["G"]
    for n in (50, 256, 1000):  # shorter than a chunk (padded), exactly one, several
        x = tone_prompt(n, n / RATE)
        y = segan.enhance_waveform(G, x)
        assert y.shape == x.shape and np.abs(y).max() <= 1
    # an identity G (output = input) gives back the input: the Hann windows at hop L/2 sum to one
    ident = _Identity(G)
    x = tone_prompt(3, 0.2)
    assert np.allclose(segan.enhance_waveform(ident, x), x, atol=1e-4)


def _spec(length):
    from gankit.core.spec import DataSpec

    return DataSpec("audio", {"noisy": (1, length), "clean": (1, length)}, "clean")


class _Identity(torch.nn.Module):
    def __init__(self, G):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.length, self.z_shape, self.use_z, self.preemph = G.length, G.z_shape, G.use_z, G.preemph

    def forward(self, x, z=None):
        return x


@pytest.fixture(scope="module")
def run(mixtures, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    train(tiny(mixtures, out, **{"train.steps": 2}))
    return out / "run"


def test_enhance_speech_cli(run, tmp_path, capsys):
    x = tone_prompt(7, 0.3)
    write_wav(tmp_path / "in.wav", x, RATE)
    assert main(["enhance-speech", str(run), "--input", str(tmp_path / "in.wav"), "--out", str(tmp_path / "o.wav")]) == 0
    y, rate, _ = read_wav(tmp_path / "o.wav")
    assert rate == RATE and len(y) == len(x) and "real-time factor" in capsys.readouterr().out
    stereo = (np.stack([x, x], 1) * 32767).astype(np.int16)
    wavfile.write(tmp_path / "st16k.wav", 16000, np.repeat(stereo, 2, axis=0))
    assert main(["enhance-speech", str(run), "--input", str(tmp_path / "st16k.wav"), "--out",
                 str(tmp_path / "o2.wav")]) == 0
    out = capsys.readouterr().out
    assert "down-mixed" in out and "resampled to the model's 8000 Hz" in out
    assert len(read_wav(tmp_path / "o2.wav")[0]) == len(x)


@pytest.mark.parametrize("content,match", [(b"", "empty"), (b"GIF89a not audio", "not a readable WAV")])
def test_enhance_speech_bad_input_gives_one_error_line(run, tmp_path, capsys, content, match):
    (tmp_path / "bad.wav").write_bytes(content)
    assert main(["enhance-speech", str(run), "--input", str(tmp_path / "bad.wav"), "--out",
                 str(tmp_path / "o.wav")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and match in err[0]


def test_eval_scores_the_run_and_the_baselines_per_snr(run, mixtures, tmp_path, capsys):
    out = tmp_path / "e.json"
    assert main(["eval", str(run), "--json", str(out)]) == 0
    rec = json.loads(out.read_text())
    for m in ("noisy", "specsub", "wiener", "segan"):
        assert {f"{m}/PESQ", f"{m}/STOI", f"{m}/SSNR"} <= rec["metrics"].keys()
    assert sorted(rec["per_snr"]) == ["12.5", "17.5", "2.5", "7.5"] and rec["n_fake"] == len(rec["per_file"])


def test_init_from_starts_g_from_an_l1_run_and_refuses_a_missing_one(mixtures, tmp_path):
    _, l1 = train(tiny(mixtures, tmp_path / "l1", "l1-speech"))
    cfg = tiny(mixtures, tmp_path / "gan", **{"model.init_from": str(tmp_path / "l1" / "run")})
    setup = segan.build(cfg, _spec(256))
    setup.init()  # a fresh run's starting weights (a resume loads its checkpoint instead)
    G = setup.models["G"]
    assert all(torch.equal(a, b) for a, b in zip(G.state_dict().values(), l1.models["G"].state_dict().values()))
    fresh = segan.build(tiny(mixtures, tmp_path / "gan"), _spec(256)).models["G"]
    assert not torch.equal(fresh.enc[0].weight, G.enc[0].weight)
    with pytest.raises(GankitError, match="no such run"):
        train(tiny(mixtures, tmp_path / "bad", **{"model.init_from": str(tmp_path / "nowhere")}))
