"""``ptalker batch`` killed at a random point and run again: is every file done exactly once?

    python benchmarks/batch_kill.py [--files 100] [--seed 0] [--results DIR]

Copies the first N speech files of the benchmark corpus (``make corpus``) into a folder, starts
``ptalker batch FOLDER --out OUT --format npy obj``, sends it SIGKILL after a random time (seeded:
between 10% and 90% of a whole run's expected length), then runs the same command again. Checked
and reported: files done before the kill, what the re-run did and skipped, that the ledger's
done lines name every file exactly once and equal the finished folders, that every folder's
vertices.npy and OBJ frames agree, and that no staging folder or lock is left. Written to
RESULTS/batch_kill.json and batch_kill.md.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from batch import CORPUS_WAV, PTALKER
from common import argument_parser, markdown_table, save_results

SECONDS_PER_FILE = 0.55
"""A batch's time per file on this machine (benchmarks/batch.py, one worker), for the kill window."""


def main() -> None:
    parser = argument_parser(__doc__, results=True)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    files = sorted(CORPUS_WAV.glob("*.wav"))[: args.files]
    if len(files) < args.files:
        sys.exit(f"{CORPUS_WAV}: {len(files)} wav files, {args.files} wanted; run 'make corpus' first")
    expected = 8.0 + SECONDS_PER_FILE * len(files)  # start-up + the files
    delay = random.Random(args.seed).uniform(0.1 * expected, 0.9 * expected)
    with tempfile.TemporaryDirectory(prefix="ptalker_batch_kill_") as tmp:
        folder, out = Path(tmp) / "speech", Path(tmp) / "out"
        folder.mkdir()
        for f in files:
            shutil.copy(f, folder / f.name)
        command = [*PTALKER, "batch", str(folder), "--out", str(out), "--quiet", "--format", "npy", "obj"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        killed = process.wait() == -signal.SIGKILL
        ledger_path = out / "batch_ledger.jsonl"
        before = len(ledger_path.read_text().splitlines()) if ledger_path.is_file() else 0
        rerun = subprocess.run(command, capture_output=True, text=True)
        ledger = [json.loads(line) for line in ledger_path.read_text().splitlines()]
        done = [line["name"] for line in ledger if line["status"] == "done"]
        folders = sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
        mismatched = [name for name in folders
                      if np.load(out / name / "vertices.npy").shape[0] != len(list((out / name / "obj").glob("*.obj")))]
        hidden = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
    result = {"files": len(files), "kill_after_s": round(delay, 1), "killed_mid_run": killed,
              "done_before_kill": before, "rerun_exit": rerun.returncode, "rerun_summary": rerun.stdout.strip(),
              "done_lines": len(done), "distinct_done": len(set(done)), "folders": len(folders),
              "ledger_equals_folders": sorted(done) == folders, "folders_with_mismatched_frames": mismatched,
              "left_behind": hidden}
    ok = (killed and rerun.returncode == 0 and len(done) == len(set(done)) == len(files)
          and result["ledger_equals_folders"] and not mismatched and not hidden)
    result["every_file_done_once"] = ok
    table = markdown_table(["killed after (s)", "done before", "re-run", "done lines / distinct / folders",
                            "ledger = folders", "left behind", "every file once"],
                           [[f"{delay:.1f}", before, rerun.stdout.strip().split(": ", 1)[-1],
                             f"{len(done)} / {len(set(done))} / {len(folders)}", result["ledger_equals_folders"],
                             ", ".join(hidden) or "nothing", "yes" if ok else "NO"]])
    text = (f"# ptalker batch killed with SIGKILL and run again\n\n{len(files)} files ({CORPUS_WAV.name}), "
            f"--format npy obj, {os.cpu_count()} CPUs.\n\n{table}\n")
    save_results(args.results, "batch_kill", result, text)
    print(table)
    if not ok:
        sys.exit("some file was not done exactly once: see the table")


if __name__ == "__main__":
    main()
