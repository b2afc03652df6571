"""Chinese five-character quatrains (五言绝句: 4 lines of 5 characters) from the JSON of the `chinese-poetry`
package (npm chinese-poetry, MIT; `npm pack chinese-poetry@2.0.1` and unpack it): `--data.root` is a folder
searched recursively for `poet.*.json` files, each a list of poems {"paragraphs": ["床前明月光，疑是地上霜。", ...]}.
Folders named `error` (the package's corrections) are skipped; files of other shapes are ignored.

A poem is kept when its text, split at punctuation, is exactly four lines of five characters; duplicates are
dropped, the rest sorted, and a fixed 10% (by a seeded permutation, `data.seed`) is the test split. The
sequence is the 20 characters without punctuation; the vocabulary is every character of the kept poems, most
frequent first (ties by code point), so both splits share one vocabulary.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import torch

from gankit.data.tokens import TokenDataset
from gankit.errors import ConfigError, DataError

LINES, CHARS = 4, 5
TEST_FRACTION = 0.1
SPLIT = re.compile(r"[，。！？；、,.!?;:：\s]+")


def quatrain(paragraphs: Any) -> str | None:
    """The 20 characters of a five-character quatrain, or None for any other poem."""
    if not isinstance(paragraphs, list) or not all(isinstance(p, str) for p in paragraphs):
        return None
    lines = [line for line in SPLIT.split("".join(paragraphs)) if line]
    if len(lines) != LINES or any(len(line) != CHARS for line in lines):
        return None
    text = "".join(lines)
    return text if all("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text) else None


def read_quatrains(root: str | Path) -> list[str]:
    """Every distinct quatrain in the poet.*.json files under `root`, sorted."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder (give --data.root=the unpacked chinese-poetry package)")
    found = set()
    files = [p for p in sorted(root.rglob("poet.*.json")) if "error" not in p.relative_to(root).parts[:-1]]
    for path in files:
        try:
            poems = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise DataError(f"{path}: unreadable JSON ({e})") from None
        if not isinstance(poems, list):
            continue
        for poem in poems:
            if isinstance(poem, dict) and (q := quatrain(poem.get("paragraphs"))):
                found.add(q)
    if not found:
        raise DataError(f"{root}: empty corpus: no five-character quatrains in {len(files)} poet.*.json files")
    return sorted(found)


def vocabulary(poems: list[str]) -> list[str]:
    counts = Counter(ch for p in poems for ch in p)
    return sorted(counts, key=lambda ch: (-counts[ch], ch))


def build_poems(cfg: Any) -> TokenDataset:
    if cfg.root is None:
        raise ConfigError("data.root: required for the poems data set (the unpacked chinese-poetry package)")
    poems = read_quatrains(cfg.root)
    vocab = vocabulary(poems)
    index = {ch: i for i, ch in enumerate(vocab)}
    order = torch.randperm(len(poems), generator=torch.Generator().manual_seed(cfg.seed))
    n_test = int(round(TEST_FRACTION * len(poems))) if len(poems) > 1 else 0
    chosen = order[:n_test] if cfg.split == "test" else order[n_test:]
    if len(chosen) == 0:
        raise DataError(f"{cfg.root}: empty corpus: no poems in the {cfg.split} split ({len(poems)} quatrains)")
    if cfg.limit is not None:
        chosen = chosen[: cfg.limit]
    tokens = torch.tensor([[index[ch] for ch in poems[i]] for i in chosen.tolist()], dtype=torch.long)
    return TokenDataset(tokens, len(vocab), "poems", vocab, {"root": str(cfg.root)})
