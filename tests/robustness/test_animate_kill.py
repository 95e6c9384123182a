"""``ptalker animate`` killed with SIGKILL while it writes OBJ frames: the folder keeps the previous
run's outputs whole (nothing half-written is taken for done), and the next run takes over the
dead run's lock, clears its staging folder and completes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import soundfile

from ptalker.pipelines.output_folder import LOCK_FILE, MANIFEST_FILE, STAGING_PREFIX

SECONDS = 60.0
"""Long enough that writing its 1800 OBJ frames takes a while."""


def test_animate_killed_while_writing_then_run_again(tiny_trained, tmp_path):
    t = np.arange(int(16000 * SECONDS)) / 16000
    wav = tmp_path / "speech.wav"
    soundfile.write(wav, (0.2 * np.sin(2 * np.pi * 3 * t) * np.sin(2 * np.pi * 180 * t)).astype(np.float32), 16000)
    short = tmp_path / "short.wav"
    soundfile.write(short, (0.2 * np.sin(2 * np.pi * 180 * t[:16000])).astype(np.float32), 16000)
    out = tmp_path / "out"
    options = ["--checkpoint", str(tiny_trained.checkpoint), "--audio-only", "--format", "npy", "obj",
               "--out", str(out)]

    def command(audio):
        return [sys.executable, "-m", "ptalker", "animate", str(audio), *options]

    subprocess.run(command(short), check=True, capture_output=True)
    before = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert len(before) == 30 + 5  # 30 OBJ frames, their sequence.json, vertices.npy, animation.npy, ...

    process = subprocess.Popen(command(wav), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline \
            and len(list(out.glob(f"{STAGING_PREFIX}*/*/*.obj"))) < 100:  # mid-way through the frames
        time.sleep(0.01)
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    assert (out / LOCK_FILE).is_file() and list(out.glob(f"{STAGING_PREFIX}*")), "killed before it began writing"
    after = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*")
             if p.is_file() and not p.name.startswith(".") and not p.relative_to(out).parts[0].startswith(".")}
    assert after == before, "the previous run's outputs changed"

    done = subprocess.run(command(wav), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert np.load(out / "vertices.npy").shape[0] == int(SECONDS * 30)
    assert len(list((out / "obj").glob("*.obj"))) == int(SECONDS * 30)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "lock or staging left"
    assert (out / MANIFEST_FILE).is_file()
