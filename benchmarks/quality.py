"""The quality table: PTalker against the FaceFormer baseline and two static baselines.

    python benchmarks/quality.py [--checkpoint CKPT] [--faceformer CKPT] [--data data/synth_benchmark]
    make bench-quality

On the synthetic benchmark corpus's test split (test speakers S11, S12, unseen in training, x
held-out sentences), each row animates every test sequence from its own audio on its speaker's
template, and is scored by ``ptalker.evaluation.evaluate`` (the same code for every model):

- static template: the speaker's neutral face in every frame;
- mean motion: the template plus the mean offset of all training frames (a static face too);
- FaceFormer baseline, trained with the same data, trainer, batches, motion losses and steps
  (configs/train/faceformer_standin.yaml), decoded autoregressively. Test speakers are unseen, so
  as in FaceFormer's protocol each sequence is animated with every training speaker's one-hot
  style in turn and the scores are averaged over those conditions;
- PTalker with identity style: the same protocol with PTalker's identity styles;
- PTalker with reference-clip style: another sentence of the same test speaker (audio + motion).

Columns: LVE (the field's m^2 number and its square root in mm), FDD, MVE (mm), the share of
/p b m/ on which the lips seal (gap < 1 mm) and the style error (the corpus's style statistics of
the predictions against the test speaker's, each scaled by its spread over speakers; 0 is
perfect). Written to RESULTS/quality.md, quality.json and quality.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from common import ROOT, argument_parser, markdown_table, save_results, set_threads
from corpus_measures import seal_rate, style_errors

from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.layout import load_templates, load_vertex_sequence, vertices_path
from ptalker.data.splits import get_dataset_spec
from ptalker.evaluation.evaluate import evaluate
from ptalker.evaluation.score import score_folder
from ptalker.fileio import atomic_directory, save_npy
from ptalker.flame.masks import head_face_sets
from ptalker.mesh.face_sets import FaceSets
from ptalker.pipelines.animator import load_model

FACEFORMER = ROOT / "benchmarks/checkpoints/faceformer_standin.pt"
COLUMNS = {"lve": ("LVE (m²)", "{:.3e}"), "lve_sqrt_mm": ("√LVE (mm)", "{:.2f}"), "fdd": ("FDD (m²)", "{:+.2e}"),
           "mve_mm": ("MVE (mm)", "{:.2f}"), "lips_sealed": ("lips sealed on /p b m/", "{:.1%}"),
           "style_error": ("style error", "{:.2f}")}


def static_predictions(dataset: TalkingHeadDataset, offset: np.ndarray, out: Path) -> Path:
    """Write OUT/pred/<stem>.npy: each test sequence's template + ``offset`` (V, 3) in every frame."""
    with atomic_directory(out / "pred") as pred_dir:
        for name in dataset.sequences:
            frames = len(load_vertex_sequence(vertices_path(dataset.root, name)))
            face = dataset.templates[name.subject] + offset
            save_npy(pred_dir / f"{name.stem}.npy", np.broadcast_to(face, (frames, *face.shape)).astype(np.float32))
    return out / "pred"


def mean_training_offset(data: Path, spec) -> np.ndarray:
    """(V, 3) the mean offset from their templates of all training frames."""
    train = TalkingHeadDataset(data, spec, "train")
    total, frames = 0.0, 0
    for name in train.sequences:
        vertices = load_vertex_sequence(vertices_path(data, name))
        total = total + (vertices - train.templates[name.subject]).sum(axis=0)
        frames += len(vertices)
    return (total / frames).astype(np.float32)


def scores(pred_dirs: list[Path], data: Path, sets: FaceSets) -> dict:
    """The table's columns for one row, averaged over ``pred_dirs`` (one per condition), with the
    spread over conditions."""
    rows = []
    for pred_dir in pred_dirs:
        report = score_folder(pred_dir, data, dataset="custom", split="test", config=data / "dataset.yaml")
        rows.append({"lve": report.lve, "lve_sqrt_mm": report.lve_sqrt_mm, "fdd": report.fdd,
                     "mve_mm": report.mve_mm, "lips_sealed": seal_rate(pred_dir, data, sets)})
    for row, value in zip(rows, style_errors({str(d): d for d in pred_dirs}, data, sets).values()):
        row["style_error"] = value
    mean = {key: float(np.mean([row[key] for row in rows])) for key in COLUMNS}
    if len(rows) > 1:
        mean["range_over_conditions"] = {key: [float(min(r[key] for r in rows)), float(max(r[key] for r in rows))]
                                         for key in COLUMNS}
    mean["conditions"] = len(rows)
    return mean


