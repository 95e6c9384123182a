"""``ptalker animate``: a speech file (+ a style) in, a folder of outputs out.

The style is a training speaker (``speaker``), a reference clip (``style_audio`` + ``style_motion``,
optionally ``style_template``), or none (the neutral style); ``strength`` scales a given style
and needs one. What is written: :mod:`ptalker.pipelines.outputs`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptalker.audio.io import check_speech_length, load_audio
from ptalker.controls.compose import ControlReport
from ptalker.errors import PtalkerError
from ptalker.fileio import load_npy
from ptalker.mesh.checks import check_coordinates, to_vertex_sequence
from ptalker.pipelines.animator import Style, load_model
from ptalker.pipelines.flow_sampling import SamplerSettings
from ptalker.pipelines.output_folder import check_out_path, output_folder
from ptalker.pipelines.outputs import STREAMED_FORMATS, write_outputs, write_streamed
from ptalker.pipelines.streaming import StreamSettings, split_chunks
from ptalker.render.gl_platform import probe_ahead


@dataclass
class AnimateReport:
    """What ``ptalker animate`` wrote (printed as one line)."""

    out: Path
    frames: int
    fps: float
    written: list[Path]
    latency_s: float | None = None
    """Algorithmic latency when streamed, else None."""
    controls: ControlReport | None = None
    """What the face controls did, when any were on."""

    def __str__(self) -> str:
        names = ", ".join(path.name + ("/" if path.is_dir() else "") for path in self.written)
        streamed = "" if self.latency_s is None else f" (streamed; latency {1000 * self.latency_s:.0f} ms)"
        done = ""
        if self.controls is not None and self.controls.emotion is not None:
            done = f"; emotion {self.controls.emotion} at {self.controls.emotion_intensity:g}"
        if self.controls is not None and self.controls.blinks:
            done += f"; {self.controls.blinks} blinks"
        return f"wrote {self.frames} frames at {self.fps:g} fps to {self.out}{streamed}: {names}{done}"


def animate_to_folder(audio: str | os.PathLike, out: str | os.PathLike, checkpoint: str | os.PathLike | None = None,
                      speaker: str | None = None, style_audio: str | os.PathLike | None = None,
                      style_motion: str | os.PathLike | None = None, style_template: str | os.PathLike | None = None,
                      strength: float = 1.0, formats: tuple[str, ...] | list[str] = ("obj",),
                      video: bool = False, stream_chunk_s: float | None = None, text: str | None = None,
                      phones: bool = True, rules: bool = False, sampler: str | None = None,
                      settings: SamplerSettings | None = None,
                      adapter: str | os.PathLike | None = None,
                      region_weights: dict[str, dict[str, float]] | None = None,
                      controls: dict | None = None, overwrite: bool = False, encoder: str = "float") -> AnimateReport:
    """``ptalker animate``: animate ``audio`` and write vertices.npy, the ``formats`` and, with
    ``video``, a preview MP4 into ``out`` (see :mod:`ptalker.pipelines.outputs`), following the
    output-folder rules of :mod:`ptalker.pipelines.output_folder` (locked, written whole, a folder
    with files ptalker did not write refused unless ``overwrite``). With ``stream_chunk_s``
    the audio is fed to :meth:`Animator.stream` in chunks of that many seconds, as a live source
    would, with the default :class:`StreamSettings` (audio only). ``text``: what is said (aligns
    the phones of a phonetic channel); ``phones=False``: audio only. ``rules``: the rule-based
    animator (:mod:`ptalker.pipelines.rules`) instead of a network: no style, no streaming.
    ``sampler``, ``settings`` and ``adapter``: the flow sampler of a flow checkpoint
    (:meth:`Animator.animate`, :meth:`Animator.load_adapter`); ``region_weights``: the flow
    sampler's per-region balance of audio and style (:mod:`ptalker.pipelines.region_balance`);
    ``controls``: head pose, gaze, blinks and emotion (:mod:`ptalker.controls.spec`); ``encoder``:
    the speech encoder's path, float, int8, onnx or onnx-int8 (:mod:`ptalker.pipelines.fast_encoder`)."""
    check_style_options(speaker, style_audio, style_motion, strength)
    if rules:
        chosen = [flag for flag, given in (("--checkpoint", checkpoint), ("--speaker", speaker),
                                           ("--style-audio", style_audio), ("--stream", stream_chunk_s),
                                           ("--audio-only", not phones), ("--sampler", sampler),
                                           ("--adapter", adapter), ("sampler settings", settings),
                                           ("--region", region_weights), ("the face controls", controls))
                  if given]
        if chosen:
            raise PtalkerError(f"--rules: animates from phones with the corpus's average style; leave out "
                               f"{', '.join(chosen)}")
    if stream_chunk_s is not None and (sampler == "flow" or settings is not None or adapter is not None
                                       or region_weights or controls):
        raise PtalkerError("--stream runs the deterministic decoder on the audio alone; leave out --sampler flow, "
                           "--adapter, --region, the face controls and the sampler settings")
    check_speech_length(load_audio(audio), str(audio))
    check_out_path(out, overwrite)
    if video:
        probe_ahead()  # finds the OpenGL platform on another core while the model loads
    with output_folder(out, overwrite) as staging:
        staging.record = {"audio": str(audio)}
        if rules:
            report = _animate_by_rules(audio, staging.path, formats, video, text)
        else:
            animator = load_model(checkpoint, phones=phones, encoder=encoder)
            if adapter is not None:
                animator.load_adapter(adapter)
            style = build_style(speaker, style_audio, style_motion, style_template, strength)
            if stream_chunk_s is None:
                frames, written, done = write_animation(animator, audio, style, staging.path, formats, video, text,
                                                        sampler, settings, region_weights, controls)
                report = AnimateReport(Path(out), frames, animator.fps, written, None, done)
            else:
                chunks = split_chunks(load_audio(audio), stream_chunk_s)  # the decoder, whatever the checkpoint
                vertices = np.concatenate(list(animator.stream(chunks, style)))
                written = write_outputs(vertices, animator.topology.faces, animator.fps, staging.path, audio,
                                        formats, video)
                report = AnimateReport(Path(out), len(vertices), animator.fps, written,
                                       StreamSettings().latency_s(stream_chunk_s, animator.fps), None)
        staging.written = report.written
    report.out, report.written = Path(out), staging.written
    return report


