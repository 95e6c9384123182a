"""How much faster is ``ptalker batch`` than a shell loop of ``ptalker animate``? Files per second.

    python benchmarks/batch.py [--files 20] [--workers 1 2] [--ray] [--results DIR]

Takes the first N speech files of the benchmark corpus (data/synth_benchmark/wav: espeak-ng
sentences of 2.4-4.6 s; make them with ``make corpus``) and animates them with the shipped model
and the default options (phones by recognition, OBJ frames), three ways, each into a fresh folder:

- ``loop``: one ``ptalker animate FILE --out OUT/NAME`` process per file, as a shell loop runs it
  (every process pays the start-up: imports, the model load);
- ``batch --workers W``: one ``ptalker batch FOLDER --out OUT`` (W processes, each loading the model once).

Wall-clock time of the whole command(s), files per second, and each's speed-up over the loop.
Written to RESULTS/batch.json and batch.md, with the CPU count and load average.

With ``--ray``: ``batch --ray --workers W`` (a local Ray instance started by the command, W actors)
against ``batch --workers 1``, written to RESULTS/batch_ray.json and batch_ray.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, argument_parser, markdown_table, save_results

CORPUS_WAV = ROOT / "data" / "synth_benchmark" / "wav"
PTALKER = [sys.executable, "-m", "ptalker"]


def _timed(commands: list[list[str]]) -> float:
    """Seconds to run ``commands`` one after the other (each must succeed)."""
    start = time.perf_counter()
    for command in commands:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argument_parser(__doc__, results=True)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--ray", action="store_true", help="time batch --ray (local Ray) instead of the loop")
    args = parser.parse_args()
    results_name = "batch_ray" if args.ray else "batch"
    files = sorted(CORPUS_WAV.glob("*.wav"))[: args.files]
    if len(files) < args.files:
        sys.exit(f"{CORPUS_WAV}: {len(files)} wav files, {args.files} wanted; run 'make corpus' first")
    import soundfile

    speech_s = sum(soundfile.info(str(f)).duration for f in files)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ptalker_batch_bench_") as tmp:
        folder = Path(tmp) / "speech"
        folder.mkdir()
        for f in files:
            shutil.copy(f, folder / f.name)
        if args.ray:
            runs = {"batch --workers 1": [[*PTALKER, "batch", str(folder), "--out", str(Path(tmp) / "local"),
                                           "--quiet"]]}
        else:
            runs = {"loop": [[*PTALKER, "animate", str(f), "--out", str(Path(tmp) / "loop" / f.stem)] for f in files]}
        ray = ["--ray"] if args.ray else []
        label = "batch --ray" if args.ray else "batch"
        for workers in args.workers:
            runs[f"{label} --workers {workers}"] = [[*PTALKER, "batch", str(folder), "--out",
                                                     str(Path(tmp) / f"batch{workers}"), "--workers", str(workers),
                                                     "--quiet", *ray]]
        for name, commands in runs.items():
            seconds = _timed(commands)
            rows.append({"run": name, "files": len(files), "seconds": round(seconds, 2),
                         "files_per_s": round(len(files) / seconds, 3)})
            print(f"{name}: {len(files)} files in {seconds:.1f} s ({len(files) / seconds:.2f} files/s)", flush=True)
        for workers in args.workers:
            ledger = (Path(tmp) / f"batch{workers}" / "batch_ledger.jsonl").read_text().splitlines()
            assert sum(json.loads(line)["status"] == "done" for line in ledger) == len(files)
    loop = rows[0]["files_per_s"]
    for row in rows:
        row["speedup_vs_first"] = round(row["files_per_s"] / loop, 2)
    result = {"files": len(files), "speech_s": round(speech_s, 1), "source": str(CORPUS_WAV.relative_to(ROOT)),
              "options": "shipped checkpoint, phones by recognition, --format obj (the defaults)",
              "cpu_count": os.cpu_count(), "load_average": os.getloadavg(), "runs": rows}
    table = markdown_table(["run", "files", "seconds", "files/s", f"vs {rows[0]['run']}"],
                           [[r["run"], r["files"], f"{r['seconds']:.1f}", f"{r['files_per_s']:.2f}",
                             f"{r['speedup_vs_first']:.1f}x"] for r in rows])
    title = "ptalker batch on local Ray" if args.ray else "ptalker batch vs a shell loop of ptalker animate"
    text = (f"# {title}\n\n{len(files)} files, {speech_s:.0f} s of speech "
            f"({result['source']}), {result['options']}; {os.cpu_count()} CPUs, load average "
            f"{result['load_average'][0]:.2f} at the end.\n\n{table}\n")
    save_results(args.results, results_name, result, text)
    print(table)


if __name__ == "__main__":
    main()
