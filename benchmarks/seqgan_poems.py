"""BLEU-2 of generated Chinese quatrains against the test poems (SeqGAN paper, Table 3: MLE 0.667, SeqGAN 0.738).

    python benchmarks/seqgan_poems.py RUN_DIR [--n 1000] [--show 4]

For RUN_DIR/pretrained (G after MLE, when there is one) and RUN_DIR (its newest checkpoint): the mean sentence
BLEU-2 (NLTK's method-1 smoothing; gankit.data.bleu) of n generated poems (seed 4242), every poem of the run's
test split a reference; and, as a reference point, n training poems scored the same way. Prints a markdown table
and a few poems of each G (4 lines of 5 characters).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's gankit

PUBLISHED = {"MLE": 0.667, "SeqGAN": 0.738}


def main() -> None:
    from gankit.data import build_dataset
    from gankit.data.bleu import References, mean_bleu
    from gankit.families.seqgan_hooks import decode, generate
    from gankit.sample import load_models

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--show", type=int, default=4)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    run = Path(args.run)
    _, cfg, meta = load_models(run)
    test = build_dataset(replace(cfg.data, split="test", limit=None))
    train = build_dataset(replace(cfg.data, split="train", limit=None))
    refs = References(test.tokens, 2, test.spec.vocab_size)
    rows = [("training poems (reference point)", "", mean_bleu(train.tokens[: args.n], refs, 2), train.tokens)]
    for where, label, key in ((run / "pretrained", "G after MLE pretraining", "MLE"), (run, "G at the end", "SeqGAN")):
        if where.exists():
            models, _, m = load_models(where)
            poems = generate(models["G"], args.n, 4242)
            rows.append((f"{label} (step {m['step']})", key, mean_bleu(poems, refs, 2), poems))
    print(f"{len(train)} training and {len(test)} test quatrains, vocabulary {test.spec.vocab_size}\n")
    print("| poems | BLEU-2 | published |\n| --- | --- | --- |")
    for name, key, value, _ in rows:
        print(f"| {name} | {value:.3f} | {PUBLISHED.get(key, '')} |")
    for name, _, _, poems in rows:
        print(f"\n{name}:")
        for text in decode(poems[: args.show], meta.get("vocab")):
            print("  " + " / ".join(text[i:i + 5] for i in range(0, len(text), 5)))


if __name__ == "__main__":
    main()
