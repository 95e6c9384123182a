"""Training killed with SIGKILL and started again ends where an uninterrupted run ends
(ptalker.training.loop: OUT/last.pt is written atomically after every epoch and every random
choice is seeded per epoch)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import torch
from helpers import train_overrides

from ptalker.pipelines.checkpoint import load_checkpoint

TOLERANCE = 1e-4
"""Largest weight difference allowed between the resumed and the uninterrupted run (the session's
run used another thread count, so float sums differ in order: measured 2e-5)."""


def test_training_killed_and_resumed_matches_an_uninterrupted_run(tiny_trained, tmp_path):
    config = tmp_path / "empty.yaml"
    config.write_text("{}\n")
    out = tmp_path / "run"
    command = [sys.executable, "-m", "ptalker", "train", str(config), *train_overrides(tiny_trained.corpus, out),
               "--quiet"]
    assert tiny_trained.overrides == train_overrides(tiny_trained.corpus, tiny_trained.out)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 300
    while not (out / "last.pt").is_file() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)  # after epoch 1's checkpoint, in the middle of epoch 2
    assert process.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    assert (out / "last.pt").is_file(), "the run died before its first checkpoint"
    assert load_checkpoint(out / "last.pt")["extra"]["train_state"]["step"] < 4, "killed after the last epoch"
    load_checkpoint(out / "last.pt")  # whole, never half-written
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    whole, resumed = (load_checkpoint(folder / "last.pt") for folder in (tiny_trained.out, out))
    assert resumed["extra"]["train_state"]["step"] == whole["extra"]["train_state"]["step"]
    for name, value in whole["model"].items():
        assert (value - resumed["model"][name]).abs().max() <= TOLERANCE, name
