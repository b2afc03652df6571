"""`gankit export`: the exported TorchScript / ONNX file reproduces the run's generator and carries its contract."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import gankit
from gankit import export
from gankit.cli import main
from gankit.sample import load_generator

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")  # torch 2.13 deprecates TorchScript

TINY = ["--model.g_width=8", "--model.d_width=8", "--model.z_dim=8", "--data.limit=64", "--train.steps=2",
        "--train.batch_size=16", "--log.progress=false", "--log.tensorboard=false", "--train.threads=1"]
RUNS = {"dcgan": ["dcgan-fashion"], "ring8": ["gan-ring8", "--data.n_samples=256"], "cgan": ["cgan-fashion"],
        "ema": ["dcgan-fashion", "--stab.ema=0.9"]}
EXPECT = {"dcgan": ((1, 28, 28), None, "image"), "ring8": ((2,), None, "vector"), "cgan": ((1, 28, 28), 10, "image"),
          "ema": ((1, 28, 28), None, "image")}
SUFFIX = {"torchscript": "pt", "onnx": "onnx"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for name, args in RUNS.items():
        assert main(["train", *args, *TINY, f"--log.out_dir={root}", f"--log.name={name}"]) == 0
    return root


def need_onnx():
    for package in ("onnx", "onnxscript", "onnxruntime"):  # the `test` extra pins them
        pytest.importorskip(package)


def load_file(fmt: str, path):
    """(a callable taking torch inputs, the gankit.json document), loaded as a user without gankit would."""
    if fmt == "torchscript":
        extra = {"gankit.json": ""}
        module = torch.jit.load(str(path), _extra_files=extra)
        return (lambda *xs: module(*xs)), json.loads(extra["gankit.json"])
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    doc = json.loads(session.get_modelmeta().custom_metadata_map["gankit.json"])
    return (lambda *xs: torch.from_numpy(session.run(None, {n: x.numpy() for n, x in zip(names, xs)})[0])), doc


def inputs(z_dim: int, k: int | None, n: int = 5):
    z = torch.randn(n, z_dim, generator=torch.Generator().manual_seed(7))
    return (z, torch.arange(n) % k) if k else (z,)


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
@pytest.mark.parametrize("name", list(RUNS))
def test_export_reproduces_the_generator(runs, tmp_path, capsys, name, fmt):
    if fmt == "onnx":
        need_onnx()
    out = tmp_path / f"g.{SUFFIX[fmt]}"
    assert main(["export", str(runs / name), "--format", fmt, "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    run_file, doc = load_file(fmt, out)
    shape, k, modality = EXPECT[name]
    assert doc["z_dim"] == 8 and doc["num_classes"] == k and tuple(doc["output_shape"]) == shape
    assert doc["modality"] == modality and doc["output_range"] == ([-1.0, 1.0] if modality == "image" else "raw")
    assert doc["preset"] == RUNS[name][0] and doc["step"] == 2 and doc["gankit_version"] == gankit.__version__
    assert doc["weights"] == ("G_ema" if name == "ema" else "G") and doc["inputs"] == (["z", "y"] if k else ["z"])
    G = load_generator(runs / name)[0]
    for n in (1, 5):  # the batch axis is dynamic
        xs = inputs(8, k, n)
        with torch.no_grad():
            want = G(*xs)
        got = run_file(*xs)
        assert got.shape == (n, *shape) and (got - want).abs().max().item() <= 1e-5


def test_ema_is_the_default_and_no_ema_exports_the_trained_g(runs, tmp_path):
    run = runs / "ema"
    assert main(["export", str(run), "--format", "torchscript", "--out", str(tmp_path / "g.pt"), "--no-ema"]) == 0
    run_file, doc = load_file("torchscript", tmp_path / "g.pt")
    xs = inputs(8, None)
    G, G_ema = load_generator(run, ema=False)[0], load_generator(run)[0]
    with torch.no_grad():
        assert (run_file(*xs) - G(*xs)).abs().max() <= 1e-5 and (G(*xs) - G_ema(*xs)).abs().max() > 1e-4
    assert doc["weights"] == "G"


def test_the_files_run_without_gankit(runs, tmp_path):
    need_onnx()
    for fmt in ("torchscript", "onnx"):
        assert main(["export", str(runs / "cgan"), "--format", fmt, "--out", str(tmp_path / f"g.{SUFFIX[fmt]}")]) == 0
    code = f"""
