"""``ptalker evaluate``: predict a split with a checkpoint and score it as the field does.

Every sequence of the split is animated from its own audio on its subject's template, in one of
these styles (``style``):

- ``reference`` (default): the style of a reference clip, another sentence of the same subject
  (the next one of the split, cyclically): the personalization protocol;
- ``identity``: the checkpoint's identity style of the subject (training subjects only), or of
  the training speaker ``speaker`` for every sequence (unseen subjects: the FaceFormer protocol
  conditions on each training speaker in turn and averages the scores);
- ``other``: the reference clip of a different subject of the split (is one's own style doing
  anything? its LVE should be worse);
- ``neutral``: the neutral style.

Predictions are written to ``OUT/pred/<stem>.npy`` and scored by :func:`ptalker.evaluation.score.score_folder`
(LVE, FDD, MVE per sequence and pooled, with the protocol), saved as ``OUT/scores.json``. With
``plots``, ``OUT/plots/lve.png`` shows the per-sequence LVE and ``OUT/plots/lips/<stem>.png`` each
sequence's lip opening against the ground truth (over its phoneme timeline when the data set has
``align/<stem>.json``; only for meshes whose masks pair the lip vertices, as the stand-in's do).

A checkpoint with a phonetic channel reads (``phones``): ``transcript`` (default) the phones of
the sequence's text force-aligned (the text of ``align/<stem>.json``; recognition where there is
none), ``timeline`` the data set's own phone timeline (``align/<stem>.json``'s phonemes, as the
synthetic corpus has them), ``recognized`` recognized phones, ``none`` the audio alone.

A flow checkpoint predicts with its generative sampler (``sampler``, ``settings``: see
:meth:`ptalker.pipelines.animator.Animator.animate`) unless ``sampler='decoder'``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ptalker.audio.timeline import Speech
from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.layout import load_vertex_sequence, vertices_path
from ptalker.data.sampling import other_clip
from ptalker.data.splits import get_dataset_spec
from ptalker.errors import PtalkerError
from ptalker.evaluation import PHONES, STYLES
from ptalker.evaluation.score import ScoreReport, score_folder
from ptalker.fileio import atomic_directory, save_json, save_npy
from ptalker.pipelines.animator import Style, load_model
from ptalker.pipelines.flow_sampling import SamplerSettings


@dataclass
class Evaluation:
    """The scores and where the predictions are."""

    report: ScoreReport
    pred_dir: Path
    style: str
    plots: list[Path] = field(default_factory=list)


def evaluate(checkpoint: str | os.PathLike | None, data: str | os.PathLike, out: str | os.PathLike,
             split: str = "test", style: str = "reference", config: str | os.PathLike | None = None,
             plots: bool = False, speaker: str | None = None, phones: str = "transcript",
             sampler: str | None = None, settings: SamplerSettings | None = None,
             encoder: str = "float") -> Evaluation:
    """Predict ``split`` of the data set in ``data`` and score it (see module docstring).
    ``phones`` (one of PHONES) says what a checkpoint with a phonetic channel reads; ``sampler``
    and ``settings`` choose a flow checkpoint's sampler and its knobs; ``encoder`` the speech
    encoder's path (``load_model``'s: 'float', 'int8', 'onnx', 'onnx-int8'), so a cheaper path is
    scored by the same code as the float one."""
    if style not in STYLES:
        raise PtalkerError(f"--style {style}: choose one of {', '.join(STYLES)}")
    if phones not in PHONES:
        raise PtalkerError(f"--phones {phones}: choose one of {', '.join(PHONES)}")
    if speaker is not None and style != "identity":
        raise PtalkerError(f"--speaker {speaker}: only with --style identity (it names the identity to use)")
    data, out = Path(data), Path(out)
    config = config or data / "dataset.yaml"
    dataset = TalkingHeadDataset(data, get_dataset_spec("custom", config), split)
    if len(dataset) == 0:
        raise PtalkerError(f"{data}: split '{split}' has no sequences")
    animator = load_model(checkpoint, phones=phones != "none", encoder=encoder)
    with atomic_directory(out / "pred") as pred_dir:  # replaced whole: no stale predictions are scored
        for index in range(len(dataset)):
            _predict(animator, dataset, index, style, pred_dir, speaker, phones, sampler, settings)
    report = score_folder(out / "pred", data, dataset="custom", split=split, config=config)
    report.save_json(out / "scores.json")
    save_json(out / "evaluation.json", {"checkpoint": str(checkpoint or "default"), "data": str(data),
                                        "split": split, "style": style, "speaker": speaker,
                                        "phones": phones if animator.uses_phones or phones == "none" else "none",
                                        "sampler": sampler or animator.sampler, "encoder": encoder,
                                        "settings": None if settings is None else dataclasses.asdict(settings)})
    evaluation = Evaluation(report, out / "pred", style)
    if plots:
        evaluation.plots = _plot(evaluation, dataset, animator.topology, animator.fps, out / "plots")
    return evaluation


def _plot(evaluation: Evaluation, dataset: TalkingHeadDataset, topology, fps: float, out: Path) -> list[Path]:
    """The LVE bars, and a lip-opening plot per sequence when the mesh's masks pair the lips."""
    from ptalker.audio.timeline import read_timeline
    from ptalker.mesh.face_sets import FaceSets
    from ptalker.plots import phoneme_spans, plot_lip_opening, plot_lve_bars, word_spans

    written = [plot_lve_bars(evaluation.report.to_dict(), out / "lve.png",
                             title=f"LVE per sequence ({evaluation.style} style)")]
    try:
        sets = FaceSets.from_masks(topology.masks.all, topology.masks.source)
    except PtalkerError:
        return written  # no paired lip vertices: the lip opening is not defined on this mesh
    for name in dataset.sequences:
        align = dataset.root / "align" / f"{name.stem}.json"
        speech = read_timeline(align) if align.is_file() else None
        written.append(plot_lip_opening(
            np.load(evaluation.pred_dir / f"{name.stem}.npy"), out / "lips" / f"{name.stem}.png", sets, fps,
            truth=load_vertex_sequence(vertices_path(dataset.root, name)),
            template=dataset.templates[name.subject], title=name.stem,
            phonemes=None if speech is None else phoneme_spans(speech),
            words=None if speech is None else word_spans(speech)))
    return written


