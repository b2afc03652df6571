"""Checkpoint files: damaged metadata, failed writes (ENOSPC, read-only), leftovers of killed runs, resume notice."""

from __future__ import annotations

import errno
import json
import os

import pytest
import torch

from gankit.core import checkpoint as ck
from gankit.errors import CheckpointError

META = {"config": {}, "stream": {"epoch": 0, "pos": 3}}


def save(ckpt_dir, step, keep=3):
    return ck.save_checkpoint(ckpt_dir, step, {"w": torch.full((2, 2), float(step))}, META, keep=keep)


def contents(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_save_and_load_round_trip(tmp_path):
    path = save(tmp_path, 5)
    tensors, meta = ck.load_checkpoint(tmp_path)
    assert path.name == "step_00000005.json" and meta["step"] == 5 and meta["stream"] == META["stream"]
    assert torch.equal(tensors["w"], torch.full((2, 2), 5.0))
    assert sorted(contents(tmp_path)) == ["step_00000005.json", "step_00000005.safetensors"]


# ----------------------------------------------------------------------------- damaged metadata
def _drop(key):
    return lambda m: {k: v for k, v in m.items() if k != key}


@pytest.mark.parametrize("damage, problem", [
    (_drop("tensors"), "lacks tensors"),
    (_drop("sha256"), "lacks sha256"),
    (_drop("step"), "lacks step"),
    (_drop("stream"), "lacks stream"),
    (_drop("config"), "lacks config"),
    (lambda m: {**m, "step": "abc"}, "step 'abc' is not a non-negative integer"),
    (lambda m: {**m, "step": True}, "step True is not"),
    (lambda m: {**m, "stream": [0, 3]}, r"stream \[0, 3\] is not"),
    (lambda m: {**m, "stream": {"epoch": "0", "pos": 3}}, "stream .* is not"),
    (lambda m: {**m, "stream": {"epoch": 0}}, "stream .* is not"),
    (lambda m: {**m, "tensors": "../step_00000001.safetensors"}, "tensors .* is not a plain file name"),
    (lambda m: {**m, "tensors": "sub/step_00000001.safetensors"}, "tensors .* is not a plain file name"),
    (lambda m: {**m, "tensors": "sub\\step_00000001.safetensors"}, "tensors .* is not a plain file name"),
    (lambda m: {**m, "tensors": 7}, "tensors .* is not a plain file name"),
    (lambda m: {**m, "sha256": None}, "sha256 None is not a string"),
])
def test_damaged_metadata_names_the_file_and_the_problem(tmp_path, damage, problem):
    path = save(tmp_path, 1)
    path.write_text(json.dumps(damage(json.loads(path.read_text()))))
    with pytest.raises(CheckpointError, match=rf"step_00000001\.json: bad checkpoint metadata: {problem}"):
        ck.load_checkpoint(tmp_path)


# ----------------------------------------------------------------------------- failed writes
def _raise(err):
    def boom(*args, **kwargs):
        raise OSError(err, os.strerror(err))
    return boom


@pytest.mark.parametrize("target", ["fsync", "replace"])
def test_no_space_keeps_the_previous_checkpoint_and_removes_temporaries(tmp_path, monkeypatch, target):
    save(tmp_path, 1)
    before = contents(tmp_path)
    monkeypatch.setattr(os, target, _raise(errno.ENOSPC))
    with pytest.raises(CheckpointError, match=r"no space left on device while writing checkpoint step 2; "
                                              r"the previous checkpoint is kept"):
        save(tmp_path, 2)
    monkeypatch.undo()
    assert contents(tmp_path) == before
    assert ck.load_checkpoint(tmp_path)[1]["step"] == 1


def test_read_only_folder_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "replace", _raise(errno.EROFS))
    with pytest.raises(CheckpointError, match=r"cannot write checkpoint step 3 \(Read-only file system\)$"):
        save(tmp_path, 3)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_checkpoint_folder_that_cannot_be_made(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(CheckpointError, match=r"afile/ckpt: cannot write checkpoint step 1"):
        save(tmp_path / "afile" / "ckpt", 1)


# ----------------------------------------------------------------------------- leftovers and resume notice
def test_clean_leftovers_removes_only_what_is_not_part_of_a_complete_checkpoint(tmp_path):
    save(tmp_path, 500)
    complete = contents(tmp_path)
    leftovers = ["step_00001000.safetensors", "step_00000100.safetensors", f".step_00001500.json.tmp{os.getpid()}",
                 ".step_00001500.safetensors.tmp123", ".config.json.tmp99"]
    for name in leftovers:
        (tmp_path / name).write_bytes(b"partial")
    (tmp_path / "notes.txt").write_text("mine")
    removed = ck.clean_leftovers(tmp_path)
    assert sorted(p.name for p in removed) == sorted(leftovers)
    assert contents(tmp_path) == {**complete, "notes.txt": b"mine"}
    assert ck.clean_leftovers(tmp_path) == [] and ck.clean_leftovers(tmp_path / "missing") == []


def test_describe_resume_reports_newer_incomplete_checkpoints(tmp_path):
    run = tmp_path / "run"
    save(run / "ckpt", 500)
    assert ck.describe_resume(run) is None
    last = save(run / "ckpt", 1000)
    last.unlink()  # killed or deleted: the tensors are there, the metadata is not
    assert ck.describe_resume(run) == "resuming from step 500: step 1000 has no metadata file (incomplete checkpoint)"
    assert ck.load_checkpoint(run)[1]["step"] == 500
    (run / "ckpt" / "step_00002000.safetensors").write_bytes(b"x")
    assert ck.describe_resume(run).endswith("steps 1000, 2000 have no metadata file (incomplete checkpoints)")
    assert ck.describe_resume(run / "ckpt" / "step_00000500.json") is None  # an explicit file: nothing skipped


def test_no_complete_checkpoint_names_the_incomplete_ones(tmp_path):
    save(tmp_path / "ckpt", 7).unlink()
    with pytest.raises(CheckpointError, match=r"no checkpoint found.*step 7 has no metadata file"):
        ck.load_checkpoint(tmp_path)