import json, sys
sys.modules["gankit"] = None  # any import of gankit fails
import numpy as np, onnxruntime, torch
extra = {{"gankit.json": ""}}
G = torch.jit.load({str(tmp_path / "g.pt")!r}, _extra_files=extra)
doc = json.loads(extra["gankit.json"])
z, y = torch.randn(4, doc["z_dim"]), torch.arange(4) % doc["num_classes"]
s = onnxruntime.InferenceSession({str(tmp_path / "g.onnx")!r}, providers=["CPUExecutionProvider"])
x = s.run(None, {{"z": z.numpy(), "y": y.numpy()}})[0]
print(json.dumps([list(x.shape), float(np.abs(x - G(z, y).numpy()).max())]))
"""
    shape, diff = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                            check=True).stdout)
    assert shape == [4, 1, 28, 28] and diff <= 1e-5


def refused(capsys, *args) -> str:
    assert main(["export", *map(str, args)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    return err


def test_refusals(runs, tmp_path, capsys):
    run, out = runs / "dcgan", tmp_path / "g.onnx"
    assert "unknown export format 'tflite'; choose one of: torchscript, onnx" in refused(
        capsys, run, "--format", "tflite", "--out", out)
    (tmp_path / "empty").mkdir()
    assert "no checkpoint found" in refused(capsys, tmp_path / "empty", "--format", "onnx", "--out", out)
    assert "no such run directory" in refused(capsys, tmp_path / "nope", "--format", "onnx", "--out", out)
    (tmp_path / "file").write_text("")
    err = refused(capsys, run, "--format", "onnx", "--out", tmp_path / "file" / "g.onnx")
    assert "cannot create the directory" in err and str(tmp_path / "file") in err
    assert "is a directory" in refused(capsys, run, "--format", "onnx", "--out", tmp_path)
    assert not out.exists()


def test_an_unwritable_directory_is_refused(runs, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(export.os, "access", lambda path, mode: False)  # root may write anywhere
    assert "is not writable" in refused(capsys, runs / "dcgan", "--format", "onnx", "--out", tmp_path / "g.onnx")


def test_onnx_without_the_onnx_package(runs, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert "pip install onnx" in refused(capsys, runs / "dcgan", "--format", "onnx", "--out", tmp_path / "g.onnx")
    assert not (tmp_path / "g.onnx").exists()


def test_a_file_that_disagrees_with_g_is_not_written(runs, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(export, "run_exported", lambda fmt, data, doc, xs: torch.zeros(3, 1, 28, 28))
    assert "does not reproduce the generator" in refused(capsys, runs / "dcgan", "--format", "torchscript",
                                                         "--out", tmp_path / "g.pt")
    assert not (tmp_path / "g.pt").exists()


def test_other_families_are_refused(tmp_path, capsys, monkeypatch):
    from families import tiny_vae  # tests/families, as pytest imports it
    from gankit.families import registry
    from gankit.run import train

    monkeypatch.setitem(registry.FAMILIES, "tiny-vae", tiny_vae.FAMILY)
    monkeypatch.setitem(registry.MODEL_SECTIONS, "tiny-vae", tiny_vae.TinyVAEConfig)
    cfg = registry.apply_overrides(registry.new_config("tiny-vae"), {
        "data.name": "ring8", "data.n_samples": 256, "train.batch_size": 16, "train.steps": 2, "train.threads": 1,
        "log.out_dir": str(tmp_path), "log.name": "vae", "log.progress": False, "log.tensorboard": False})
    assert train(cfg)[0] == "finished"
    err = refused(capsys, tmp_path / "vae", "--format", "torchscript", "--out", tmp_path / "g.pt")
    assert "gankit export writes GAN generators; this run's model.family is tiny-vae" in err


def test_mad_gan_and_spectral_norm_export(tmp_path):
    """MAD-GAN's k generators (a data-dependent split in PyTorch) and spectral norm (baked) export exactly."""
    args = ["gan-ring8", "--data.n_samples=256", "--stab.madgan_k=3", "--train.loss=nonsat",
            "--stab.spectral_norm_g=true"]
    assert main(["train", *args, *TINY, f"--log.out_dir={tmp_path}", "--log.name=mad"]) == 0
    doc = export.export_generator(tmp_path / "mad", "torchscript", tmp_path / "g.pt")
    module = torch.jit.load(io.BytesIO((tmp_path / "g.pt").read_bytes()))
    G = load_generator(tmp_path / "mad")[0]
    for n in (1, 2, 7):
        (z,) = inputs(doc["z_dim"], None, n)
        with torch.no_grad():
            assert np.abs((module(z) - G(z)).numpy()).max() <= 1e-5
