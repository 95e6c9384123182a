"""Editing with the flow sampler: regenerate a span of a performance (:func:`infill`), re-dub its
mouth for new speech (:func:`redub`), and generate motion between pinned shapes
(:func:`keyframes`), each with the per-region balance of audio and style of
:mod:`ptalker.pipelines.region_balance`.

A performance (T, V, 3) is split into head motion and a head-stabilized face (the rigid scalp
and ears, :mod:`ptalker.mesh.stabilize`); the face's offsets from the person's neutral mesh go
into the sampler's motion basis. Frames the edit keeps are held as known frames while the others
are sampled for their audio (MimicTalk's audio-guided infilling); each stretch of sampled frames
is then bent to meet its kept neighbours in position, velocity and acceleration (:func:`join_span`), and the
edited face is put back under the performance's own head motion.

- :func:`infill`: the span's frames are regenerated for the whole performance's speech in the
  performance's own style (PTalker's style embedding of the whole performance); frames outside
  the span come back bit-identical.
- :func:`redub`: the mouth and jaw (the soft mouth weights of
  :func:`ptalker.mesh.region_blend.region_blend_weights`) are generated for the new speech and
  composed over the source's face; head pose, eyes, brows and every vertex outside the mouth's
  reach stay the source's (bit-identical when the new speech is as long as the source). New
  speech of another length retimes the source's kept motion: ``retime='stretch'`` (default)
  time-warps it uniformly (linear interpolation of the vertices, spherical interpolation of the
  head rotation), ``retime='loop'`` plays it forwards and backwards (ping-pong) at its own speed.
- :func:`keyframes`: new motion for speech with given shapes pinned at given times: a whole
  frame (exact at its frame), or one region's shape (held through the motion basis, so within
  the basis's reconstruction error, in that region's run only).

Measured by benchmarks/editing.py on 40 infilled 1 s spans of the synthetic test split: the lip
jerk at a span's borders is a median 1.70x the median jerk inside (72% of spans <= 2x; the
untouched truth at the same borders: 3.45x, 25%).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial.transform import Rotation, Slerp

from ptalker.audio.io import check_waveform, load_audio
from ptalker.audio.timeline import Speech
from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.errors import PtalkerError
from ptalker.mesh.region_blend import REGIONS
from ptalker.mesh.stabilize import HeadMotion, remove_head_motion
from ptalker.models.flow_talker import FlowPrompt, FlowTalker
from ptalker.pipelines.animator import FLOW_CHECKPOINT, Animator, Style
from ptalker.pipelines.flow_sampling import SamplerSettings
from ptalker.pipelines.region_balance import REGION_ALIASES, check_region_weights, compose_regions, sample_regions

FRAME_SLACK = 2
"""Frames by which a performance and its audio may differ in length (rounding)."""
SEAM_FRAMES = 8
"""Frames over which a regenerated stretch is bent to meet the frames around it."""
RETIMES = ("stretch", "loop")
"""How :func:`redub` fits the source's kept motion to new speech of another length."""


@dataclass(frozen=True)
class Key:
    """A shape pinned at a time (:func:`keyframes`)."""

    time_s: float
    vertices: np.ndarray
    """(V, 3) the pinned mesh, head-stabilized (in the neutral mesh's frame)."""
    region: str | None = None
    """None: the whole frame is pinned; else the region whose shape is pinned ('mouth',
    'upper' or 'rest', or an alias of :data:`ptalker.pipelines.region_balance.REGION_ALIASES`)."""
    source: str = "key"
    """Where the key came from, for error messages (e.g. '--key t=1.2:pose.npy')."""


def span_frames(span: tuple[float, float], num_frames: int, fps: float) -> tuple[int, int]:
    """The frames [start, stop) of the span ``(start_s, end_s)`` of a ``num_frames`` sequence.

    Raises:
        PtalkerError: an empty span, or one outside the sequence.
    """
    start_s, end_s = (float(value) for value in span)
    duration = num_frames / fps
    if not (0.0 <= start_s < end_s <= duration + 0.5 / fps):
        raise PtalkerError(f"--span {start_s:g}:{end_s:g}: expected start < end inside the sequence "
                           f"(0 to {duration:.2f} s)")
    start, stop = int(round(start_s * fps)), min(num_frames, int(round(end_s * fps)))
    if stop <= start:
        raise PtalkerError(f"--span {start_s:g}:{end_s:g}: shorter than a frame at {fps:g} fps")
    return start, stop


