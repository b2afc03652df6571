"""`gankit eval` end to end: a tiny run directory, .npz files, the statistics cache, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from gankit.cli import main
from gankit.config import DataConfig
from gankit.families.registry import apply_overrides
from gankit.data import build_dataset
from gankit.presets import preset_config
from gankit.run import train

N = 300  # > 128 feature dimensions, so the covariances are not singular


@pytest.fixture(scope="module", autouse=True)
def cache_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANKIT_CACHE", str(path))
        yield path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    over = {"train.steps": 2, "train.batch_size": 16, "data.limit": 400, "model.g_width": 8, "model.d_width": 8,
            "model.z_dim": 8, "log.out_dir": str(out), "log.name": "tiny", "log.progress": False,
            "log.tensorboard": False, "log.sample_every": 0, "log.ckpt_every": 0, "train.threads": 1}
    status, trainer = train(apply_overrides(preset_config("dcgan-fashion"), over))
    assert status == "finished"
    return trainer.run_dir


@pytest.fixture(scope="module")
def test_images():
    return build_dataset(DataConfig(name="fashion-mnist", split="test", limit=2 * N)).x.numpy()


def _npz(path, samples):
    np.savez(path, samples=samples)
    return str(path)


def _eval(capsys, *args):
    code = main(["eval", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_eval_run_dir_writes_table_and_json(run_dir, capsys, tmp_path, cache_dir):
    code, out, _ = _eval(capsys, run_dir, "--metrics", "fid,kid,is,pr", "--n", N, "--split", "test")
    assert code == 0
    record = json.loads((run_dir / "eval" / "step_00000002.json").read_text())
    res = record["metrics"]
    names = ["FID[fashion-cnn]", "KID[fashion-cnn]", "IS[fashion-cnn]", "precision[fashion-cnn]"]
    assert all(name in res and name in out for name in names)
    assert all(math.isfinite(v) for v in res.values())
    assert record["n_fake"] == N and record["n_real"] == N and record["step"] == 2
    assert record["real_data"] == {"name": "fashion-mnist", "split": "test"}
    assert res["FID[fashion-cnn]"] > 1.0 and 1.0 <= res["IS[fashion-cnn]"] <= 10.0
    # the second run reads the cached real statistics and gives the same numbers
    assert list((cache_dir / "stats").glob("*.npz"))
    code, _, _ = _eval(capsys, run_dir, "--metrics", "fid,kid,is,pr", "--n", N, "--split", "test",
                       "--json", tmp_path / "again.json")
    assert code == 0 and json.loads((tmp_path / "again.json").read_text())["metrics"] == res


def test_eval_npz_real_images_score_near_zero(test_images, capsys, tmp_path):
    same = _npz(tmp_path / "same.npz", test_images[:N])
    code, _, _ = _eval(capsys, same, "--metrics", "fid,pr", "--n", N, "--split", "test")
    res = json.loads((tmp_path / "same.eval.json").read_text())["metrics"]
    assert code == 0 and abs(res["FID[fashion-cnn]"]) < 1e-3
    assert res["precision[fashion-cnn]"] == 1.0 and res["recall[fashion-cnn]"] == 1.0
    # other real images: small but positive FID, far below a shuffled-pixel "generator"
    other = _npz(tmp_path / "other.npz", test_images[N:2 * N])
    _eval(capsys, other, "--metrics", "fid", "--n", N, "--split", "test", "--json", tmp_path / "o.json")
    fid_real = json.loads((tmp_path / "o.json").read_text())["metrics"]["FID[fashion-cnn]"]
    rng = np.random.default_rng(0)
    noise = _npz(tmp_path / "noise.npz", rng.permutation(test_images[N:2 * N].reshape(-1)).reshape(N, 1, 28, 28))
    _eval(capsys, noise, "--metrics", "fid", "--n", N, "--split", "test", "--json", tmp_path / "n.json")
    fid_noise = json.loads((tmp_path / "n.json").read_text())["metrics"]["FID[fashion-cnn]"]
    assert 0.0 < fid_real < fid_noise / 10


@pytest.mark.parametrize("make, message", [
    (lambda x: (x + 1) * 127.5, "0..255"),
    (lambda x: ((x + 1) * 127.5).astype(np.uint8), "uint8"),
    (lambda x: np.where(np.arange(x.size).reshape(x.shape) == 7, np.nan, x), "NaN"),
    (lambda x: np.repeat(x, 3, axis=1), "shape"),
    (lambda x: x.reshape(len(x), -1)[:, :2], "shape"),
])  # fmt: skip
def test_bad_samples_give_a_clear_error(make, message, test_images, capsys, tmp_path):
    bad = _npz(tmp_path / "bad.npz", make(test_images[:N].copy()))
    code, _, err = _eval(capsys, bad, "--metrics", "fid", "--n", N, "--split", "test")
    assert code == 2 and message in err
    assert not (tmp_path / "bad.eval.json").exists()


def test_bad_requests(test_images, capsys, tmp_path):
    good = _npz(tmp_path / "good.npz", test_images[:N])
    assert _eval(capsys, good, "--n", 1)[0] == 2
    assert "unknown metric" in _eval(capsys, good, "--metrics", "fid,bogus", "--n", N)[2]
    assert "class probabilities" in _eval(capsys, good, "--metrics", "is", "--extractor", "identity", "--n", N)[2]
    assert "no such" in _eval(capsys, tmp_path / "missing.npz")[2]
    np.savez(tmp_path / "nokey.npz", images=test_images[:4])
    assert "no array 'samples'" in _eval(capsys, tmp_path / "nokey.npz")[2]


def test_warnings_for_unit_range_and_too_few_samples(test_images, capsys, tmp_path):
    unit = _npz(tmp_path / "unit.npz", (test_images[:N] + 1) / 2)
    code, out, _ = _eval(capsys, unit, "--metrics", "fid", "--n", N, "--split", "test")
    assert code == 0 and "[0, 1]" in out
    few = _npz(tmp_path / "few.npz", test_images[:50])
    code, out, _ = _eval(capsys, few, "--metrics", "fid", "--n", N, "--split", "test")
    record = json.loads((tmp_path / "few.eval.json").read_text())
    assert code == 0 and "fewer than --n" in out and "singular" in out and record["n_fake"] == 50
    assert any("singular" in w for w in record["warnings"])
