"""Text -> image on captioned Fashion-MNIST: GAN-INT-CLS (preset text2image-fashion) vs plain text conditioning
(text2image-plain-fashion), same nets, captions, seed and steps. docs/results/text2image.md publishes the table.

    python benchmarks/text2image_bench.py --out-dir runs/t2i --rows docs/results/text2image_rows.jsonl
    python benchmarks/text2image_bench.py --render docs/results/text2image_rows.jsonl

Each arm runs `gankit train PRESET --train.threads=THREADS` then `gankit eval RUN --n 10000 --per-class 100`
(class accuracy under fashion-cnn and attribute accuracy of 9,000 images of captions naming a class, a brightness
and a size; FID[fashion-cnn] of 10,000 images of test captions vs the test images; the z spread of 16 images per
caption). Rows are appended as they finish.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ARMS = {"GAN-INT-CLS": "text2image-fashion", "plain": "text2image-plain-fashion"}
COLUMNS = ["class_accuracy", "brightness_accuracy", "size_accuracy", "both_attributes_accuracy", "fid", "z_spread"]


def gankit(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "gankit", *args], check=True)


def run_arm(name: str, out_dir: Path, threads: int, extra: list[str]) -> dict:
    preset, run = ARMS[name], out_dir / ARMS[name]
    t0 = time.time()
    gankit("train", preset, f"--train.threads={threads}", f"--log.out_dir={out_dir}", f"--log.name={preset}",
           "--log.progress=false", *extra)
    train_s = time.time() - t0
    gankit("eval", str(run), "--n", "10000", "--per-class", "100", "--json", str(run / "eval.json"))
    record = json.loads((run / "eval.json").read_text())
    return {"arm": name, "preset": preset, "overrides": extra, "step": record["step"], "train_s": round(train_s, 1),
            **record["metrics"], "class_accuracy_per_class": record["class_accuracy_per_class"]}


def render(rows: list[dict]) -> str:
    out = ["| arm | preset | steps | class acc | brightness acc | size acc | both attrs | FID[fashion-cnn] | z spread "
           "| train s |", "|" + " --- |" * 10]
    for r in rows:
        out.append(f"| {r['arm']} | `{r['preset']}` | {r['step']} | " + " | ".join(
            f"{r[c]:.3f}" if c != "fid" else f"{r[c]:.1f}" for c in COLUMNS) + f" | {r['train_s']:.0f} |")
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out-dir", default="runs/t2i")
    p.add_argument("--rows", default="docs/results/text2image_rows.jsonl")
    p.add_argument("--arms", default=",".join(ARMS), help="comma-separated: " + ", ".join(ARMS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--render", metavar="ROWS.jsonl", help="print the markdown table of a rows file and stop")
    args, extra = p.parse_known_args()
    if args.render:
        print(render([json.loads(line) for line in Path(args.render).read_text().splitlines() if line.strip()]))
        return 0
    for name in args.arms.split(","):
        row = run_arm(name, Path(args.out_dir), args.threads, extra)
        with open(args.rows, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(render([row]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
