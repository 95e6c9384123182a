"""Speech encoders of the wav2vec2 family (transformers), features at the motion frame rate.

The encoder is built from a small config (random weights, trained with the rest of the model:
nothing is downloaded), or loaded from a local directory or a hub id given in the config
(wav2vec2, HuBERT or WavLM weights, e.g. facebook/wav2vec2-base-960h). It runs at 50 Hz; the
features are linearly interpolated to the motion's frame rate (docs/architecture.md, "Speech encoders").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ptalker.errors import PtalkerError

KINDS = ("wav2vec2", "hubert", "wavlm")
FREEZE = ("none", "feature_extractor", "all")
CONV_LAYERS = 7
"""wav2vec2's convolutional feature extractor: 7 layers, 320 samples (20 ms at 16 kHz) per step."""


@dataclass
class AudioEncoderConfig:
    """Which speech encoder, and which of its parts train."""

    source: str = "config"
    """'config' builds the architecture below with random weights; anything else is a local
    directory or a hub id whose weights are loaded (hub ids need the network or a local cache)."""
    kind: str = "wav2vec2"
    """Architecture when built from the config: wav2vec2, hubert or wavlm."""
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 1024
    conv_dim: int = 128
    """Channels of each of the 7 convolutional layers (wav2vec2-base: 512)."""
    freeze: str = "feature_extractor"
    """'none', 'feature_extractor' (the convolutions; the usual fine-tuning choice) or 'all'."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise PtalkerError(f"audio.kind: '{self.kind}' unknown; choose one of {', '.join(KINDS)}")
        if self.freeze not in FREEZE:
            raise PtalkerError(f"audio.freeze: '{self.freeze}' unknown; choose one of {', '.join(FREEZE)}")
        if self.hidden_size % self.num_heads:
            raise PtalkerError(f"audio.hidden_size {self.hidden_size} is not a multiple of "
                               f"audio.num_heads {self.num_heads}")


def _build(config: AudioEncoderConfig) -> nn.Module:
    """A transformers model: built from ``config`` or loaded from ``config.source``."""
    import transformers

    if config.source != "config":
        if not Path(config.source).exists() and config.source.startswith(("/", ".", "~")):
            raise PtalkerError(f"audio.source '{config.source}': no such directory; give a directory "
                               "saved with save_pretrained, a hub id, or 'config'")
        try:
            return transformers.AutoModel.from_pretrained(config.source)
        except OSError as err:
            raise PtalkerError(
                f"audio.source '{config.source}': could not load the encoder ({str(err).splitlines()[0]}); "
                "give a local directory saved with save_pretrained, or a hub id with the network "
                "available, or 'config' for a freshly initialised encoder") from None
    classes = {"wav2vec2": (transformers.Wav2Vec2Config, transformers.Wav2Vec2Model),
               "hubert": (transformers.HubertConfig, transformers.HubertModel),
               "wavlm": (transformers.WavLMConfig, transformers.WavLMModel)}
    config_class, model_class = classes[config.kind]
    hf_config = config_class(hidden_size=config.hidden_size, num_hidden_layers=config.num_layers,
                             num_attention_heads=config.num_heads, intermediate_size=config.intermediate_size,
                             conv_dim=(config.conv_dim,) * CONV_LAYERS, layerdrop=0.0, mask_time_prob=0.0,
                             feat_extract_norm="layer", do_stable_layer_norm=True)
    return model_class(hf_config)


class AudioEncoder(nn.Module):
    """Waveforms in, per-frame features out.

    Args:
        config: which encoder (see :class:`AudioEncoderConfig`).
    """

    def __init__(self, config: AudioEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.model = _build(config)
        self.model.config.layerdrop = 0.0  # whole layers are never skipped, in training neither
        self.model.config.mask_time_prob = 0.0  # no SpecAugment-style masking inside the encoder
        self.dim = int(self.model.config.hidden_size)
        self.takes_mask = getattr(self.model.config, "feat_extract_norm", "group") == "layer"
        if config.freeze == "all":
            self.model.requires_grad_(False)
        elif config.freeze == "feature_extractor":
            self.model.feature_extractor.requires_grad_(False)

    def forward(self, audio: torch.Tensor, num_frames: int, audio_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Features of ``audio`` at ``num_frames`` evenly spaced frames.

        Args:
            audio: (B, S) float waveforms at 16 kHz.
            num_frames: T, frames of motion the audio spans.
            audio_mask: (B, S) bool, True on real samples (padding after them), or None.

        Returns:
            (B, T, D) features, D = ``self.dim``.
        """
        if audio.ndim != 2:
            raise PtalkerError(f"audio: expected a (B, S) batch of waveforms, got shape {tuple(audio.shape)}")
        centred = audio - _masked_mean(audio, audio_mask)
        audio = centred / (_masked_rms(centred, audio_mask) + 1e-7)
        if audio_mask is not None:
            audio = audio * audio_mask  # padding stays silent after normalising
        # Encoders whose feature extractor uses layer norm (ours; wav2vec2-large-lv60) honour the
        # mask; group-norm ones (wav2vec2-base) are meant to see zero padding without one.
        mask = audio_mask.long() if audio_mask is not None and self.takes_mask else None
        hidden = self.model(audio, attention_mask=mask).last_hidden_state  # (B, T50, D) at 50 Hz
        return F.interpolate(hidden.transpose(1, 2), size=num_frames, mode="linear",
                             align_corners=True).transpose(1, 2)  # (B, T, D)


def _masked_mean(audio: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """(B, 1) mean over real samples."""
    if mask is None:
        return audio.mean(dim=1, keepdim=True)
    return (audio * mask).sum(dim=1, keepdim=True) / mask.sum(dim=1, keepdim=True).clamp(min=1)


def _masked_rms(audio: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """(B, 1) root mean square over real samples (the standard deviation of centred audio)."""
    return _masked_mean(audio ** 2, mask).sqrt()
