"""BLEU of token sequences (the poems' BLEU-2, PG-BLEU's reward) against NLTK's sentence_bleu, and by hand."""

from __future__ import annotations

import pytest
import torch

from gankit.data.bleu import References, mean_bleu, sentence_bleu


def test_bleu2_by_hand():
    refs = References(torch.tensor([[1, 2, 3, 4], [2, 2, 5, 6]]), 2, vocab=10)
    hyp = torch.tensor([[2, 2, 2, 9]])
    # unigrams: 2 occurs 3 times, clipped to 2 (the second reference); 9 unmatched -> 2/4
    # bigrams (2,2) twice, clipped to 1; (2,9) unmatched -> 1/3
    expect = ((2 / 4) * (1 / 3)) ** 0.5
    assert float(sentence_bleu(hyp, refs)) == pytest.approx(expect)
    none = torch.tensor([[7, 8, 9, 7]])  # no unigram matches: 0, as NLTK
    assert float(sentence_bleu(none, refs)) == 0.0
    smoothed = torch.tensor([[1, 9, 9, 9]])  # one unigram, no bigram: epsilon 0.1 / 3
    assert float(sentence_bleu(smoothed, refs)) == pytest.approx(((1 / 4) * (0.1 / 3)) ** 0.5)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_bleu_matches_nltk(n):
    nltk_bleu = pytest.importorskip("nltk.translate.bleu_score")
    g = torch.Generator().manual_seed(0)
    refs = torch.randint(0, 6, (40, 12), generator=g)
    hyps = torch.randint(0, 6, (25, 12), generator=g)
    hyps[0] = refs[3]  # an exact copy scores 1
    ours = sentence_bleu(hyps, References(refs, n, vocab=6), n)
    smooth = nltk_bleu.SmoothingFunction().method1
    ref_lists = refs.tolist()
    for hyp, value in zip(hyps.tolist(), ours.tolist()):
        expect = nltk_bleu.sentence_bleu(ref_lists, hyp, weights=(1 / n,) * n, smoothing_function=smooth)
        assert value == pytest.approx(expect, rel=1e-9, abs=1e-12)
    assert float(ours[0]) == pytest.approx(1.0)
    assert mean_bleu(hyps, References(refs, n, 6), n, batch_size=7) == pytest.approx(float(ours.mean()))
