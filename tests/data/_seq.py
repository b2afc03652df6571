"""Tiny oracle files and poem JSON for the token-sequence tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gankit.data.tokens import oracle_arrays


def oracle_file(path: Path, vocab: int = 11, emb: int = 3, hidden: int = 4, seed: int = 0, **change) -> Path:
    """An oracle .npz with N(0, 1) arrays of the right shapes (arrays in `change` replace or, as None, drop)."""
    rng = np.random.default_rng(seed)
    arrays = {k: rng.standard_normal(s).astype(np.float32) for k, s in oracle_arrays(emb, hidden, vocab).items()}
    arrays.update({k: v for k, v in change.items() if v is not None})
    arrays = {k: v for k, v in arrays.items() if change.get(k, 0) is not None}
    np.savez(path, **arrays)
    return path


QUATRAINS = ["床前明月光，疑是地上霜。", "舉頭望明月，低頭思故鄉。"], ["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。"]


def poems_folder(root: Path, n: int = 30) -> Path:
    """A chinese-poetry-like folder: n quatrains (variations of two poems), a 7-character poem, a broken record,
    and an `error` folder whose poems must be skipped."""
    root.mkdir(parents=True, exist_ok=True)
    poems = []
    chars = "春夏秋冬風花雪月山水"
    for i in range(n):
        a, b = QUATRAINS[i % 2]
        poems.append({"author": "x", "title": str(i), "paragraphs": [chars[i % 10] + chars[i // 10 % 10] + a[2:], b]})
    poems.append({"paragraphs": ["朝辭白帝彩雲間，千里江陵一日還。", "兩岸猿聲啼不住，輕舟已過萬重山。"]})
    poems.append({"title": "no paragraphs"})
    (root / "poet.tang.0.json").write_text(json.dumps(poems, ensure_ascii=False), encoding="utf-8")
    (root / "error").mkdir(exist_ok=True)
    bad = [{"paragraphs": ["錯錯錯錯錯，錯錯錯錯錯。", "錯錯錯錯錯，錯錯錯錯錯。"]}]
    (root / "error" / "poet.tang.1.json").write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    return root
