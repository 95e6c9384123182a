"""What tests share besides fixtures: the tiny network sizes, the tiny corpus and training run
(their configs; the built ones are session fixtures in conftest.py), and a closeness check.

Imported as ``from helpers import ...`` from any folder under tests/ (setup.cfg's ``pythonpath``
puts tests/ on sys.path).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
"""The repository's root folder (configs/, ptalker/, tests/)."""
TINY_AUDIO = {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64, "conv_dim": 16}
"""The speech encoder of every test network (AudioEncoderConfig keywords): small enough for tests."""
TINY_PTALKER = {"content_dim": 32, "style_dim": 16, "graph_nodes": 24, "graph_dim": 16, "graph_layers": 1,
                "decoder_layers": 1, "decoder_ff": 64, "basis": 8}
"""PTalkerConfig sizes (besides the audio encoder) of the tests' PTalker."""
TINY_FACEFORMER = {"dim": 16, "layers": 1, "heads": 2, "ff": 32}
"""FaceFormerConfig sizes (besides the audio encoder) of the tests' FaceFormer baseline."""


def _flow(values: dict) -> str:
    """A YAML flow mapping, as config overrides take one: {a: 1, b: 2}."""
    return "{" + ", ".join(f"{key}: {value}" for key, value in values.items()) + "}"


TINY_MODEL = [f"model.audio={_flow(TINY_AUDIO)}", *(f"model.{key}={value}" for key, value in TINY_PTALKER.items())]
"""Training-config overrides for a PTalker small enough for tests."""
TINY_FACEFORMER_MODEL = ["architecture=faceformer", f"faceformer.audio={_flow(TINY_AUDIO)}",
                         *(f"faceformer.{key}={value}" for key, value in TINY_FACEFORMER.items())]
"""Training-config overrides for a FaceFormer baseline small enough for tests."""


def tiny_audio_config(**changes):
    """AudioEncoderConfig of TINY_AUDIO (``changes``: other fields, e.g. kind or freeze)."""
    from ptalker.audio.encoder import AudioEncoderConfig

    return AudioEncoderConfig(**{**TINY_AUDIO, **changes})


def tiny_ptalker_config(**changes):
    """PTalkerConfig of TINY_AUDIO and TINY_PTALKER (``changes``: other fields, e.g. num_speakers)."""
    from ptalker.models.ptalker import PTalkerConfig

    return PTalkerConfig(**{"audio": tiny_audio_config(), **TINY_PTALKER, **changes})


def tiny_faceformer_config(**changes):
    """FaceFormerConfig of TINY_AUDIO and TINY_FACEFORMER (``changes``: other fields)."""
    from ptalker.models.faceformer import FaceFormerConfig

    return FaceFormerConfig(**{"audio": tiny_audio_config(), **TINY_FACEFORMER, **changes})


