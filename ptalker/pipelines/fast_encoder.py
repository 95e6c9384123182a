"""Cheaper speech encoders for inference: int8 weights, ONNX Runtime, or both.

The speech encoder (wav2vec2 / HuBERT / WavLM) is most of the cost of animating with a
paper-size model. :func:`use_encoder` swaps a trained network's encoder for one of
:data:`ENCODERS`, in place, for inference on the CPU:

- ``float``: the encoder as trained (torch, float32);
- ``int8``: torch dynamic quantisation (weights int8, activations quantised per call) of every
  linear layer of the encoder, the convolutional feature extractor's included;
- ``onnx``: the encoder exported to ONNX (dynamic batch and sample axes) and run by ONNX Runtime
  in float32;
- ``onnx-int8``: that ONNX graph with ONNX Runtime's dynamic int8 quantisation of its MatMuls.

All but ``float`` compute the convolutional feature extractor channels last
(:class:`ChannelsLastFeatureExtractor`): each strided convolution as a linear layer over its
patches, so layer norm needs no transposes (those and the float convolutions were over half of
the paper-size encoder's time) and int8 quantisation of linear layers covers the convolutions.
In float it equals the original to 1e-5 relative.

The ONNX paths run the waveform normalisation and the network in ONNX Runtime and interpolate
the 50 Hz features to the motion frame rate in torch, as :class:`ptalker.audio.encoder.AudioEncoder`
does. An export is cached under ``$PTALKER_CACHE/onnx`` (default ``~/.cache/ptalker/onnx``),
named by a hash of the encoder's config and weights, so a checkpoint is exported once.
ONNX encoders take no attention mask (inference feeds whole clips); they need ``onnxruntime``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ptalker.audio.encoder import AudioEncoder
from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_open

FLOAT_LAYERS = ("feature_extractor.layers.0.linear",)
"""Linear layers the int8 paths keep in float: the first convolution, which reads the waveform
(8 bits per sample of speech lose too much; it is 1% of the encoder's work)."""
ENCODERS = ("float", "int8", "onnx", "onnx-int8")
"""The encoder paths :func:`use_encoder` offers."""
ONNX_OPSET = 17
DEFAULT_THREADS = 2
"""ONNX Runtime's intra-op threads unless told otherwise (the reference machine has 2 cores)."""


def use_encoder(model: nn.Module, encoder: str, device: str = "cpu", threads: int | None = None) -> nn.Module:
    """Give ``model`` (a network with an ``audio_encoder``: PTalker, FaceFormer) the encoder path
    ``encoder`` (one of :data:`ENCODERS`), in place, and return it; the paths other than 'float'
    run on the CPU only (``device``); ``threads``: ONNX Runtime's intra-op threads (default:
    torch's thread count)."""
    if encoder not in ENCODERS:
        raise PtalkerError(f"--encoder {encoder}: choose one of {', '.join(ENCODERS)}")
    if encoder == "float":
        return model
    if torch.device(device).type != "cpu":
        raise PtalkerError(f"--encoder {encoder}: runs on the CPU only, got --device {device}; "
                           "use --encoder float on a GPU")
    current = model.audio_encoder
    if not isinstance(current, AudioEncoder):
        raise PtalkerError(f"--encoder {encoder}: this network's speech encoder was already replaced "
                           f"({type(current).__name__}); load the checkpoint again")
    if encoder == "int8":
        model.audio_encoder = quantize_encoder(current)
    else:
        model.audio_encoder = OnnxAudioEncoder(current, quantize=encoder == "onnx-int8", threads=threads)
    return model


class PatchConv(nn.Module):
    """One layer of the convolutional feature extractor, channels last: (B, T, C_in) ->
    (B, T', C_out), the convolution as a linear layer over the strided patches (so that int8
    quantisation of linear layers covers it, and layer norm needs no transposes).

    Args:
        layer: a transformers conv layer (``conv``, an optional ``layer_norm``: LayerNorm over
            channels or GroupNorm with one group per channel, ``activation``).
    """

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        conv = layer.conv
        self.kernel, self.stride = int(conv.kernel_size[0]), int(conv.stride[0])
        self.linear = nn.Linear(self.kernel * conv.in_channels, conv.out_channels, bias=conv.bias is not None)
        with torch.no_grad():  # (C_out, C_in, k) -> (C_out, k * C_in): patches hold k frames of C_in channels
            self.linear.weight.copy_(conv.weight.permute(0, 2, 1).reshape(conv.out_channels, -1))
            if conv.bias is not None:
                self.linear.bias.copy_(conv.bias)
        self.norm = getattr(layer, "layer_norm", None)
        self.activation = layer.activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = (torch._shape_as_tensor(x)[1] - self.kernel) // self.stride + 1  # T'
        patches = torch.cat([x[:, j::self.stride][:, :frames] for j in range(self.kernel)], dim=-1)  # (B, T', k C_in)
        x = self.linear(patches)  # (B, T', C_out)
        if isinstance(self.norm, nn.GroupNorm):  # one group per channel: each channel over time
            mean = x.mean(dim=1, keepdim=True)
            variance = (x - mean).square().mean(dim=1, keepdim=True)
            x = (x - mean) / torch.sqrt(variance + self.norm.eps) * self.norm.weight + self.norm.bias
        elif self.norm is not None:
            x = self.norm(x)
        return self.activation(x)


class ChannelsLastFeatureExtractor(nn.Module):
    """The wav2vec2-family convolutional feature extractor computed channels last (same result,
    no transposes): waveforms (B, S) -> features (B, C, T50), as the module it replaces returns."""

    def __init__(self, extractor: nn.Module) -> None:
        super().__init__()
        self.layers = nn.ModuleList(PatchConv(layer) for layer in extractor.conv_layers)

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:
        x = input_values[:, :, None]  # (B, S, 1)
        for layer in self.layers:
            x = layer(x)
        return x.transpose(1, 2)  # (B, C, T50)


def channels_last(encoder: AudioEncoder) -> AudioEncoder:
    """``encoder`` with its feature extractor computed channels last
    (:class:`ChannelsLastFeatureExtractor`), in place."""
    if not isinstance(encoder.model.feature_extractor, ChannelsLastFeatureExtractor):
        encoder.model.feature_extractor = ChannelsLastFeatureExtractor(encoder.model.feature_extractor).eval()
    return encoder


def quantize_encoder(encoder: AudioEncoder) -> AudioEncoder:
    """``encoder`` with int8 dynamic quantisation of its linear layers and of its convolutional
    feature extractor (computed as linear layers over patches) (torch), in place."""
    channels_last(encoder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization announces its move to torchao
        qconfig = torch.ao.quantization.per_channel_dynamic_qconfig
        names = {name: qconfig for name, module in encoder.model.named_modules()
                 if isinstance(module, nn.Linear) and name not in FLOAT_LAYERS}
        encoder.model = torch.ao.quantization.quantize_dynamic(encoder.model.eval(), names, dtype=torch.qint8)
    return encoder.eval()


class _Normalised(nn.Module):
    """(B, S) raw waveforms -> (B, T50, D) hidden states at 50 Hz: the part of
    :class:`AudioEncoder` that is exported (centred, unit RMS, the transformers model)."""

    def __init__(self, encoder: AudioEncoder) -> None:
        super().__init__()
        self.model = encoder.model

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        centred = audio - audio.mean(dim=1, keepdim=True)
        audio = centred / (centred.square().mean(dim=1, keepdim=True).sqrt() + 1e-7)
        return self.model(audio).last_hidden_state


def export_encoder_onnx(encoder: AudioEncoder, path: str | os.PathLike) -> Path:
    """Write ``encoder`` as ONNX to ``path``: input ``audio`` (B, S) float32 at 16 kHz, output
    ``hidden`` (B, T50, D) at 50 Hz; B and S dynamic."""
    path = Path(path)
    example = torch.zeros(1, 16000).normal_(generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about shapes turned into constants (checked by tests)
        with atomic_open(path) as handle:
            torch.onnx.export(_Normalised(encoder).eval(), (example,), handle, dynamo=False,
                              input_names=["audio"], output_names=["hidden"], opset_version=ONNX_OPSET,
                              dynamic_axes={"audio": {0: "batch", 1: "samples"}, "hidden": {0: "batch", 1: "steps"}})
    return path


def quantize_onnx(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """ONNX Runtime's dynamic int8 quantisation of the MatMuls of the model at ``source``,
    written to ``target``."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = Path(target)
    with tempfile.TemporaryDirectory(dir=target.parent) as folder:
        temporary = Path(folder) / target.name
        logger = logging.getLogger()
        level = logger.level
        logger.setLevel(logging.ERROR)  # it suggests pre-processing, which does not help here
        try:
            quantize_dynamic(str(source), str(temporary), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                             per_channel=True, nodes_to_exclude=float_nodes(source))
        finally:
            logger.setLevel(level)
        os.replace(temporary, target)
    return target


def float_nodes(path: str | os.PathLike) -> list[str]:
    """Names of the MatMul nodes of the exported encoder at ``path`` that stay float (:data:`FLOAT_LAYERS`)."""
    import onnx

    prefixes = tuple("/model/" + name.replace(".layers.", "/layers.").replace(".linear", "/linear/")
                     for name in FLOAT_LAYERS)
    return [node.name for node in onnx.load(str(path), load_external_data=False).graph.node
            if node.op_type == "MatMul" and node.name.startswith(prefixes)]


def onnx_cache_dir() -> Path:
    """Where exported encoders are kept: $PTALKER_CACHE (default ~/.cache/ptalker)/onnx."""
    return Path(os.environ.get("PTALKER_CACHE", Path.home() / ".cache" / "ptalker")) / "onnx"


def encoder_fingerprint(encoder: AudioEncoder) -> str:
    """SHA-1 of the encoder's config, weights, the torch version and how it is quantised (names its cached export)."""
    digest = hashlib.sha1(json.dumps({"config": vars(encoder.config), "torch": torch.__version__,
                                      "opset": ONNX_OPSET, "float_layers": FLOAT_LAYERS, "per_channel": True},
                                     sort_keys=True, default=str).encode())
    for name, tensor in encoder.model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def cached_onnx(encoder: AudioEncoder, quantize: bool) -> Path:
    """The ONNX file of ``encoder`` (int8 MatMuls with ``quantize``), exported into the cache on first use."""
    folder = onnx_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"encoder-{encoder_fingerprint(encoder)}"
    plain = folder / f"{stem}.onnx"
    if not plain.is_file():
        export_encoder_onnx(encoder, plain)
    if not quantize:
        return plain
    quantized = folder / f"{stem}-int8.onnx"
    if not quantized.is_file():
        quantize_onnx(plain, quantized)
    return quantized


def onnx_session(path: str | os.PathLike | bytes, threads: int | None = None):
    """An ONNX Runtime CPU session of the model at ``path`` (or its bytes) with ``threads``
    intra-op threads (default: torch's thread count), one inter-op thread, no spinning."""
    try:
        import onnxruntime
    except ImportError:
        raise PtalkerError("ONNX encoder: onnxruntime is not installed; pip install onnxruntime, "
                           "or use --encoder float or int8") from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads() or DEFAULT_THREADS
    options.inter_op_num_threads = 1
    # no busy-waiting after a run: its threads would take the cores from the torch decoder that follows
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source = path if isinstance(path, bytes) else str(path)
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])


class OnnxAudioEncoder(nn.Module):
    """An :class:`AudioEncoder` run by ONNX Runtime (same call, same (B, T, D) features).

    Args:
        encoder: the trained torch encoder (exported, or its cached export is used).
        quantize: int8 MatMuls (ONNX Runtime dynamic quantisation).
        threads: ONNX Runtime's intra-op threads (default: torch's thread count).
    """

    def __init__(self, encoder: AudioEncoder, quantize: bool = False, threads: int | None = None) -> None:
        super().__init__()
        self.config = encoder.config
        self.dim = encoder.dim
        self.takes_mask = False
        self.quantized = quantize
        self.path = cached_onnx(channels_last(encoder), quantize)
        self.session = onnx_session(self.path, threads)

    def forward(self, audio: torch.Tensor, num_frames: int, audio_mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, D) features of ``audio`` (B, S) at ``num_frames`` evenly spaced frames (no ``audio_mask``)."""
        if audio.ndim != 2:
            raise PtalkerError(f"audio: expected a (B, S) batch of waveforms, got shape {tuple(audio.shape)}")
        if audio_mask is not None and not bool(audio_mask.all()):
            raise PtalkerError("ONNX encoder: padded batches (an audio mask) are not supported; "
                               "animate clips one at a time or use --encoder float or int8")
        waveform = np.ascontiguousarray(audio.detach().cpu().numpy(), dtype=np.float32)
        hidden = torch.from_numpy(self.session.run(None, {"audio": waveform})[0]).to(audio.device)  # (B, T50, D)
        return F.interpolate(hidden.transpose(1, 2), size=num_frames, mode="linear",
                             align_corners=True).transpose(1, 2)  # (B, T, D)
