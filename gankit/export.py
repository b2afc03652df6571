"""`gankit export RUN_DIR --format torchscript|onnx --out FILE`: a GAN run's generator as one file that runs
without gankit (torch.jit.load, or onnxruntime), carrying its input contract as the JSON document `gankit.json`
(TorchScript: an extra file; ONNX: a metadata_props entry). The contract is described in docs/export.md.

Inputs: z (batch, z_dim) float32 drawn from N(0, I) and, for conditional runs, y (batch,) int64 class indices;
output: x (batch, *output_shape) float32, in [-1, 1] for images and in the data's own scale for vectors.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib
import io
import json
import logging
import os
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

import gankit
from gankit.config import Config
from gankit.core.checkpoint import atomic_write_bytes
from gankit.core.spec import spec_from_meta
from gankit.errors import ConfigError, GankitError
from gankit.sample import load_models
from gankit.stabilizers.madgan import MultiGenerator

FORMATS = ("torchscript", "onnx")
FORMAT = "gankit-generator-v1"
META_NAME = "gankit.json"
CHECK_TOL = 1e-4  # the exported file must agree with the run's generator to this (it does to ~1e-7)


class ExportError(GankitError):
    """A missing export dependency, or an exported file that does not reproduce the generator."""


class _AllGenerators(nn.Module):
    """MAD-GAN's k generators without data-dependent branches: every one on every z, then each sample from the
    generator `MultiGenerator.assignment` gives it (the same samples as the run's G, traceable)."""

    def __init__(self, multi: MultiGenerator):
        super().__init__()
        self.multi = multi

    def forward(self, z: Tensor) -> Tensor:
        out = torch.stack([g(z) for g in self.multi.gens])
        return out[self.multi.assignment(z.shape[0], z.device), torch.arange(z.shape[0], device=z.device)]


class ExportedGenerator(nn.Module):
    """The exported signature: x = G(z), or x = G(z, y) for a conditional generator."""

    def __init__(self, G: nn.Module):
        super().__init__()
        self.G = _AllGenerators(G) if isinstance(G, MultiGenerator) else G

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.G(z) if y is None else self.G(z, y)


def frozen(G: nn.Module) -> nn.Module:
    """An eval-mode copy of G with parametrizations (spectral norm) baked into plain weights."""
    G = copy.deepcopy(G).eval().requires_grad_(False)
    for m in [m for m in G.modules() if parametrize.is_parametrized(m)]:
        for name in list(m.parametrizations):
            parametrize.remove_parametrizations(m, name)
    return G


def contract(G: nn.Module, cfg: Config, meta: dict, weights: str) -> dict:
    """The input/output contract and provenance written into the exported file."""
    spec, k = spec_from_meta(meta), getattr(G, "num_classes", None)
    return {"format": FORMAT, "gankit_version": gankit.__version__, "torch_version": torch.__version__,
            "family": cfg.model.family, "preset": cfg.preset, "step": int(meta.get("step", 0)), "weights": weights,
            "modality": spec.modality, "inputs": ["z", "y"] if k else ["z"], "output": "x",
            "z_dim": int(G.z_dim), "z_distribution": "normal(0, 1)", "num_classes": k,
            "class_names": list(spec.class_names) if k and spec.class_names else None,
            "output_shape": list(spec.shape), "output_range": [-1.0, 1.0] if spec.modality == "image" else "raw"}


def example_inputs(doc: dict, n: int = 2) -> tuple[Tensor, ...]:
    """Seeded z (and balanced labels y) of n samples in the contract's shapes and dtypes."""
    z = torch.randn(n, doc["z_dim"], generator=torch.Generator().manual_seed(n))
    return (z, torch.arange(n) % doc["num_classes"]) if doc["num_classes"] else (z,)


@contextlib.contextmanager
def _quiet():
    """The exporters' deprecation notes and torch.onnx's log lines are not the user's business."""
    log = logging.getLogger("torch.onnx")
    level = log.level
    with warnings.catch_warnings():
        for category in (DeprecationWarning, FutureWarning):
            warnings.simplefilter("ignore", category)
        warnings.filterwarnings("ignore", message=r".*axis name", category=UserWarning)
        log.setLevel(logging.ERROR)
        try:
            yield
        finally:
            log.setLevel(level)


def _need(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ExportError(f"--format onnx needs the {module} package: pip install onnx onnxscript") from None


def torchscript_bytes(W: nn.Module, doc: dict) -> bytes:
    buf = io.BytesIO()
    with _quiet():
        traced = torch.jit.trace(W, example_inputs(doc), check_trace=False)
        torch.jit.save(traced, buf, _extra_files={META_NAME: json.dumps(doc)})
    return buf.getvalue()


def onnx_bytes(W: nn.Module, doc: dict) -> bytes:
    onnx = _need("onnx")
    _need("onnxscript")  # torch.onnx's exporter builds the graph with it
    batch = torch.export.Dim("batch", min=1)
    with _quiet():
        program = torch.onnx.export(W, example_inputs(doc), input_names=doc["inputs"], output_names=["x"],
                                    dynamic_shapes={name: {0: batch} for name in doc["inputs"]}, dynamo=True,
                                    verbose=False)
    proto = program.model_proto
    onnx.helper.set_model_props(proto, {META_NAME: json.dumps(doc)})
    return proto.SerializeToString()


def run_exported(fmt: str, data: bytes, doc: dict, inputs: tuple[Tensor, ...]) -> Tensor | None:
    """The exported file's output on `inputs` (None for ONNX without onnxruntime, which cannot be checked)."""
    if fmt == "torchscript":
        with _quiet():
            return torch.jit.load(io.BytesIO(data))(*inputs)
    try:
        import onnxruntime
    except ImportError:
        return None
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {k: t.numpy() for k, t in zip(doc["inputs"], inputs)})[0])


