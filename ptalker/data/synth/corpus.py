"""Write a synthetic speech-to-motion corpus in the standard layout.

``ptalker data synth --out ROOT --config configs/data/synth_small.yaml`` writes::

    ROOT/wav/<S>_sentenceNN.wav            16 kHz mono 16-bit PCM, espeak-ng in the speaker's voice
                                           after 0.15 s of silence (motion.LEAD_IN_S)
    ROOT/vertices_npy/<S>_sentenceNN.npy   (T, V*3) float32 stand-in head vertices, metres
    ROOT/params_npy/<S>_sentenceNN.npz     FLAME parameters per frame: expression (T, K),
                                           jaw_pose, neck_pose (T, 3), eye_pose (T, 6),
                                           shape (11,), fps; with whole_face also emotion
                                           (a label string) and emotion_intensity ()
    ROOT/align/<S>_sentenceNN.json         text, phonemes and words with start/end seconds;
                                           with whole_face also emotion {label, intensity}
    ROOT/templates.pkl                     {speaker: (V, 3)} neutral face (their shape, no motion)
    ROOT/speakers.json                     each speaker's split, voice, shape and speaking style
    ROOT/dataset.yaml                      the splits as a data set spec (--config of the loaders)
    ROOT/layout.json                       {"fps": ...}
    ROOT/corpus.json                       the config that made it and the tool versions

Splits follow VOCASET: training speakers say sentences 1..N, validation and test speakers only
the held-out sentences (heldout_from..N). The first ``shared`` sentences of each range are the
same text for every speaker, so style and content can be told apart. Output is deterministic:
the same config gives byte-identical files.

An optional ``whole_face`` section adds emotions (heard and seen), blinks at phrase boundaries and
gaze (:mod:`ptalker.data.synth.whole_face`); without it the corpus is what it always was.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile
import torch
import yaml

from ptalker import __version__
from ptalker.audio.timeline import Speech
from ptalker.config import load_config
from ptalker.data.layout import save_templates
from ptalker.data.splits import LAYOUT_INFO_FILE, REGIONS_FLAME_MASKS
from ptalker.data.synth.espeak import espeak_version, synthesize
from ptalker.data.synth.motion import LipGapModel, animate, with_lead_in
from ptalker.data.synth.sentences import generate_sentences
from ptalker.data.synth.style import Speaker, StyleRanges, VoiceRanges, draw_speaker
from ptalker.data.synth.whole_face import (
    SentenceEmotion,
    WholeFaceConfig,
    add_whole_face,
    draw_habits,
    emotional_voice,
    sentence_emotions,
)
from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_directory, atomic_open, save_json, save_npz, save_text
from ptalker.flame.expressions import control_expressions
from ptalker.flame.flame_model import FlameModel
from ptalker.mesh.regions import RegionMasks

SPLITS = ("train", "val", "test")
DATASET_FILE = "dataset.yaml"
SPEAKERS_FILE = "speakers.json"
CORPUS_FILE = "corpus.json"
WAV_SUBTYPE = "PCM_16"


@dataclass
class SynthConfig:
    """What corpus to make (``configs/data/synth_*.yaml``)."""

    name: str = "synth"
    seed: int = 0
    fps: float = 30.0
    speakers: dict[str, int] = field(default_factory=lambda: {"train": 8, "val": 2, "test": 2})
    """Speakers per split; ids S01, S02, ... in split order."""
    sentences: int = 40
    """Sentences of a training speaker (sentence01..)."""
    heldout_from: int = 21
    """Validation/test speakers say sentences heldout_from..sentences, as in VOCASET."""
    shared: int = 5
    """Sentences 1..shared and heldout_from..heldout_from+shared-1 are the same text for all."""
    duration_s: list[float] = field(default_factory=lambda: [2.4, 4.6])
    """Sentence length range, measured with espeak-ng's default voice."""
    styles: StyleRanges = field(default_factory=StyleRanges)
    voices: VoiceRanges = field(default_factory=VoiceRanges)
    pinned: dict[str, dict] = field(default_factory=dict)
    """Speaker id -> style fields (and 'voice', 'shape') fixed instead of drawn."""
    whole_face: WholeFaceConfig | None = None
    """Emotions, blinks and gaze (ptalker.data.synth.whole_face); None: mouth, brows, nods only."""

    def __post_init__(self) -> None:
        if set(self.speakers) - set(SPLITS) or not self.speakers.get("train"):
            raise PtalkerError(f"speakers: expected counts for {', '.join(SPLITS)} with at least one "
                               f"training speaker, got {self.speakers}")
        if not 1 <= self.heldout_from <= self.sentences:
            raise PtalkerError(f"heldout_from: {self.heldout_from} must lie in 1..sentences ({self.sentences})")
        if self.shared < 0 or self.shared > min(self.heldout_from - 1, self.sentences - self.heldout_from + 1):
            raise PtalkerError(f"shared: {self.shared} does not fit both sentence ranges (1..{self.heldout_from - 1}"
                               f" and {self.heldout_from}..{self.sentences}); lower it")
        if self.fps <= 0:
            raise PtalkerError(f"fps: expected a positive frame rate, got {self.fps}")


