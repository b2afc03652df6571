"""Speech commands.

`gankit build-speech-data --out DIR [--rate 8000|16000]`: the SEGAN mixtures from the Asterisk prompt packages
(gankit.data.speech_build; install steps in docs/speech.md).

`gankit enhance-speech RUN_DIR --input NOISY.wav --out CLEAN.wav`: a trained segan run enhances a WAV file of any
length (overlapping chunks, gankit.families.segan.enhance_waveform). A file at another sample rate is resampled to
the run's rate (scipy's resample_poly) with a note, and the output is written at the run's rate; stereo (or more
channels) is down-mixed to mono by averaging, with a note. A clip shorter than one chunk is zero-padded to it
(and the output cut back to the input's length). An empty file, a file that is not a WAV, or a WAV without
samples gives one error line.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from gankit.errors import ConfigError, DataError, GankitError


def cmd_enhance_speech(args: argparse.Namespace, rest: list[str]) -> int:
    from gankit.data.speech import read_wav, resample, write_wav
    from gankit.families.segan import enhance_waveform
    from gankit.metrics.speech import real_time_factor
    from gankit.sample import load_models

    if rest:
        raise GankitError(f"unexpected arguments: {' '.join(rest)}")
    models, cfg, meta = load_models(Path(args.run), device=args.device)
    if cfg.model.family != "segan":
        raise ConfigError(f"{args.run} is a {cfg.model.family} run; gankit enhance-speech takes segan runs")
    rate = int(meta.get("sample_rate", 16000))
    x, rate_in, notes = read_wav(args.input)
    for note in notes:
        print(f"note: {note}", flush=True)
    if rate_in != rate:
        print(f"note: {Path(args.input).name} is at {rate_in} Hz; resampled to the model's {rate} Hz "
              f"(the output is at {rate} Hz)", flush=True)
        x = resample(x, rate_in, rate)
    G = models["G"]
    if len(x) < G.length:
        print(f"note: {len(x)} samples is shorter than one chunk ({G.length}); zero-padded", flush=True)
    t0 = time.perf_counter()
    y = enhance_waveform(G, x, args.seed)
    seconds = time.perf_counter() - t0
    out = Path(args.out)
    try:
        write_wav(out, y, rate)
    except OSError as e:
        raise DataError(f"--out {out}: cannot write ({e.strerror or e})") from None
    print(f"enhanced {len(y) / rate:.2f} s of audio in {seconds:.2f} s (real-time factor "
          f"{real_time_factor(seconds, len(y), rate):.3f}): {out}")
    return 0


def cmd_build_speech_data(args: argparse.Namespace, rest: list[str]) -> int:
    from gankit.data.speech_build import build_speech_data

    if rest:
        raise GankitError(f"unexpected arguments: {' '.join(rest)}")
    sounds = Path(args.sounds)
    build_speech_data(args.out, sounds / args.lang, sounds / args.babble_lang, args.moh, args.rate,
                      args.test_fraction, args.train_mixtures, args.talkers, args.seed, args.decoder)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("enhance-speech", help="enhance a noisy WAV file with a speech-enhancement run (segan)")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--input", required=True, help="a WAV file (any length; other rates resampled, stereo mixed down)")
    p.add_argument("--out", required=True, help="output WAV (16-bit PCM at the run's sample rate)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent z")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=cmd_enhance_speech)

    p = sub.add_parser("build-speech-data", help="build the noisy/clean speech mixtures from the Asterisk prompts")
    p.add_argument("--out", required=True, help="output folder (manifest.json, train/ and test/)")
    p.add_argument("--rate", type=int, default=8000, help="8000 (the WAV prompts) or 16000 (g722 via ffmpeg)")
    p.add_argument("--sounds", default="/usr/share/asterisk/sounds", help="the Asterisk sounds folder")
    p.add_argument("--lang", default="en", help="the clean speech: a language folder of --sounds")
    p.add_argument("--babble-lang", default="fr", help="the babble talkers' language folder (another speaker)")
    p.add_argument("--moh", default="/usr/share/asterisk/moh", help="the music-on-hold folder")
    p.add_argument("--test-fraction", type=float, default=0.12, help="prompts held out for testing")
    p.add_argument("--train-mixtures", type=int, default=2, help="mixtures per train prompt (distinct SNRs)")
    p.add_argument("--talkers", type=int, default=4, help="babble streams summed")
    p.add_argument("--decoder", default="auto", help="16 kHz: auto | ffmpeg (g722) | resample (the 8 kHz WAVs)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_build_speech_data)
