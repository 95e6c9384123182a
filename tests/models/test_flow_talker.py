"""The generative talker: prompt masks for training, its audio condition, the loss, and
generation with a prompt, infilled frames and windows."""

import numpy as np
import pytest
import torch
from helpers import tiny_ptalker_config

from ptalker.models.flow import FlowConfig
from ptalker.models.flow_talker import FlowTalker, FlowTalkerConfig, PromptShares, prompt_masks
from ptalker.models.motion_basis import MotionBasis
from ptalker.models.ptalker import PTalker
from ptalker.pipelines import flow_sampling
from ptalker.pipelines.flow_sampling import SamplerSettings, clip_prompt, generate_motion, generate_offsets

K = 8
CONFIG = FlowTalkerConfig(velocity=FlowConfig(dim=32, layers=1, heads=2, ff=64, window=16, dropout=0.0),
                          basis_size=K, prompt_frames=15)


@pytest.fixture(scope="module")
def talker(standin_template, standin_model):
    torch.manual_seed(0)
    content = PTalker(tiny_ptalker_config(), standin_template.astype(np.float32), standin_model.faces)
    frames = torch.randn(200, K) @ torch.randn(K, len(standin_template) * 3) * 1e-3
    basis = MotionBasis.fit(frames.reshape(200, -1, 3), K)
    return FlowTalker(content, CONFIG, basis)


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


def test_condition_is_the_prior_and_the_style_channel(talker):
    audio = torch.randn(1, 16000)
    model = talker.content_model
    condition = talker.condition(audio, 30)
    content = model.audio_codes(audio, 30).content_mu
    assert condition.shape == (1, 30, 2 * K)
    prior = talker.basis.encode(model.decode(content, model.neutral_style()[None]))
    assert torch.allclose(condition[..., :K], prior, atol=1e-4)
    assert torch.equal(talker.prior(condition), condition[..., :K])
    assert not condition[..., K:].any()  # no style: the channel is zeros
    style = torch.randn(1, model.config.style_dim)
    styled = talker.condition(audio, 30, style=style)
    expected = (talker.basis.encode(model.decode(content, style)) - prior) / talker.residual_scale
    assert torch.allclose(styled[..., K:], expected, atol=1e-4)
    motion = torch.randn(30, K)
    assert torch.allclose(talker.from_residual(talker.to_residual(motion, styled[0]), styled[0]), motion, atol=1e-5)


def test_loss_trains_the_field_only_and_falls_on_one_batch(talker):
    condition = talker.condition(torch.randn(2, 16000), 30)
    motion = talker.prior(condition) + torch.randn(2, 1, K)  # a learnable residual: one offset per clip
    frame_mask = torch.ones(2, 30, dtype=torch.bool)
    trainable = [p for p in talker.parameters() if p.requires_grad]
    assert trainable and all(p.requires_grad is False for p in talker.content_model.parameters())

    def measured() -> float:
        with torch.no_grad():
            return float(np.mean([talker.loss(motion, condition, frame_mask, torch.Generator().manual_seed(s)).item()
                                  for s in range(8)]))

    before = measured()
    optimizer = torch.optim.Adam(trainable, lr=3e-3)
    for step in range(60):
        optimizer.zero_grad()
        talker.loss(motion, condition, frame_mask, torch.Generator().manual_seed(100 + step)).backward()
        optimizer.step()
    assert measured() < 0.8 * before


def test_the_lip_seal_term_scores_lips_left_open(talker, standin_template, standin_sets):
    """With the truth's lips shut (a template whose paired lip vertices coincide, no motion),
    the lip-seal term adds what the predicted motion leaves open; weight 0 removes it."""
    import dataclasses

    upper, lower = (torch.as_tensor(ids) for ids in (standin_sets.lip_upper, standin_sets.lip_lower))
    shut = torch.from_numpy(standin_template.astype(np.float32)).clone()
    shut[lower] = shut[upper]
    condition = talker.condition(torch.randn(2, 16000), 30)
    motion = talker.basis.encode(torch.zeros(2, 30, len(shut), 3))  # the truth: no offsets, lips shut
    mask = torch.ones(2, 30, dtype=torch.bool)
    plain = talker.loss(motion, condition, mask, torch.Generator().manual_seed(0))
    sealed = talker.loss(motion, condition, mask, torch.Generator().manual_seed(0), shut[None].expand(2, -1, -1),
                         (upper, lower))
    assert sealed > plain
    talker.config = dataclasses.replace(talker.config, lip_seal=0.0)
    try:
        unweighted = talker.loss(motion, condition, mask, torch.Generator().manual_seed(0),
                                 shut[None].expand(2, -1, -1), (upper, lower))
    finally:
        talker.config = dataclasses.replace(talker.config, lip_seal=0.01)
    assert unweighted == plain


def test_generate_with_a_prompt_repeats_with_a_seed(talker, standin_template):
    audio = torch.randn(16000)
    template = torch.from_numpy(standin_template.astype(np.float32))
    prompt = clip_prompt(talker, torch.randn(16000), talker.basis.decode(torch.randn(30, K)), template)
    assert prompt.motion.shape == (15, K) and prompt.condition.shape[0] == 15  # prompt_frames of the clip
    assert prompt.style.shape == (talker.content_model.config.style_dim,)
    settings = SamplerSettings(steps=3, seed=1, temperature=1.0)
    out = generate_offsets(talker, audio, 30, settings, prompt)
    assert out.shape == (30, talker.basis_mean.numel() // 3, 3)
    assert torch.equal(out, generate_offsets(talker, audio, 30, settings, prompt))
    alone = generate_offsets(talker, audio, 30, settings)
    assert alone.shape == out.shape and not torch.equal(alone, out)


def test_known_frames_come_back_bit_identical(talker):
    condition = talker.condition(torch.randn(1, 16000), 30)[0]
    known_motion = torch.randn(30, K)
    known = torch.zeros(30, dtype=torch.bool)
    known[:10] = known[20:] = True  # infill frames 10..19
    out = generate_motion(talker, condition, SamplerSettings(steps=3), known_motion=known_motion, known=known)
    assert torch.equal(out[known], known_motion[known])
    assert not torch.equal(out[~known], known_motion[~known])


def test_windows_hold_the_previous_windows_frames_as_context(talker, monkeypatch):
    """Long sequences run in windows; each starts from the frames generated before it."""
    condition = talker.condition(torch.randn(1, 32000), 60)[0]
    calls = []
    sample = flow_sampling.sample_motion

    def recording(field, audio, prompt, known, settings, generator=None, prompt_frames=0):
        calls.append((audio.shape[1], known[0].clone(), prompt[0].clone()))
        return sample(field, audio, prompt, known, settings, generator, prompt_frames)

    monkeypatch.setattr(flow_sampling, "WINDOW_FRAMES", 25)
    monkeypatch.setattr(flow_sampling, "CONTEXT_FRAMES", 5)
    monkeypatch.setattr(flow_sampling, "sample_motion", recording)
    out = generate_motion(talker, condition, SamplerSettings(steps=2))
    assert [length for length, _, _ in calls] == [25, 30, 15]  # 0-25, 20-50, 45-60
    for (_, known, prompt), start in zip(calls[1:], (25, 50)):
        assert known[:5].all() and not known[5:].any()
        generated = talker.to_residual(out[start - 5:start], condition[start - 5:start])
        assert torch.allclose(prompt[:5], generated, atol=1e-5)  # the context is what was generated