@torch.no_grad()
def verify(fmt: str, data: bytes, W: nn.Module, doc: dict) -> None:
    """The file reproduces W at a batch size it was not traced with (skipped for a G that samples noise)."""
    inputs = example_inputs(doc, 3)
    want = W(*inputs)
    if not torch.equal(want, W(*inputs)):
        return
    got = run_exported(fmt, data, doc, inputs)
    if got is None:
        return
    diff = float((got - want).abs().max()) if got.shape == want.shape else float("inf")
    if diff > CHECK_TOL:
        raise ExportError(f"the exported {fmt} file does not reproduce the generator (shape {tuple(got.shape)} vs "
                          f"{tuple(want.shape)}, max difference {diff:.3g}); please report this run's config")


def check_out(out: Path) -> None:
    """--out must name a file in a directory that exists (or can be made) and is writable."""
    if out.is_dir():
        raise ConfigError(f"--out {out} is a directory; give a file name such as {out / 'generator.onnx'}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--out {out}: cannot create the directory {out.parent} ({e.strerror or e})") from None
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {out}: the directory {out.parent} is not writable")


def export_generator(run: Path, fmt: str, out: Path, ema: bool = True) -> dict:
    """Write the newest checkpoint's generator (G_ema when present and `ema`) to `out`; returns the contract."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    models, cfg, meta = load_models(run)
    if cfg.model.family != "gan":
        raise ConfigError(f"{run}: gankit export writes GAN generators; this run's model.family is {cfg.model.family}")
    check_out(out)
    weights = "G_ema" if ema and "G_ema" in models else "G"
    W = ExportedGenerator(frozen(models[weights])).eval()
    doc = contract(models[weights], cfg, meta, weights)
    data = (torchscript_bytes if fmt == "torchscript" else onnx_bytes)(W, doc)
    verify(fmt, data, W, doc)
    try:
        atomic_write_bytes(out, data)
    except OSError as e:
        raise ConfigError(f"--out {out}: cannot write the file ({e.strerror or e})") from None
    return doc


def cmd_export(args: argparse.Namespace, rest: list[str]) -> int:
    doc = export_generator(Path(args.run), args.format, Path(args.out), ema=not args.no_ema)
    y = f", y (batch,) int64 < {doc['num_classes']}" if doc["num_classes"] else ""
    shape = ", ".join(map(str, doc["output_shape"]))
    scale = "unscaled" if doc["output_range"] == "raw" else "in [-1, 1]"
    print(f"wrote {args.out} ({args.format}, {doc['weights']} at step {doc['step']}): "
          f"z (batch, {doc['z_dim']}) ~ N(0, I){y} -> x (batch, {shape}) {scale}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write a GAN run's generator as a TorchScript or ONNX file (runs without gankit)")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--format", required=True, metavar="FORMAT", help="torchscript or onnx (onnx needs: pip install "
                   "onnx onnxscript)")
    p.add_argument("--out", required=True, metavar="FILE", help="the file to write: generator.pt, generator.onnx")
    p.add_argument("--no-ema", action="store_true", help="export the trained G even when an EMA copy exists")
    p.set_defaults(func=cmd_export)
