"""The speech encoder: built from a config (three architectures), loaded from a local directory,
a clear error for an unreachable hub id, freezing, and features at the motion frame rate."""

from __future__ import annotations

import pytest
import torch
from helpers import TINY_AUDIO

from ptalker.audio.encoder import AudioEncoder, AudioEncoderConfig
from ptalker.errors import PtalkerError


@pytest.mark.parametrize("kind", ["wav2vec2", "hubert", "wavlm"])
def test_features_at_frame_rate(kind):
    encoder = AudioEncoder(AudioEncoderConfig(kind=kind, **TINY_AUDIO)).eval()
    audio = torch.randn(2, 16000)
    with torch.no_grad():
        features = encoder(audio, num_frames=30)
    assert features.shape == (2, 30, TINY_AUDIO["hidden_size"]) and torch.isfinite(features).all()


def test_padding_does_not_change_the_real_part():
    """A padded batch item gives the features it gives alone (the mask reaches every layer)."""
    encoder = AudioEncoder(AudioEncoderConfig(**TINY_AUDIO)).eval()
    audio = torch.randn(1, 16000) * 0.1 + 0.05
    padded = torch.cat([audio, torch.randn(1, 8000)], dim=1)
    mask = torch.zeros(1, 24000, dtype=torch.bool)
    mask[:, :16000] = True
    with torch.no_grad():
        direct = encoder.model((audio - audio.mean()) / (audio.std() + 1e-7)).last_hidden_state
        both = encoder.model(((padded - audio.mean()) / (audio.std() + 1e-7)) * mask,
                             attention_mask=mask.long()).last_hidden_state
    # the last 20 ms frame's receptive field reaches into the padding; compare the frames before it
    assert torch.allclose(direct[:, :-1], both[:, :direct.shape[1] - 1], atol=1e-4)
    with torch.no_grad():
        masked = encoder(padded, num_frames=75, audio_mask=mask)
    assert masked.shape == (1, 75, 32) and torch.isfinite(masked).all()


def test_freezing():
    frozen = AudioEncoder(AudioEncoderConfig(freeze="all", **TINY_AUDIO))
    assert not any(p.requires_grad for p in frozen.parameters())
    conv = AudioEncoder(AudioEncoderConfig(freeze="feature_extractor", **TINY_AUDIO))
    assert not any(p.requires_grad for p in conv.model.feature_extractor.parameters())
    assert any(p.requires_grad for p in conv.model.encoder.parameters())
    free = AudioEncoder(AudioEncoderConfig(freeze="none", **TINY_AUDIO))
    assert all(p.requires_grad for p in free.parameters())


def test_load_local_directory(tmp_path):
    built = AudioEncoder(AudioEncoderConfig(**TINY_AUDIO)).eval()
    built.model.save_pretrained(tmp_path / "w2v")
    loaded = AudioEncoder(AudioEncoderConfig(source=str(tmp_path / "w2v"))).eval()
    audio = torch.randn(1, 8000)
    with torch.no_grad():
        assert torch.allclose(built(audio, 12), loaded(audio, 12), atol=1e-6)


def test_unreachable_source_is_a_clear_error(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # as HF_HUB_OFFLINE=1 does
    with pytest.raises(PtalkerError, match="audio.source 'facebook/wav2vec2-base-960h'.*local directory"):
        AudioEncoder(AudioEncoderConfig(source="facebook/wav2vec2-base-960h"))
    with pytest.raises(PtalkerError, match="audio.source"):
        AudioEncoder(AudioEncoderConfig(source=str(tmp_path / "missing")))


@pytest.mark.parametrize("bad, match", [({"kind": "whisper"}, "audio.kind"), ({"freeze": "some"}, "audio.freeze"),
                                        ({"hidden_size": 30, "num_heads": 4}, "multiple")])
def test_bad_config(bad, match):
    with pytest.raises(PtalkerError, match=match):
        AudioEncoderConfig(**bad)


def test_bad_audio_shape():
    with pytest.raises(PtalkerError, match=r"\(B, S\)"):
        AudioEncoder(AudioEncoderConfig(**TINY_AUDIO))(torch.randn(16000), 10)
