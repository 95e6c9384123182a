"""How fast is ``ptalker animate``? Process start to files written, for a 20 s recording.

    python benchmarks/animate_speed.py [--audio speech.wav] [--seconds 20] [--repeats 3] [--results DIR]

- end to end: ``python -m ptalker animate AUDIO --out DIR`` as a subprocess, as users run it
  (default options: the shipped checkpoint, vertices.npy and the OBJ sequence), then with
  ``--video``; each ``--repeats`` times into a fresh folder: best and median wall time, and
  times real time (seconds of speech per second of wall time);
- start-up, each in a fresh process: ``python -c "import ptalker.cli"`` (what every command pays
  before it runs) and ``import ptalker.pipelines.animate_folder`` (what ``ptalker animate``
  imports on top: torch and the animation pipeline);
- a breakdown from one more fresh process that calls the functions the command calls, one by
  one: its imports, ``load_model`` (the first call also imports transformers and
  torch_geometric, which building the network needs; a second call times the loading alone),
  ``Animator.animate``, ``write_outputs`` (vertices.npy, sequence.json, obj/), and for
  ``--video`` the renderer's set-up (OpenGL platform probe, pyrender import) and ``render_video``.

The recording is the shipped demo sentence repeated to ``--seconds`` unless ``--audio`` gives
one. torch keeps its default threads (one per core), as the command does. Printed as tables with
the CPU count and load average (numbers taken while other work runs are slower), and written to
RESULTS/animate_speed.json and animate_speed.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
from common import ROOT, argument_parser, markdown_table, save_results

from ptalker.constants import AUDIO_SAMPLE_RATE_HZ

DEMO_SPEECH = ROOT / "ptalker" / "assets" / "demo" / "sample.wav"
COMMANDS = {"ptalker animate": [], "ptalker animate --video": ["--video"]}
"""Name of each end-to-end run -> the options it adds to ``ptalker animate AUDIO --out DIR``."""


def make_recording(path: Path, seconds: float) -> Path:
    """Write the demo sentence, repeated and cut to ``seconds``, as 16 kHz 16-bit PCM at ``path``."""
    sentence, _ = soundfile.read(str(DEMO_SPEECH), dtype="float32")
    samples = int(seconds * AUDIO_SAMPLE_RATE_HZ)
    soundfile.write(str(path), np.resize(sentence, samples), AUDIO_SAMPLE_RATE_HZ, subtype="PCM_16")
    return path


def wall_s(command: list[str]) -> float:
    """Seconds from starting ``command`` to its exit (which must be 0)."""
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def end_to_end(audio: Path, folder: Path, repeats: int) -> dict:
    """Best and median wall seconds of each of :data:`COMMANDS`, ``repeats`` runs each."""
    rows = {}
    for name, options in COMMANDS.items():
        times = []
        for run in range(repeats):
            out = folder / f"out_{run}"
            times.append(wall_s([sys.executable, "-m", "ptalker", "animate", str(audio), "--out", str(out), *options]))
            shutil.rmtree(out)
            print(f"  {name}: {times[-1]:.2f} s", flush=True)
        rows[name] = {"best_s": min(times), "median_s": statistics.median(times), "runs_s": times}
    return rows


def start_up(repeats: int) -> dict:
    """Best wall seconds of a fresh Python importing the CLI, and the animation pipeline besides."""
    imports = {"import ptalker.cli": "import ptalker.cli",
               "import ptalker.cli + animate_folder": "import ptalker.cli, ptalker.pipelines.animate_folder"}
    return {name: min(wall_s([sys.executable, "-c", code]) for _ in range(repeats)) for name, code in imports.items()}


def breakdown(audio: Path, out: Path) -> dict:
    """In this process (fresh): seconds of each step ``ptalker animate [--video]`` takes."""
    steps, clock = {}, time.perf_counter()

    def step(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        steps[name] = now - clock
        clock = now

    import ptalker.pipelines.animate_folder  # noqa: F401  (what the command imports)
    from ptalker.pipelines.animator import load_model
    from ptalker.pipelines.outputs import VIDEO_FILE, write_outputs
    from ptalker.render import render_video
    from ptalker.render.gl_platform import import_pyrender
    step("imports of ptalker animate")
    load_model()
    step("load model, first (+ transformers, torch_geometric imports)")
    animator = load_model()
    step("load model (checkpoint, network, weights)")
    vertices = animator.animate(audio).vertices
    step("inference (Animator.animate)")
    write_outputs(vertices, animator.topology.faces, animator.fps, out, audio)
    step("write vertices.npy, sequence.json, obj/")
    import_pyrender()
    step("--video: renderer set-up (OpenGL probe, pyrender import)")
    render_video(vertices, animator.topology.faces, out / VIDEO_FILE, animator.fps, audio=audio)
    step("--video: render_video (render, encode, mux)")
    return steps


def markdown(result: dict) -> str:
    seconds = result["seconds_of_speech"]
    runs = markdown_table(["command", "best (s)", "median (s)", "× real time (best)", "× real time (median)"],
                          [[name, f"{row['best_s']:.2f}", f"{row['median_s']:.2f}", f"{seconds / row['best_s']:.2f}",
                            f"{seconds / row['median_s']:.2f}"] for name, row in result["end_to_end"].items()])
    imports = markdown_table(["fresh process", "best (s)"],
                             [[name, f"{value:.2f}"] for name, value in result["start_up"].items()])
    steps = markdown_table(["step (one process)", "seconds"],
                           [[name, f"{value:.2f}"] for name, value in result["breakdown"].items()])
    return "\n\n".join([f"{seconds:g} s of speech ({result['audio']}), {result['cpus']} CPUs, load average "
                        f"{result['load_average_1min'][0]:.1f} before / {result['load_average_1min'][1]:.1f} after:",
                        runs, "Start-up:", imports, "Breakdown:", steps]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__, results=True)
    parser.add_argument("--audio", type=Path, default=None, help="the recording (default: the demo sentence repeated)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the recording made without --audio")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each command")
    parser.add_argument("--child", nargs=2, type=Path, metavar=("AUDIO", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(breakdown(*args.child)))
        return 0
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="animate_speed_") as folder:
        folder = Path(folder)
        audio = args.audio.resolve() if args.audio else make_recording(folder / "speech.wav", args.seconds)
        print("end to end", flush=True)
        result = {"audio": str(args.audio or f"demo sentence repeated to {args.seconds:g} s"),
                  "seconds_of_speech": soundfile.info(str(audio)).duration, "cpus": os.cpu_count(),
                  "end_to_end": end_to_end(audio, folder, args.repeats)}
        print("start-up", flush=True)
        result["start_up"] = start_up(args.repeats)
        print("breakdown", flush=True)
        child = subprocess.run([sys.executable, __file__, "--child", str(audio), str(folder / "steps")], check=True,
                               cwd=ROOT, capture_output=True, text=True).stdout
        result["breakdown"] = json.loads(child.strip().splitlines()[-1])
    result["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    save_results(args.results, "animate_speed", result, markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
