"""``ptalker export-model --format onnx``: a trained PTalker as one ONNX graph for game engines.

The graph is the decoder path of :meth:`ptalker.pipelines.animator.Animator.animate` on audio
alone (no phonetic channel, no flow sampler):

    audio  (1, S) float32, mono speech at 16 kHz (any scale: centred and scaled to unit RMS inside)
    style  (1, S_style) float32, a style code (the sidecar lists the training speakers' and the neutral one)
      -> offsets (1, T, V, 3) float32, vertex offsets in mesh units, T = round(S / 16000 * fps) (at least 1)

S (and so T) is dynamic; vertices = template + offsets (the template is written beside the
model). The frame count and the interpolation of the 50 Hz speech features to the frame rate
are computed inside the graph. The graph decodes a clip in one pass: up to
``window_frames`` frames (10 s at 30 fps) it equals ``animate`` (within 1e-4, tested); longer
clips should be cut into windows of ``window_frames`` overlapping by ``overlap_frames`` and
cross-faded linearly, as ``animate`` does (one pass over a long clip also works, but its
attention memory grows with T^2).

Files written (``OUT`` = the .onnx path): ``OUT``, ``OUT.json`` (the sidecar: input and output
names and shapes, sample rate, fps, vertex count, style codes, the files beside it),
``<stem>_template.npy`` (V, 3) float32 and ``<stem>_faces.npy`` (F, 3) int32.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ptalker import __version__
from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_open, save_json, save_npy
from ptalker.pipelines.animator import OVERLAP_FRAMES, WINDOW_FRAMES, Animator, load_model

ONNX_FORMAT = "ptalker-onnx-1"
OPSET = 17
"""The default ONNX opset (LayerNormalization is one op from 17; 15 spells it out, for Unity Sentis up to 2.5)."""
EXPORT_FORMATS = ("onnx",)


class OnnxTalker(nn.Module):
    """audio (1, S) + style (1, S_style) -> offsets (1, T, V, 3), T = round(S / 16000 * fps):
    PTalker's decoder path on audio alone, written with traceable shape arithmetic.

    Args:
        model: a trained PTalker (eval mode).
        fps: the motion frame rate (the checkpoint's).
    """

    def __init__(self, model: nn.Module, fps: float) -> None:
        super().__init__()
        self.model = model
        self.fps = float(fps)
        self.eval()  # the exporter puts the wrapper's mode back on the whole tree after tracing

    def forward(self, audio: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        samples = torch._shape_as_tensor(audio)[1].to(torch.float64)
        frames = torch.round(samples / AUDIO_SAMPLE_RATE_HZ * self.fps).clamp(min=1).to(torch.int64)  # T
        # the samples the T frames span, as the Animator's windows cut them (round half to even, as Python)
        audio = audio[:, :torch.round(frames.to(torch.float64) * (AUDIO_SAMPLE_RATE_HZ / self.fps)).to(torch.int64)]
        centred = audio - audio.mean(dim=1, keepdim=True)
        normalised = centred / (centred.square().mean(dim=1, keepdim=True).sqrt() + 1e-7)
        hidden = self.model.audio_encoder.model(normalised).last_hidden_state  # (1, T50, D) at 50 Hz
        features = interpolate_frames(hidden, frames)  # (1, T, D)
        if self.model.phone_input is not None:  # no phones: all-zero classes, i.e. the layer's bias
            features = features + self.model.phone_input.bias
        content, _ = self.model.audio_content(features)  # (1, T, C)
        return decode(self.model.decoder, content, style, frames) * self.model.config.motion_unit  # (1, T, V, 3)


def decode(decoder: nn.Module, audio: torch.Tensor, style: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """:class:`ptalker.models.decoder.MotionDecoder`'s forward pass without a frame mask, its
    attention written out so that the frame count ``frames`` (a 0-d tensor) stays dynamic when
    traced (nn.MultiheadAttention's reshapes would fix it): audio (1, T, D), style (1, S) ->
    offsets (1, T, V, 3) in network units."""
    position = torch.arange(frames).to(audio.dtype)  # (T,)
    distance = (position[:, None] - position[None]).abs()  # (T, T)
    self_bias = torch.where(distance > decoder.window, float("-inf"), 0.0)[None] \
        - decoder.slopes[:, None, None] * distance[None]  # (H, T, T)
    cross_bias = torch.where(distance > decoder.align, float("-inf"), 0.0)[None]  # (1, T, T)
    x = audio + decoder.style_in(style)[:, None]
    for layer in decoder.layers:
        h = layer.norms[0](x)
        x = x + attend(layer.self_attn, h, h, self_bias)
        h = layer.norms[1](x)
        x = x + attend(layer.cross_attn, h, audio, cross_bias)
        x = x + layer.ff(layer.norms[2](x))
        scale, shift = layer.film(style).chunk(2, dim=-1)  # (1, D) each
        x = x * (1 + scale[:, None]) + shift[:, None]
    gain, shift = decoder.style_out(style).chunk(2, dim=-1)  # (1, K) each
    coefficients = decoder.to_basis(decoder.norm(x)) * (1 + gain[:, None]) + shift[:, None]  # (1, T, K)
    return decoder.basis(coefficients).reshape(1, -1, decoder.num_vertices, 3)  # (1, T, V, 3)


def attend(attention: nn.MultiheadAttention, query: torch.Tensor, key: torch.Tensor,
           bias: torch.Tensor) -> torch.Tensor:
    """``attention`` (batch first, eval mode) of query (1, T, D) on key = value (1, T, D) with an
    additive ``bias`` (H or 1, T, T): (1, T, D)."""
    heads, dim = attention.num_heads, attention.embed_dim
    w_q, w_k, w_v = attention.in_proj_weight.chunk(3)
    b_q, b_k, b_v = attention.in_proj_bias.chunk(3)
    q, k, v = (F.linear(x, w, b).reshape(1, -1, heads, dim // heads).transpose(1, 2)  # (1, H, T, D/H)
               for x, w, b in ((query, w_q, b_q), (key, w_k, b_k), (key, w_v, b_v)))
    scores = q @ k.transpose(-1, -2) / math.sqrt(dim // heads) + bias[None]  # (1, H, T, T)
    out = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(1, -1, dim)  # (1, T, D)
    return attention.out_proj(out)


def interpolate_frames(hidden: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """(B, T, D) linear interpolation of ``hidden`` (B, L, D) to ``frames`` (a 0-d int64 tensor, T)
    evenly spaced points, end points on end points (``F.interpolate(..., align_corners=True)``)."""
    steps = torch._shape_as_tensor(hidden)[1]  # L
    # float32 arithmetic, as torch's CPU kernel does it
    scale = (steps - 1).to(torch.float32) / (frames - 1).clamp(min=1).to(torch.float32)
    position = torch.arange(frames).to(torch.float32) * scale  # (T,)
    low = position.floor().to(torch.int64).clamp(max=steps - 1)
    high = (low + 1).clamp(max=steps - 1)
    weight = (position - low.to(torch.float32)).clamp(0, 1).to(hidden.dtype)[None, :, None]  # (1, T, 1)
    return hidden[:, low] * (1 - weight) + hidden[:, high] * weight


@dataclass
class ModelExport:
    """What :func:`export_model` wrote."""

    model: Path
    sidecar: Path
    template: Path
    faces: Path
    num_vertices: int
    fps: float
    max_abs_diff: float | None
    """Largest |ONNX Runtime - torch| offset on a check clip (mesh units), or None when not checked."""

    def __str__(self) -> str:
        check = "" if self.max_abs_diff is None else f"; ONNX Runtime against torch: max |diff| {self.max_abs_diff:.1e}"
        return (f"wrote {self.model} (audio (1, S) at 16 kHz + style -> offsets (1, T, {self.num_vertices}, 3) at "
                f"{self.fps:g} fps), {self.sidecar.name}, {self.template.name}, {self.faces.name}{check}")


def export_model(out: str | os.PathLike, checkpoint: str | os.PathLike | None = None, fmt: str = "onnx",
                 check: bool = True, opset: int = OPSET) -> ModelExport:
    """Write the PTalker of ``checkpoint`` (default: the shipped one; a flow checkpoint's PTalker)
    as ONNX (``opset`` 14 or later) to ``out`` with its sidecar, template and faces (module
    docstring); ``check`` runs the written model in ONNX Runtime against torch on a 2.5 s
    generated clip."""
    if fmt not in EXPORT_FORMATS:
        raise PtalkerError(f"--format {fmt}: choose one of {', '.join(EXPORT_FORMATS)}")
    if not 14 <= opset <= 20:
        raise PtalkerError(f"--opset {opset}: choose an ONNX opset from 14 to 20 (default {OPSET})")
    out = Path(out)
    if out.suffix != ".onnx":
        raise PtalkerError(f"--out {out}: expected a file name ending in .onnx")
    animator = load_model(checkpoint, phones=False)
    if animator.architecture != "ptalker":
        raise PtalkerError(f"checkpoint {checkpoint}: architecture '{animator.architecture}' decodes frame by "
                           "frame; export-model exports PTalker checkpoints (or a flow checkpoint's PTalker)")
    out.parent.mkdir(parents=True, exist_ok=True)
    wrapper = OnnxTalker(animator.model, animator.fps)
    style_dim = int(animator.model.neutral_style().shape[-1])
    write_onnx(wrapper, style_dim, out, opset)
    template, faces = out.with_name(f"{out.stem}_template.npy"), out.with_name(f"{out.stem}_faces.npy")
    save_npy(template, animator.topology.template.astype(np.float32))
    save_npy(faces, np.asarray(animator.topology.faces, dtype=np.int32))
    sidecar = out.with_name(out.name + ".json")
    save_json(sidecar, {**sidecar_data(animator, out, template, faces, str(checkpoint or "default")), "opset": opset})
    difference = check_export(out, wrapper) if check else None
    return ModelExport(out, sidecar, template, faces, animator.model.num_vertices, animator.fps, difference)


def write_onnx(wrapper: OnnxTalker, style_dim: int, out: Path, opset: int = OPSET) -> None:
    """Trace ``wrapper`` and write it to ``out`` (atomically), S dynamic."""
    generator = torch.Generator().manual_seed(0)
    example = (0.1 * torch.randn(1, AUDIO_SAMPLE_RATE_HZ, generator=generator), torch.zeros(1, style_dim))
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings on Python-side shape checks inside transformers
        with atomic_open(out) as handle:
            torch.onnx.export(wrapper, example, handle, dynamo=False, input_names=["audio", "style"],
                              output_names=["offsets"], opset_version=opset,
                              dynamic_axes={"audio": {1: "samples"}, "offsets": {1: "frames"}})


def style_codes(animator: Animator) -> dict[str, list[float]]:
    """{'neutral': the neutral style, speaker: identity style, ...} as lists of floats."""
    with torch.no_grad():
        codes = {"neutral": animator.model.neutral_style()}
        for index, speaker in enumerate(animator.speakers):
            codes[speaker] = animator.model.identity_style(torch.tensor([index]))[0]
    return {name: [float(x) for x in vector.cpu()] for name, vector in codes.items()}


def sidecar_data(animator: Animator, out: Path, template: Path, faces: Path, checkpoint: str) -> dict:
    """The sidecar JSON of an export (what an engine needs to feed the model and use its output)."""
    vertices = animator.model.num_vertices
    return {
        "format": ONNX_FORMAT, "ptalker": __version__, "checkpoint": checkpoint, "model": out.name,
        "inputs": [
            {"name": "audio", "shape": [1, "samples"], "dtype": "float32",
             "description": f"mono speech at {AUDIO_SAMPLE_RATE_HZ} Hz, at least 400 samples; any scale (centred "
                            "and scaled to unit RMS inside the graph)"},
            {"name": "style", "shape": [1, int(animator.model.neutral_style().shape[-1])], "dtype": "float32",
             "description": "a style code: one of 'styles' below, or a weighted mix of them "
                            "(neutral + strength * (speaker - neutral))"}],
        "outputs": [
            {"name": "offsets", "shape": [1, "frames", vertices, 3], "dtype": "float32",
             "description": "vertex offsets from the template in mesh units; frames = round(samples / "
                            f"{AUDIO_SAMPLE_RATE_HZ} * fps) (halves to even), at least 1; vertices = template + "
                            "offsets"}],
        "sample_rate_hz": AUDIO_SAMPLE_RATE_HZ, "fps": animator.fps, "num_vertices": vertices,
        "num_faces": int(len(animator.topology.faces)),
        "template": template.name, "faces": faces.name,
        "window_frames": WINDOW_FRAMES, "overlap_frames": OVERLAP_FRAMES,
        "windows": "clips longer than window_frames: decode windows of window_frames overlapping by "
                   "overlap_frames and cross-fade them linearly, as ptalker's Animator does",
        "speakers": list(animator.speakers), "styles": style_codes(animator),
    }


def check_export(path: Path, wrapper: OnnxTalker, seconds: float = 2.5) -> float:
    """Largest |ONNX Runtime - torch| over the offsets of a generated ``seconds`` clip in the
    neutral style."""
    from ptalker.pipelines.fast_encoder import onnx_session

    rng = np.random.default_rng(0)
    audio = (0.1 * rng.normal(size=(1, int(seconds * AUDIO_SAMPLE_RATE_HZ)))).astype(np.float32)
    with torch.no_grad():
        style = wrapper.model.neutral_style()[None].cpu().numpy()
    onnx_offsets = onnx_session(path).run(None, {"audio": audio, "style": style})[0]
    with torch.no_grad():
        torch_offsets = wrapper(torch.from_numpy(audio), torch.from_numpy(style)).numpy()
    if onnx_offsets.shape != torch_offsets.shape:
        raise PtalkerError(f"export check: ONNX Runtime gave offsets {onnx_offsets.shape}, torch {torch_offsets.shape}")
    return float(np.abs(onnx_offsets - torch_offsets).max())
