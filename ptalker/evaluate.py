"""``ptalker evaluate``: predict a split with a checkpoint and score it as the field does.

Every sequence of the split is animated from its own audio on its subject's template, in one of
these styles (``style``):

- ``reference`` (default): the style of a reference clip, another sentence of the same subject
  (the next one of the split, cyclically): the personalization protocol;
- ``identity``: the checkpoint's identity style of the subject (training subjects only);
- ``other``: the reference clip of a different subject of the split (is one's own style doing
  anything? its LVE should be worse);
- ``neutral``: the neutral style.

Predictions are written to ``OUT/pred/<stem>.npy`` and scored by :func:`ptalker.metrics.score.score_folder`
(LVE, FDD, MVE per sequence and pooled, with the protocol), saved as ``OUT/scores.json``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.sampling import other_clip
from ptalker.data.splits import get_dataset_spec
from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_directory, save_json, save_npy
from ptalker.inference import Style, load_model
from ptalker.metrics.score import ScoreReport, score_folder

STYLES = ("reference", "identity", "other", "neutral")


@dataclass
class Evaluation:
    """The scores and where the predictions are."""

    report: ScoreReport
    pred_dir: Path
    style: str


def evaluate(checkpoint: str | os.PathLike | None, data: str | os.PathLike, out: str | os.PathLike,
             split: str = "test", style: str = "reference", config: str | os.PathLike | None = None) -> Evaluation:
    """Predict ``split`` of the data set in ``data`` and score it (see module docstring)."""
    if style not in STYLES:
        raise PtalkerError(f"--style {style}: choose one of {', '.join(STYLES)}")
    data, out = Path(data), Path(out)
    config = config or data / "dataset.yaml"
    dataset = TalkingHeadDataset(data, get_dataset_spec("custom", config), split)
    if len(dataset) == 0:
        raise PtalkerError(f"{data}: split '{split}' has no sequences")
    animator = load_model(checkpoint)
    with atomic_directory(out / "pred") as pred_dir:  # replaced whole: no stale predictions are scored
        for index in range(len(dataset)):
            _predict(animator, dataset, index, style, pred_dir)
    report = score_folder(out / "pred", data, dataset="custom", split=split, config=config)
    report.save_json(out / "scores.json")
    save_json(out / "evaluation.json", {"checkpoint": str(checkpoint or "default"), "data": str(data),
                                        "split": split, "style": style})
    return Evaluation(report, out / "pred", style)


def choose_style(dataset: TalkingHeadDataset, index: int, style: str) -> Style | None:
    """The :class:`Style` that ``style`` (one of STYLES) names for sequence ``index`` of ``dataset``."""
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
        return Style(speaker=item_subject)
    return None


def _predict(animator, dataset: TalkingHeadDataset, index: int, style: str, pred_dir: Path) -> None:
    """Animate sequence ``index`` in ``style`` and write ``pred_dir/<stem>.npy``."""
    item = dataset[index]
    result = animator.animate(item.audio.numpy(), choose_style(dataset, index, style), template=item.template.numpy())
    save_npy(pred_dir / f"{item.name.stem}.npy", result.vertices)
