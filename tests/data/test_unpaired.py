"""Unpaired data sets: fashion-edges-unpaired (b shuffled by data.seed, the pairing kept in extra) and
fashion-sneaker-boot (two Fashion-MNIST classes as domains, equal counts, labels in extra)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gankit.data import build_dataset
from gankit.data.fashion import FILES
from gankit.data.unpaired import aligned_fields
from gankit.errors import DataError

from ._helpers import DataCfg, idx_bytes, write_file, write_fashion_split


@pytest.fixture
def fashion_root(tmp_path):
    root = tmp_path / "fashion"
    root.mkdir()
    write_fashion_split(root, "train", n=24)
    return root, tmp_path / "cache"


def _cfg(fashion_root, name: str, **kw) -> DataCfg:
    root, cache = fashion_root
    return DataCfg(name=name, root=str(root), cache_dir=str(cache), **kw)


def test_edges_unpaired_shuffles_b_and_keeps_the_pairing(fashion_root):
    pairs = build_dataset(_cfg(fashion_root, "fashion-edges"))
    data = build_dataset(_cfg(fashion_root, "fashion-edges-unpaired"))
    perm = data.extra["pair_of_b"]
    assert torch.equal(data.a, pairs.a) and torch.equal(data.b, pairs.b[perm])
    assert (perm != torch.arange(len(perm))).float().mean() > 0.5  # most a[i], b[i] are not a pair
    assert sorted(data.fields) == ["a", "b"] and data.spec.main == "b" and data.spec.num_classes is None
    assert torch.equal(data.extra["y_a"], pairs.y) and torch.equal(data.extra["y_b"], pairs.y[perm])
    fields, paired = aligned_fields(data)
    assert paired and torch.equal(fields["b"], pairs.b) and torch.equal(fields["y"], pairs.y)


def test_edges_unpaired_permutation_follows_data_seed(fashion_root):
    perm = lambda **kw: build_dataset(_cfg(fashion_root, "fashion-edges-unpaired", **kw)).extra["pair_of_b"]  # noqa: E731
    assert torch.equal(perm(seed=3), perm(seed=3)) and not torch.equal(perm(seed=3), perm(seed=4))
    assert len(perm(limit=10)) == 10


def test_aligned_fields_leaves_paired_sets_alone(fashion_root):
    pairs = build_dataset(_cfg(fashion_root, "fashion-edges"))
    fields, paired = aligned_fields(pairs)
    assert paired and all(torch.equal(fields[k], pairs.fields[k]) for k in ("a", "b", "y"))


def _write_split(root, labels: list[int]) -> np.ndarray:
    raw = np.random.default_rng(0).integers(0, 256, (len(labels), 28, 28), dtype=np.uint8)
    img_stem, lbl_stem = FILES["train"]
    write_file(root / img_stem, idx_bytes(raw), False)
    write_file(root / lbl_stem, idx_bytes(np.array(labels, np.uint8)), False)
    return raw


def test_sneaker_boot_domains(tmp_path):
    raw = _write_split(tmp_path, [7, 9, 1, 7, 7, 9, 7, 9, 0])  # 4 sneakers, 3 boots
    data = build_dataset(DataCfg(name="fashion-sneaker-boot", root=str(tmp_path)))
    assert len(data) == 3 and sorted(data.fields) == ["a", "b"]  # the larger domain cut to the smaller
    unit = lambda idx: torch.from_numpy(raw[idx]).float().div(127.5).sub(1).unsqueeze(1)  # noqa: E731
    assert torch.allclose(data.a, unit([0, 3, 4])) and torch.allclose(data.b, unit([1, 5, 7]))
    assert data.extra["y_a"].tolist() == [7] * 3 and data.extra["y_b"].tolist() == [9] * 3
    assert data.extra["domains"] == ("Sneaker", "Ankle boot")
    fields, paired = aligned_fields(data)
    assert not paired and torch.equal(fields["b"], data.b) and fields["y"].tolist() == [9] * 3
    assert len(build_dataset(DataCfg(name="fashion-sneaker-boot", root=str(tmp_path), limit=2))) == 2


def test_sneaker_boot_refuses_a_split_without_a_domain(tmp_path):
    _write_split(tmp_path, [7, 7, 1])
    with pytest.raises(DataError, match="no images of class 9 \\(Ankle boot\\)"):
        build_dataset(DataCfg(name="fashion-sneaker-boot", root=str(tmp_path)))