@dataclass
class CorpusReport:
    """What ``generate_corpus`` wrote and how long it took."""

    root: Path
    sequences: int
    speakers: int
    audio_s: float
    seconds: float
    bytes: int

    def __str__(self) -> str:
        return (f"wrote {self.sequences} sequences of {self.speakers} speakers ({self.audio_s / 60:.1f} min "
                f"of speech, {self.bytes / 2**20:.0f} MiB) to {self.root} in {self.seconds:.1f} s "
                f"({self.audio_s / max(self.seconds, 1e-9):.0f}x real time)")


def sentence_name(number: int) -> str:
    return f"sentence{number:02d}"


def draw_speakers(config: SynthConfig) -> list[Speaker]:
    """The corpus speakers, S01.. in split order, drawn with the corpus seed."""
    unknown = set(config.pinned) - {f"S{i + 1:02d}" for i in range(sum(config.speakers.values()))}
    if unknown:
        raise PtalkerError(f"pinned: no speaker(s) {', '.join(sorted(unknown))} in this corpus")
    rng = np.random.default_rng([config.seed, 1])
    speakers = []
    for split in SPLITS:
        for _ in range(config.speakers.get(split, 0)):
            sid = f"S{len(speakers) + 1:02d}"
            speakers.append(draw_speaker(sid, split, rng, config.styles, config.voices, config.pinned.get(sid)))
    if config.whole_face is not None:  # a stream of its own: the speakers' other draws stay as they were
        habits_rng = np.random.default_rng([config.seed, 3])
        speakers = [dataclasses.replace(s, habits=draw_habits(config.whole_face, habits_rng)) for s in speakers]
    return speakers


def script(config: SynthConfig, speakers: list[Speaker]) -> dict[str, dict[int, str]]:
    """{speaker id: {sentence number: text}} for every sequence of the corpus."""
    heldout = range(config.heldout_from, config.sentences + 1)
    numbers = {s.id: list(range(1, config.sentences + 1)) if s.split == "train" else list(heldout)
               for s in speakers}
    shared = set(range(1, config.shared + 1)) | set(range(config.heldout_from, config.heldout_from + config.shared))
    own = sum(len([n for n in nums if n not in shared]) for nums in numbers.values())
    texts = iter(generate_sentences(len(shared) + own, config.seed, tuple(config.duration_s)))
    shared_text = {n: next(texts) for n in sorted(shared)}
    return {sid: {n: shared_text[n] if n in shared else next(texts) for n in nums} for sid, nums in numbers.items()}


