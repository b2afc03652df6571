"""`gankit sample --out`: a path that cannot be written gives one ConfigError naming it, not a traceback."""

from __future__ import annotations

import builtins
import errno
import io

import pytest
import torch

from gankit.errors import ConfigError
from gankit.sample import write_samples

IMAGES = torch.rand(4, 1, 8, 8) * 2 - 1
POINTS = torch.randn(16, 2)
CASES = [("grid.png", IMAGES), ("samples.npz", IMAGES), ("pngs", IMAGES), ("scatter.png", POINTS)]


@pytest.mark.parametrize("name, samples", CASES)
def test_writes_each_kind_of_output(tmp_path, name, samples):
    out = write_samples(samples, tmp_path / "new" / name)
    assert out.exists()


@pytest.mark.parametrize("name, samples", CASES)
def test_parent_that_is_a_file_is_named(tmp_path, name, samples):
    (tmp_path / "afile").write_text("not a folder")
    out = tmp_path / "afile" / name
    with pytest.raises(ConfigError, match=rf"--out {out}: cannot write samples"):
        write_samples(samples, out)


@pytest.mark.parametrize("name, samples", CASES)
def test_read_only_folder_is_named(tmp_path, monkeypatch, name, samples):
    """Root ignores permission bits, so every open for writing under the folder is refused instead."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    real_open = builtins.open

    def guarded(file, mode="r", *args, **kwargs):
        if str(file).startswith(str(folder)) and any(c in mode for c in "wax+"):
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    monkeypatch.setattr(io, "open", guarded)
    out = folder / name
    with pytest.raises(ConfigError, match=rf"--out {out}: cannot write samples \(Permission denied"):
        write_samples(samples, out)
