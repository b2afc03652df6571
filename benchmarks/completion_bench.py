"""Image completion on Fashion-MNIST (32x32): mean fill, Telea, Navier-Stokes, and optionally the completion net's
three ablations (MSE only, + global D, + global and local D).

    python benchmarks/completion_bench.py --out /tmp/compbench [--steps 0] [--n 1000]

`--steps 0` (the default) scores only the non-learned baselines; `--steps N` also trains the three nets for N steps
each (phases: 40% MSE, 10% D only, then joint; CPU, one thread, nice) and scores them on the same holes (the test
split's first n images, holes from seed 0, the preset's 8-16 px). Writes OUT/completion_rows.jsonl and a table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gankit.families.registry import apply_overrides  # noqa: E402
from gankit.metrics.completion import evaluate_completion  # noqa: E402
from gankit.presets import preset_config  # noqa: E402
from gankit.sample import load_models  # noqa: E402

MODES = {"net: MSE only": "none", "net: + global D": "global", "net: + global and local D": "global+local"}
RUN_NAMES = {"none": "mse-only", "global": "global", "global+local": "global-local"}  # "none" would read as None
KEYS = ("L1", "PSNR", "SSIM", "FID[fashion-cnn]", "class_acc")


def train(out: Path, name: str, mode: str, steps: int) -> Path:
    run = out / name
    if not (run / "ckpt" / f"step_{steps:08d}.json").is_file():
        cmd = ["nice", "-n", "10", sys.executable, "-m", "gankit", "train", "completion-fashion",
               f"--model.d_mode={mode}", f"--train.steps={steps}", f"--model.steps_c={int(0.4 * steps)}",
               f"--model.steps_d={int(0.1 * steps)}", "--train.threads=1", "--log.progress=false",
               "--log.tensorboard=false", f"--log.out_dir={out}", f"--log.name={name}", "--log.ckpt_every=500"]
        subprocess.run(cmd, check=True, cwd=ROOT)
    return run


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="/tmp/compbench")
    p.add_argument("--steps", type=int, default=0)
    p.add_argument("--n", type=int, default=1000)
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    if args.steps:
        for label, mode in MODES.items():
            models, cfg, _ = load_models(train(out, RUN_NAMES[mode], mode, args.steps))
            res = evaluate_completion(models, cfg, "test", args.n, 0)
            rows.append({"method": label, **{k: res[f"net/{k}"] for k in KEYS}})
    else:  # only the baselines: an untrained model section gives the holes
        cfg = apply_overrides(preset_config("completion-fashion"), {})
        from gankit.nets.completion import CompletionNet

        res = evaluate_completion({"C": CompletionNet(1, 4, 32)}, cfg, "test", args.n, 0)
    base = [{"method": label, **{k: res[f"{name}/{k}"] for k in KEYS}}
            for name, label in (("mean_fill", "mean fill"), ("telea", "OpenCV Telea"), ("ns", "OpenCV Navier-Stokes"))
            if f"{name}/L1" in res]
    rows = base + rows
    rows.append({"method": "originals (no hole)", "class_acc": res["net/class_acc_target"]})
    with open(out / "completion_rows.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    print("| method | L1 (hole) | PSNR (hole) | SSIM (hole box) | FID[fashion-cnn] | class acc |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        cells = [f"{r[k]:.4g}" if k in r else "-" for k in KEYS]
        print(f"| {r['method']} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
