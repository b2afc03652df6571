"""Speech data: WAV reading (mono, stereo, bad files), emphasis, chunks, the mixture builder and the data set, on
audio the tests write themselves."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.io import wavfile

from gankit.data import speech
from gankit.data.speech_build import TEST_SNRS, TRAIN_SNRS, active_power, build_speech_data, mix, pink
from gankit.errors import ConfigError, DataError
from tests.data._helpers import DataCfg
from tests.data._speech import RATE, tone_prompt, write_sounds


def test_wav_round_trip_and_sample_types(tmp_path):
    x = tone_prompt(0)
    speech.write_wav(tmp_path / "a.wav", x, RATE)
    y, rate, notes = speech.read_wav(tmp_path / "a.wav")
    assert rate == RATE and notes == [] and np.abs(x - y).max() < 1 / 32767
    wavfile.write(tmp_path / "u8.wav", RATE, np.array([0, 128, 255], dtype=np.uint8))
    assert np.allclose(speech.read_wav(tmp_path / "u8.wav")[0], [-1, 0, 127 / 128])
    wavfile.write(tmp_path / "f.wav", RATE, np.array([0.5, -2.0], dtype=np.float32))
    assert np.allclose(speech.read_wav(tmp_path / "f.wav")[0], [0.5, -1.0])


def test_stereo_is_mixed_down_with_a_note(tmp_path):
    stereo = np.stack([np.full(100, 1000, np.int16), np.full(100, 3000, np.int16)], axis=1)
    wavfile.write(tmp_path / "s.wav", RATE, stereo)
    x, _, notes = speech.read_wav(tmp_path / "s.wav")
    assert x.shape == (100,) and np.allclose(x, 2000 / 32768) and "down-mixed" in notes[0]


@pytest.mark.parametrize("content,match", [(b"", "empty"), (b"not a wav file at all", "not a readable WAV"),
                                           (None, "no samples")])
def test_bad_files_give_one_data_error(tmp_path, content, match):
    path = tmp_path / "bad.wav"
    if content is None:
        wavfile.write(path, RATE, np.zeros(0, np.int16))
    else:
        path.write_bytes(content)
    with pytest.raises(DataError, match=match):
        speech.read_wav(path)
    with pytest.raises(DataError, match="no such file"):
        speech.read_wav(tmp_path / "missing.wav")


def test_emphasis_inverts_and_resample_keeps_the_duration():
    x = torch.from_numpy(tone_prompt(1))
    y = speech.preemphasis(x, 0.95)
    assert torch.allclose(y[1:], x[1:] - 0.95 * x[:-1]) and y[0] == x[0]
    assert np.allclose(speech.deemphasis(y.numpy(), 0.95), x.numpy(), atol=1e-5)
    assert len(speech.resample(x.numpy(), 8000, 16000)) == 2 * len(x)


def test_chunks_overlap_and_pad():
    x = np.arange(10, dtype=np.float32)
    c = speech.chunks(x, 4, 2)
    assert c.shape == (4, 4) and c[1].tolist() == [2, 3, 4, 5] and c[-1].tolist() == [6, 7, 8, 9]
    short = speech.chunks(x[:3], 8, 4)
    assert short.shape == (1, 8) and short[0, 3:].sum() == 0


def test_mix_reaches_the_snr_on_active_speech():
    rng = np.random.default_rng(0)
    clean = tone_prompt(2)
    noise = pink(20000, rng)
    noisy, cl, offset = mix(clean, noise, 5.0, RATE, rng)
    n = noisy - cl
    assert 10 * np.log10(active_power(cl, RATE) / np.mean(n ** 2)) == pytest.approx(5.0, abs=0.01)
    assert np.allclose(n / n.std(), noise[offset:offset + len(clean)] / noise[offset:offset + len(clean)].std(),
                       atol=1e-4)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("speech")
    src = write_sounds(root, n_prompts=8)
    out = root / "mix"
    build_speech_data(out, src["clean"], src["babble"], src["moh"], rate=RATE, test_fraction=0.25,
                      train_mixtures=2, talkers=2, log=lambda s: None)
    return out, src


def test_builder_splits_by_prompt_and_uses_the_paper_snrs(built):
    out, _ = built
    m = speech.read_manifest(out)  # checks every SHA-256
    train, test = set(m["prompts"]["train"]), set(m["prompts"]["test"])
    assert len(train) == 6 and len(test) == 2 and not train & test
    assert not any("silence" in p for p in train | test)
    rows = m["files"]
    assert {r["snr"] for r in rows if r["split"] == "train"} <= set(TRAIN_SNRS)
    assert sorted(r["snr"] for r in rows if r["split"] == "test") == sorted(TEST_SNRS * 2)
    assert sum(r["split"] == "train" for r in rows) == 12
    bab = m["noise"]["babble"]["files"]
    assert not set(bab["train"]) & set(bab["test"])


def test_a_changed_file_is_refused(built, tmp_path):
    import shutil

    out, _ = built
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    row = json.loads((copy / "manifest.json").read_text())["files"][0]
    speech.write_wav(copy / row["clean"], np.zeros(10, np.float32), RATE)
    with pytest.raises(DataError, match="SHA-256"):
        speech.read_manifest(copy)
    with pytest.raises(ConfigError, match="already holds"):
        build_speech_data(copy, *built[1].values(), rate=RATE, log=lambda s: None)


def test_dataset_cuts_chunks_of_both_fields(built):
    out, _ = built
    d = speech.build_speech(DataCfg(name="speech", root=str(out), resolution=2048))
    assert d.noisy.shape == d.clean.shape and d.clean.shape[1:] == (1, 2048) and len(d) >= 12
    spec = d.spec
    assert spec.modality == "audio" and spec.main == "clean" and spec.extra["rate"] == RATE
    test = speech.build_speech(DataCfg(name="speech", root=str(out), split="test", resolution=2048))
    assert len(test) >= 8 and not torch.equal(test.clean[0], d.clean[0])
    with pytest.raises(DataError, match="no manifest.json"):
        speech.build_speech(DataCfg(name="speech", root=str(out / "train")))


def test_16khz_prompts_come_from_g722_by_ffmpeg_or_resampled_wavs(tmp_path):
    import shutil
    import subprocess

    from gankit.data.speech_build import clean_loader

    x = tone_prompt(5)
    speech.write_wav(tmp_path / "p.wav", x, RATE)
    load, desc = clean_loader(16000, "resample")
    y = load(tmp_path / "p.wav")
    assert "resample_poly" in desc and len(y) == 2 * len(x)
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    hi = speech.resample(x, RATE, 16000)
    speech.write_wav(tmp_path / "hi.wav", hi, 16000)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(tmp_path / "hi.wav"), "-ar", "16000", "-f", "g722",
                    str(tmp_path / "p.g722")], check=True)
    load, desc = clean_loader(16000, "auto")
    y = load(tmp_path / "p.wav")
    assert "g722" in desc and abs(len(y) - len(hi)) <= 16
    n = min(len(y), len(hi)) - 100
    best = max(np.corrcoef(y[lag:lag + n], hi[:n])[0, 1] for lag in range(100))  # the codec delays the signal
    assert best > 0.9  # a lossy codec, but the same signal
