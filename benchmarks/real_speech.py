"""Lip sync on real human speech: one table over the real-speech set (ptalker data realspeech).

Every system animates every recording of the set (neutral style, the stand-in head); each
sequence is scored by ptalker's sync score (ptalker/evaluation/sync.py) against the recording's
forced-aligned phones (its known transcript), the best phone times we have. Systems that take
phones run with the transcript (forced alignment), without it (phone recognition) and, for
checkpoints with a phonetic channel, on the audio alone.
Rows pool the set: closure and contact rates over all /p b m/ and /f v/, the other columns
the mean over recordings.

    python benchmarks/real_speech.py --data data/realspeech [--checkpoint NAME=PATH ...]
        [--synthetic data/synth_benchmark]

With ``--synthetic``, the corpus motion's own jerk ratio (the unit of the jitter column), and a
second table: every checkpoint on the synthetic corpus's test split
(reference-clip style, as benchmarks/quality.py): LVE and the share of /p b m/ sealed (gap < 1 mm),
for a phonetic channel with the corpus's own phone timelines, its texts aligned by pocketsphinx,
recognized phones and the audio alone.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
from common import ROOT, argument_parser, markdown_table, save_results, set_threads
from corpus_measures import seal_rate

from ptalker.audio.io import load_audio
from ptalker.audio.phones import recognize_phones
from ptalker.audio.timeline import read_timeline
from ptalker.data.layout import TEMPLATES_FILE, list_sequences, load_templates, load_vertex_sequence, vertices_path
from ptalker.data.realspeech import load_realspeech
from ptalker.evaluation.evaluate import evaluate
from ptalker.evaluation.sync import CORPUS_JERK_RATIO, SyncScore, sync_score
from ptalker.flame.flame_model import head_topology
from ptalker.flame.masks import head_face_sets
from ptalker.metrics.face_measures import style_statistics
from ptalker.pipelines.animator import DEFAULT_CHECKPOINT, load_model
from ptalker.pipelines.rules import RuleAnimator

FACEFORMER = ROOT / "benchmarks" / "checkpoints" / "faceformer_standin.pt"
AUDIO_ONLY = ROOT / "benchmarks" / "checkpoints" / "ptalker_audio_only.pt"
"""The default checkpoint before the phonetic channel (configs/train/standin_default.yaml)."""


def _systems(extra: list[str], only_extra: bool = False):
    """{name: animate(text, waveform, aligned timeline, recognized timeline) -> (T, V, 3)}: the
    rule-based animator and the built-in checkpoints (unless ``only_extra``), and ``extra``."""
    systems, checkpoints = {}, {}
    if not only_extra:
        rules = RuleAnimator()
        systems = {"rule-based, transcript": lambda text, audio, aligned, recognized:
                   rules.animate_speech(aligned).vertices,
                   "rule-based, recognized phones": lambda text, audio, aligned, recognized:
                   rules.animate_speech(recognized).vertices}
        checkpoints = {"ptalker (shipped)": DEFAULT_CHECKPOINT, "ptalker audio-only (previous)": AUDIO_ONLY,
                       "FaceFormer baseline": FACEFORMER}
    checkpoints.update(dict(item.split("=", 1) for item in extra))
    for name, path in checkpoints.items():
        model, audio_only = load_model(path), load_model(path, phones=False)
        if model.uses_phones:
            systems[f"{name}, transcript"] = lambda text, audio, *_, m=model: m.animate(audio, text=text).vertices
            systems[f"{name}, recognized phones"] = lambda text, audio, *_, m=model: m.animate(audio).vertices
            systems[f"{name}, audio only"] = lambda text, audio, *_, m=audio_only: m.animate(audio).vertices
        else:
            systems[name] = lambda text, audio, *_, m=model: m.animate(audio).vertices
    return systems


def _pool(scores: list[SyncScore]) -> dict[str, float]:
    def rate(field: str, count: str) -> float:
        counts = np.array([getattr(s, count) for s in scores])
        values = np.array([getattr(s, field) if getattr(s, count) else 0.0 for s in scores])
        return float((values * counts).sum() / max(counts.sum(), 1))

    def mean(field: str) -> float:
        return float(np.nanmean([getattr(s, field) for s in scores]))

    return {"bilabials": int(sum(s.bilabials for s in scores)), "bilabial_closure": rate("bilabial_closure", "bilabials"),
            "bilabial_chance": rate("bilabial_chance", "bilabials"),
            "labiodental_contact": rate("labiodental_contact", "labiodentals"),
            "open_vowel_gap_mm": mean("open_vowel_gap_mm"), "bilabial_gap_mm": mean("bilabial_gap_mm"),
            "envelope_correlation": mean("envelope_correlation"), "jitter": mean("jitter")}


def synthetic_rows(checkpoints: dict[str, Path], data: Path, out: Path) -> tuple[dict, str]:
    """LVE and seal rate of each checkpoint on ``data``'s test split, per phone input."""
    sets, results, rows = head_face_sets(), {}, []
    for name, path in checkpoints.items():
        inputs = ("timeline", "transcript", "recognized", "none") if load_model(path).uses_phones else ("none",)
        for phones in inputs:
            label = name if len(inputs) == 1 else f"{name}, {phones if phones != 'none' else 'audio only'}"
            run = evaluate(path, data, out / f"{name}_{phones}".replace(" ", "_"), phones=phones)
            lve = run.report.lve
            results[label] = {"lve": lve, "lips_sealed": seal_rate(run.pred_dir, data, sets)}
            rows.append([label, f"{lve:.3e}", f"{100 * results[label]['lips_sealed']:.1f}%"])
    return results, markdown_table(["checkpoint (synthetic test split)", "LVE (m^2)", "/p b m/ sealed"], rows)


