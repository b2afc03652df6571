"""SeqGAN's synthetic benchmark (Yu et al. 2017, Table 1 and Figure 2) with the exact oracle.

    python benchmarks/seqgan_oracle.py table --oracle ORACLE.npz RUN_DIR [RUN_DIR ...]
    python benchmarks/seqgan_oracle.py curve RUN_DIR --out docs/results/seqgan_nll.png
    python benchmarks/seqgan_oracle.py rollout-time --oracle ORACLE.npz [--rollouts 16] [--repeats 2]
    python benchmarks/seqgan_oracle.py d-check --oracle ORACLE.npz RUN_DIR [RUN_DIR ...]
    python benchmarks/seqgan_oracle.py adv-curves RUN_DIR [RUN_DIR ...] --out FIGURE.png
    python benchmarks/seqgan_oracle.py d-curve --oracle ORACLE.npz MLE_RUN_DIR [--lr 1e-4] [--d-filter-scale 0.25]

`table`: NLL-oracle (mean per-token NLL under the oracle of 10,000 sequences of G, seed 4242) of an untrained G
("random"), of each run's G after its pretraining (RUN_DIR/pretrained, when there is one) and of its newest
checkpoint (and of its weight average, `stab.ema`, when it has one), beside the published values, then the mean
and standard deviation over the runs of the end-of-run rows of each kind (more than one run); and NLL-test, G's own NLL of 10,000 held-out oracle sequences (how
much of the data's spread G still covers: a G that only sharpens lowers NLL-oracle and raises NLL-test).
`curve`: eval/nll_oracle of a run's metrics.jsonl over epochs (MLE epochs = passes over the 10,000 sequences,
then adversarial epochs = adversarial steps), as the paper's Figure 2.
`rollout-time`: seconds of SeqGAN's action values for one batch of 64 sequences (every prefix x roll-outs, D
the paper's full CNN) with the authors' loop and with gankit's vectorised batch, same policy and D.
`d-check`: what a SeqGAN run's D (newest checkpoint, eval mode) tells apart: its mean probability "real" and
accuracy on 2,000 of its training sequences, on 2,000 held-out oracle sequences and on 2,000 samples of its G —
a D that memorised the training set scores held-out real sequences like G's.
`d-curve`: a fresh D trained like SeqGAN's (10,000 fixed real sequences vs fresh samples of the run's G, BCE +
L2) with its accuracy on held-out oracle sequences vs other samples of G every `--every` batches: does D learn
what oracle sequences look like, or only its training set?
`adv-curves`: the adversarial stage's eval/nll_oracle of several runs in one figure (x = adversarial steps).
Runs use one CPU thread (`--threads`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's gankit

PUBLISHED = {"random": 10.310, "MLE": 9.038, "SS": 8.985, "PG-BLEU": 8.946, "SeqGAN": 8.736}
N, SEED = 10_000, 4242


def _nll_of(G, oracle) -> float:
    from gankit.families.seqgan_hooks import generate
    from gankit.nets.seqgan import nll

    return nll(oracle, generate(G, N, SEED))


def table(args) -> None:
    from gankit.data.tokens import TEST_SEED_OFFSET, load_oracle, sample_batched
    from gankit.nets.seqgan import LSTMLM, nll
    from gankit.sample import load_models

    oracle = load_oracle(args.oracle)
    held_out = sample_batched(oracle, N, TEST_SEED_OFFSET)  # the oracle data set's test split (data.seed 0)

    def both(G) -> tuple[float, float]:
        return _nll_of(G, oracle), nll(G, held_out)

    torch.manual_seed(0)
    rows = [("random (untrained G, seed 0)", "random", *both(LSTMLM(oracle.vocab, oracle.length)))]
    ends: dict[tuple[str, str], list[float]] = {}
    for run in map(Path, args.runs):
        for where, label in ((run / "pretrained", "after pretraining"), (run, "end of run")):
            if not where.exists() or (label == "after pretraining" and run.name in args.skip_pretrained):
                continue
            models, cfg, meta = load_models(where)
            mode = cfg.model.mode
            key = "MLE" if label == "after pretraining" or mode == "mle" else {"ss": "SS", "pg-bleu": "PG-BLEU",
                                                                               "seqgan": "SeqGAN"}[mode]
            rows.append((f"{run.name} {label} (step {meta['step']}, mode {mode})", key, *both(models["G"])))
            if label == "end of run":
                ends.setdefault(("G", key), []).append(rows[-1][2])
            if label == "end of run" and "G_ema" in models:
                rows.append((f"{run.name} {label}, weight average (stab.ema {cfg.stab.ema})", key,
                             *both(models["G_ema"])))
                ends.setdefault(("weight average", key), []).append(rows[-1][2])
    print("| model | gankit NLL-oracle | published NLL-oracle (Table 1) | NLL-test (G on held-out oracle data) |")
    print("| --- | --- | --- | --- |")
    for name, key, value, test in rows:
        print(f"| {name} | {value:.3f} | {key} {PUBLISHED[key]:.3f} | {test:.3f} |")
    for (what, key), values in ends.items():
        if len(values) > 1:
            v = torch.tensor(values, dtype=torch.float64)
            print(f"\n{key}, {what}, end of {len(v)} runs: mean {v.mean():.3f} ± {v.std():.3f} (sd), "
                  f"min {v.min():.3f}, max {v.max():.3f}")


def d_check(args) -> None:
    from gankit.data.tokens import TEST_SEED_OFFSET, load_oracle, sample_batched
    from gankit.families.seqgan_hooks import generate
    from gankit.sample import load_models

    oracle = load_oracle(args.oracle)
    n = 2000
    print("| run (step) | p(real): training seqs | held-out oracle seqs | G's samples "
          "| accuracy train vs G | accuracy held-out vs G |")
    print("| --- | --- | --- | --- | --- | --- |")
    for run in map(Path, args.runs):
        models, cfg, meta = load_models(run)
        D = models["D"].eval()
        train = sample_batched(oracle, N, cfg.data.seed)[:n]
        held = sample_batched(oracle, n, cfg.data.seed + TEST_SEED_OFFSET)
        fake = generate(models["G"], n, SEED)
        with torch.no_grad():
            p = [torch.sigmoid(D(x)) for x in (train, held, fake)]
        acc = [((a > 0.5).float().mean() + (p[2] <= 0.5).float().mean()).item() / 2 for a in p[:2]]
        print(f"| {run.name} ({meta['step']}) | {p[0].mean():.3f} | {p[1].mean():.3f} | {p[2].mean():.3f} "
              f"| {acc[0]:.3f} | {acc[1]:.3f} |")


def curve(args) -> None:
    from gankit import viz

    rows = [r for r in viz.read_jsonl(Path(args.run) / "metrics.jsonl") if "eval/nll_oracle" in r]
    cfg = json.loads((Path(args.run) / "config.json").read_text())["model"]
    P = cfg["pretrain_steps"]
    A = P + (cfg["d_pretrain_steps"] if cfg["mode"] == "seqgan" else 0)
    mle = [(r["eval/epoch"], r["eval/nll_oracle"]) for r in rows if r["step"] <= P]
    last = mle[-1][0] if mle else 0
    adv = [(last + r["eval/epoch"], r["eval/nll_oracle"]) for r in rows if r["step"] >= A]
    plt = viz._plt()
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.plot(*zip(*mle), "o-", ms=3, label="MLE pretraining")
    if adv:
        ax.plot(*zip(*adv), "o-", ms=3, label=f"adversarial ({cfg['mode']})")
    ax.axhline(PUBLISHED["SeqGAN"], ls="--", c="gray", lw=1, label="published SeqGAN 8.736")
    ax.axhline(PUBLISHED["MLE"], ls=":", c="gray", lw=1, label="published MLE 9.038")
    ax.axvline(last, c="k", lw=0.5)
    _finish(fig, ax, "epoch (MLE: passes over the data; then adversarial steps)", "NLL-oracle", args.out)
    for (e, v) in mle + adv:
        print(f"{e:8.2f} {v:.4f}")


def d_curve(args) -> None:
    import torch.nn.functional as F

    from gankit.data.tokens import TEST_SEED_OFFSET, load_oracle, sample_batched
    from gankit.nets.seqgan import TextCNN, scaled_filters
    from gankit.sample import load_models

    oracle = load_oracle(args.oracle)
    G = load_models(Path(args.run))[0]["G"]
    real = sample_batched(oracle, N, 0)
    held, fake_held = sample_batched(oracle, 2000, TEST_SEED_OFFSET), sample_batched(G, 2000, SEED)
    torch.manual_seed(0)
    D = TextCNN(oracle.vocab, oracle.length, filters=scaled_filters(args.d_filter_scale))
    opt, g = torch.optim.Adam(D.parameters(), lr=args.lr), torch.Generator().manual_seed(1)
    y = torch.cat([torch.ones(64), torch.zeros(64)])
    t0 = time.process_time()
    print("| D batches | held-out accuracy | p(real) held-out oracle | p(real) G's samples | training loss |")
    print("| --- | --- | --- | --- | --- |")
    for step in range(1, args.steps + 1):
        with torch.no_grad():
            fake = G.sample(64, g)
        loss = F.binary_cross_entropy_with_logits(D(torch.cat([real[torch.randint(0, N, (64,), generator=g)], fake])), y)
        opt.zero_grad()
        (loss + 0.2 * D.l2()).backward()
        opt.step()
        if step % args.every == 0:
            D.eval()
            with torch.no_grad():
                pr, pf = torch.sigmoid(D(held)), torch.sigmoid(D(fake_held))
            D.train()
            acc = ((pr > 0.5).float().mean() + (pf <= 0.5).float().mean()).item() / 2
            print(f"| {step} | {acc:.3f} | {pr.mean():.3f} | {pf.mean():.3f} | {loss.item():.3f} |", flush=True)
    print(f"CPU seconds per D batch: {(time.process_time() - t0) / args.steps:.3f}")


def adv_curves(args) -> None:
    from gankit import viz
    from gankit.families.registry import from_dict
    from gankit.families.seqgan import adversarial_from

    plt = viz._plt()
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    for run in map(Path, args.runs):
        A = adversarial_from(from_dict(json.loads((run / "config.json").read_text())))
        rows = [r for r in viz.read_jsonl(run / "metrics.jsonl") if "eval/nll_oracle" in r and r["step"] >= A]
        if "eval/nll_oracle_g" in rows[0]:  # a run with a weight average: it is eval/nll_oracle, G is ..._g
            series = (("eval/nll_oracle_g", "o-", ""), ("eval/nll_oracle", "x:", " weight average"))
        else:
            series = (("eval/nll_oracle", "o-", ""),)
        color = None
        for key, style, what in series:
            pts = [(r["step"] - A, r[key]) for r in rows]
            color = ax.plot(*zip(*pts), style, ms=3, color=color, label=run.name + what)[0].get_color()
            print(run.name + what, " ".join(f"{s}:{v:.3f}" for s, v in pts))
    ax.axhline(PUBLISHED["SeqGAN"], ls="--", c="gray", lw=1, label="published SeqGAN 8.736")
    _finish(fig, ax, "adversarial step", "NLL-oracle (2,000 sequences)", args.out)


def _finish(fig, ax, xlabel: str, ylabel: str, out: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out)


def rollout_time(args) -> None:
    from gankit.data.tokens import load_oracle
    from gankit.nets.rollout import rollout_rewards, rollout_rewards_loop
    from gankit.nets.seqgan import TextCNN, scaled_filters

    oracle = load_oracle(args.oracle)
    seqs = oracle.sample(64, torch.Generator().manual_seed(0))
    D = TextCNN(oracle.vocab, oracle.length, filters=scaled_filters(args.d_filter_scale)).eval()

    def score(s):
        return torch.sigmoid(D(s))

    for name, fn in (("loop (the authors')", rollout_rewards_loop), ("vectorised (gankit)", rollout_rewards)):
        times = []
        for r in range(args.repeats):
            g = torch.Generator().manual_seed(r)
            t0 = time.perf_counter()
            with torch.no_grad():
                fn(oracle, seqs, score, args.rollouts, g)
            times.append(time.perf_counter() - t0)
        print(f"| {name} | {args.rollouts} | {min(times):.2f} s | {sum(times) / len(times):.2f} s |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("table")
    t.add_argument("--oracle", required=True)
    t.add_argument("runs", nargs="*")
    t.add_argument("--skip-pretrained", nargs="*", default=(), metavar="NAME",
                   help="runs (by folder name) whose pretrained G is not scored again (the same as another run's)")
    c = sub.add_parser("curve")
    c.add_argument("run")
    c.add_argument("--out", required=True)
    r = sub.add_parser("rollout-time")
    r.add_argument("--oracle", required=True)
    r.add_argument("--rollouts", type=int, default=16)
    r.add_argument("--repeats", type=int, default=2)
    r.add_argument("--d-filter-scale", type=float, default=1.0)
    d = sub.add_parser("d-check")
    d.add_argument("--oracle", required=True)
    d.add_argument("runs", nargs="+")
    dc = sub.add_parser("d-curve")
    dc.add_argument("--oracle", required=True)
    dc.add_argument("run", help="a run whose newest G is the generator (e.g. the MLE run)")
    dc.add_argument("--lr", type=float, default=1e-4)
    dc.add_argument("--d-filter-scale", type=float, default=0.25)
    dc.add_argument("--steps", type=int, default=1000)
    dc.add_argument("--every", type=int, default=200)
    a = sub.add_parser("adv-curves")
    a.add_argument("runs", nargs="+")
    a.add_argument("--out", required=True)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    {"table": table, "curve": curve, "rollout-time": rollout_time, "d-check": d_check, "adv-curves": adv_curves, "d-curve": d_curve}[args.cmd](args)


if __name__ == "__main__":
    main()