def _differences(frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Position, velocity and acceleration (K,) each at ``frames[0]`` of (n, K) frames that run
    away from it (one-sided differences; those the n frames cannot give are 0)."""
    zero = torch.zeros_like(frames[0])
    velocity = frames[0] - frames[1] if len(frames) >= 2 else zero
    acceleration = frames[0] - 2 * frames[1] + frames[2] if len(frames) >= 3 else zero
    return frames[0], velocity, acceleration


def _seam_correction(kept: torch.Tensor, sampled: torch.Tensor, fade: int) -> torch.Tensor:
    """(W, K) correction that makes the ``sampled`` frames (W, K), ordered from the border inwards,
    continue the ``kept`` frames (n, K), ordered from the border outwards.

    The kept side's position, velocity and acceleration at the border are extrapolated one frame
    into the span; the correction closes the sampled frames' gap to them (a quadratic in the
    frames from the border) and fades out over ``fade`` frames with a quintic smoothstep (zero
    slope and curvature at the fade's end), so that no jump, velocity step or acceleration step
    is left at the border.
    """
    position, velocity, acceleration = _differences(kept)  # velocity points into the span
    first, outward, first_acceleration = _differences(sampled)
    first_velocity = -outward  # into the span, as the kept side's
    tau = torch.arange(len(sampled), dtype=sampled.dtype)[:, None]  # (W, 1) frames from the border
    u = (tau / fade).clamp(max=1.0)
    falloff = 1 - (10 * u**3 - 15 * u**4 + 6 * u**5)
    gap = position + velocity + acceleration - first
    slope = velocity + acceleration - first_velocity
    return (gap + slope * tau + 0.5 * (acceleration - first_acceleration) * tau**2) * falloff


def join_span(motion: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """(T, K) ``motion`` with frames [start, stop) bent to join the kept frames on both sides.

    The sampler holds the kept frames as its context but does not follow them exactly at the
    borders; each border's gap in position, velocity and acceleration is closed over
    :data:`SEAM_FRAMES` frames (half the stretch at most) inside it. Frames outside
    [start, stop) are untouched. On the synthetic corpus this brings the median lip jerk at the
    borders from 5.9x the median jerk inside the span to 1.1x (benchmarks/editing.py).
    """
    T, width = len(motion), stop - start
    if width < 2:
        return motion
    fade = min(SEAM_FRAMES, width // 2)
    span = motion[start:stop].clone()
    if start >= 1:
        span += _seam_correction(motion[max(0, start - 3):start].flip(0), motion[start:stop], fade)
    if stop < T:
        span += _seam_correction(motion[stop:stop + 3], motion[start:stop].flip(0), fade).flip(0)
    out = motion.clone()
    out[start:stop] = span
    return out


def join_gaps(motion: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """(T, K) ``motion`` with every stretch of frames that are not ``known`` (T,) bool joined to
    its known neighbours (:func:`join_span`); no known frame: unchanged."""
    if not known.any():
        return motion
    edges = np.diff(np.concatenate([[0], (~known).numpy().astype(int), [0]]))  # (T + 1,) +1 starts, -1 stops
    for start, stop in zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()):
        motion = join_span(motion, start, stop)
    return motion


def _flow(animator: Animator) -> FlowTalker:
    if animator.flow is None:
        raise PtalkerError(f"editing needs a flow checkpoint's sampler; this checkpoint is {animator.architecture} "
                           f"(use {FLOW_CHECKPOINT})")
    return animator.flow


def _speech(audio: np.ndarray | str | os.PathLike, what: str) -> tuple[np.ndarray, str]:
    """(S,) float32 16 kHz speech of ``audio`` (a path or a waveform) and its name for messages."""
    if isinstance(audio, (str, os.PathLike)):
        return check_waveform(load_audio(audio), str(audio)), str(audio)
    return check_waveform(np.asarray(audio, np.float32), what), what


def _frames_of(speech: np.ndarray, fps: float) -> int:
    return max(1, int(round(len(speech) / AUDIO_SAMPLE_RATE_HZ * fps)))


def _check_mesh(animator: Animator, vertices: np.ndarray, what: str, frames: bool = True) -> np.ndarray:
    """``vertices`` as float32, checked to be (T, V, 3) (``frames``) or (V, 3) of the checkpoint's mesh."""
    array = np.asarray(vertices, dtype=np.float32)
    V = animator.model.num_vertices
    shape = "(T, V, 3)" if frames else "(V, 3)"
    if array.shape[-2:] != (V, 3) or array.ndim != (3 if frames else 2) or (frames and not len(array)):
        raise PtalkerError(f"{what}: expected {shape.replace('V', str(V))} vertices of the checkpoint's mesh, "
                           f"got {array.shape}; edit meshes of the topology the checkpoint animates")
    if not np.isfinite(array).all():
        raise PtalkerError(f"{what}: holds NaN or infinite coordinates; fix the file")
    return array


def _stabilize(animator: Animator, performance: np.ndarray,
               template: np.ndarray | None) -> tuple[np.ndarray, HeadMotion | None, torch.Tensor]:
    """The neutral face (V, 3) (``template``, default the performance's per-vertex median), the
    performance's head motion (None for a model trained without stabilisation) and its
    head-stabilized offsets from the face (T, V, 3)."""
    face = np.median(performance, axis=0) if template is None else _check_mesh(animator, template, "template", False)
    head = remove_head_motion(performance, face, animator.rigid) if animator.rigid is not None else None
    aligned = performance if head is None else head.aligned.astype(np.float32)
    return face, head, torch.from_numpy(aligned - face)


def _pose(face_frames: np.ndarray, rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """(W, V, 3) head-stabilized ``face_frames`` put under the head motion ``rotation`` (W, 3)
    axis-angle and ``translation`` (W, 3)."""
    matrices = Rotation.from_rotvec(rotation).as_matrix()  # (W, 3, 3)
    return (np.einsum("wnj,wij->wni", face_frames, matrices) + translation[:, None]).astype(np.float32)


def _own_style_prompt(animator: Animator, speech: np.ndarray, offsets: torch.Tensor, face: np.ndarray) -> FlowPrompt:
    """A prompt with no frames whose style channel is PTalker's embedding of the performance."""
    K = animator.flow.basis.size
    style = animator.model.clip_style(torch.from_numpy(speech)[None], offsets[None], torch.from_numpy(face)[None])
    return FlowPrompt(torch.zeros(0, K), torch.zeros(0, 2 * K), style[0])


def _condition(animator: Animator, speech: np.ndarray, num_frames: int, prompt: FlowPrompt | None,
               text: str | None, timeline: Speech | None, source: str) -> torch.Tensor:
    """(T, 2K) the flow's condition of ``speech`` in the prompt's style."""
    phones = animator.phones_of(speech, text, timeline, source, num_frames) if animator.uses_phones else None
    return animator.flow.condition(torch.from_numpy(speech)[None], num_frames, None if phones is None else phones[None],
                                   None if prompt is None else prompt.style[None])[0]


def _check_audio_length(speech: np.ndarray, source: str, num_frames: int, fps: float,
                        span: tuple[int, int] | None = None) -> None:
    """Raise PtalkerError unless ``speech`` lasts the performance's ``num_frames`` (within
    :data:`FRAME_SLACK`); audio shorter than the edited ``span`` (start, stop) frames says so."""
    audio_frames = len(speech) / AUDIO_SAMPLE_RATE_HZ * fps
    if span is not None and audio_frames < span[1] - span[0]:
        raise PtalkerError(f"{source}: lasts {audio_frames / fps:.2f} s, shorter than the span "
                           f"({(span[1] - span[0]) / fps:.2f} s); give the speech of the whole performance")
    if abs(audio_frames - num_frames) > FRAME_SLACK:
        raise PtalkerError(f"{source}: lasts {audio_frames:.0f} frames at {fps:g} fps, the performance "
                           f"{num_frames}; give the speech of the whole performance")


@torch.no_grad()
def infill(animator: Animator, vertices: np.ndarray, audio: np.ndarray | str | os.PathLike,
           span: tuple[float, float], template: np.ndarray | None = None, text: str | None = None,
           timeline: Speech | None = None, settings: SamplerSettings | None = None,
           region_weights: Mapping[str, Mapping[str, float]] | None = None) -> np.ndarray:
    """(T, V, 3) ``vertices`` with the frames of ``span`` (seconds) regenerated for ``audio`` (the
    whole performance's speech, a path or (S,) float32 at 16 kHz) by ``animator``'s flow sampler;
    ``template``: the person's neutral mesh (default: the per-vertex median of the performance);
    ``text`` / ``timeline``: the speech's phones, as :meth:`Animator.animate` reads them;
    ``region_weights``: the per-region balance (:mod:`ptalker.pipelines.region_balance`).

    Raises:
        PtalkerError: no flow sampler, a mesh of another topology, audio of another length or
            shorter than the span, a span outside the sequence.
    """
    flow = _flow(animator)
    balance = check_region_weights(region_weights)
    settings = (settings or SamplerSettings()).check()
    speech, source = _speech(audio, "audio")
    performance = _check_mesh(animator, vertices, "performance")
    T = len(performance)
    start, stop = span_frames(span, T, animator.fps)
    _check_audio_length(speech, source, T, animator.fps, (start, stop))
    face, head, offsets = _stabilize(animator, performance, template)
    prompt = _own_style_prompt(animator, speech, offsets, face)
    condition = _condition(animator, speech, T, prompt, text, timeline, source)
    known = torch.ones(T, dtype=torch.bool)
    known[start:stop] = False
    motions = sample_regions(flow, condition, settings, prompt, balance, flow.basis.encode(offsets),
                             {region: known for region in REGIONS})
    motions = {region: join_span(motion, start, stop) for region, motion in motions.items()}
    new_face = face + compose_regions(flow, {r: m[start:stop] for r, m in motions.items()},
                                      animator.region_blend).numpy()  # (W, V, 3) head-stabilized
    if head is not None:
        new_face = _pose(new_face, head.rotation[start:stop], head.translation[start:stop])
    out = performance.copy()
    out[start:stop] = new_face
    return out


def retime_positions(num_source: int, num_target: int, retime: str) -> np.ndarray:
    """(num_target,) float positions in a ``num_source``-frame sequence that the frames of a
    ``num_target``-frame one take their kept motion from: 'stretch' spreads them evenly from the
    first frame to the last, 'loop' steps one frame at a time and turns back at either end."""
    if retime not in RETIMES:
        raise PtalkerError(f"--retime {retime}: choose one of {', '.join(RETIMES)}")
    if num_target == num_source or num_source == 1:
        return np.arange(num_target, dtype=np.float64) if num_target == num_source else np.zeros(num_target)
    if retime == "stretch":
        return np.linspace(0.0, num_source - 1, num_target) if num_target > 1 else np.zeros(1)
    period = 2 * num_source - 2
    phase = np.arange(num_target) % period
    return np.where(phase < num_source, phase, period - phase).astype(np.float64)


def _resample(frames: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """(N, ...) ``frames`` (T, ...) linearly interpolated at the float ``positions`` (N,)."""
    lower = np.floor(positions).astype(np.int64)
    upper = np.minimum(lower + 1, len(frames) - 1)
    weight = (positions - lower).astype(np.float32).reshape(-1, *([1] * (frames.ndim - 1)))
    exact = weight == 0  # whole positions copy their frame bit for bit
    return np.where(exact, frames[lower], (1 - weight) * frames[lower] + weight * frames[upper]).astype(frames.dtype)


def _resample_head(head: HeadMotion, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The head's rotation (N, 3) axis-angle (spherical interpolation) and translation (N, 3) at
    the float frame ``positions`` (N,)."""
    if len(head.rotation) == 1:
        return np.repeat(head.rotation, len(positions), 0), np.repeat(head.translation, len(positions), 0)
    slerp = Slerp(np.arange(len(head.rotation)), Rotation.from_rotvec(head.rotation))
    return slerp(positions).as_rotvec(), _resample(head.translation, positions)


@torch.no_grad()
def redub(animator: Animator, vertices: np.ndarray, audio: np.ndarray | str | os.PathLike,
          source_audio: np.ndarray | str | os.PathLike | None = None, style: Style | str | None = None,
          template: np.ndarray | None = None, retime: str = "stretch", text: str | None = None,
          timeline: Speech | None = None, settings: SamplerSettings | None = None,
          region_weights: Mapping[str, Mapping[str, float]] | None = None) -> np.ndarray:
    """(T', V, 3) the performance ``vertices`` (T, V, 3) with its mouth and jaw regenerated for
    the new speech ``audio`` (T' frames; a path or (S,) float32 at 16 kHz); head pose, eyes, brows
    and the rest are the performance's, retimed by ``retime`` when T' != T (see the module
    docstring). The mouth talks in the performance's own style when its speech ``source_audio``
    is given, else in ``style`` (a training speaker, a Style with a reference clip, or None: the
    null style). ``template``, ``text``, ``timeline``, ``settings``, ``region_weights`` as in
    :func:`infill` (``text`` / ``timeline`` are the new speech's).

    Raises:
        PtalkerError: no flow sampler, a mesh of another topology, source audio of another length
            than the performance, both ``source_audio`` and ``style``, an unknown ``retime``.
    """
    flow = _flow(animator)
    balance = check_region_weights(region_weights)
    settings = (settings or SamplerSettings()).check()
    if retime not in RETIMES:
        raise PtalkerError(f"--retime {retime}: choose one of {', '.join(RETIMES)}")
    if source_audio is not None and style is not None:
        raise PtalkerError("redub: give the performance's own speech (--source-audio) or a style (--speaker), not both")
    speech, source = _speech(audio, "audio")
    performance = _check_mesh(animator, vertices, "performance")
    T, T_new = len(performance), _frames_of(speech, animator.fps)
    face, head, offsets = _stabilize(animator, performance, template)
    if source_audio is not None:
        own_speech, own_source = _speech(source_audio, "source audio")
        _check_audio_length(own_speech, own_source, T, animator.fps)
        prompt = _own_style_prompt(animator, own_speech, offsets, face)
    else:
        prompt = animator.prompt_and_base(style, face)[0]
    condition = _condition(animator, speech, T_new, prompt, text, timeline, source)
    motions = sample_regions(flow, condition, settings, prompt, balance)
    generated = face + compose_regions(flow, motions, animator.region_blend).numpy()  # (T', V, 3) head-stabilized
    positions = retime_positions(T, T_new, retime)
    kept = _resample(performance, positions)  # (T', V, 3) the source, retimed
    mouth = animator.region_blend[0]  # (V,)
    reach = mouth > 0
    kept_face = face[reach] + _resample(offsets.numpy()[:, reach], positions)  # (T', M, 3) head-stabilized
    new_face = kept_face + mouth[reach][:, None] * (generated[:, reach] - kept_face)
    if head is not None:
        new_face = _pose(new_face, *_resample_head(head, positions))
    kept[:, reach] = new_face
    return kept


def _key_frames(keys: Sequence[Key], num_frames: int, fps: float) -> list[int]:
    """The frame of each key; raises PtalkerError on a time outside the audio or a frame pinned twice."""
    frames = []
    for key in keys:
        frame = int(round(float(key.time_s) * fps))
        if not (0.0 <= float(key.time_s) and frame < num_frames):
            raise PtalkerError(f"{key.source}: t={key.time_s:g} s is outside the audio (0 to {num_frames / fps:.2f} s)")
        if key.region is not None:
            if key.region not in REGION_ALIASES:
                raise PtalkerError(f"{key.source}: unknown region '{key.region}'; choose one of "
                                   f"{', '.join(REGION_ALIASES)}")
        frames.append(frame)
    return frames


@torch.no_grad()
def keyframes(animator: Animator, audio: np.ndarray | str | os.PathLike, keys: Sequence[Key],
              style: Style | str | None = None, template: np.ndarray | None = None, text: str | None = None,
              timeline: Speech | None = None, settings: SamplerSettings | None = None,
              region_weights: Mapping[str, Mapping[str, float]] | None = None) -> np.ndarray:
    """(T, V, 3) new motion for ``audio`` in ``style`` on ``template`` (as
    :meth:`Animator.animate`) that passes through the ``keys``: a whole-frame key's mesh is
    the output at its frame exactly; a region key's shape is held in that region's run (see the
    module docstring). The motion between keys is sampled for the audio and joined to them.

    Raises:
        PtalkerError: no flow sampler, a key outside the audio, two keys on one frame and region,
            a key mesh of another topology.
    """
    flow = _flow(animator)
    balance = check_region_weights(region_weights)
    settings = (settings or SamplerSettings()).check()
    speech, source = _speech(audio, "audio")
    T = _frames_of(speech, animator.fps)
    prompt, base = animator.prompt_and_base(style, template)
    frames = _key_frames(keys, T, animator.fps)
    known = {region: torch.zeros(T, dtype=torch.bool) for region in REGIONS}
    known_motion = torch.zeros(T, flow.basis.size)
    for key, frame in zip(keys, frames):
        regions = REGIONS if key.region is None else (REGION_ALIASES[key.region],)
        if any(known[region][frame] for region in regions):
            raise PtalkerError(f"{key.source}: frame {frame} is pinned twice; give one key per frame and region")
        shape = _check_mesh(animator, key.vertices, key.source, frames=False)
        known_motion[frame] = flow.basis.encode(torch.from_numpy(shape - base)[None])[0]
        for region in regions:
            known[region][frame] = True
    condition = _condition(animator, speech, T, prompt, text, timeline, source)
    motions = sample_regions(flow, condition, settings, prompt, balance, known_motion, known)
    motions = {region: join_gaps(motion, known[region]) for region, motion in motions.items()}
    out = base + compose_regions(flow, motions, animator.region_blend).numpy()  # (T, V, 3)
    for key, frame in zip(keys, frames):
        if key.region is None:
            out[frame] = key.vertices
    return out.astype(np.float32)
