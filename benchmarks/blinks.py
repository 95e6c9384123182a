"""Where blinks fall: the learned blink model (ptalker/models/blink_net.py) against the pauses.

    python benchmarks/blinks.py [--data data/synth_wholeface] [--retrain]

Makes data/synth_wholeface when missing, trains ptalker/assets/blink_net.pt when missing (or
with --retrain), then on the validation and test speakers (unseen):

1. ROC AUC of the per-frame shut-lid probability (chance 0.5);
2. blinks placed by the controls at each speaker's true rate: the share that start within
   0.3 s of a true blink's start, for moments from the model and from the pauses (the rule the
   controls use without the model) and at random.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import ROOT, argument_parser, markdown_table, save_results, set_threads
from scipy.stats import mannwhitneyu

from ptalker.audio.io import load_audio
from ptalker.controls import procedural
from ptalker.controls.compose import blink_moments
from ptalker.data.layout import list_sequences, wav_path
from ptalker.data.synth.corpus import load_speakers
from ptalker.flame.flame_model import FlameModel
from ptalker.metrics.face_measures import audio_envelope
from ptalker.pipelines.blink_moments import BLINK_MODEL, blink_probability, load_blink_net
from ptalker.training.blinks import BLINK_CLOSED, train_blinks

FPS = 30.0
NEAR_S = 0.3


def _starts(shut: np.ndarray) -> np.ndarray:
    """Frame indices where the lids close (rising edges of ``shut`` (T,) bool)."""
    return np.flatnonzero(np.diff(np.concatenate([[0], shut.astype(int)])) == 1)


def evaluate(root: Path, split: str) -> dict:
    speakers = load_speakers(root)
    column = FlameModel.load().expression_names.index("blink_left")
    truth, probability, near = [], [], {"model": [], "pauses": [], "random": []}
    for index, name in enumerate(n for n in list_sequences(root) if speakers[n.subject].split == split):
        expression = np.load(root / "params_npy" / f"{name.stem}.npz")["expression"]
        shut = expression[:, column] > BLINK_CLOSED
        audio = load_audio(wav_path(root, name))
        p = blink_probability(audio, FPS, len(shut))
        truth.append(shut)
        probability.append(p)
        true_starts = _starts(shut) / FPS
        if not len(true_starts):
            continue
        rate = len(true_starts) / (len(shut) / FPS) * 60.0
        envelope = audio_envelope(audio, 16000, FPS, len(shut))
        moments = {"model": blink_moments(p, envelope, FPS), "pauses": blink_moments(None, envelope, FPS),
                   "random": []}
        for source, where in moments.items():
            placed = procedural.blink_times(len(shut) / FPS, rate, np.random.default_rng([index, 7]), where)
            near[source] += [bool(np.abs(true_starts - t).min() <= NEAR_S) for t in placed]
    truth, probability = np.concatenate(truth), np.concatenate(probability)
    auc = mannwhitneyu(probability[truth], probability[~truth]).statistic / (truth.sum() * (~truth).sum())
    return {"frames": int(truth.size), "shut_fraction": float(truth.mean()), "auc": float(auc),
            "placed_near_true": {k: float(np.mean(v)) for k, v in near.items()},
            "placed": {k: len(v) for k, v in near.items()}}


def main() -> None:
    parser = argument_parser(__doc__, results=True)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "synth_wholeface", help="whole-face corpus")
    parser.add_argument("--retrain", action="store_true", help="train again even if the shipped model exists")
    args = parser.parse_args()
    set_threads()
    start = time.perf_counter()
    if not (args.data / "dataset.yaml").is_file():
        subprocess.run([sys.executable, "-m", "ptalker", "data", "synth", "--out", str(args.data), "--config",
                        str(ROOT / "configs" / "data" / "synth_wholeface.yaml")], check=True)
    results = {}
    if args.retrain or not BLINK_MODEL.is_file():
        report = train_blinks(args.data, BLINK_MODEL, FPS)
        print(report)
        results["training"] = {"seconds": report.seconds, "best_epoch": report.best_epoch,
                               "val_loss": report.val_loss}
        load_blink_net.cache_clear()
    for split in ("val", "test"):
        results[split] = evaluate(args.data, split)
    rows = [[f"{split} ({r['frames']} frames, {100 * r['shut_fraction']:.1f}% shut)", f"{r['auc']:.2f}",
             *(f"{100 * r['placed_near_true'][k]:.0f}%" for k in ("model", "pauses", "random"))]
            for split, r in ((s, results[s]) for s in ("val", "test"))]
    results["seconds"] = time.perf_counter() - start
    markdown = markdown_table(["whole-face corpus", "shut-lid AUC", f"placed blinks within {NEAR_S} s of a true "
                               "one: model", "pauses", "random"], rows) + \
        f"\n\n({results['seconds']:.0f} s on this machine)\n"
    print(markdown)
    save_results(args.results, "blinks", results, markdown)


if __name__ == "__main__":
    main()
