"""Emotion from the voice: train the prosody classifier on the whole-face corpus and measure it.

    python benchmarks/voice_emotion.py [--data data/synth_wholeface] [--out ptalker/assets/voice_emotion.json]

Makes the corpus first when --data is missing (``ptalker data synth --config
configs/data/synth_wholeface.yaml``: 16 espeak-ng speakers, 10 train / 3 val / 3 test, each
sentence in one of five emotions at a drawn intensity, heard as pitch, range and rate changes).
Trains ptalker.training.voice_emotion (softmax regression over eight prosody features of
ptalker.controls.voice_emotion, l2 chosen on val), writes the model (the shipped asset by
default), and prints the accuracy per split (unseen speakers in val and test; chance is 20%)
and the test confusion matrix. Results: benchmarks/results/voice_emotion.{md,json}.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, argument_parser, markdown_table, save_results

from ptalker.controls.voice_emotion import MODEL_PATH
from ptalker.flame.expressions import EMOTIONS
from ptalker.training.voice_emotion import train_voice_emotion

CORPUS_CONFIG = ROOT / "configs" / "data" / "synth_wholeface.yaml"


def make_corpus(out: Path) -> float:
    """Make the whole-face corpus in ``out`` with the CLI; seconds it took."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ptalker", "data", "synth", "--out", str(out), "--config",
                    str(CORPUS_CONFIG)], check=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__, results=True)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "synth_wholeface")
    parser.add_argument("--out", type=Path, default=MODEL_PATH, help="where the model goes (default: the asset)")
    args = parser.parse_args(argv)
    corpus_s = make_corpus(args.data) if not (args.data / "speakers.json").is_file() else None
    report = train_voice_emotion(args.data, args.out)
    rows = [[split, report.clips[split], f"{100 * report.accuracy[split]:.1f}%"] for split in ("train", "val", "test")]
    confusion = [[label, *report.confusion[i].tolist()] for i, label in enumerate(EMOTIONS)]
    markdown = "\n".join([
        "# Emotion from the voice", "",
        f"Softmax regression over {len(report.model.features)} prosody features "
        f"(ptalker/controls/voice_emotion.py), l2 = {report.l2:g} chosen on val; corpus "
        f"{report.model.info['corpus']} (configs/data/synth_wholeface.yaml; val and test speakers unseen). "
        "Chance is 20%.", "",
        markdown_table(["split", "clips", "accuracy"], rows), "",
        "Test confusion (rows: true emotion, columns: predicted):", "",
        markdown_table(["true \\ predicted", *EMOTIONS], confusion), "",
        f"Trained in {report.seconds:.1f} s"
        + (f"; corpus made in {corpus_s:.0f} s." if corpus_s is not None else "."), ""])
    print(markdown)
    save_results(args.results, "voice_emotion", {
        "corpus": report.model.info["corpus"], "features": report.model.features, "l2": report.l2,
        "clips": report.clips, "accuracy": report.accuracy, "labels": list(EMOTIONS),
        "test_confusion": report.confusion.tolist(), "train_s": report.seconds, "corpus_s": corpus_s,
        "model": str(args.out)}, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
