"""Long audio: time and peak memory of ``ptalker animate`` as the speech grows to 10 minutes.

    python benchmarks/long_audio.py [--minutes 0.5 2 5 10]

The speech is the benchmark corpus's sentences (data/synth_benchmark/wav) joined end to end to
each length. Each length runs in a fresh process (``ptalker animate FILE --out DIR --format npy
--audio-only``, the shipped checkpoint), so the peak resident memory (ru_maxrss of the child) is
that run's alone. Reported: wall seconds, seconds per minute of speech (flat = linear time),
peak memory in MiB, and the size of vertices.npy (which grows with the length by necessity:
5163 x 3 float32 per frame, 1.8 MiB per second of speech at 30 fps).
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
from common import ROOT, argument_parser, markdown_table, save_results

CORPUS_WAV = ROOT / "data" / "synth_benchmark" / "wav"


def speech_of(minutes: float) -> np.ndarray:
    """(S,) float32 16 kHz: corpus sentences joined until ``minutes`` long."""
    pieces, total = [], 0
    for path in sorted(CORPUS_WAV.glob("*.wav")):
        audio, rate = soundfile.read(path, dtype="float32")
        pieces.append(audio)
        total += len(audio)
        if total >= minutes * 60 * rate:
            break
    return np.concatenate(pieces)[: int(minutes * 60 * 16000)]


def main() -> None:
    parser = argument_parser(__doc__, results=True)
    parser.add_argument("--minutes", type=float, nargs="+", default=[0.5, 2.0, 5.0, 10.0])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ptalker_long_") as tmp:
        for minutes in args.minutes:
            wav = Path(tmp) / f"speech_{minutes:g}.wav"
            soundfile.write(wav, speech_of(minutes), 16000)
            out = Path(tmp) / f"out_{minutes:g}"
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "ptalker", "animate", str(wav), "--out", str(out), "--format", "npy",
                            "--audio-only"], check=True, stdout=subprocess.DEVNULL)
            seconds = time.perf_counter() - start
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            rows.append({"minutes": minutes, "seconds": round(seconds, 1), "s_per_min": round(seconds / minutes, 1),
                         "peak_mib": round(max(peak, before) / 1024, 0),
                         "vertices_mib": round((out / "vertices.npy").stat().st_size / 2**20, 0)})
            print(rows[-1], flush=True)
    table = markdown_table(["speech (min)", "seconds", "seconds per minute", "peak memory (MiB, max so far)",
                            "vertices.npy (MiB)"],
                           [[r["minutes"], r["seconds"], r["s_per_min"], r["peak_mib"], r["vertices_mib"]]
                            for r in rows])
    print(table)
    save_results(args.results, "long_audio", {"runs": rows},
                 "# ptalker animate on long audio\n\n" + table + "\n\nPeak memory is the largest child so far "
                 "(ru_maxrss of RUSAGE_CHILDREN), so it can only grow down the table.\n")


if __name__ == "__main__":
    main()
