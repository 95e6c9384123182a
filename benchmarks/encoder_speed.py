"""Cheaper speech encoders: float against int8, ONNX Runtime and ONNX Runtime int8, side by side.

    python benchmarks/encoder_speed.py [--seconds 10] [--repeats 5] [--results benchmarks/results]

All measured in one run on this machine, torch and ONNX Runtime with 2 threads:

- speed: ``Animator.animate`` of ``--seconds`` of audio, end to end (speech encoder + decoder),
  with each encoder path of :mod:`ptalker.pipelines.fast_encoder` (``load_model(...,
  encoder=...)``), for the default model (the shipped checkpoint, audio alone) and the
  paper-size model (benchmarks/speed.py's: configs/train/vocaset.yaml's network with a
  wav2vec2-base-size encoder, random weights: timing only). One process per model; the paths
  are timed in turn, ``--repeats`` rounds, and the fastest round of each is reported (the
  median beside it), with the time inside the speech encoder, the real-time factor and the
  speed-up over float. Load time includes the ONNX export and quantisation (an empty cache);
- accuracy: LVE of the shipped checkpoint on the synthetic corpus's test split
  (data/synth_benchmark, ``ptalker evaluate``'s protocol: reference styles) per path, on the
  audio alone (``phones none``: the speech encoder drives the lips) and with the corpus's phone
  timelines (``phones timeline``: the encoder only reads the style), its change against float,
  and the largest vertex difference from the float path's predictions.

Written to RESULTS/encoder_speed.json and encoder_speed.md.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import ROOT, THREADS, argument_parser, markdown_table, save_results, set_threads

from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.pipelines.fast_encoder import ENCODERS, use_encoder

DATA = ROOT / "data" / "synth_benchmark"
LVE_PHONES = ("none", "timeline")


def animators(config: str) -> dict:
    """{encoder path: (Animator, load seconds)} for 'default' or 'paper'."""
    from ptalker.pipelines.animator import load_model

    out = {}
    if config == "default":
        for encoder in ENCODERS:
            start = time.perf_counter()
            out[encoder] = (load_model(phones=False, encoder=encoder), time.perf_counter() - start)
        return out
    sys.path.insert(0, str(Path(__file__).parent))
    from speed import paper_size_animator

    torch.manual_seed(0)
    base = paper_size_animator()
    for encoder in ENCODERS:
        animator = copy.deepcopy(base)
        start = time.perf_counter()
        use_encoder(animator.model, encoder)
        out[encoder] = (animator, time.perf_counter() - start)
    return out


def speed_child(config: str, seconds: float, repeats: int) -> dict:
    """In a fresh process: time every encoder path of ``config`` on ``seconds`` of audio."""
    set_threads()
    models = animators(config)
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.normal(size=int(seconds * AUDIO_SAMPLE_RATE_HZ))).astype(np.float32)
    spent = {}
    for encoder, (animator, _) in models.items():
        animator.animate(audio[:AUDIO_SAMPLE_RATE_HZ])  # warm-up, 1 s
        module = animator.model.audio_encoder
        spent[encoder] = []
        module.register_forward_pre_hook(lambda *_, e=encoder: spent[e].append(-time.perf_counter()))
        module.register_forward_hook(lambda *_, e=encoder: spent[e].append(time.perf_counter()))
    totals = {encoder: [] for encoder in models}
    encoder_s = {encoder: [] for encoder in models}
    for _ in range(repeats):
        for encoder, (animator, _) in models.items():
            spent[encoder].clear()
            start = time.perf_counter()
            animator.animate(audio)
            totals[encoder].append(time.perf_counter() - start)
            encoder_s[encoder].append(sum(spent[encoder]))
    rows = {}
    for encoder, (_, load_s) in models.items():
        best = int(np.argmin(totals[encoder]))
        rows[encoder] = {"seconds": totals[encoder][best], "median_s": float(np.median(totals[encoder])),
                         "encoder_s": encoder_s[encoder][best], "realtime_factor": seconds / totals[encoder][best],
                         "load_s": load_s, "all_s": totals[encoder]}
    for row in rows.values():
        row["speedup"] = rows["float"]["seconds"] / row["seconds"]
    return rows


def speed(seconds: float, repeats: int) -> dict:
    out = {}
    for config in ("default", "paper"):
        with tempfile.TemporaryDirectory() as cache:  # an empty export cache: load times include the export
            env = {**os.environ, "PTALKER_CACHE": cache}  # animating without controls needs no stand-in head
            text = subprocess.run([sys.executable, __file__, "--child", config, str(seconds), str(repeats)],
                                  check=True, capture_output=True, text=True, env=env).stdout
        out[config] = json.loads(text.strip().splitlines()[-1])
        for encoder, row in out[config].items():
            print(f"  {config} {encoder}: {row['seconds']:.2f} s (median {row['median_s']:.2f}), "
                  f"encoder {row['encoder_s']:.2f} s, {row['realtime_factor']:.1f}x real time, "
                  f"{row['speedup']:.2f}x float", flush=True)
    return out


def accuracy() -> dict:
    """LVE of the shipped checkpoint on the test split per encoder path and phone input."""
    from ptalker.evaluation import evaluate as evaluate_module

    load_model = evaluate_module.load_model
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        for phones in LVE_PHONES:
            out[phones] = {}
            for encoder in ENCODERS:
                evaluate_module.load_model = functools.partial(load_model, encoder=encoder)
                try:
                    start = time.perf_counter()
                    result = evaluate_module.evaluate(None, DATA, Path(folder) / phones / encoder, phones=phones)
                finally:
                    evaluate_module.load_model = load_model
                lve = float(result.report.lve)
                out[phones][encoder] = {"lve": lve, "lve_sqrt_mm": float(result.report.lve_sqrt_mm),
                                        "evaluate_s": time.perf_counter() - start}
            for encoder in ENCODERS:
                row = out[phones][encoder]
                row["lve_change"] = row["lve"] / out[phones]["float"]["lve"] - 1.0
                row["max_vertex_diff_mm"] = 1000 * max(
                    float(np.abs(np.load(path) - np.load(Path(folder) / phones / "float" / "pred" / path.name)).max())
                    for path in sorted((Path(folder) / phones / encoder / "pred").glob("*.npy")))
                print(f"  LVE phones {phones}, {encoder}: {row['lve']:.4e} ({row['lve_change']:+.2%} against float), "
                      f"max vertex difference {row['max_vertex_diff_mm']:.3f} mm", flush=True)
    return out


def markdown(result: dict) -> str:
    speed_table = markdown_table(
        ["model", "encoder", "compute (s)", "median (s)", "in encoder (s)", "× real time", "speed-up", "load (s)"],
        [[config, encoder, f"{row['seconds']:.2f}", f"{row['median_s']:.2f}", f"{row['encoder_s']:.2f}",
          f"{row['realtime_factor']:.1f}", f"{row['speedup']:.2f}x", f"{row['load_s']:.1f}"]
         for config, rows in result["speed"].items() for encoder, row in rows.items()], left=2)
    lve_table = markdown_table(
        ["phones", "encoder", "LVE (m^2)", "sqrt LVE (mm)", "against float", "max vertex diff (mm)"],
        [[phones, encoder, f"{row['lve']:.4e}", f"{row['lve_sqrt_mm']:.3f}", f"{row['lve_change']:+.2%}",
          f"{row['max_vertex_diff_mm']:.3f}"]
         for phones, rows in result["lve"].items() for encoder, row in rows.items()], left=2)
    return "\n\n".join([
        f"End to end (Animator.animate, {result['seconds']:g} s of audio, {result['threads']} threads; "
        f"fastest of {result['repeats']} rounds; load includes export and quantisation"
        + (f"; 1-minute load average {result['load_average'][0]:.1f} before, {result['load_average'][1]:.1f} after"
           if "load_average" in result else "") + "):", speed_table,
        "LVE of the shipped checkpoint, synthetic test split (reference styles):", lve_table]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__, results=True)
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of audio timed")
    parser.add_argument("--repeats", type=int, default=5, help="rounds of timing")
    parser.add_argument("--skip-lve", action="store_true", help="time only")
    parser.add_argument("--child", nargs=3, metavar=("CONFIG", "SECONDS", "REPEATS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(speed_child(args.child[0], float(args.child[1]), int(args.child[2]))))
        return 0
    set_threads()
    result = {"threads": THREADS, "seconds": args.seconds, "repeats": args.repeats,
              "cpu": os.cpu_count(), "torch": torch.__version__}
    import onnxruntime

    result["onnxruntime"] = onnxruntime.__version__
    print("speed", flush=True)
    load_before = os.getloadavg()[0]
    result["speed"] = speed(args.seconds, args.repeats)
    result["load_average"] = [load_before, os.getloadavg()[0]]  # other work on the machine makes timings noisy
    if not args.skip_lve:
        print("LVE", flush=True)
        result["lve"] = accuracy()
        save_results(args.results, "encoder_speed", result, markdown(result))
        print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
