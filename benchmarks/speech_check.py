"""Quick scores of speech-enhancement checkpoints on every 9th test mixture (30 of the 268): the "along the way"
table of docs/results/speech.md.

    python benchmarks/speech_check.py --data /work/speech-data-8k [--noisy] RUN_OR_CKPT_JSON ...

Each argument is a run directory (its newest checkpoint) or one checkpoint's JSON (run/ckpt/step_N.json); prints
the mean PESQ, STOI, SSNR, CSIG, CBAK, COVL of G's whole-file enhancement (one torch thread).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gankit.data.speech import load_pairs, read_manifest  # noqa: E402
from gankit.families.segan import enhance_waveform  # noqa: E402
from gankit.metrics.speech import speech_scores  # noqa: E402
from gankit.sample import load_models  # noqa: E402


def show(name: str, rows: list[dict]) -> None:
    print(f"{name:45s} " + "  ".join(f"{k} {np.nanmean([r[k] for r in rows]):.3f}" for k in rows[0]), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="the mixtures folder of `gankit build-speech-data`")
    p.add_argument("--noisy", action="store_true", help="also score the noisy input")
    p.add_argument("--every", type=int, default=9, help="score every N-th test mixture")
    p.add_argument("runs", nargs="*")
    args = p.parse_args()
    torch.set_num_threads(1)
    rate = int(read_manifest(args.data, check=False)["rate"])
    items = list(load_pairs(args.data, "test", check=False))[:: args.every]
    if args.noisy:
        show("noisy", [speech_scores(it["clean_wav"], it["noisy_wav"], rate) for it in items])
    for run in args.runs:
        models, _, meta = load_models(Path(run))
        rows = [speech_scores(it["clean_wav"], enhance_waveform(models["G"], it["noisy_wav"]), rate) for it in items]
        show(f"{run} (step {meta.get('step')})", rows)


if __name__ == "__main__":
    main()
