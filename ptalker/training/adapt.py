"""Per-person adaptation of the flow sampler with LoRA (MimicTalk's idea): ``ptalker adapt``
(:func:`adapt_person`; the adapters themselves: :mod:`ptalker.models.lora`).

A few seconds of a person (their speech and vertex sequence) become an adapter file:

- low-rank adapters (peft's LoRA) on the q, k, v, o and feed-forward layers of every block of
  the velocity field, trained with the flow-matching loss on random windows of the clip (the
  same prompt masks as training, so the clip's own frames are the prompt); only the adapters
  train (under 2% of the talker's parameters), the checkpoint on disk is not touched;
- the person's neutral face (the clip's per-vertex median, or a given mesh);
- the clip's start as the person's default prompt.

``ptalker animate --adapter person.pt`` (or :meth:`Animator.load_adapter`) animates as them.
The adapter file records a fingerprint of the base weights; loading it into another checkpoint
is refused.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ptalker.audio.io import load_audio
from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.errors import PtalkerError
from ptalker.fileio import load_npy
from ptalker.models.flow_talker import FlowTalker
from ptalker.models.lora import Person, add_adapters, base_fingerprint, save_adapter
from ptalker.pipelines.animator import FLOW_CHECKPOINT, Style, load_model
from ptalker.pipelines.flow_sampling import clip_prompt

WINDOW_FRAMES = 120
"""Frames of the clip per training window."""


@dataclass
class AdaptSettings:
    """The knobs of :func:`adapt`."""

    rank: int = 4
    steps: int = 300
    lr: float = 2e-3
    batch_size: int = 8
    seed: int = 0

    def check(self) -> "AdaptSettings":
        for name in ("rank", "steps", "batch_size"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise PtalkerError(f"--{name.replace('_', '-')} {value}: expected a whole number >= 1")
        if not 0 < self.lr < 1:
            raise PtalkerError(f"--lr {self.lr}: expected a learning rate between 0 and 1")
        return self


@dataclass
class AdaptReport:
    out: Path
    trainable: int
    total: int
    seconds: float
    steps: int
    first_loss: float
    last_loss: float

    def __str__(self) -> str:
        return (f"adapted {self.trainable} of {self.total} parameters ({100 * self.trainable / self.total:.2f}%) in "
                f"{self.steps} steps, {self.seconds:.1f} s ({1000 * self.seconds / self.steps:.0f} ms/step); "
                f"loss {self.first_loss:.3f} -> {self.last_loss:.3f}; wrote {self.out}")


def adapt(talker: FlowTalker, audio: torch.Tensor, offsets: torch.Tensor, template: torch.Tensor,
          out: str | os.PathLike, settings: AdaptSettings, phones: torch.Tensor | None = None,
          progress: bool = True, lip_pairs: tuple[torch.Tensor, torch.Tensor] | None = None) -> AdaptReport:
    """Fit adapters to one person's clip and write them to ``out`` (atomically).

    Args:
        talker: a flow talker (not modified on disk; adapters are added to this instance).
        audio: (S,) the clip's speech at 16 kHz.
        offsets: (T, V, 3) its vertex offsets from ``template`` (V, 3), head motion removed.
        phones: (T, P) phonetic-channel features of the clip, or None.
        lip_pairs: the head's paired lip-contact vertex ids (upper, lower) for the lip-seal term.
    """
    from tqdm import tqdm

    settings.check()
    if len(offsets) < 10:
        raise PtalkerError(f"reference clip: {len(offsets)} frames is too short to adapt to; give at least a second")
    fingerprint = base_fingerprint(talker)
    prompt = clip_prompt(talker, audio, offsets, template, phones)
    condition = talker.condition(audio[None], len(offsets), None if phones is None else phones[None],
                                 prompt.style[None])[0]  # (T, 2K) in the clip's own style
    motion = talker.basis.encode(offsets)  # (T, K)
    add_adapters(talker, settings.rank)
    trainable = [p for p in talker.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.lr, weight_decay=0.0)
    generator = torch.Generator().manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    T = len(motion)
    length = min(T, WINDOW_FRAMES)
    losses = []
    talker.field.train()
    start_time = time.perf_counter()
    for _ in tqdm(range(settings.steps), desc="adapt", disable=not progress):
        starts = rng.integers(0, T - length + 1, settings.batch_size)
        batch_motion = torch.stack([motion[s:s + length] for s in starts])  # (B, L, K)
        batch_condition = torch.stack([condition[s:s + length] for s in starts])  # (B, L, C + K)
        mask = torch.ones(settings.batch_size, length, dtype=torch.bool)
        templates = template[None].expand(settings.batch_size, -1, -1)
        loss = talker.loss(batch_motion, batch_condition, mask, generator, templates, lip_pairs)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - start_time
    talker.field.eval()
    save_adapter(out, talker, fingerprint, settings.rank, Person(template, prompt))
    window = max(1, settings.steps // 10)
    return AdaptReport(Path(out), sum(p.numel() for p in trainable), sum(p.numel() for p in talker.parameters()),
                       seconds, settings.steps, float(np.mean(losses[:window])), float(np.mean(losses[-window:])))


def adapt_person(audio: str | os.PathLike, motion: str | os.PathLike, out: str | os.PathLike,
                 checkpoint: str | os.PathLike | None = None, template: str | os.PathLike | None = None,
                 settings: AdaptSettings | None = None, text: str | None = None, phones: bool = True,
                 progress: bool = True) -> AdaptReport:
    """Fit the flow sampler of ``checkpoint`` to the clip ``audio`` + ``motion`` ((T, V, 3) or
    (T, V*3) .npy) and write the adapter to ``out``; ``template``: their neutral mesh .npy
    (default: the clip's per-vertex median); ``text``: what is said (aligns the clip's phones)."""
    animator = load_model(checkpoint, phones=phones)
    if animator.flow is None:
        raise PtalkerError(f"{checkpoint or 'the default checkpoint'}: adapters fit a flow checkpoint's sampler; "
                           f"this one is {animator.architecture} (use --checkpoint {FLOW_CHECKPOINT})")
    vertices = load_npy(motion)
    vertices = vertices.reshape(len(vertices), -1, 3)
    neutral = load_npy(template).reshape(-1, 3) if template else None
    speech, offsets, face = animator.reference_clip(Style(reference_audio=load_audio(audio), reference_motion=vertices,
                                                          reference_template=neutral))
    expected = len(speech) / AUDIO_SAMPLE_RATE_HZ * animator.fps
    if abs(expected - len(offsets)) > max(3.0, 0.05 * expected):
        raise PtalkerError(f"{motion}: {len(offsets)} frames, but {audio} lasts {expected:.0f} frames at "
                           f"{animator.fps:g} fps; give the motion of the same clip")
    clip_phones = None
    if animator.uses_phones:
        clip_phones = animator.phones_of(speech.numpy(), text, None, str(audio), len(offsets))
    masks = animator.topology.masks.all
    lip_pairs = (torch.as_tensor(masks["lip_contact_upper"]), torch.as_tensor(masks["lip_contact_lower"])) \
        if "lip_contact_upper" in masks else None
    return adapt(animator.flow, speech, offsets, face, out, settings or AdaptSettings(), clip_phones, progress,
                 lip_pairs)
