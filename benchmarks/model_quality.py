"""How well a PTalker checkpoint animates the synthetic corpus's test speakers, and how fast.

    python benchmarks/model_quality.py [--checkpoint CKPT] [--data data/synth_benchmark] [--out DIR]

On the test split (test speakers x held-out sentences), each sequence is animated from its own
audio in four ways: the style of a reference clip of the same speaker (another sentence), of a
different test speaker, the neutral style, and the static template (no motion). Printed and
written to OUT/model_quality.json:

- LVE (field definition, m^2) and its square root in mm for each way;
- the same against the ground truth with its head motion removed (Kabsch on scalp and ears), and
  the "head-motion floor": the LVE of that stabilized ground truth itself. The corpus's head sway
  is a random process speech does not predict, so no model gets below about the floor;
- the share of sequences whose own-reference LVE beats the other-speaker LVE, against the
  recorded truth (the target) and against the stabilized truth, overall and per test speaker;
- lips sealed (gap < 1 mm) on /p b m/ with the own reference (ptalker.evaluation.corpus_checks);
- style error: |predicted - ground truth| style statistics per speaker (each statistic scaled by
  its spread over the ground truth's speakers), own reference against neutral;
- decoding time for 5, 10, 30 and 60 s of audio (torch with 2 threads).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from common import ROOT, argument_parser, set_threads
from corpus_measures import seal_rate, style_errors

from ptalker.constants import AUDIO_SAMPLE_RATE_HZ, METRES_TO_MM
from ptalker.data.layout import load_templates, load_vertex_sequence
from ptalker.evaluation.evaluate import evaluate
from ptalker.fileio import save_json
from ptalker.flame.masks import head_face_sets
from ptalker.mesh.face_sets import FaceSets
from ptalker.mesh.stabilize import remove_head_motion
from ptalker.metrics.vertex_errors import lip_max_sq_distance
from ptalker.pipelines.animator import load_model

LENGTHS_S = (5, 10, 30, 60)


def lip_errors(pred_dir: Path, truth: dict[str, np.ndarray], lips: np.ndarray) -> dict[str, np.ndarray]:
    """{stem: (T,) per-frame max squared lip distance} of the predictions in pred_dir against
    ``truth`` {stem: (T, V, 3)}."""
    out = {}
    for path in sorted(pred_dir.glob("*.npy")):
        gt = truth[path.stem]
        pred = np.load(path)[:len(gt)]
        out[path.stem] = lip_max_sq_distance(pred, gt[:len(pred)], lips)
    return out


def ground_truth(data: Path, templates: dict[str, np.ndarray], stems: list[str],
                 sets: FaceSets) -> tuple[dict, dict]:
    """({stem: (T, V, 3) as recorded}, {stem: the same with head motion removed})."""
    recorded = {stem: load_vertex_sequence(data / "vertices_npy" / f"{stem}.npy") for stem in stems}
    still = {stem: remove_head_motion(v, templates[stem.rsplit("_", 1)[0]], sets.rigid).aligned.astype(np.float32)
             for stem, v in recorded.items()}
    return recorded, still


def win_rates(errors: dict[str, dict[str, np.ndarray]]) -> dict[str, float]:
    """Share of sequences whose own-reference LVE beats the other-speaker LVE: 'all' and per speaker."""
    wins = {stem: errors["reference"][stem].mean() < errors["other"][stem].mean() for stem in errors["reference"]}
    speakers = sorted({stem.rsplit("_", 1)[0] for stem in wins})
    return {"all": float(np.mean(list(wins.values()))),
            **{s: float(np.mean([w for stem, w in wins.items() if stem.rsplit("_", 1)[0] == s])) for s in speakers}}


def template_errors(templates: dict[str, np.ndarray], recorded: dict[str, np.ndarray],
                    lips: np.ndarray) -> dict[str, np.ndarray]:
    """The same for the static template (the subject's neutral face in every frame)."""
    return {stem: lip_max_sq_distance(np.broadcast_to(templates[stem.rsplit("_", 1)[0]], gt.shape), gt, lips)
            for stem, gt in recorded.items()}


def decoding_times(animator) -> dict[str, float]:
    rng = np.random.default_rng(0)
    out = {}
    for seconds in LENGTHS_S:
        audio = (0.1 * rng.normal(size=seconds * AUDIO_SAMPLE_RATE_HZ)).astype(np.float32)
        start = time.perf_counter()
        animator.animate(audio)
        out[f"{seconds}s"] = time.perf_counter() - start
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=ROOT / "data/synth_benchmark")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs/bench_model")
    args = parser.parse_args(argv)
    set_threads()
    sets = head_face_sets()
    dirs = {}
    for way in ("reference", "other", "neutral"):
        dirs[way] = evaluate(args.checkpoint, args.data, args.out / way, style=way).pred_dir
    animator = load_model(args.checkpoint)
    lips = animator.topology.masks.lips
    stems = sorted(path.stem for path in dirs["reference"].glob("*.npy"))
    templates = load_templates(args.data)
    recorded, still = ground_truth(args.data, templates, stems, sets)
    errors = {way: lip_errors(folder, recorded, lips) for way, folder in dirs.items()}
    errors["template"] = template_errors(templates, recorded, lips)
    pooled = {way: float(np.concatenate(list(e.values())).mean()) for way, e in errors.items()}  # field LVE
    floor = float(np.concatenate([lip_max_sq_distance(still[s], recorded[s], lips) for s in stems]).mean())
    still_errors = {way: lip_errors(folder, still, lips) for way, folder in dirs.items()}
    stabilized = {way: float(np.concatenate(list(e.values())).mean()) for way, e in still_errors.items()}
    result = {
        "lve": pooled,
        "lve_sqrt_mm": {way: float(np.sqrt(value)) * METRES_TO_MM for way, value in pooled.items()},
        "lve_head_motion_removed": stabilized,
        "head_motion_floor_lve": floor,
        "own_reference_beats_other": win_rates(errors),
        "own_reference_beats_other_head_motion_removed": win_rates(still_errors),
        "lips_sealed_reference": seal_rate(dirs["reference"], args.data, sets),
        "style_error": style_errors({"reference": dirs["reference"], "neutral": dirs["neutral"]}, args.data, sets),
        "decoding_s": decoding_times(animator),
    }
    save_json(args.out / "model_quality.json", result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