def corpus_jerk(data: Path) -> str:
    """The lips' jerk ratio of every 10th sequence of the corpus's motion: what CORPUS_JERK_RATIO,
    the jitter column's unit, was set from."""
    templates, sets = load_templates(data / TEMPLATES_FILE), head_face_sets()
    ratios = [style_statistics(load_vertex_sequence(vertices_path(data, name)), templates[name.subject], sets,
                               30.0).jerk_ratio for name in list_sequences(data)[::10]]
    low, median, high = np.percentile(ratios, [5, 50, 95])
    return (f"corpus motion jerk ratio over {len(ratios)} sequences: median {median:.2f} (5-95%: {low:.2f}-{high:.2f}); "
            f"the jitter column divides by CORPUS_JERK_RATIO = {CORPUS_JERK_RATIO}")


def main() -> None:
    parser = argument_parser(__doc__, results=True)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "realspeech", help="prepared real-speech set")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="NAME=PATH",
                        help="another checkpoint to put in the table")
    parser.add_argument("--synthetic", type=Path, default=None, help="synthetic corpus root for the second table")
    parser.add_argument("--only", action="store_true",
                        help="only the --checkpoint systems (results in real_speech_only.md/.json)")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "bench_real_speech",
                        help="predictions of the synthetic table")
    args = parser.parse_args()
    set_threads()
    entries = load_realspeech(args.data)
    sets = head_face_sets()
    systems = _systems(args.checkpoint, args.only)
    template = head_topology().template
    clips = []
    for entry in entries:
        audio = load_audio(args.data / "wav" / f"{entry.id}.wav")
        clips.append((entry, audio, read_timeline(args.data / "align" / f"{entry.id}.json"), recognize_phones(audio)))
    results, rows = {}, []
    for name, animate in systems.items():
        start = time.perf_counter()
        scores = []
        for entry, audio, aligned, recognized in clips:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                vertices = animate(entry.text, audio, aligned, recognized)
            scores.append(sync_score(vertices, 30.0, audio, aligned, sets, template, "transcript"))
        pooled = _pool(scores)
        pooled["seconds"] = time.perf_counter() - start
        results[name] = {"pooled": pooled, "per_utterance": {c[0].id: s.to_dict() for c, s in zip(clips, scores)}}
        rows.append([name, f"{100 * pooled['bilabial_closure']:.0f}%", f"{100 * pooled['bilabial_chance']:.0f}%",
                     f"{100 * pooled['labiodental_contact']:.0f}%", f"{pooled['open_vowel_gap_mm']:.1f}",
                     f"{pooled['bilabial_gap_mm']:.1f}", f"{pooled['envelope_correlation']:.2f}",
                     f"{pooled['jitter']:.2f}"])
        print(f"{name}: {pooled['seconds']:.1f} s", flush=True)
    speakers = {e.speaker for e in entries}
    table = markdown_table(["system", "closure /p b m/", "chance", "contact /f v/", "open vowel gap mm",
                            "bilabial gap mm", "envelope corr", "jitter / corpus"], rows)
    seconds = sum(e.seconds for e in entries)
    note = (f"{len(entries)} recordings, {seconds:.0f} s, {len(speakers)} speakers "
            f"({sum(e.sex == 'female' for e in entries)} recordings female), "
            f"{results[next(iter(results))]['pooled']['bilabials']} bilabials; scored against forced-aligned phones")
    print(table)
    print(note)
    markdown, data = table + "\n\n" + note + "\n", {"note": note, "systems": results}
    if args.synthetic is not None:
        checkpoints = {"ptalker (shipped)": DEFAULT_CHECKPOINT, "ptalker audio-only (previous)": AUDIO_ONLY,
                       **dict(item.split("=", 1) for item in args.checkpoint)}
        data["synthetic"], synthetic_table = synthetic_rows({k: Path(v) for k, v in checkpoints.items()},
                                                            args.synthetic, args.out)
        jerk = corpus_jerk(args.synthetic)
        print(synthetic_table)
        print(jerk)
        markdown += "\n" + synthetic_table + "\n\n" + jerk + "\n"
    save_results(args.results, "real_speech_only" if args.only else "real_speech", data, markdown)


if __name__ == "__main__":
    main()
