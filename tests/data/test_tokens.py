"""Token-sequence data: the oracle loader against the documented LSTM equations, sampling, bad files and ids;
the five-character quatrains of chinese-poetry JSON."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gankit.data import build_dataset
from gankit.data.poems import quatrain, read_quatrains
from gankit.data.tokens import TokenDataset, load_oracle
from gankit.errors import ConfigError, DataError
from tests.data._helpers import DataCfg
from tests.data._seq import oracle_file, poems_folder

SHARED = Path(__file__).parents[2] / ".." / "shared" / "data" / "seqgan_oracle.npz"


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def hand_log_probs(a: dict, tokens: list[int]) -> list[float]:
    """log p(token_t | tokens_<t) by the README's equations, one row vector at a time, in float64."""
    a = {k: v.astype(np.float64) for k, v in a.items()}
    h = c = np.zeros(a["Wi"].shape[1])
    prev, out = 0, []  # the first input is the start token 0
    for tok in tokens:
        x = a["embedding"][prev]
        i = _sigmoid(x @ a["Wi"] + h @ a["Ui"] + a["bi"])
        f = _sigmoid(x @ a["Wf"] + h @ a["Uf"] + a["bf"])
        o = _sigmoid(x @ a["Wog"] + h @ a["Uog"] + a["bog"])
        cc = np.tanh(x @ a["Wc"] + h @ a["Uc"] + a["bc"])
        c = f * c + i * cc
        h = o * np.tanh(c)
        logits = h @ a["Wo"] + a["bo"]
        out.append(logits[tok] - np.log(np.exp(logits - logits.max()).sum()) - logits.max())
        prev = tok
    return out


def test_oracle_follows_the_documented_equations(tmp_path):
    path = oracle_file(tmp_path / "o.npz", vocab=11, emb=3, hidden=4)
    oracle = load_oracle(path)
    tokens = [3, 0, 10, 7, 7, 1]
    expect = hand_log_probs(dict(np.load(path)), tokens)
    oracle.length = len(tokens)
    got = oracle.log_probs(torch.tensor([tokens])).squeeze(0).double().numpy()
    np.testing.assert_allclose(got, expect, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not SHARED.is_file(), reason="../shared/data/seqgan_oracle.npz is not here")
def test_the_published_oracle_loads_and_matches_the_equations():
    oracle = load_oracle(SHARED)
    assert (oracle.vocab, oracle.length, oracle.hidden) == (5000, 20, 32)
    tokens = [17, 4999, 0, 2500]
    expect = hand_log_probs(dict(np.load(SHARED)), tokens)
    got = oracle.log_probs(torch.tensor([tokens + [0] * 16]))[0, :4].double().numpy()
    np.testing.assert_allclose(got, expect, rtol=1e-4, atol=1e-4)


def test_oracle_data_set_samples_with_its_seed(tmp_path):
    cfg = DataCfg(name="oracle", root=str(oracle_file(tmp_path / "o.npz")), limit=300)
    ds = build_dataset(cfg)
    assert ds.tokens.shape == (300, 20) and ds.tokens.dtype == torch.long
    assert torch.equal(ds.tokens, build_dataset(cfg).tokens)  # same seed, same sequences
    cfg.seed = 1
    assert not torch.equal(ds.tokens, build_dataset(cfg).tokens)
    spec = ds.spec
    assert (spec.modality, spec.main, spec.shape, spec.vocab_size) == ("tokens", "tokens", (20,), 11)
    assert "oracle" in spec.extra and list(ds.fields) == ["tokens"]


def test_oracle_default_is_ten_thousand_sequences(tmp_path):
    oracle_file(tmp_path / "seqgan_oracle.npz", vocab=5, emb=2, hidden=2)
    ds = build_dataset(DataCfg(name="oracle", root=str(tmp_path)))  # the folder
    assert len(ds) == 10_000


@pytest.mark.parametrize("change,msg", [
    ({"Wo": np.zeros((4, 12), np.float32)}, "array 'Wo' has shape (4, 12), expected (4, 11)"),
    ({"Ui": np.zeros((4, 3), np.float32)}, "array 'Ui' has shape (4, 3), expected (4, 4)"),
    ({"bc": None}, "array 'bc' is missing"),
])
def test_a_wrong_oracle_file_gives_one_clear_line(tmp_path, change, msg):
    path = oracle_file(tmp_path / "o.npz", **change)
    with pytest.raises(DataError, match="o.npz") as e:
        build_dataset(DataCfg(name="oracle", root=str(path)))
    assert msg in str(e.value) and "\n" not in str(e.value)


def test_missing_oracle_root_and_file(tmp_path):
    with pytest.raises(ConfigError, match="data.root"):
        build_dataset(DataCfg(name="oracle"))
    with pytest.raises(DataError, match="no oracle file"):
        build_dataset(DataCfg(name="oracle", root=str(tmp_path / "nothing.npz")))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable .npz"):
        build_dataset(DataCfg(name="oracle", root=str(tmp_path / "junk.npz")))


def test_token_ids_outside_the_vocabulary_and_empty_corpora_are_refused():
    with pytest.raises(DataError, match="token id 7 .sequence 1. is outside the vocabulary of 7 ids"):
        TokenDataset(torch.tensor([[0, 1], [2, 7]]), 7, "toy")
    with pytest.raises(DataError, match="token id -1"):
        TokenDataset(torch.tensor([[0, -1]]), 7, "toy")
    with pytest.raises(DataError, match="empty corpus"):
        TokenDataset(torch.zeros(0, 20, dtype=torch.long), 7, "toy")


def test_quatrains_are_four_lines_of_five_characters():
    assert quatrain(["床前明月光，疑是地上霜。", "舉頭望明月，低頭思故鄉。"]) == "床前明月光疑是地上霜舉頭望明月低頭思故鄉"
    assert quatrain(["朝辭白帝彩雲間，千里江陵一日還。"]) is None  # seven characters
    assert quatrain(["床前明月光，疑是地上霜。"]) is None  # two lines
    assert quatrain("床前明月光") is None and quatrain(None) is None


def test_poems_from_json_with_vocabulary_and_splits(tmp_path):
    root = poems_folder(tmp_path / "pkg")
    found = read_quatrains(root)
    assert len(found) == 30 and all(len(q) == 20 for q in found)
    assert not any("錯" in q for q in found)  # the error folder is skipped
    train = build_dataset(DataCfg(name="poems", root=str(root)))
    test = build_dataset(DataCfg(name="poems", root=str(root), split="test"))
    assert (len(train), len(test)) == (27, 3) and train.spec.vocab_size == len(train.vocab)
    assert train.vocab == test.vocab and train.spec.extra["vocab"] == train.vocab
    text = {"".join(train.vocab[i] for i in row) for row in torch.cat([train.tokens, test.tokens]).tolist()}
    assert text == set(found)


def test_an_empty_poem_corpus_is_refused(tmp_path):
    (tmp_path / "poet.tang.0.json").write_text('[{"paragraphs": ["朝辭白帝彩雲間，千里江陵一日還。"]}]', "utf-8")
    with pytest.raises(DataError, match="empty corpus: no five-character quatrains in 1 poet"):
        build_dataset(DataCfg(name="poems", root=str(tmp_path)))
    with pytest.raises(DataError, match="no such folder"):
        build_dataset(DataCfg(name="poems", root=str(tmp_path / "missing")))
    (tmp_path / "poet.song.0.json").write_text("{broken", "utf-8")
    with pytest.raises(DataError, match="poet.song.0.json: unreadable JSON"):
        build_dataset(DataCfg(name="poems", root=str(tmp_path)))
