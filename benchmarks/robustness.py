"""Does a checkpoint hold up on speech unlike its training audio? LVE on degraded test audio.

    python benchmarks/robustness.py [--checkpoint CKPT] [--data data/synth_benchmark] [--out DIR]

No real recordings can be shipped or downloaded here, so real-world speech is approximated on the
benchmark corpus's test split, whose speakers' voices (espeak variant, pitch, rate) are not in
training. Each test sequence is animated in its own reference style (another sentence of the
speaker, as in ``ptalker evaluate``) from its audio changed in one way at a time:

- clean; quiet (-24 dB) and loud (+6 dB, clipped at full scale);
- telephone band (a round trip through 8 kHz); a 44.1 kHz file (resampled to 16 kHz on loading,
  as ``ptalker animate`` does);
- background noise at 20 and 5 dB SNR; a reverberant room (0.5 s decay); everything at once;
- spoken 12% faster and 12% slower (audio resampled, so the pitch moves too; the ground truth
  motion is time-warped alike).

Printed and written to OUT/robustness.json: pooled LVE (field definition, m^2) per condition,
its ratio to clean, and the static template's LVE for scale.
"""

from __future__ import annotations

import json
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile
from common import ROOT, argument_parser, set_threads
from scipy.signal import resample_poly

from ptalker.audio.augment import AugmentConfig, augment
from ptalker.audio.io import load_audio
from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.splits import get_dataset_spec
from ptalker.evaluation.evaluate import choose_style
from ptalker.fileio import save_json
from ptalker.metrics.vertex_errors import lip_max_sq_distance
from ptalker.pipelines.animator import load_model

OFF = dict(gain_db=[0.0, 0.0], resample_p=0.0, room_p=0.0, tilt_p=0.0, noise_p=0.0)
CONDITIONS = {
    "clean": AugmentConfig(**OFF),
    "quiet_-24dB": AugmentConfig(**{**OFF, "gain_db": [-24.0, -24.0]}),
    "loud_+6dB_clipped": AugmentConfig(**{**OFF, "gain_db": [6.0, 6.0]}),
    "telephone_8kHz": AugmentConfig(**{**OFF, "resample_p": 1.0, "resample_hz": [8000]}),
    "noise_20dB": AugmentConfig(**{**OFF, "noise_p": 1.0, "snr_db": [20.0, 20.0]}),
    "noise_5dB": AugmentConfig(**{**OFF, "noise_p": 1.0, "snr_db": [5.0, 5.0]}),
    "room_0.5s": AugmentConfig(**{**OFF, "room_p": 1.0, "room_decay_s": [0.5, 0.5]}),
    "all_at_once": AugmentConfig(gain_db=[-12.0, -12.0], resample_p=1.0, resample_hz=[8000], room_p=1.0,
                                 room_decay_s=[0.3, 0.3], tilt_p=1.0, noise_p=1.0, snr_db=[10.0, 10.0]),
}
SPEEDS = {"faster_1.12x": 1.12, "slower_0.88x": 0.88}


def file_at_44k(audio: np.ndarray) -> np.ndarray:
    """``audio`` written as a 44.1 kHz WAV and read back as ``ptalker animate`` reads files."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "speech.wav"
        soundfile.write(path, resample_poly(audio, 441, 160), 44100, subtype="PCM_16")
        return load_audio(path)


def change_speed(audio: np.ndarray, vertices: np.ndarray, speed: float) -> tuple[np.ndarray, np.ndarray]:
    """Audio played ``speed`` times faster (resampled) and the motion (T, V, 3) time-warped alike."""
    ratio = Fraction(speed).limit_denominator(100)
    fast = resample_poly(audio, ratio.denominator, ratio.numerator).astype(np.float32)
    frames = max(1, int(round(len(vertices) / speed)))
    source = np.linspace(0.0, len(vertices) - 1, frames)  # where each new frame falls in the old clip
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, len(vertices) - 1)
    weight = (source - low)[:, None, None]
    return fast, ((1 - weight) * vertices[low] + weight * vertices[high]).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=ROOT / "data/synth_benchmark")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs/bench_robustness")
    args = parser.parse_args(argv)
    set_threads()
    animator = load_model(args.checkpoint)
    lips = animator.topology.masks.lips
    dataset = TalkingHeadDataset(args.data, get_dataset_spec("custom", args.data / "dataset.yaml"), "test")
    errors: dict[str, list[np.ndarray]] = {name: [] for name in [*CONDITIONS, "file_44.1kHz", *SPEEDS, "template"]}
    for index in range(len(dataset)):
        item = dataset[index]
        audio, truth, template = item.audio.numpy(), item.vertices.numpy(), item.template.numpy()
        style = choose_style(dataset, index, "reference")

        def error(speech: np.ndarray, gt: np.ndarray) -> np.ndarray:
            pred = animator.animate(speech, style, template=template).vertices[:len(gt)]
            return lip_max_sq_distance(pred, gt[:len(pred)], lips)

        rng = np.random.default_rng(index)
        for name, config in CONDITIONS.items():
            errors[name].append(error(augment(audio, rng, config), truth))
        errors["file_44.1kHz"].append(error(file_at_44k(audio), truth))
        for name, speed in SPEEDS.items():
            errors[name].append(error(*change_speed(audio, truth, speed)))
        errors["template"].append(lip_max_sq_distance(np.broadcast_to(template, truth.shape), truth, lips))
    lve = {name: float(np.concatenate(values).mean()) for name, values in errors.items()}
    result = {"sequences": len(dataset), "lve": lve,
              "ratio_to_clean": {name: value / lve["clean"] for name, value in lve.items()}}
    save_json(args.out / "robustness.json", result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
