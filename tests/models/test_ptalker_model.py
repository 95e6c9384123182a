"""The PTalker network on the stand-in head: codes, styles and decoding with tiny sizes."""

from __future__ import annotations

import pytest
import torch
from helpers import tiny_ptalker_config

from ptalker.mesh.regions import RegionMasks
from ptalker.models.ptalker import PTalker, PTalkerConfig

TINY = tiny_ptalker_config(num_speakers=3)


@pytest.fixture(scope="module")
def model(standin_model):
    torch.manual_seed(0)
    face = RegionMasks.from_flame_masks(standin_model.masks_path).all["face"]
    return PTalker(TINY, standin_model.template.numpy(), standin_model.faces, face)


def test_codes_and_decoding(model, standin_model):
    B, T, V = 2, 15, standin_model.num_vertices
    audio = torch.randn(B, T * 16000 // 30)
    frame_mask = torch.ones(B, T, dtype=torch.bool)
    frame_mask[1, 10:] = False
    audio_codes = model.audio_codes(audio, T, frame_mask=frame_mask)
    assert audio_codes.content_mu.shape == (B, T, 32) and audio_codes.style.shape == (B, 16)
    template = standin_model.template[None].expand(B, -1, -1)
    motion_codes = model.motion_codes(torch.randn(B, T, V, 3) * 1e-3, template, frame_mask)
    assert motion_codes.content_logvar.shape == (B, T, 32) and motion_codes.style.shape == (B, 16)
    style = model.reference_style(audio_codes.style, motion_codes.style)
    offsets = model.decode(audio_codes.content_mu, style, frame_mask)
    assert offsets.shape == (B, T, V, 3)
    assert model.identity_style(torch.tensor([0, 2])).shape == (2, 16)
    assert model.neutral_style().shape == (16,)
    logits = model.speaker_logits(motion_codes.content_mu, frame_mask, reverse=1.0)
    assert logits.shape == (B, 3)
    loss = offsets.pow(2).mean() + logits.logsumexp(-1).mean() + motion_codes.style.pow(2).mean()
    loss.backward()
    assert model.spatial.embed.weight.grad is not None and model.audio_encoder.model.encoder.layers[0] \
        .attention.q_proj.weight.grad is not None


def test_motion_style_ignores_padding(model, standin_model):
    model.eval()
    T, V = 12, standin_model.num_vertices
    offsets = torch.randn(1, T, V, 3) * 1e-3
    template = standin_model.template[None]
    mask = torch.ones(1, T, dtype=torch.bool)
    mask[0, 8:] = False
    padded = offsets.clone()
    padded[0, 8:] = 0.05
    with torch.no_grad():
        a = model.motion_codes(offsets, template, mask).style
        b = model.motion_codes(padded, template, mask).style
        short = model.motion_codes(offsets[:, :8], template).style
    assert torch.allclose(a, b, atol=1e-5) and torch.allclose(a, short, atol=1e-5)
    model.train()


def test_no_identities():
    config = PTalkerConfig(**{**TINY.__dict__, "num_speakers": 0})
    import numpy as np
    template = np.random.default_rng(0).normal(size=(30, 3))
    faces = np.array([[i, i + 1, i + 2] for i in range(28)])
    model = PTalker(config, template, faces)
    assert torch.count_nonzero(model.neutral_style()) == 0
    with pytest.raises(ValueError, match="identity"):
        model.identity_style(torch.tensor([0]))