def identity_rows(checkpoint: Path | None, data: Path, out: Path, speakers: int) -> list[Path]:
    """Prediction folders of ``checkpoint`` conditioned on each of its first ``speakers`` training speakers."""
    names = load_model(checkpoint).speakers[:speakers]
    dirs = []
    for speaker in names:
        print(f"  conditioned on {speaker}", flush=True)
        dirs.append(evaluate(checkpoint, data, out / speaker, style="identity", speaker=speaker).pred_dir)
    return dirs


def markdown(table: dict[str, dict]) -> str:
    rows = [[row, *(fmt.format(values[key]) for key, (_, fmt) in COLUMNS.items())] for row, values in table.items()]
    return markdown_table(["", *(label for label, _ in COLUMNS.values())], rows) + "\n"


def plot(table: dict[str, dict], out_png: Path) -> Path:
    """One panel per column, one bar per row."""
    from ptalker.plots.figure import METHOD_COLOURS, drawing, save_figure

    with drawing(13.0, 3.4) as figure:
        axes = figure.subplots(1, len(COLUMNS))
        names = list(table)
        for ax, (key, (label, _)) in zip(axes, COLUMNS.items()):
            values = [table[name][key] for name in names]
            ax.bar(range(len(names)), values, color=METHOD_COLOURS[:len(names)])
            ax.set_title(label)
            ax.set_xticks(range(len(names)), [str(i + 1) for i in range(len(names))])
            ax.axhline(0.0, color="0.3", linewidth=0.6)
        figure.legend([ax.patches[i] for i in range(len(names))], [f"{i + 1}: {n}" for i, n in enumerate(names)],
                      loc="outside lower center", ncols=len(names), frameon=False)
        figure.suptitle("Synthetic benchmark corpus, test split (unseen speakers S11, S12)")
        return save_figure(figure, out_png)


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__, results=True)
    parser.add_argument("--checkpoint", type=Path, default=None, help="PTalker (default: the shipped one)")
    parser.add_argument("--faceformer", type=Path, default=FACEFORMER, help="the FaceFormer baseline")
    parser.add_argument("--data", type=Path, default=ROOT / "data/synth_benchmark")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs/bench_quality", help="predictions")
    parser.add_argument("--speakers", type=int, default=8, help="training-speaker conditions per identity row")
    args = parser.parse_args(argv)
    set_threads()
    spec = get_dataset_spec("custom", args.data / "dataset.yaml")
    test = TalkingHeadDataset(args.data, spec, "test")
    sets = head_face_sets()
    zero = np.zeros_like(next(iter(load_templates(args.data).values())))
    print("static rows", flush=True)
    table = {"static template": scores([static_predictions(test, zero, args.out / "template")], args.data, sets),
             "mean motion": scores([static_predictions(test, mean_training_offset(args.data, spec),
                                                       args.out / "mean_motion")], args.data, sets)}
    print("FaceFormer baseline", flush=True)
    table["FaceFormer (one-hot style)"] = scores(identity_rows(args.faceformer, args.data, args.out / "faceformer",
                                                               args.speakers), args.data, sets)
    print("PTalker", flush=True)
    table["PTalker, identity style"] = scores(identity_rows(args.checkpoint, args.data, args.out / "ptalker_identity",
                                                            args.speakers), args.data, sets)
    reference = evaluate(args.checkpoint, args.data, args.out / "ptalker_reference", style="reference").pred_dir
    table["PTalker, reference-clip style"] = scores([reference], args.data, sets)
    save_results(args.results, "quality", {"split": "test", "data": str(args.data), "rows": table}, markdown(table))
    plot(table, args.results / "quality.png")
    print(markdown(table))
    print(f"written to {args.results}: quality.md, quality.json, quality.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