def dataset_spec(config: SynthConfig, speakers: list[Speaker]) -> dict:
    """The corpus's splits as a :class:`ptalker.data.splits.DatasetSpec` mapping."""
    def ids(split: str) -> list[str]:
        return [s.id for s in speakers if s.split == split]

    def sentences(first: int) -> list[str]:
        return [sentence_name(n) for n in range(first, config.sentences + 1)]

    splits = {"train": {"subjects": ids("train"), "sentences": sentences(1)}}
    for split in ("val", "test"):
        if ids(split):
            splits[split] = {"subjects": ids(split), "sentences": sentences(config.heldout_from)}
    return {"name": config.name, "fps": config.fps, "fps_on_disk": config.fps, "num_vertices": None,
            "condition_subjects": ids("train"), "regions": REGIONS_FLAME_MASKS, "splits": splits}


def _emotions(config: SynthConfig, speaker_index: int, numbers: list[int]) -> dict[int, SentenceEmotion | None]:
    """{sentence number: emotion} of one speaker (all None without whole_face)."""
    if config.whole_face is None:
        return dict.fromkeys(numbers)
    return sentence_emotions(config.whole_face, numbers, np.random.default_rng([config.seed, 4, speaker_index]))


def _speak_and_move(config: SynthConfig, speaker: Speaker, index: int, number: int, text: str,
                    emotion: SentenceEmotion | None, names: list[str], gap: LipGapModel,
                    controls: dict[str, np.ndarray]) -> tuple[Speech, dict[str, np.ndarray]]:
    """One sentence's speech (in the emotion's voice) and FLAME parameters {name: (T, ...)}."""
    voice = speaker.voice if emotion is None else emotional_voice(speaker.voice, emotion)
    speech = with_lead_in(synthesize(text, voice))
    rng = np.random.default_rng([config.seed, 2, index, number])
    params = animate(speech, speaker.style, names, gap, config.fps, rng, seeded_blinks=emotion is None)
    if emotion is not None:
        params = add_whole_face(params, speech, speaker.style.blink_rate_hz, speaker.habits, emotion, controls,
                                names, config.fps, np.random.default_rng([config.seed, 5, index, number]))
    return speech, dataclasses.asdict(params)


def _write_sequence(root: Path, name: str, text: str, speech: Speech, params: dict[str, np.ndarray],
                    vertices: np.ndarray, shape: np.ndarray, fps: float, emotion: SentenceEmotion | None) -> None:
    labels = {} if emotion is None else {"emotion": np.array(emotion.label),
                                         "emotion_intensity": np.float32(emotion.intensity)}
    with atomic_open(root / "wav" / f"{name}.wav", "wb") as handle:
        soundfile.write(handle, speech.waveform, speech.sample_rate, subtype=WAV_SUBTYPE, format="WAV")
    # the corpus folder appears whole (atomic_directory), so its big files skip a per-file fsync
    np.save(root / "vertices_npy" / f"{name}.npy", vertices.reshape(len(vertices), -1))  # (T, V*3)
    save_npz(root / "params_npy" / f"{name}.npz", fps=np.float32(fps), shape=shape.astype(np.float32),
             **params, **labels)
    save_json(root / "align" / f"{name}.json", {"text": text, "fps": fps, "num_frames": len(vertices),
                                                "sample_rate": speech.sample_rate, **speech.to_json(),
                                                **({} if emotion is None else {"emotion": emotion.to_json()})})