def choose_style(dataset: TalkingHeadDataset, index: int, style: str, speaker: str | None = None) -> Style | None:
    """The :class:`Style` that ``style`` (one of STYLES) names for sequence ``index`` of ``dataset``
    (``speaker``: the identity to use with 'identity' instead of the sequence's subject)."""
    item_subject = dataset.sequences[index].subject
    if style in ("reference", "other"):
        subjects = [name.subject for name in dataset.sequences]
        ref_index = other_clip(subjects, index, same_subject=style == "reference")
        if ref_index is None:
            raise PtalkerError(f"split has no {'other clip of' if style == 'reference' else 'subject other than'} "
                               f"'{item_subject}' to take a reference style from; use --style identity or neutral")
        ref = dataset[ref_index]
        return Style(reference_audio=ref.audio.numpy(), reference_motion=ref.vertices.numpy(),
                     reference_template=ref.template.numpy())
    if style == "identity":
        return Style(speaker=speaker or item_subject)
    return None


def _phone_input(dataset: TalkingHeadDataset, stem: str, phones: str) -> dict:
    """The ``text`` or ``timeline`` keyword of :meth:`Animator.animate` that ``phones`` asks for
    sequence ``stem`` (from ROOT/align/<stem>.json when the data set has it; else none: recognition)."""
    path = dataset.root / "align" / f"{stem}.json"
    data = json.loads(path.read_text()) if path.is_file() and phones in ("transcript", "timeline") else {}
    if phones == "timeline" and data.get("phonemes"):
        return {"timeline": Speech.from_json(data)}
    return {"text": data["text"]} if phones == "transcript" and data.get("text") else {}


def _predict(animator, dataset: TalkingHeadDataset, index: int, style: str, pred_dir: Path,
             speaker: str | None, phones: str, sampler: str | None, settings: SamplerSettings | None) -> None:
    """Animate sequence ``index`` in ``style`` and write ``pred_dir/<stem>.npy`` (``phones``: what
    a phonetic channel reads, one of PHONES)."""
    item = dataset[index]
    inputs = _phone_input(dataset, item.name.stem, phones) if animator.uses_phones else {}
    result = animator.animate(item.audio.numpy(), choose_style(dataset, index, style, speaker),
                              template=item.template.numpy(), sampler=sampler, settings=settings, **inputs)
    save_npy(pred_dir / f"{item.name.stem}.npy", result.vertices)
