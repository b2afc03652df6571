"""Speech enhancement on the Asterisk mixtures: noisy, spectral subtraction, Wiener, the L1-only G and SEGAN.

    gankit build-speech-data --out /work/speech-data-8k            # once (docs/speech.md: the apt packages)
    python benchmarks/speech_bench.py --data /work/speech-data-8k --out /work/speech-runs [--steps 1000]
        [--finetune-steps N]   # and SEGAN started from the L1-only G (model.init_from), N adversarial steps

Trains (CPU, one thread, `nice`) the presets `segan-speech` and `l1-speech` into OUT (a run that already reached
`--steps` is reused; a shorter one is resumed), then scores every test mixture (whole files; PESQ nb at 8 kHz / wb at
16 kHz, STOI, segmental SNR, CSIG/CBAK/COVL; gankit.metrics.speech) for the five methods and writes OUT/speech_rows.jsonl (one row
per file; the scores of the baselines and of each run's newest checkpoint are cached beside them),
OUT/speech_table.md (per test SNR and overall), OUT/speech_spectrograms.png (one test utterance) and the
real-time factor of each model's enhancement on this CPU. docs/results/speech.md reports one run of this script.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gankit.core.checkpoint import find_checkpoint  # noqa: E402
from gankit.data.speech import load_pairs, read_manifest, spectrogram_db  # noqa: E402
from gankit.families.segan import enhance_waveform  # noqa: E402
from gankit.metrics.speech import METHODS, real_time_factor, speech_scores  # noqa: E402
from gankit.sample import load_models  # noqa: E402

ARMS = {"L1-only G": "l1-speech", "SEGAN": "segan-speech"}
FROM_L1 = "SEGAN from the L1 G"  # --finetune-steps: segan-speech started from the L1-only run's G (model.init_from)
ORDER = ["noisy", "specsub", "wiener", "L1-only G", "SEGAN", FROM_L1]
LABELS = {"noisy": "noisy input", "specsub": "spectral subtraction", "wiener": "Wiener (decision-directed)"}
PUBLISHED = "VCTK + DEMAND, 16 kHz (not comparable): noisy PESQ 1.97 / SSNR 1.68, Wiener PESQ 2.22, SEGAN PESQ 2.16 / SSNR 7.73"


def train(preset: str, data: str, out: Path, steps: int, name: str | None = None, extra: tuple[str, ...] = ()) -> Path:
    run = out / (name or preset)
    ckpts = sorted((run / "ckpt").glob("step_*.json")) if run.exists() else []
    if ckpts and int(ckpts[-1].stem.split("_")[1]) >= steps:
        return run
    cmd = [sys.executable, "-m", "gankit", "train"]
    cmd += ["--resume", str(run)] if ckpts else [preset, f"--data.root={data}", f"--log.out_dir={out}",
                                                   f"--log.name={run.name}", *extra]
    cmd += [f"--train.steps={steps}", "--train.threads=1", "--log.progress=false", "--log.tensorboard=false"]
    print(" ".join(cmd), flush=True)
    subprocess.run(["nice", "-n", "10", *cmd], check=True, cwd=ROOT)
    return run


def baseline_rows(data: str, out: Path) -> dict[str, dict]:
    """The baselines' scores per test file, cached in OUT/speech_baseline_rows.jsonl (they need no run)."""
    path = out / "speech_baseline_rows.jsonl"
    if path.exists():
        return {r["file"]: r for r in map(json.loads, path.read_text().splitlines())}
    rate = int(read_manifest(data)["rate"])
    rows = {}
    for item in load_pairs(data, "test"):
        row = {"file": item["noisy"], "snr": item["snr"], "noise": item["noise"]}
        for m, f in METHODS.items():
            y = f(item["noisy_wav"], rate)
            row.update({f"{m}/{k}": v for k, v in speech_scores(item["clean_wav"], y, rate).items()})
        rows[row["file"]] = row
    path.write_text("".join(json.dumps(r) + "\n" for r in rows.values()))
    return rows


def model_rows(data: str, name: str, run: Path, out: Path) -> tuple[dict[str, dict], float]:
    """A run's scores per test file and its real-time factor, cached in OUT/<run>_rows.jsonl for its step."""
    models, _, meta = load_models(run)
    step = int(meta.get("step", 0))
    path = out / f"{run.name}_rows.jsonl"
    if path.exists():
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        if lines[0].get("step") == step:
            return {r["file"]: r for r in lines[1:]}, lines[0]["rtf"]
    rate = int(read_manifest(data, check=False)["rate"])
    G, rows, spent, samples = models["G"], {}, 0.0, 0
    for item in load_pairs(data, "test", check=False):
        t0 = time.perf_counter()
        y = enhance_waveform(G, item["noisy_wav"])
        spent += time.perf_counter() - t0
        samples += len(y)
        rows[item["noisy"]] = {f"{name}/{k}": v for k, v in speech_scores(item["clean_wav"], y, rate).items()}
        rows[item["noisy"]]["file"] = item["noisy"]
    rtf = real_time_factor(spent, samples, rate)
    head = {"step": step, "rtf": rtf, "load_average": os.getloadavg()[0]}
    path.write_text("".join(json.dumps(r) + "\n" for r in [head, *rows.values()]))
    return rows, rtf


