"""How well pocketsphinx times phones, and how the transcript check separates fitting from
unfitting transcripts.

    python benchmarks/phone_alignment.py [--data data/realspeech]

- CMU ARCTIC a0009 (tests/audio/data) against its reference phone labels: how many reference
  phones forced alignment and phone recognition find (matched in order), and the median and
  largest error of their start times;
- on the real-speech set: :func:`ptalker.audio.phones.agreement` of each recording's own
  transcript, and of the transcript of the recording seven places on (when pocketsphinx aligns
  it at all): the ranges behind MIN_AGREEMENT.
"""

from __future__ import annotations

import difflib
import warnings
from pathlib import Path

import numpy as np
import soundfile
from common import ROOT, argument_parser

from ptalker.audio.io import load_audio
from ptalker.audio.phones import MIN_AGREEMENT, agreement, align_transcript, recognize_phones, to_espeak
from ptalker.data.realspeech import load_realspeech
from ptalker.errors import PtalkerError

ARCTIC = ROOT / "tests" / "audio" / "data"
ARCTIC_TEXT = "He turned sharply, and faced Gregson across the table."
OTHER = 7
"""A recording is checked against the transcript of the recording this many places on."""


def reference_phones() -> list[tuple[float, str]]:
    """(start_s, espeak symbol) of the ARCTIC reference labels, pauses left out ('ax' read as 'ah')."""
    rows = [line.split() for line in (ARCTIC / "arctic_a0009_phones.txt").read_text().splitlines()
            if not line.startswith("#")]
    phones = [(float(start), to_espeak({"ax": "ah"}.get(name, name))) for start, _, name in rows]
    return [(start, symbol) for start, symbol in phones if symbol != "_"]


def start_errors(found: list[tuple[float, str]], reference: list[tuple[float, str]]) -> list[float]:
    """|start error| (s) of the phones of ``found`` matched in order to ``reference``."""
    matcher = difflib.SequenceMatcher(a=[s for _, s in found], b=[s for _, s in reference], autojunk=False)
    return [abs(found[block.a + k][0] - reference[block.b + k][0])
            for block in matcher.get_matching_blocks() for k in range(block.size)]


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "realspeech", help="prepared real-speech set")
    args = parser.parse_args()
    audio, _ = soundfile.read(ARCTIC / "arctic_a0009.wav", dtype="float32")
    reference = reference_phones()
    for name, speech in (("forced alignment", align_transcript(audio, ARCTIC_TEXT)), ("recognition", recognize_phones(audio))):
        errors = start_errors([(p.start_s, p.symbol) for p in speech.phonemes if not p.is_pause], reference)
        print(f"ARCTIC a0009, {name}: {len(errors)} of {len(reference)} reference phones, start error median "
              f"{1000 * np.median(errors):.0f} ms, max {1000 * max(errors):.0f} ms")
    entries = load_realspeech(args.data)
    fitting, unfitting, failed = [], [], 0
    for index, entry in enumerate(entries):
        audio = load_audio(args.data / "wav" / f"{entry.id}.wav")
        recognized = recognize_phones(audio)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitting.append(agreement(align_transcript(audio, entry.text), recognized))
            try:
                unfitting.append(agreement(align_transcript(audio, entries[(index + OTHER) % len(entries)].text),
                                           recognized))
            except PtalkerError:
                failed += 1
    print(f"agreement, own transcripts: {min(fitting):.2f}-{max(fitting):.2f} ({len(fitting)} recordings)")
    print(f"agreement, another recording's transcript: {min(unfitting):.2f}-{max(unfitting):.2f} "
          f"({len(unfitting)} aligned, {failed} not aligned at all); MIN_AGREEMENT = {MIN_AGREEMENT}")


if __name__ == "__main__":
    main()