def strip_mesh(num_vertices: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """A mesh for networks that need only arrays: (V, 3) float32 random vertices (seed 0) and a
    strip of V - 2 triangles (i, i + 1, i + 2)."""
    template = np.random.default_rng(0).normal(size=(num_vertices, 3)).astype(np.float32)
    faces = np.array([[i, i + 1, i + 2] for i in range(num_vertices - 2)])
    return template, faces


TINY_CORPUS = ["name=tiny", "seed=5", "speakers={train: 2, val: 1, test: 1}", "sentences=4", "heldout_from=3",
               "shared=1", ("pinned={S01: {lip_amplitude: 0.6, jaw_amplitude: 0.7, smile_bias: -0.4, head_motion: 0.3},"
                            " S02: {lip_amplitude: 1.4, jaw_amplitude: 1.3, smile_bias: 0.6, head_motion: 1.5}}")]
"""Synthetic-corpus overrides of the session's tiny corpus (fixture ``tiny_corpus``): 2 training
speakers S01, S02 (sentence01-04), 1 val speaker S03 and 1 test speaker S04 (sentence03-04), 12
sequences; sentences 01 and 03 are shared; S01 and S02 differ in the direction the pinned values say."""


def train_overrides(data, out, *extra: str) -> list[str]:
    """Training-config overrides of a tiny run on ``data`` into ``out`` (then ``extra``): on
    ``tiny_corpus``, 2 epochs of 2 batches of 2 speaker pairs. The session's trained model
    (fixture ``tiny_trained``) is ``train_overrides(tiny_corpus, its out)``."""
    return [f"data={data}", f"out={out}", "batch_size=4", "max_frames=40", "epochs=2", "warmup_steps=1", "lr=0.003",
            *TINY_MODEL, *extra]


TINY_FLOW = ["architecture=flow", "flow.basis_size=8", "flow.prompt_frames=20",
             f"flow.velocity={_flow({'dim': 32, 'layers': 1, 'heads': 2, 'ff': 64, 'window': 16, 'dropout': 0.0})}"]
"""Training-config overrides for a flow talker small enough for tests (on a tiny PTalker: ``init``)."""


def flow_overrides(data, out, init, *extra: str) -> list[str]:
    """Training-config overrides of a tiny flow run on ``data`` into ``out``, built on the PTalker
    checkpoint ``init``: 3 epochs of 4 batches of 2 clips (on ``tiny_corpus``)."""
    return [f"data={data}", f"out={out}", f"init={init}", "batch_size=2", "max_frames=40", "epochs=3",
            "warmup_steps=1", "lr=0.003", *TINY_FLOW, *extra]


def tiny_flame(num_vertices: int = 40, num_components: int | None = None, seed: int = 0):
    """A random but valid FLAME model (as the dict FLAME_model.pkl holds) and a landmark embedding
    with general barycentrics; ``num_components``: shape + expression components (None: FLAME's)."""
    from ptalker.constants import FLAME_NUM_EXPRESSION, FLAME_NUM_JOINTS, FLAME_NUM_LANDMARKS, FLAME_NUM_SHAPE

    if num_components is None:
        num_components = FLAME_NUM_SHAPE + FLAME_NUM_EXPRESSION
    rng = np.random.default_rng(seed)
    v = rng.normal(scale=0.05, size=(num_vertices, 3))
    faces = np.stack([np.arange(num_vertices), np.roll(np.arange(num_vertices), -1),
                      np.roll(np.arange(num_vertices), -7)], 1).astype(np.uint32)
    weights = rng.uniform(size=(num_vertices, FLAME_NUM_JOINTS)) ** 3
    weights /= weights.sum(1, keepdims=True)
    regressor = rng.uniform(size=(FLAME_NUM_JOINTS, num_vertices)) * (rng.uniform(size=(5, num_vertices)) < 0.3)
    regressor[:, 0] += 0.01
    regressor /= regressor.sum(1, keepdims=True)
    model = {
        "v_template": v, "f": faces,
        "shapedirs": rng.normal(scale=0.002, size=(num_vertices, 3, num_components)),
        "posedirs": rng.normal(scale=0.01, size=(num_vertices, 3, (FLAME_NUM_JOINTS - 1) * 9)),
        "J_regressor": regressor, "weights": weights,
        "kintree_table": np.array([[2**32 - 1, 0, 1, 1, 1], [0, 1, 2, 3, 4]], dtype=np.int64),
    }
    coords = rng.uniform(0.05, 1.0, size=(FLAME_NUM_LANDMARKS, 3))
    embedding = {"lmk_face_idx": rng.integers(0, len(faces), FLAME_NUM_LANDMARKS).astype(np.int64),
                 "lmk_b_coords": coords / coords.sum(1, keepdims=True)}
    return model, embedding


def assert_allclose(actual, expected, atol: float, what: str = "value") -> None:
    """Like np.testing.assert_allclose (absolute), reporting the max difference and where."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if actual.size == 0:
        return
    diff = np.abs(actual - expected)
    diff = np.where(np.isnan(actual) != np.isnan(expected), np.inf, np.nan_to_num(diff))
    where = np.unravel_index(int(np.argmax(diff)), diff.shape)
    assert diff[where] <= atol, (
        f"{what}: max abs difference {diff[where]:.3g} > {atol:.3g} at index {tuple(int(i) for i in where)} "
        f"(actual {actual[where]!r}, expected {expected[where]!r})"
    )


def pose(model, **params) -> np.ndarray:
    """Vertices (..., V, 3) float32 of FLAME ``model`` from numpy/torch parameters; expression
    given as a dict of name -> weights (...,) or as an array."""
    expression = params.pop("expression", None)
    if isinstance(expression, dict):
        lead = np.broadcast(*[np.asarray(w) for w in expression.values()]).shape
        coeffs = np.zeros((*lead, len(model.expression_names)))  # (..., K)
        for name, weights in expression.items():
            coeffs[..., model.expression_names.index(name)] = weights
        expression = coeffs
    if expression is not None:
        params["expression"] = expression
    with torch.no_grad():
        out = model(**{name: torch.as_tensor(np.asarray(value), dtype=torch.float32)
                       for name, value in params.items()})
    return out.vertices.numpy()


def axis_x(angles) -> np.ndarray:
    """(...,) angles -> (..., 3) rotations about x."""
    angles = np.asarray(angles, dtype=np.float64)
    return np.stack([angles, np.zeros_like(angles), np.zeros_like(angles)], axis=-1)


def probe_video(path) -> dict:
    """Streams of an MP4 as ffmpeg reports them: video codec and size, audio codec, frames, seconds."""
    import imageio_ffmpeg

    text = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                          capture_output=True, text=True).stderr
    video = re.search(r"Stream .*Video: (\w+).*?, (\d+)x(\d+)", text)
    audio = re.search(r"Stream .*Audio: (\w+)", text)
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    return {"video": video.group(1) if video else None, "audio": audio.group(1) if audio else None,
            "size": (int(video.group(2)), int(video.group(3))) if video else None,
            "yuv420p": "yuv420p" in text, "frames": frames, "seconds": seconds}