def score(data: str, runs: dict[str, Path], base: dict[str, dict], out: Path) -> tuple[list[dict], dict, int]:
    per_model = {name: model_rows(data, name, run, out) for name, run in runs.items()}
    rows = [{**b, **{k: v for rs, _ in per_model.values() for k, v in rs[f].items()}} for f, b in base.items()]
    return rows, {name: rtf for name, (_, rtf) in per_model.items()}, int(read_manifest(data, check=False)["rate"])


def table(rows: list[dict]) -> str:
    groups = [(f"{s:g} dB", [r for r in rows if r["snr"] == s]) for s in sorted({r["snr"] for r in rows})]
    groups.append(("overall", rows))
    lines = ["| test SNR | method | PESQ | STOI | SSNR (dB) | CSIG | CBAK | COVL |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, rs in groups:
        for m in [m for m in ORDER if f"{m}/PESQ" in rows[0]]:
            mean = {k: np.nanmean([r[f"{m}/{k}"] for r in rs]) for k in ("PESQ", "STOI", "SSNR", "CSIG", "CBAK", "COVL")}
            lines.append(f"| {label} ({len(rs)} files) | {LABELS.get(m, m)} | {mean['PESQ']:.3f} | "
                         f"{mean['STOI']:.3f} | {mean['SSNR']:.2f} | {mean['CSIG']:.2f} | {mean['CBAK']:.2f} | "
                         f"{mean['COVL']:.2f} |")
    return "\n".join(lines)


def spectrograms(data: str, runs: dict[str, Path], path: Path, name: str | None) -> str:
    """noisy | each method | clean for one test utterance (the first 7.5 dB babble one unless `name`)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    rate = int(read_manifest(data)["rate"])
    items = load_pairs(data, "test", check=False)
    item = next((i for i in items if (name and name in i["noisy"]) or
                 (not name and i["noise"] == "babble" and i["snr"] == 7.5)), items[0])
    noisy = item["noisy_wav"]
    panels = [("noisy", noisy)] + [(LABELS[m], f(noisy, rate)) for m, f in METHODS.items() if m != "noisy"]
    panels += [(n, enhance_waveform(load_models(r)[0]["G"], noisy)) for n, r in runs.items()]
    panels.append(("clean", item["clean_wav"]))
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 1.6 * len(panels)), sharex=True)
    for ax, (label, x) in zip(axes, panels):
        s = spectrogram_db(x, rate)
        ax.imshow(s, origin="lower", aspect="auto", vmin=-90, vmax=-10, cmap="magma",
                  extent=(0, len(x) / rate, 0, rate / 2000))
        ax.set_ylabel("kHz")
        ax.set_title(label, fontsize=9, loc="left")
    axes[-1].set_xlabel("seconds")
    fig.suptitle(f"{Path(item['noisy']).name}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return item["noisy"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="the mixtures folder of `gankit build-speech-data`")
    p.add_argument("--out", required=True, help="runs and outputs")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--utterance", default=None, help="part of the test file name for the spectrogram figure")
    p.add_argument("--baselines-only", action="store_true", help="score the baselines (cached) and stop")
    p.add_argument("--only", choices=sorted(ARMS), default=None, help="train and score this arm only (cached)")
    p.add_argument("--finetune-steps", type=int, default=0,
                   help="also train and score segan-speech started from the L1-only run's G for this many steps")
    args = p.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    base = baseline_rows(args.data, out)
    if args.baselines_only:
        print(f"baselines of {len(base)} test files scored in {time.perf_counter() - t0:.0f} s")
        return
    if args.only:
        model_rows(args.data, args.only, train(ARMS[args.only], args.data, out, args.steps), out)
        print(f"{args.only} scored in {time.perf_counter() - t0:.0f} s")
        return
    runs = {name: train(preset, args.data, out, args.steps) for name, preset in ARMS.items()}
    if args.finetune_steps:
        init = str(find_checkpoint(runs["L1-only G"]))  # that step's file, not the run: a later resume cannot move it
        runs[FROM_L1] = train("segan-speech", args.data, out, args.finetune_steps, "segan-from-l1",
                              (f"--model.init_from={init}",))
    t0 = time.perf_counter()
    rows, rtf, rate = score(args.data, runs, base, out)
    with open(out / "speech_rows.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    text = table(rows)
    rtf_text = ", ".join(f"{n} {v:.3f}" for n, v in rtf.items())
    load = os.getloadavg()[0]
    (out / "speech_table.md").write_text(f"{text}\n\nreal-time factor ({rate} Hz, 1 thread, load average {load:.1f}): "
                                         f"{rtf_text}\n")
    utt = spectrograms(args.data, runs, out / "speech_spectrograms.png", args.utterance)
    print(text)
    print(f"real-time factor of enhancement (1 thread, load average {load:.1f}): {rtf_text}")
    print(f"spectrograms of {utt}: {out / 'speech_spectrograms.png'}; scored in {time.perf_counter() - t0:.0f} s")
    print(f"published, for orientation only: {PUBLISHED}")


if __name__ == "__main__":
    main()
