"""A torch Dataset over the standard layout (docs/architecture.md, "Data contracts"), for any mesh topology.

Shape letters: B batch, T frames, S audio samples (16 kHz), V vertices.

Each item pairs ``ROOT/wav/<stem>.wav`` with ``ROOT/vertices_npy/<stem>.npy`` and the subject's
neutral mesh from ``ROOT/templates.pkl``. Files are read when an item is requested, never all
at once. Vertex files are stored at ``spec.fps_on_disk`` (from ``ROOT/layout.json`` when a
converter wrote one) and subsampled to ``spec.fps`` by keeping every ``spec.frame_step``-th frame.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ptalker.audio.io import load_audio
from ptalker.audio.phones import phone_features
from ptalker.data.layout import (
    TEMPLATES_FILE,
    SequenceName,
    list_sequences,
    load_templates,
    load_vertex_sequence,
    subject_template,
    vertices_path,
    wav_path,
)
from ptalker.data.phones import load_phones
from ptalker.data.splits import DatasetSpec, SplitSpec
from ptalker.errors import PtalkerError

NO_STYLE = -1
"""style_index of a subject that is not one of the conditioning (training) subjects."""


@dataclass
class SequenceItem:
    """One sequence of a data set.

    Attributes:
        name: subject and sentence.
        audio: (S,) float32 waveform, mono at 16 kHz.
        vertices: (T, V, 3) float32 meshes at the spec's fps.
        template: (V, 3) float32 neutral mesh of the subject.
        style_index: index of the subject among the style (conditioning) subjects, or -1.
        phones: None, or (2, T, P) float32 phonetic-channel features (:func:`ptalker.audio.phones.phone_features`)
            of the recognized then the aligned phones (recognized again where alignment failed);
            a training clip keeps one of them, (T, P).
    """

    name: SequenceName
    audio: torch.Tensor
    vertices: torch.Tensor
    template: torch.Tensor
    style_index: int = NO_STYLE
    phones: torch.Tensor | None = None


@dataclass
class SequenceBatch:
    """Sequences padded to the longest one; masks are True on real samples / frames.

    Attributes:
        audio: (B, S_max) float32, zero-padded.
        audio_mask: (B, S_max) bool.
        vertices: (B, T_max, V, 3) float32, zero-padded.
        frame_mask: (B, T_max) bool.
        template: (B, V, 3) float32.
        style_index: (B,) int64, -1 for subjects without a style index.
        names: the B sequence names, in batch order.
        phones: (B, T_max, P) float32 phonetic-channel features, zero-padded, or None.
    """

    audio: torch.Tensor
    audio_mask: torch.Tensor
    vertices: torch.Tensor
    frame_mask: torch.Tensor
    template: torch.Tensor
    style_index: torch.Tensor
    names: list[SequenceName]
    phones: torch.Tensor | None = None

    @property
    def num_frames(self) -> torch.Tensor:
        """(B,) int64 frames per sequence."""
        return self.frame_mask.sum(dim=1)

    @property
    def num_samples(self) -> torch.Tensor:
        """(B,) int64 audio samples per sequence."""
        return self.audio_mask.sum(dim=1)

    def to(self, device: torch.device | str) -> "SequenceBatch":
        """This batch with every tensor moved to ``device``."""
        return SequenceBatch(self.audio.to(device), self.audio_mask.to(device),
                             self.vertices.to(device), self.frame_mask.to(device),
                             self.template.to(device), self.style_index.to(device), self.names,
                             None if self.phones is None else self.phones.to(device))


def _split_candidates(root: Path, split: SplitSpec, on_disk: list[SequenceName]) -> list[SequenceName]:
    """Sequences the split asks for: its subject x sentence grid, plus its files on disk."""
    wanted = {SequenceName(s, t) for s in split.subjects for t in split.sentences}
    wanted.update(name for name in on_disk if split.contains(name))
    if (root / "wav").is_dir():
        for path in (root / "wav").glob("*.wav"):
            subject, _, sentence = path.stem.rpartition("_")
            if subject and split.contains(SequenceName(subject, sentence)):
                wanted.add(SequenceName(subject, sentence))
    return sorted(wanted, key=lambda name: name.stem)


def _describe_split(split: SplitSpec) -> str:
    sentences = (f"sentences {split.sentences[0]}..{split.sentences[-1]}" if split.sentences
                 else "every sentence")
    return f"subjects {', '.join(split.subjects)} with {sentences}"


class TalkingHeadDataset(Dataset):
    """Sequences of one split of a data set in the standard layout.

    Sequences the split lists but that lack a vertex or a wav file are skipped (the raw BIWI
    data misses some); :attr:`num_missing` counts them.

    Args:
        root: data set root holding wav/, vertices_npy/ and templates.pkl.
        spec: the data set description (splits, fps, vertex count).
        split: name of the split, e.g. 'train'.
        subjects_for_style: subjects that have a style index, in index order; defaults to
            ``spec.condition_subjects``.

    Raises:
        PtalkerError: unknown split, missing layout folders or templates, a subject without a
            template, a template with the wrong vertex count, or a split with no sequences.
    """

    def __init__(self, root: str | os.PathLike, spec: DatasetSpec, split: str,
                 subjects_for_style: list[str] | None = None, phones: bool = False) -> None:
        self.root = Path(root)
        self.phones = phones
        """Items carry phonetic-channel features from ROOT/phones/ (:mod:`ptalker.data.phones`)."""
        self.spec = spec.for_root(self.root)
        self.split_name = split
        split_spec = self.spec.split(split)
        self.style_subjects = list(self.spec.condition_subjects if subjects_for_style is None
                                   else subjects_for_style)
        candidates = _split_candidates(self.root, split_spec, list_sequences(self.root))
        present = [name for name in candidates
                   if vertices_path(self.root, name).is_file() and wav_path(self.root, name).is_file()]
        present_set = set(present)
        self.missing = [name for name in candidates if name not in present_set]
        if not present:
            raise PtalkerError(
                f"{self.root}: split '{split}' of data set '{self.spec.name}' has no sequences; "
                f"looked for vertices_npy/<SUBJECT>_<SENTENCE>.npy with a wav/ file of the same "
                f"name for {_describe_split(split_spec)}; check the data root or convert the raw "
                "data with `ptalker data vocaset|biwi`"
            )
        self.sequences = present
        self.templates = self._load_templates({name.subject for name in present})

    def _load_templates(self, subjects: set[str]) -> dict[str, np.ndarray]:
        """The (V, 3) templates of ``subjects``, checked against the spec's vertex count."""
        path = self.root / TEMPLATES_FILE
        templates = load_templates(path)
        return {subject: subject_template(templates, subject, self.spec.num_vertices, str(path),
                                          self.spec.name) for subject in sorted(subjects)}

    @property
    def num_missing(self) -> int:
        """How many sequences of the split were skipped because a file is missing."""
        return len(self.missing)

    @property
    def fps(self) -> float:
        """Frame rate of the items' vertex sequences."""
        return self.spec.fps

    def __len__(self) -> int:
        return len(self.sequences)

    def style_index(self, subject: str) -> int:
        """Index of ``subject`` among the style subjects, or -1."""
        return self.style_subjects.index(subject) if subject in self.style_subjects else NO_STYLE

    def __getitem__(self, index: int) -> SequenceItem:
        name = self.sequences[index]
        template = self.templates[name.subject]
        vertices = load_vertex_sequence(vertices_path(self.root, name), template.shape[0])
        vertices = vertices[:: self.spec.frame_step]  # (T_disk, V, 3) -> (T, V, 3)
        audio = load_audio(wav_path(self.root, name))  # (S,)
        return SequenceItem(
            name=name,
            audio=torch.from_numpy(np.ascontiguousarray(audio)),
            vertices=torch.from_numpy(np.ascontiguousarray(vertices)),
            template=torch.from_numpy(np.ascontiguousarray(template)),
            style_index=self.style_index(name.subject),
            phones=self._phone_features(wav_path(self.root, name).stem, len(vertices)) if self.phones else None,
        )

    def _phone_features(self, stem: str, num_frames: int) -> torch.Tensor:
        """(2, T, P): recognized, then aligned (or recognized) phone features of ``stem``."""
        recognized, aligned = load_phones(self.root, stem)
        variants = [phone_features(speech, num_frames, self.fps) for speech in (recognized, aligned or recognized)]
        return torch.from_numpy(np.stack(variants))


