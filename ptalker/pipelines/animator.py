"""The main job: speech + a style in, a personalized vertex sequence out.

>>> import ptalker
>>> model = ptalker.load_model()                       # the default checkpoint
>>> result = model.animate("speech.wav", style=ptalker.Style(speaker="S03"))
>>> result.vertices.shape                               # (T, V, 3)

A style is a training speaker's identity, a reference clip of anyone (their audio and vertex
sequence, a few seconds: the personalization path for new people), or a weighted mix of
styles; ``strength`` scales it from the neutral style (0) to as referenced (1). Long audio is
decoded in overlapping windows with a linear cross-fade, so time and memory grow linearly.

A checkpoint with a phonetic channel (``uses_phones``) also reads the speech's phones:
forced alignment of ``text`` when given, else phone recognition (pocketsphinx,
:func:`ptalker.audio.phones.speech_timeline`); ``load_model(..., phones=False)`` runs it on the
audio alone, and streaming always does (the phones of a whole utterance are not known while it
is spoken).

A flow checkpoint (architecture ``flow``, :mod:`ptalker.models.flow_talker`) holds a PTalker and
a generative sampler on top of it: ``animate(..., sampler="flow", settings=SamplerSettings(...))``
samples motion with the style as an in-context prompt (a reference clip; a training speaker's
identity style enters as the style channel alone) and the guidance, temperature, step and seed knobs of
:class:`ptalker.pipelines.flow_sampling.SamplerSettings`; ``sampler="decoder"`` runs its PTalker
as any PTalker checkpoint. A per-person adapter (:mod:`ptalker.training.adapt`) is loaded with
:meth:`Animator.load_adapter`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ptalker.audio.io import check_waveform, load_audio
from ptalker.audio.timeline import Speech
from ptalker.constants import AUDIO_SAMPLE_RATE_HZ, FLAME_JAW_JOINT
from ptalker.controls.compose import ControlReport, apply_controls
from ptalker.controls.rig import FaceRig
from ptalker.controls.spec import Controls, check_controls
from ptalker.errors import PtalkerError
from ptalker.mesh.face_sets import rigid_region_ids
from ptalker.mesh.region_blend import region_blend_weights
from ptalker.mesh.stabilize import remove_head_motion
from ptalker.mesh.topology import Topology
from ptalker.models.flow_talker import FlowPrompt
from ptalker.pipelines.blink_moments import blink_probability
from ptalker.pipelines.checkpoint import load_checkpoint, load_state, network_from_config
from ptalker.pipelines.decoding import decode_offsets
from ptalker.pipelines.fast_encoder import use_encoder
from ptalker.pipelines.flow_sampling import SamplerSettings, clip_prompt, generate_offsets
from ptalker.pipelines.region_balance import check_region_weights, compose_regions, is_neutral, sample_regions
from ptalker.pipelines.streaming import FrameStream, StreamSettings

ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"
"""The package's shipped files (the default checkpoint, the demo sample)."""
DEFAULT_CHECKPOINT = ASSETS_DIR / "ptalker_standin.pt"
FLOW_CHECKPOINT = ASSETS_DIR / "ptalker_flow_standin.pt"
"""The shipped flow sampler on the default checkpoint's PTalker."""
WINDOW_FRAMES = 300
"""Frames decoded at once (10 s at 30 fps)."""
OVERLAP_FRAMES = 30
"""Frames shared by neighbouring windows, cross-faded."""


@dataclass
class Style:
    """How the animation should talk (give one of speaker, reference or mix)."""

    speaker: str | None = None
    """A training speaker of the checkpoint (see ``Animator.speakers``)."""
    reference_audio: np.ndarray | None = None
    """(S,) float32 16 kHz speech of the reference clip."""
    reference_motion: np.ndarray | None = None
    """(T, V, 3) vertex sequence of the same clip."""
    reference_template: np.ndarray | None = None
    """(V, 3) the reference person's neutral face; default: the per-vertex median of the clip."""
    mix: list[tuple["Style", float]] = field(default_factory=list)
    """Styles and weights, blended (weights are normalised to sum to 1)."""
    strength: float = 1.0
    """0: the neutral style; 1: as referenced; above 1 exaggerates."""


