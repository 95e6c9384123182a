"""Make the synthetic benchmark corpus and print its cost and its checks.

    python benchmarks/synth_corpus.py [--config configs/data/synth_benchmark.yaml] [--out DIR]

Prints: generation time, speed against real time, size on disk, then the corpus checks of
ptalker.evaluation.corpus_checks (lip seals on /p b m/, open vs close vowels, audio/timeline clock,
style parameters against measured style statistics). Without --out the corpus goes to a
temporary folder that is deleted afterwards. torch runs with 2 threads, as on the reference
2-core machine.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, argument_parser, set_threads

from ptalker.data.synth.corpus import generate_corpus, load_synth_config
from ptalker.evaluation.corpus_checks import check_corpus
from ptalker.fileio import save_json


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__)
    parser.add_argument("--config", type=Path, default=ROOT / "configs/data/synth_benchmark.yaml")
    parser.add_argument("--out", type=Path, default=None, help="keep the corpus here (default: temporary)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers as JSON here")
    args = parser.parse_args(argv)
    set_threads()
    config = load_synth_config(args.config)
    with tempfile.TemporaryDirectory(prefix="ptalker_synth_") as tmp:
        out = args.out or Path(tmp) / config.name
        report = generate_corpus(out, config)
        print(report)
        start = time.perf_counter()
        checks = check_corpus(out)
        print(f"checked in {time.perf_counter() - start:.1f} s")
        print(checks.table())
        if args.json:
            save_json(args.json, {
                "config": str(args.config), "sequences": report.sequences, "speakers": report.speakers,
                "audio_s": report.audio_s, "generation_s": report.seconds, "bytes": report.bytes,
                "real_time_factor": report.audio_s / report.seconds, "checks": checks.__dict__})
    return 0


if __name__ == "__main__":
    sys.exit(main())
