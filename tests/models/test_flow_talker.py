"""The generative talker: prompt masks for training, the loss, and generation with a prompt."""

import numpy as np
import pytest
import torch
from helpers import tiny_ptalker_config

from ptalker.models.flow import FlowConfig
from ptalker.models.flow_talker import FlowTalker, PromptShares, prompt_masks
from ptalker.models.motion_basis import MotionBasis
from ptalker.models.ptalker import PTalker
from ptalker.pipelines.flow_sampling import SamplerSettings, generate_offsets

K = 8
FLOW = FlowConfig(motion_dim=K, audio_dim=32, dim=32, layers=1, heads=2, ff=64, window=16, dropout=0.0)


@pytest.fixture(scope="module")
def talker(standin_template, standin_model):
    torch.manual_seed(0)
    content = PTalker(tiny_ptalker_config(), standin_template.astype(np.float32), standin_model.faces)
    frames = torch.randn(200, K) @ torch.randn(K, len(standin_template) * 3) * 1e-3
    basis = MotionBasis.fit(frames.reshape(200, -1, 3), K)
    return FlowTalker(content, basis, FLOW)


def test_prompt_masks_cover_every_kind_and_leave_frames_to_generate():
    frame_mask = torch.ones(400, 30, dtype=torch.bool)
    frame_mask[::2, 20:] = False  # half the clips are padded after 20 frames
    known = prompt_masks(frame_mask, PromptShares(), torch.Generator().manual_seed(0))
    assert not (known & ~frame_mask).any()  # padding is never a prompt
    assert ((~known & frame_mask).sum(dim=1) >= 1).all()  # something to generate in every clip
    none = (~known.any(dim=1)).float().mean().item()
    prefix = np.mean([0 < int(row.sum()) and bool(row[:int(row.sum())].all()) for row in known])  # [T..T F..F]
    assert 0.05 < none < 0.16 and prefix > 0.3
    again = prompt_masks(frame_mask, PromptShares(), torch.Generator().manual_seed(0))
    assert torch.equal(known, again)


def test_loss_trains_the_field_only_and_falls_on_one_batch(talker):
    audio = torch.randn(2, 16000)
    offsets = talker.basis.decode(torch.randn(2, 30, K))  # (2, 30, V, 3) inside the basis
    frame_mask = torch.ones(2, 30, dtype=torch.bool)
    trainable = [p for p in talker.parameters() if p.requires_grad]
    assert trainable and all(p.requires_grad is False for p in talker.content_model.parameters())

    def measured() -> float:
        with torch.no_grad():
            return float(np.mean([talker.loss(audio, offsets, frame_mask, torch.Generator().manual_seed(s)).item()
                                  for s in range(8)]))

    before = measured()
    optimizer = torch.optim.Adam(trainable, lr=3e-3)
    for step in range(60):
        optimizer.zero_grad()
        talker.loss(audio, offsets, frame_mask, torch.Generator().manual_seed(100 + step)).backward()
        optimizer.step()
    assert measured() < 0.8 * before


def test_generate_infills_after_the_prompt_and_repeats_with_a_seed(talker):
    audio, prompt_audio = torch.randn(16000), torch.randn(8000)
    prompt_offsets = talker.basis.decode(torch.randn(15, K))
    settings = SamplerSettings(steps=3, seed=1)
    out = generate_offsets(talker, audio, 30, settings, prompt_audio, prompt_offsets)
    assert out.shape == (30, talker.basis_mean.numel() // 3, 3)
    assert torch.equal(out, generate_offsets(talker, audio, 30, settings, prompt_audio, prompt_offsets))
    alone = generate_offsets(talker, audio, 30, settings)
    assert alone.shape == out.shape and not torch.equal(alone, out)