@dataclass
class Animation:
    """What :meth:`Animator.animate` returns."""

    vertices: np.ndarray
    """(T, V, 3) float32 meshes."""
    fps: float
    faces: np.ndarray
    """(F, 3) triangles."""
    controls: ControlReport | None = None
    """What the whole-face controls did (the emotion read from the voice, the blinks), if any were on."""


SAMPLERS = ("flow", "decoder")


class Animator:
    """A trained network (PTalker, or the FaceFormer baseline) ready to animate (see :func:`load_model`),
    with the generative sampler of a flow checkpoint (``flow``)."""

    def __init__(self, model: torch.nn.Module, checkpoint: dict, topology: Topology, device: torch.device,
                 phones: bool = True, flow: torch.nn.Module | None = None) -> None:
        self.model = model.eval()
        self.flow = flow
        """The FlowTalker of a flow checkpoint (its ``content_model`` is ``model``), else None."""
        self.sampler = "flow" if flow is not None else "decoder"
        """The default sampler: 'flow' for a flow checkpoint, else 'decoder'."""
        self.person = None
        """The loaded per-person adapter (:meth:`load_adapter`), or None."""
        self.uses_phones = bool(phones and getattr(model, "uses_phones", False))
        """True when :meth:`animate` feeds the network the speech's phones (its phonetic channel)."""
        self.device = device
        self.topology = topology
        """The mesh the model animates (its template is the default face)."""
        self.speakers: list[str] = list(checkpoint["extra"].get("speakers", []))
        self.fps = float(checkpoint["extra"].get("fps", 30.0))
        self.architecture: str = model.architecture
        self._region_blend: np.ndarray | None = None
        self._face_rig: FaceRig | None = None
        self.rigid: np.ndarray | None = None
        """Ids that move only with the head, when the model was trained on stabilized clips (its
        reference clips are stabilized alike); else None."""
        if checkpoint["config"].get("stabilize_head", False):
            self.rigid = rigid_region_ids(topology.masks.all, f"{topology.masks.source} (stabilize_head)")

    @torch.no_grad()
    def style_vector(self, style: Style) -> torch.Tensor:
        """(S,) the style vector of ``style``."""
        if style.mix:
            weights = torch.tensor([w for _, w in style.mix], dtype=torch.float32)
            if weights.sum() <= 0:
                raise PtalkerError(f"style mix: weights {weights.tolist()} must sum to a positive number")
            vectors = torch.stack([self.style_vector(s) for s, _ in style.mix])
            vector = (weights[:, None].to(vectors) * vectors).sum(0) / weights.sum()
        elif style.speaker is not None:
            if style.speaker not in self.speakers:
                raise PtalkerError(f"speaker '{style.speaker}': not a training speaker of this checkpoint; "
                                   f"choose one of {', '.join(self.speakers) or 'none'} or give a reference clip")
            index = torch.tensor([self.speakers.index(style.speaker)], device=self.device)
            vector = self.model.identity_style(index)[0]
        elif style.reference_audio is not None and style.reference_motion is not None:
            vector = self._reference_style(style)
        else:
            raise PtalkerError("style: give a speaker, a reference clip (audio and motion) or a mix")
        neutral = self.model.neutral_style()
        return neutral + style.strength * (vector - neutral)

    def _reference_style(self, style: Style) -> torch.Tensor:
        if not hasattr(self.model, "clip_style"):
            raise PtalkerError(f"reference clip: this checkpoint ({self.architecture}) conditions on its training "
                               "speakers only; give a speaker, or no style for their mean")
        audio, offsets, template = (value[None].to(self.device) for value in self.reference_clip(style))
        return self.model.clip_style(audio, offsets, template)[0]

    def reference_clip(self, style: Style) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A reference clip checked and prepared: audio (S,), offsets (T, V, 3) from the person's
        neutral face with the head motion removed (for a model trained so), that face (V, 3)."""
        motion = np.asarray(style.reference_motion, dtype=np.float32)
        if motion.ndim != 3 or motion.shape[1:] != (self.model.num_vertices, 3):
            raise PtalkerError(f"reference motion: expected (T, {self.model.num_vertices}, 3) vertices of this "
                               f"head, got {motion.shape}")
        template = np.median(motion, axis=0) if style.reference_template is None else \
            np.asarray(style.reference_template, dtype=np.float32)
        if self.rigid is not None:
            motion = remove_head_motion(motion, template, self.rigid).aligned.astype(np.float32)
        audio = torch.from_numpy(check_waveform(np.asarray(style.reference_audio, np.float32), "reference audio"))
        return audio, torch.from_numpy(motion - template), torch.from_numpy(template)

    @torch.no_grad()
    def animate(self, audio: np.ndarray | str | os.PathLike, style: Style | str | None = None,
                template: np.ndarray | None = None, text: str | None = None,
                timeline: Speech | None = None, sampler: str | None = None,
                settings: SamplerSettings | None = None,
                region_weights: Mapping[str, Mapping[str, float]] | None = None,
                controls: Mapping | Controls | None = None) -> Animation:
        """Animate ``audio`` (a path or (S,) float32 at 16 kHz) in ``style`` (a Style, a training
        speaker id, or None for the neutral style, or the loaded adapter's person) on
        ``template`` (V, 3) (default: the adapter's person's face, else the checkpoint's mesh);
        ``text``, what is said, aligns the phones of a phonetic channel, or ``timeline`` gives
        them (any espeak-symbol timeline on the audio's clock); both are ignored by audio-only
        checkpoints. ``sampler``: 'flow' or 'decoder' (default :attr:`sampler`); ``settings``:
        the flow sampler's knobs (default :class:`SamplerSettings`); ``region_weights``: the
        flow sampler's per-region balance of audio and style, e.g. ``{'mouth': {'audio': 1.2,
        'style': 0.5}, 'upper': {'style': 0.0}}`` (:mod:`ptalker.pipelines.region_balance`);
        ``controls``: head pose, gaze, blinks and emotion beside the lips, e.g. ``{'pose': 'generate',
        'blink': {'rate_per_min': 15}, 'emotion': {'label': 'happy', 'intensity': 0.7}}``
        (:mod:`ptalker.controls.spec`)."""
        sampler = self._check_sampler(sampler, settings)
        balance = check_region_weights(region_weights)
        controls = check_controls(controls)
        if sampler == "decoder" and not is_neutral(balance):
            raise PtalkerError("region weights: balance the flow sampler's runs; use a flow checkpoint and "
                               "--sampler flow, or leave them out")
        audio, source, num_frames = self._speech(audio)
        if sampler == "flow":
            prompt, base = self.prompt_and_base(style, template)
            phones = self.phones_of(audio, text, timeline, source, num_frames) if self.uses_phones else None
            settings = (settings or SamplerSettings()).check()
            if is_neutral(balance):
                offsets = generate_offsets(self.flow, torch.from_numpy(audio), num_frames, settings, prompt,
                                           phones).numpy()
            else:
                condition = self.flow.condition(torch.from_numpy(audio)[None], num_frames,
                                                None if phones is None else phones[None],
                                                None if prompt is None else prompt.style[None])[0]
                motions = sample_regions(self.flow, condition, settings, prompt, balance)
                offsets = compose_regions(self.flow, motions, self.region_blend).numpy()
            vertices = (base[None] + offsets).astype(np.float32)
        else:
            vector, base = self._style_and_base(style, template)
            vertices = np.concatenate(list(self._vertex_blocks(audio, source, num_frames, vector, base, text,
                                                               timeline)))
        if not controls.active:
            return Animation(vertices, self.fps, self.topology.faces)
        shut = blink_probability(audio, self.fps, len(vertices)) if isinstance(controls.blink, float) else None
        vertices, report = apply_controls(vertices, audio, self.fps, controls, self.face_rig, base, shut)
        return Animation(vertices, self.fps, self.topology.faces, report)

    @property
    def face_rig(self) -> FaceRig:
        """The whole-face controls' rig (:class:`ptalker.controls.rig.FaceRig`) of the head model
        in use, which must have the checkpoint's mesh."""
        if self._face_rig is None:
            from ptalker.flame.flame_model import FlameModel

            head = FlameModel.load()
            if head.num_vertices != self.model.num_vertices:
                raise PtalkerError(f"controls: the head model in use ({head.flame_dir}) has {head.num_vertices} "
                                   f"vertices, this checkpoint {self.model.num_vertices}; set PTALKER_FLAME_DIR "
                                   "to the head the checkpoint was trained on")
            self._face_rig = FaceRig.from_model(head)
        return self._face_rig

    @property
    def region_blend(self) -> np.ndarray:
        """(3, V) soft weights of the editing regions (mouth, upper face, rest) on the checkpoint's
        mesh (:func:`ptalker.mesh.region_blend.region_blend_weights`), with the jaw skinning
        weights of the head model in use when it has this mesh's vertex count."""
        if self._region_blend is None:
            from ptalker.flame.flame_model import FlameModel

            head = FlameModel.load()
            jaw = head.layer.lbs_weights[:, FLAME_JAW_JOINT].numpy() if head.num_vertices == self.model.num_vertices \
                else None
            self._region_blend = region_blend_weights(self.topology.template, self.topology.masks, jaw)
        return self._region_blend

    def _check_sampler(self, sampler: str | None, settings: SamplerSettings | None) -> str:
        sampler = self.sampler if sampler is None else sampler
        if sampler not in SAMPLERS:
            raise PtalkerError(f"--sampler {sampler}: choose one of {', '.join(SAMPLERS)}")
        if sampler == "flow" and self.flow is None:
            raise PtalkerError(f"--sampler flow: this checkpoint ({self.architecture}) has no generative sampler; "
                               f"use a flow checkpoint (--checkpoint {FLOW_CHECKPOINT}) "
                               "or --sampler decoder")
        if sampler == "decoder" and (settings is not None or self.person is not None):
            raise PtalkerError("--sampler decoder: the sampler settings and --adapter apply to the flow sampler; "
                               "leave them out, or use a flow checkpoint and --sampler flow")
        return sampler

    @torch.no_grad()
    def prompt_and_base(self, style: Style | str | None, template: np.ndarray | None) -> tuple[FlowPrompt | None, np.ndarray]:
        """The flow sampler's prompt for ``style`` (None: the adapter's person, else the null style)
        and the (V, 3) mesh to animate."""
        if isinstance(style, str):
            style = Style(speaker=style)
        person_template = None
        if style is None:
            prompt = None
            if self.person is not None:
                prompt, person_template = self.person.prompt, self.person.template.numpy()
        elif style.mix or style.strength != 1.0:
            raise PtalkerError("style mix and --strength: the flow sampler takes one style, whose intensity is "
                               "--cfg-style (settings.cfg_style); or use --sampler decoder")
        elif style.speaker is not None:  # no clip: the identity's style channel alone
            K = self.flow.basis.size
            prompt = FlowPrompt(torch.zeros(0, K), torch.zeros(0, 2 * K), self.style_vector(style))
        elif style.reference_audio is not None and style.reference_motion is not None:
            audio, offsets, face = self.reference_clip(style)
            phones = None
            if self.uses_phones:
                frames = min(len(offsets), self.flow.config.prompt_frames)
                phones = self.phones_of(audio.numpy()[:int(len(audio) * frames / len(offsets))], None, None,
                                      "reference audio", frames)
            prompt = clip_prompt(self.flow, audio, offsets, face, phones)
        else:
            raise PtalkerError("style: give a speaker or a reference clip (audio and motion)")
        return prompt, self._base(template if template is not None else person_template)

    def load_adapter(self, path: str | os.PathLike) -> None:
        """Animate as the person of the adapter file ``path`` (``ptalker adapt``): its LoRA weights
        in the flow sampler, its clip as the default prompt and its neutral face as the default mesh."""
        from ptalker.models.lora import load_adapter

        if self.flow is None:
            raise PtalkerError(f"--adapter {path}: adapters fit the flow sampler; this checkpoint "
                               f"({self.architecture}) has none")
        self.person = load_adapter(self.flow, path)

    def phones_of(self, audio: np.ndarray, text: str | None, timeline: Speech | None, source: str,
                num_frames: int) -> torch.Tensor:
        """(T, P) phonetic-channel features of ``audio``: of ``timeline`` when given, else of the
        aligned ``text``, else of recognized phones."""
        from ptalker.audio.phones import phone_features, speech_timeline
        from ptalker.data.phones import canonical_timeline

        speech = canonical_timeline(timeline) if timeline is not None else speech_timeline(audio, text, source)
        return torch.from_numpy(phone_features(speech, num_frames, self.fps))

    def stream(self, chunks: Iterable[np.ndarray], style: Style | str | None = None,
               template: np.ndarray | None = None, settings: StreamSettings | None = None) -> Iterator[np.ndarray]:
        """Animate speech that arrives in ``chunks`` ((S,) float32 at 16 kHz each, any length):
        yields (n, V, 3) vertices as soon as they are determined (see :mod:`ptalker.pipelines.streaming`;
        latency: ``settings.latency_s(chunk seconds, self.fps)``). Style and template as in
        :meth:`animate`; all frames together are as many as :meth:`animate` gives."""
        with torch.no_grad():
            vector, base = self._style_and_base(style, template)

        @torch.no_grad()
        def decode(audio: np.ndarray, frames: int) -> np.ndarray:
            clip = torch.from_numpy(audio)[None].to(self.device)
            return decode_offsets(self.model, clip, frames, vector[None])[0].cpu().numpy()  # (W, V, 3)

        frames = FrameStream(decode, self.fps, self.model.num_vertices, settings)
        for chunk in chunks:
            offsets = frames.push(chunk)
            if len(offsets):
                yield base[None] + offsets
        yield base[None] + frames.finish()

    def _style_and_base(self, style: Style | str | None, template: np.ndarray | None) -> tuple[torch.Tensor, np.ndarray]:
        """(S,) the style vector of ``style`` (None: neutral) and the (V, 3) mesh to animate."""
        if style is None:
            vector = self.model.neutral_style()
        else:
            vector = self.style_vector(Style(speaker=style) if isinstance(style, str) else style)
        return vector, self._base(template)

    def _base(self, template: np.ndarray | None) -> np.ndarray:
        """The (V, 3) mesh to animate: ``template``, checked, or the checkpoint's mesh when None."""
        base = self.topology.template if template is None else np.asarray(template, np.float32)
        if base.shape != (self.model.num_vertices, 3):
            raise PtalkerError(f"template: expected ({self.model.num_vertices}, 3) vertices of the checkpoint's mesh, "
                               f"got {base.shape}")
        return base

    @torch.no_grad()  # also while the generator runs outside animate
    def _offset_blocks(self, audio: torch.Tensor, style: torch.Tensor, num_frames: int,
                       phones: torch.Tensor | None = None) -> Iterator[np.ndarray]:
        """(n, V, 3) blocks of offsets that concatenate to (T, V, 3): decoded in overlapping windows
        blended linearly where they overlap, each block handed out as soon as no later window
        touches it, so only two windows are held; ``phones`` (T, P) or None."""
        samples_per_frame = AUDIO_SAMPLE_RATE_HZ / self.fps
        fade = np.linspace(0.0, 1.0, OVERLAP_FRAMES + 2, dtype=np.float32)[1:-1]  # (O,) strictly inside 0..1
        spans = window_spans(num_frames)
        carried, carried_weight = None, None  # the previous window's share of the frames it shares with this one
        for index, (start, stop) in enumerate(spans):
            clip = audio[int(start * samples_per_frame):int(round(stop * samples_per_frame))]
            window_phones = None if phones is None else phones[start:stop][None].to(self.device)  # (1, W, P)
            offsets = decode_offsets(self.model, clip[None].to(self.device), stop - start,
                                     style[None], window_phones)[0].cpu().numpy()  # (W, V, 3)
            ramp = np.ones(stop - start, np.float32)
            if start > 0:
                ramp[:OVERLAP_FRAMES] = fade[:stop - start]
            if stop < num_frames:
                ramp[-OVERLAP_FRAMES:] *= fade[::-1]
            weighted, weight = ramp[:, None, None] * offsets, ramp
            if carried is not None:
                weighted[:len(carried)] += carried
                weight[:len(carried)] += carried_weight
            finished = (spans[index + 1][0] if index + 1 < len(spans) else stop) - start
            yield weighted[:finished] / weight[:finished, None, None]
            carried, carried_weight = weighted[finished:], weight[finished:]

    def animate_blocks(self, audio: np.ndarray | str | os.PathLike, style: Style | str | None = None,
                       template: np.ndarray | None = None, text: str | None = None,
                       timeline: Speech | None = None) -> tuple[int, Iterator[np.ndarray]]:
        """(T, blocks): :meth:`animate`'s vertices with the decoder, no controls, as blocks of
        frames (n, V, 3) float32 handed out as they are decoded (10 s each), so speech of any
        length is animated and written in bounded memory (:func:`ptalker.pipelines.outputs.write_streamed`).
        The blocks concatenate to :meth:`animate`'s vertices exactly."""
        if self.sampler != "decoder":
            raise PtalkerError("animate_blocks: decodes with PTalker's decoder; this checkpoint samples with the "
                               "flow sampler, use animate")
        audio, source, num_frames = self._speech(audio)
        vector, base = self._style_and_base(style, template)
        return num_frames, self._vertex_blocks(audio, source, num_frames, vector, base, text, timeline)

    def _speech(self, audio: np.ndarray | str | os.PathLike) -> tuple[np.ndarray, str, int]:
        """(samples (S,) float32 at 16 kHz, where they came from, frames T) of a path or samples."""
        source = str(audio) if isinstance(audio, (str, os.PathLike)) else "audio"
        if isinstance(audio, (str, os.PathLike)):
            audio = load_audio(audio)
        audio = check_waveform(np.asarray(audio, dtype=np.float32), "audio")
        return audio, source, max(1, int(round(len(audio) / AUDIO_SAMPLE_RATE_HZ * self.fps)))

    def _vertex_blocks(self, audio: np.ndarray, source: str, num_frames: int, vector: torch.Tensor,
                       base: np.ndarray, text: str | None, timeline: Speech | None) -> Iterator[np.ndarray]:
        """The decoder's vertices (n, V, 3) float32 in style ``vector`` on ``base`` (V, 3), block by
        block (see :meth:`_offset_blocks`)."""
        phones = self.phones_of(audio, text, timeline, source, num_frames) if self.uses_phones else None
        for block in self._offset_blocks(torch.from_numpy(audio), vector, num_frames, phones):
            yield (base[None] + block).astype(np.float32)


def window_spans(num_frames: int) -> list[tuple[int, int]]:
    """(start, stop) frames of the windows a clip of ``num_frames`` frames is decoded in:
    WINDOW_FRAMES long, OVERLAP_FRAMES shared by neighbours (one window for short clips)."""
    step = WINDOW_FRAMES - OVERLAP_FRAMES
    return [(start, min(start + WINDOW_FRAMES, num_frames))
            for start in range(0, max(num_frames - OVERLAP_FRAMES, 1), step)]


def load_model(checkpoint: str | os.PathLike | None = None, device: str = "cpu", phones: bool = True,
               encoder: str = "float") -> Animator:
    """The network in ``checkpoint`` (default: the shipped one) on the mesh it was trained on;
    ``phones=False`` runs a checkpoint with a phonetic channel on the audio alone. The flow
    sampler runs on the CPU. ``encoder``: the speech encoder's path, 'float', 'int8', 'onnx' or
    'onnx-int8' (:mod:`ptalker.pipelines.fast_encoder`; all but 'float' on the CPU only)."""
    path = Path(checkpoint) if checkpoint is not None else DEFAULT_CHECKPOINT
    data = load_checkpoint(path)
    topology = Topology.from_checkpoint(data["topology"], str(path))
    model = network_from_config(data["config"], topology, str(path))
    load_state(model, data)
    use_encoder(model.content_model if model.architecture == "flow" else model, encoder, device)
    if model.architecture == "flow":
        return Animator(model.content_model.to(device), data, topology, torch.device(device), phones, model.eval())
    return Animator(model.to(device), data, topology, torch.device(device), phones)