def _pad_stack(tensors: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack (L_i, ...) tensors to (B, L_max, ...) zero-padded, with a (B, L_max) bool mask."""
    longest = max(t.shape[0] for t in tensors)
    out = tensors[0].new_zeros((len(tensors), longest, *tensors[0].shape[1:]))
    mask = torch.zeros((len(tensors), longest), dtype=torch.bool)
    for row, tensor in enumerate(tensors):
        out[row, : tensor.shape[0]] = tensor
        mask[row, : tensor.shape[0]] = True
    return out, mask


def collate_sequences(items: list[SequenceItem]) -> SequenceBatch:
    """Pad items to the longest audio and the longest motion of the batch.

    Use as ``DataLoader(dataset, batch_size=B, collate_fn=collate_sequences)``.

    Raises:
        PtalkerError: no items, or items of different vertex counts.
    """
    if not items:
        raise PtalkerError("collate_sequences: got no items; give at least one SequenceItem")
    counts = {item.template.shape[0] for item in items}
    if len(counts) > 1:
        raise PtalkerError(
            f"collate_sequences: items have different vertex counts {sorted(counts)}; "
            "batch sequences of one topology only"
        )
    audio, audio_mask = _pad_stack([item.audio for item in items])  # (B, S_max)
    vertices, frame_mask = _pad_stack([item.vertices for item in items])  # (B, T_max, V, 3)
    with_phones = all(item.phones is not None and item.phones.ndim == 2 for item in items)
    phones = _pad_stack([item.phones for item in items])[0] if with_phones else None  # (B, T_max, P)
    return SequenceBatch(
        audio=audio,
        audio_mask=audio_mask,
        vertices=vertices,
        frame_mask=frame_mask,
        template=torch.stack([item.template for item in items]),  # (B, V, 3)
        style_index=torch.tensor([item.style_index for item in items], dtype=torch.long),
        names=[item.name for item in items],
        phones=phones,
    )