def generate_corpus(out: str | os.PathLike, config: SynthConfig, overwrite: bool = False,
                    flame_dir: str | os.PathLike | None = None, progress: bool = False) -> CorpusReport:
    """Make the corpus ``config`` describes in ``out`` (written whole, atomically).

    Raises:
        PtalkerError: ``out`` exists and is not empty without ``overwrite``; a head model
            without the stand-in's named components; a bad config.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise PtalkerError(f"{out}: already exists and is not empty; pass --overwrite to replace it "
                           "or choose another --out")
    start = time.perf_counter()
    model = FlameModel.load(flame_dir)
    masks = RegionMasks.from_flame_masks(model.masks_path).all if model.masks_path else {}
    if "lip_contact_upper" not in masks:
        raise PtalkerError(f"head model {model.flame_dir}: no lip_contact_upper/lower in its masks; "
                           "the synthetic corpus needs the stand-in head (leave --flame-dir unset)")
    upper, lower = masks["lip_contact_upper"], masks["lip_contact_lower"]
    speakers = draw_speakers(config)
    texts = script(config, speakers)
    controls = control_expressions(model) if config.whole_face is not None else {}
    templates, audio_s, count = {}, 0.0, 0
    with atomic_directory(out) as root:
        (root / "vertices_npy").mkdir()
        for index, speaker in enumerate(speakers):
            shape = torch.tensor(speaker.shape, dtype=torch.float32)
            gap = LipGapModel.fit(model, shape, upper, lower)
            with torch.no_grad():
                templates[speaker.id] = model(shape=shape).vertices.numpy()
            emotions = _emotions(config, index, list(texts[speaker.id]))
            for number, text in texts[speaker.id].items():
                speech, params = _speak_and_move(config, speaker, index, number, text, emotions[number],
                                                 model.expression_names, gap, controls)
                with torch.no_grad():
                    vertices = model(shape=shape, **{k: torch.from_numpy(v) for k, v in params.items()}).vertices
                _write_sequence(root, f"{speaker.id}_{sentence_name(number)}", text, speech, params,
                                vertices.numpy(), np.asarray(speaker.shape), config.fps, emotions[number])
                audio_s += speech.duration_s
                count += 1
            if progress:
                print(f"  {speaker.id} ({speaker.split}): done, {time.perf_counter() - start:.1f} s", flush=True)
        save_templates(root / "templates.pkl", templates)
        save_json(root / SPEAKERS_FILE, [s.to_json() for s in speakers])
        save_text(root / DATASET_FILE, yaml.safe_dump(dataset_spec(config, speakers), sort_keys=False))
        save_json(root / LAYOUT_INFO_FILE, {"fps": config.fps})
        settings = dataclasses.asdict(config)
        if config.whole_face is None:
            del settings["whole_face"]  # corpora without it stay byte-identical to those made before it
        save_json(root / CORPUS_FILE, {"config": settings, "ptalker": __version__,
                                       "espeak_ng": espeak_version(), "head": model.name})
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return CorpusReport(out, count, len(speakers), audio_s, time.perf_counter() - start, size)


def load_synth_config(path: str | os.PathLike | None, overrides: list[str] | tuple[str, ...] = ()) -> SynthConfig:
    """The corpus config at ``path`` (or the defaults) with ``key=value`` overrides."""
    return load_config(SynthConfig, path, overrides)


def load_speakers(root: str | os.PathLike) -> dict[str, Speaker]:
    """ROOT/speakers.json as {speaker id: Speaker}."""
    path = Path(root) / SPEAKERS_FILE
    if not path.is_file():
        raise PtalkerError(f"{path}: not found; is {root} a corpus made by 'ptalker data synth'?")
    return {s["id"]: Speaker.from_json(s) for s in json.loads(path.read_text())}


@dataclass
class Alignment:
    """ROOT/align/<name>.json: the text, the motion's frame count and rate, the timeline."""

    text: str
    fps: float
    num_frames: int
    speech: Speech
    """Phonemes and words (its waveform is empty: the audio is in wav/)."""
    emotion: SentenceEmotion | None = None
    """The sentence's emotion in a corpus with whole_face, else None."""


def load_alignment(root: str | os.PathLike, stem: str) -> Alignment:
    """The alignment of sequence ``stem`` (e.g. 'S01_sentence01')."""
    path = Path(root) / "align" / f"{stem}.json"
    if not path.is_file():
        raise PtalkerError(f"{path}: no alignment for sequence '{stem}'; is {root} a corpus made "
                           "by 'ptalker data synth'?")
    data = json.loads(path.read_text())
    emotion = SentenceEmotion(data["emotion"]["label"], float(data["emotion"]["intensity"])) \
        if "emotion" in data else None
    return Alignment(data["text"], float(data["fps"]), int(data["num_frames"]), Speech.from_json(data), emotion)
