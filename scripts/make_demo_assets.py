"""Make the demo's shipped inputs from the synthetic benchmark corpus (run once; outputs committed).

    python scripts/make_demo_assets.py [--data data/synth_benchmark] [--speaker S12]

Writes ptalker/assets/demo/:
    sample.wav        a sentence no corpus speaker says, spoken by espeak-ng in the test speaker's voice
    sample.txt        its text
    sample_timeline.json  its phoneme and word timeline (Speech.to_json(); the demo's lip plot)
    reference.npz     a reference clip of the test speaker: audio (S,) int16 at 16 kHz, vertices
                      (T, V, 3) float16, template (V, 3) float32, speaker, sentence
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import soundfile

from ptalker.data.layout import load_templates
from ptalker.data.synth.corpus import load_speakers
from ptalker.data.synth.espeak import synthesize
from ptalker.data.synth.motion import with_lead_in
from ptalker.data.synth.sentences import generate_sentences

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "ptalker" / "assets" / "demo"
SAMPLE_SEED = 2026
REFERENCE_SENTENCE = "sentence26"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "synth_benchmark")
    parser.add_argument("--speaker", default="S12", help="a test speaker of the corpus")
    args = parser.parse_args()
    speaker = load_speakers(args.data)[args.speaker]
    said = {json.loads(p.read_text())["text"] for p in (args.data / "align").glob("*.json")}
    text = next(t for t in generate_sentences(20, SAMPLE_SEED) if t not in said)
    speech = with_lead_in(synthesize(text, speaker.voice))
    OUT.mkdir(parents=True, exist_ok=True)
    soundfile.write(OUT / "sample.wav", speech.waveform, speech.sample_rate, subtype="PCM_16")
    (OUT / "sample.txt").write_text(text + "\n")
    (OUT / "sample_timeline.json").write_text(json.dumps(speech.to_json(), indent=1) + "\n")
    stem = f"{args.speaker}_{REFERENCE_SENTENCE}"
    audio, rate = soundfile.read(args.data / "wav" / f"{stem}.wav", dtype="int16")
    vertices = np.load(args.data / "vertices_npy" / f"{stem}.npy")
    vertices = vertices.reshape(len(vertices), -1, 3)  # (T, V*3) on disk
    np.savez_compressed(OUT / "reference.npz", audio=audio, vertices=vertices.astype(np.float16),
                        template=load_templates(args.data)[args.speaker], speaker=args.speaker,
                        sentence=REFERENCE_SENTENCE)
    print(f"sample: {text!r} ({speech.duration_s:.1f} s, voice {speaker.voice.espeak_name}); reference {stem}")


if __name__ == "__main__":
    main()
