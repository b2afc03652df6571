"""4x super-resolution on Set5 / Set14: bicubic vs gankit SRResNet (MSE) vs gankit SRGAN, beside the published rows.

    python benchmarks/sr_bench.py --data-root ../shared/data/sr --out /tmp/srbench [--srresnet-steps 1500 ...]

`--data-root` holds CBSD68/ (training photos), CSet5/ and CSet14/ (whole test images). Trains (CPU, one thread,
`nice`): SRResNet from scratch, then SRGAN with content mse and with content dfeat, both starting from the SRResNet
(`--model.g_init`, as the paper does); a run that already reached its steps in OUT is reused. Then evaluates every
run with `gankit.metrics.sr.evaluate_sr` (Y channel, 4-px border, 8-bit outputs; bicubic = Pillow's), and writes
OUT/sr_rows.jsonl, OUT/sr_table.md, OUT/sr_crops.png (bicubic | SRResNet | SRGAN-mse | SRGAN-dfeat | HR) and the time
to enhance one 512x512 image. docs/results/restoration.md reports one run of this script.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gankit.data.sr import bicubic_up, load_test_images, to_unit  # noqa: E402
from gankit.families.srgan import upsample_tiled  # noqa: E402
from gankit.metrics.sr import evaluate_sr, quantize  # noqa: E402
from gankit.sample import load_models  # noqa: E402
from gankit.viz import to_uint8  # noqa: E402

PUBLISHED = {  # Ledig et al. 2017, Table 2 (4x, PSNR dB / SSIM on Y, trained on 350k ImageNet images)
    "Set5": {"bicubic": (28.43, 0.8211), "SRResNet": (32.05, 0.9019), "SRGAN": (29.40, 0.8472)},
    "Set14": {"bicubic": (25.99, 0.7486), "SRResNet": (28.49, 0.8184), "SRGAN": (26.02, 0.7397)},
}
TEST_SETS = {"Set5": "CSet5", "Set14": "CSet14"}
COMMON = ["--data.resolution={crop}", "--data.n_samples={n}", "--train.threads=1", "--log.progress=false",
          "--log.tensorboard=false", "--log.sample_every=500", "--log.ckpt_every=250", "--log.log_every=50"]


def runs(args) -> dict[str, list[str]]:
    """name -> (preset, overrides) of each run, in training order."""
    sr = str(Path(args.out) / "srresnet")
    g = ["--train.g_lr=1e-4", "--train.d_lr=1e-4", f"--model.g_init={sr}"]
    return {
        "SRResNet": ["srresnet-photos", f"--train.steps={args.srresnet_steps}", "--train.g_lr=1e-3",
                     "--stab.lr_decay=cosine", "--log.name=srresnet"],
        "SRGAN-mse": ["srgan-photos", f"--train.steps={args.srgan_steps}", "--model.content=mse", *g,
                      "--log.name=srgan-mse"],
        "SRGAN-dfeat": ["srgan-photos", f"--train.steps={args.srgan_steps}", "--model.content=dfeat", *g,
                        "--log.name=srgan-dfeat"],
    }


def finished(run: Path, steps: int) -> bool:
    return any(p.name == f"step_{steps:08d}.json" for p in (run / "ckpt").glob("step_*.json"))


def train(args, name: str, argv: list[str]) -> dict:
    run = Path(args.out) / argv[-1].split("=", 1)[1]
    steps = int(next(a for a in argv if a.startswith("--train.steps=")).split("=")[1])
    common = [c.format(crop=args.crop, n=args.n_crops) for c in COMMON]
    cmd = ["nice", "-n", "10", sys.executable, "-m", "gankit", "train", argv[0],
           f"--data.root={Path(args.data_root) / 'CBSD68'}", f"--log.out_dir={args.out}", *common, *argv[1:]]
    info = {"command": " ".join(cmd[3:]).replace(sys.executable, "python")}
    if not finished(run, steps):
        t0 = time.time()
        subprocess.run(cmd, check=True, cwd=ROOT)
        info["train_seconds"] = round(time.time() - t0, 1)
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()]
    speeds = [r["img_per_s"] for r in rows if "img_per_s" in r][1:]  # the first includes start-up
    info["img_per_s"] = round(float(np.median(speeds)), 1) if speeds else None
    info["peak_rss_mb_children"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return info


def crops_figure(models: dict, data_root: Path, out: Path, image: str = "baby.png", box=(240, 160, 96)) -> None:
    """One crop of a Set5 image: bicubic | each model | HR, 3x nearest-neighbour zoom."""
    tests = {n: (hr, lr) for n, hr, lr in load_test_images(data_root / "CSet5")}
    name = image if image in tests else sorted(tests)[0]
    hr, lr = tests[name]
    x, y, s = box
    panels = [bicubic_up(lr)]
    for G in models.values():
        panels.append(to_uint8(quantize(upsample_tiled(G, to_unit(lr)[None])))[0])
    panels.append(hr)
    strip = np.concatenate([p[y:y + s, x:x + s] for p in panels], axis=1)
    Image.fromarray(strip).resize((strip.shape[1] * 3, s * 3), Image.NEAREST).save(out)


def enhance_seconds(G, size: int = 512) -> float:
    lr = torch.rand(1, 3, size, size) * 2 - 1
    t0 = time.perf_counter()
    upsample_tiled(G, lr, 128)
    return round(time.perf_counter() - t0, 2)


def table(rows: list[dict]) -> str:
    lines = ["| method | Set5 PSNR / SSIM (Y) | Set5 HF ratio | Set14 PSNR / SSIM (Y) | Set14 HF ratio |",
             "| --- | --- | --- | --- | --- |"]
    for r in rows:
        cells = [f"{r[s]['PSNR_Y']:.2f} / {r[s]['SSIM_Y']:.4f} | {r[s]['HF_ratio']:.3f}" for s in TEST_SETS]
        lines.append(f"| {r['method']} | {' | '.join(cells)} |")
    for method in ("bicubic", "SRResNet", "SRGAN"):
        cells = [f"{PUBLISHED[s][method][0]:.2f} / {PUBLISHED[s][method][1]:.4f} | -" for s in TEST_SETS]
        lines.append(f"| published {method} (Ledig et al., ImageNet, GPU) | {' | '.join(cells)} |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", required=True, help="folder with CBSD68/, CSet5/, CSet14/")
    p.add_argument("--out", default="/tmp/srbench")
    p.add_argument("--srresnet-steps", type=int, default=1500)
    p.add_argument("--srgan-steps", type=int, default=400)
    p.add_argument("--crop", type=int, default=48, help="HR training crop (the paper's 96; 48 fits the CPU budget)")
    p.add_argument("--n-crops", type=int, default=8000)
    args = p.parse_args()
    torch.set_num_threads(1)
    out, data_root = Path(args.out), Path(args.data_root)
    out.mkdir(parents=True, exist_ok=True)
    infos = {name: train(args, name, argv) for name, argv in runs(args).items()}
    models = {name: load_models(out / argv[-1].split("=", 1)[1])[0]["G"] for name, argv in runs(args).items()}
    rows, bicubic = [], {"method": "bicubic (Pillow)"}
    for name, G in models.items():
        row = {"method": f"gankit {name}", **infos[name], "enhance_512_seconds": enhance_seconds(G)}
        for label, folder in TEST_SETS.items():
            means, per_image = evaluate_sr(G, str(data_root / folder))
            row[label] = {k: v for k, v in means.items() if not k.startswith("bicubic/")}
            bicubic[label] = {k.split("/")[1]: v for k, v in means.items() if k.startswith("bicubic/")}
        rows.append(row)
    rows.insert(0, bicubic)
    with open(out / "sr_rows.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    text = table(rows)
    (out / "sr_table.md").write_text(text + "\n")
    crops_figure(models, data_root, out / "sr_crops.png")
    print(text)
    for r in rows[1:]:
        print(f"{r['method']}: {r['img_per_s']} img/s training, enhance 512x512 in {r['enhance_512_seconds']} s, "
              f"{r.get('train_seconds', 'reused')} s training; {r['command']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