def write_animation(animator, audio: str | os.PathLike, style, out: Path, formats: tuple[str, ...] | list[str],
                    video: bool = False, text: str | None = None, sampler: str | None = None,
                    settings: SamplerSettings | None = None, region_weights: dict | None = None,
                    controls: dict | None = None) -> tuple[int, list[Path], dict | None]:
    """Animate ``audio`` with ``animator`` (the options of :meth:`Animator.animate`) and write the
    outputs into ``out`` (:mod:`ptalker.pipelines.outputs`): block by block, in memory that does
    not grow with the length, when the decoder runs without face controls into formats written
    frame by frame and no video; else the whole sequence at once. Returns (frames, paths written,
    the controls' report or None)."""
    if _streamable(animator, formats, video, sampler, settings, region_weights, controls):
        frames, blocks = animator.animate_blocks(audio, style, text=text)
        return frames, write_streamed(blocks, frames, animator.topology.faces, animator.fps, out, formats), None
    animation = animator.animate(audio, style, text=text, sampler=sampler, settings=settings,
                                 region_weights=region_weights, controls=controls)
    written = write_outputs(animation.vertices, animator.topology.faces, animator.fps, out, audio, formats, video)
    return len(animation.vertices), written, animation.controls


def _streamable(animator, formats, video: bool, sampler: str | None, settings, region_weights, controls) -> bool:
    """Whether the animation can be decoded and written block by block (bounded memory, the same
    files): PTalker's decoder without face controls into the formats written frame by frame."""
    return (animator.sampler == "decoder" and sampler in (None, "decoder") and settings is None and not region_weights
            and controls is None and not video and all(fmt in STREAMED_FORMATS for fmt in formats))


def check_style_options(speaker: str | None, style_audio, style_motion, strength: float) -> None:
    """The style options' rules (see :func:`animate_to_folder`).

    Raises:
        PtalkerError: both a speaker and a clip, half a clip, a strength that is not a finite number
            >= 0, or a strength without a style.
    """
    if speaker is not None and (style_audio or style_motion):
        raise PtalkerError("give either --speaker or --style-audio/--style-motion, not both")
    if bool(style_audio) != bool(style_motion):
        raise PtalkerError("a reference clip needs both --style-audio (its speech) and --style-motion (its vertices)")
    if not math.isfinite(strength) or strength < 0:
        raise PtalkerError(f"--strength {strength}: expected a number >= 0 (0 neutral, 1 as referenced, "
                           "above 1 exaggerated)")
    if strength != 1.0 and speaker is None and not style_audio:
        raise PtalkerError(f"--strength {strength:g}: scales a style, but none was given; add --speaker or "
                           "--style-audio/--style-motion, or leave --strength out")


def build_style(speaker: str | None, style_audio: str | os.PathLike | None, style_motion: str | os.PathLike | None,
                style_template: str | os.PathLike | None, strength: float) -> Style | None:
    """The :class:`Style` the options name (None: the neutral style); reference files are read and checked.

    Raises:
        PtalkerError: an unreadable or unusable reference file.
    """
    if style_audio:
        motion = to_vertex_sequence(load_npy(style_motion), None, str(style_motion))  # (T, V, 3)
        template = None
        if style_template:
            template = load_npy(style_template).reshape(-1, 3)  # (V, 3)
            check_coordinates(template, str(style_template))
        return Style(reference_audio=load_audio(style_audio), reference_motion=motion,
                     reference_template=template, strength=strength)
    if speaker is not None:
        return Style(speaker=speaker, strength=strength)
    return None


def _animate_by_rules(audio: str | os.PathLike, out: str | os.PathLike, formats, video: bool,
                      text: str | None) -> AnimateReport:
    """``ptalker animate --rules``: the rule-based animator's vertices written as a model's are."""
    from ptalker.pipelines.rules import RuleAnimator

    animation = RuleAnimator().animate(audio, text=text)
    written = write_outputs(animation.vertices, animation.faces, animation.fps, out, audio, formats, video)
    return AnimateReport(Path(out), len(animation.vertices), animation.fps, written)
