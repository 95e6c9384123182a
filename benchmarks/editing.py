"""Editing with the shipped flow sampler (ptalker.edit): seams of infilled spans, re-dubbing on
synthetic and real speech, per-region balance, and the mouth's identity.

    python benchmarks/editing.py [--data data/synth_benchmark] [--real data/realspeech]

On the synthetic corpus's test split (unseen speakers; each sequence's true neutral mesh):

1. Infill seams: every second test sequence, spans 0.6-1.6 s and 1.0-2.0 s regenerated
   (ptalker.edit.infill). The seam ratio (ptalker/metrics/seams.py: the largest lip jerk of the
   windows at a border over the median jerk inside the span, the larger of the two borders) of
   the edited sequence, and of the untouched sequence at the same borders (speech's own jerk).
2. Re-dub: each test sequence re-dubbed with the speech of the next sentence of the same
   speaker, in its own style (``source_audio``); the lip error against that sentence's true
   motion, against copying the source (retimed the same way) and against animating the
   sentence from scratch in the same style (the flow sampler with the source as its reference
   clip). LVE is the field's (mean over frames of the largest squared lip-vertex distance) in mm^2.
3. Mouth identity (ptalker/metrics/mouth_identity.py, FLAME's 68 landmarks): |median over
   frames - neutral| of mouth width and upper/lower lip thickness, in mm, for the truth, the
   re-dubbed and the from-scratch sequences.
4. Region balance: upper-face style 0 against the null-style run (upper-face vertices) and the
   mouth against the plain run; the lip-gap / speech-envelope correlation (best lag within
   0.1 s) for mouth audio weights 0.5, 1, 1.5, 2.

On real recordings (--real, ptalker data realspeech): each recording re-dubs a synthetic test
sequence (stretched to its length), and is animated from scratch in the same style; both are
scored by ptalker's sync score against the recording's aligned phones: /p b m/ closure and the
envelope correlation. The region-balance correlation is measured there too.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
from common import ROOT, argument_parser, markdown_table, pooled_sync, save_results, set_threads

from ptalker.audio.io import load_audio
from ptalker.audio.timeline import read_timeline
from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.realspeech import load_realspeech
from ptalker.data.splits import get_dataset_spec
from ptalker.edit import infill, redub
from ptalker.evaluation.sync import sync_score
from ptalker.flame.landmarks import head_landmarks
from ptalker.flame.masks import head_face_sets
from ptalker.metrics.face_measures import envelope_correlations, lip_gap
from ptalker.metrics.mouth_identity import mouth_identity_error
from ptalker.metrics.seams import seam_jerk_ratio
from ptalker.metrics.vertex_errors import lip_vertex_error
from ptalker.pipelines.animator import FLOW_CHECKPOINT, Style, load_model
from ptalker.pipelines.editing import retime_positions

SPANS_S = ((0.6, 1.6), (1.0, 2.0))
AUDIO_WEIGHTS = (0.5, 1.0, 1.5, 2.0)
BALANCE_SEQUENCES = 10
SYNC_LAG_S = 0.1
MM2 = 1e6


def _percentiles(values: list[float]) -> dict[str, float]:
    array = np.asarray(values)
    return {"median": float(np.median(array)), "p90": float(np.percentile(array, 90)),
            "max": float(array.max()), "share_at_most_2": float((array <= 2.0).mean()), "count": int(array.size)}


def seams(model, dataset, lips) -> tuple[dict, str]:
    edited, original = [], []
    for index in range(0, len(dataset), 2):
        item = dataset[index]
        vertices = item.vertices.numpy()
        for span in SPANS_S:
            out = infill(vertices, item.audio.numpy(), span, template=item.template.numpy(), model=model).vertices
            start, stop = (int(round(s * model.fps)) for s in span)
            edited.append(seam_jerk_ratio(out[:, lips], start, stop))
            original.append(seam_jerk_ratio(vertices[:, lips], start, stop))
    result = {"edited": _percentiles(edited), "original": _percentiles(original)}
    rows = [[name, f"{r['median']:.2f}", f"{r['p90']:.2f}", f"{r['max']:.2f}", f"{100 * r['share_at_most_2']:.0f}%"]
            for name, r in (("infilled (ptalker.edit.infill)", result["edited"]),
                            ("untouched sequence, same borders", result["original"]))]
    table = markdown_table([f"seam ratio over {len(edited)} spans", "median", "p90", "max", "<= 2x"], rows)
    return result, table


def _pairs(dataset) -> list[tuple[int, int]]:
    """(source, target) indices: each test sequence and the next one of the same speaker."""
    by_speaker: dict[str, list[int]] = {}
    for index, name in enumerate(dataset.sequences):
        by_speaker.setdefault(name.subject, []).append(index)
    return [(ids[i], ids[(i + 1) % len(ids)]) for ids in by_speaker.values() for i in range(len(ids)) if len(ids) > 1]


def redubbing(model, dataset, lips) -> tuple[dict, str]:
    errors = {"redub": [], "copy source": [], "from scratch": []}
    identity = {"truth": [], "redub": [], "from scratch": []}
    for source_index, target_index in _pairs(dataset):
        source, target = dataset[source_index], dataset[target_index]
        template, truth = source.template.numpy(), target.vertices.numpy()
        out = redub(source.vertices.numpy(), target.audio.numpy(), source_audio=source.audio.numpy(),
                    template=template, model=model).vertices
        style = Style(reference_audio=source.audio.numpy(), reference_motion=source.vertices.numpy(),
                      reference_template=template)
        scratch = model.animate(target.audio.numpy(), style, template).vertices
        frames = min(len(out), len(truth), len(scratch))
        copied = source.vertices.numpy()[retime_positions(len(source.vertices), len(out), "stretch").round().astype(int)]
        for name, sequence in (("redub", out), ("copy source", copied), ("from scratch", scratch)):
            errors[name].append(MM2 * lip_vertex_error([sequence[:frames]], [truth[:frames]], lips))
        neutral = head_landmarks(template[None])[0]
        for name, sequence in (("truth", truth), ("redub", out), ("from scratch", scratch)):
            identity[name].append(mouth_identity_error(head_landmarks(sequence), neutral))
    result = {"lve_mm2": {k: float(np.mean(v)) for k, v in errors.items()},
              "mouth_identity_mm": {k: float(np.mean(v)) for k, v in identity.items()}, "pairs": len(errors["redub"])}
    rows = [[name, f"{result['lve_mm2'][name]:.3f}", f"{result['mouth_identity_mm'].get(name, float('nan')):.3f}"]
            for name in errors] + [["truth", "0", f"{result['mouth_identity_mm']['truth']:.3f}"]]
    table = markdown_table([f"re-dub, {result['pairs']} same-speaker sentence pairs", "LVE vs the new sentence (mm^2)",
                            "mouth identity error (mm)"], rows)
    return result, table


def _sync(audio: np.ndarray, vertices: np.ndarray, template: np.ndarray, sets, fps: float) -> float:
    _, corr = envelope_correlations(audio, 16000, lip_gap(vertices, sets, template), fps, SYNC_LAG_S)
    return float(np.nanmax(corr))


def balance(model, clips: list[tuple[np.ndarray, Style | None, np.ndarray]], sets) -> dict:
    """Upper-face style 0 and mouth audio weights over ``clips`` (audio, style, template)."""
    blend = model.region_blend
    mouth, upper = blend[0] == 1, blend[1] == 1
    upper_diff, mouth_diff, corr = [], [], {w: [] for w in AUDIO_WEIGHTS}
    for audio, style, template in clips:
        plain = model.animate(audio, style, template).vertices
        null = model.animate(audio, None, template).vertices
        calm = model.animate(audio, style, template, region_weights={"upper": {"style": 0.0}}).vertices
        upper_diff.append(float(np.abs(calm[:, upper] - null[:, upper]).max()))
        mouth_diff.append(float(np.abs(calm[:, mouth] - plain[:, mouth]).max()))
        for weight in AUDIO_WEIGHTS:
            vertices = model.animate(audio, style, template, region_weights={"mouth": {"audio": weight}}).vertices
            corr[weight].append(_sync(audio, vertices, template, sets, model.fps))
    return {"upper_vs_null_max_m": max(upper_diff), "mouth_vs_plain_max_m": max(mouth_diff),
            "envelope_correlation": {str(w): float(np.mean(v)) for w, v in corr.items()}, "clips": len(clips)}


def real_speech(model, dataset, data: Path, sets) -> tuple[dict, list]:
    scores = {"redub": [], "from scratch": []}
    clips = []
    entries = load_realspeech(data)
    for number, entry in enumerate(entries):
        source = dataset[number % len(dataset)]
        audio = load_audio(data / "wav" / f"{entry.id}.wav")
        timeline = read_timeline(data / "align" / f"{entry.id}.json")
        template = source.template.numpy()
        style = Style(reference_audio=source.audio.numpy(), reference_motion=source.vertices.numpy(),
                      reference_template=template)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = redub(source.vertices.numpy(), audio, source_audio=source.audio.numpy(), template=template,
                        text=entry.text, model=model).vertices
            scratch = model.animate(audio, style, template, text=entry.text).vertices
        for name, vertices in (("redub", out), ("from scratch", scratch)):
            scores[name].append(sync_score(vertices, model.fps, audio, timeline, sets, template, "transcript"))
        if number < BALANCE_SEQUENCES:
            clips.append((audio, style, template))

    return {name: pooled_sync(values) for name, values in scores.items()} | {"recordings": len(entries)}, clips


def main() -> None:
    parser = argument_parser(__doc__, results=True)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "synth_benchmark", help="synthetic corpus root")
    parser.add_argument("--real", type=Path, default=ROOT / "data" / "realspeech", help="prepared real-speech set")
    args = parser.parse_args()
    set_threads()
    start = time.perf_counter()
    model = load_model(FLOW_CHECKPOINT)
    dataset = TalkingHeadDataset(args.data, get_dataset_spec("custom", args.data / "dataset.yaml"), "test")
    lips, sets = model.topology.masks.lips, head_face_sets()
    results, parts = {}, []
    results["seams"], table = seams(model, dataset, lips)
    parts.append(table)
    results["redub"], table = redubbing(model, dataset, lips)
    parts.append(table)
    synthetic_clips = [(item.audio.numpy(), Style(reference_audio=item.audio.numpy(),
                                                  reference_motion=item.vertices.numpy(),
                                                  reference_template=item.template.numpy()), item.template.numpy())
                       for item in (dataset[i] for i in range(0, len(dataset), len(dataset) // BALANCE_SEQUENCES))]
    results["balance_synthetic"] = balance(model, synthetic_clips, sets)
    real_clips = []
    if (args.real / "realspeech.json").is_file():
        results["real_speech"], real_clips = real_speech(model, dataset, args.real, sets)
        results["balance_real"] = balance(model, real_clips, sets)
        real = results["real_speech"]
        parts.append(markdown_table(
            [f"real recordings ({real['recordings']}, {real['redub']['bilabials']} /p b m/)", "/p b m/ closed",
             "envelope correlation"],
            [[name, f"{100 * real[name]['bilabial_closure']:.0f}%", f"{real[name]['envelope_correlation']:.3f}"]
             for name in ("redub", "from scratch")]))
    rows = []
    for name in ("balance_synthetic", "balance_real"):
        if name in results:
            r = results[name]
            rows.append([f"{name.split('_')[1]} ({r['clips']} clips)", f"{r['upper_vs_null_max_m']:.1e}",
                         f"{r['mouth_vs_plain_max_m']:.1e}",
                         *(f"{r['envelope_correlation'][str(w)]:.3f}" for w in AUDIO_WEIGHTS)])
    parts.append(markdown_table(["region balance", "upper style 0 vs null (m, max)", "mouth vs plain (m, max)",
                                 *(f"corr, mouth audio {w:g}" for w in AUDIO_WEIGHTS)], rows))
    results["seconds"] = time.perf_counter() - start
    markdown = "\n\n".join(parts) + f"\n\n({results['seconds']:.0f} s on this machine)\n"
    print(markdown)
    save_results(args.results, "editing", results, markdown)


if __name__ == "__main__":
    main()
