"""Training losses against naive loop implementations, and the behaviours they are for."""

from __future__ import annotations

import math

import pytest
import torch

from ptalker.losses.alignment import gaussian_kl, grad_reverse, orthogonality, style_infonce, topk_contrastive
from ptalker.losses.motion import lip_gap_loss, lip_loss, lip_seal_loss, reconstruction_loss, velocity_loss


def test_reconstruction_velocity_lip_ignore_padding():
    torch.manual_seed(0)
    pred, target = torch.randn(2, 6, 10, 3), torch.randn(2, 6, 10, 3)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], dtype=torch.bool)
    garbage = pred.clone()
    garbage[1, 3:] = 1e3  # padding may hold anything
    for loss in (reconstruction_loss, velocity_loss):
        assert loss(garbage, target, mask) == pytest.approx(float(loss(pred, target, mask)))
    naive = sum(((pred[b, t] - target[b, t]) ** 2).mean() for b in range(2) for t in range(6) if mask[b, t]) / 9
    assert reconstruction_loss(pred, target, mask) == pytest.approx(float(naive), rel=1e-5)
    pairs = [(b, t) for b in range(2) for t in range(5) if mask[b, t] and mask[b, t + 1]]
    naive_vel = sum((((pred[b, t + 1] - pred[b, t]) - (target[b, t + 1] - target[b, t])) ** 2).mean()
                    for b, t in pairs) / len(pairs)
    assert velocity_loss(pred, target, mask) == pytest.approx(float(naive_vel), rel=1e-5)
    lips = torch.tensor([2, 7])
    only_lips = target.clone()
    only_lips[:, :, lips] = pred[:, :, lips]
    assert lip_loss(pred, only_lips, mask, lips) == 0.0, "lip vertices indexed on the vertex axis"
    assert lip_loss(pred, target, mask, lips) > 0


def naive_topk(audio, motion, mask, k, temperature, window):
    B, T, _ = audio.shape
    frames = [(b, t) for b in range(B) for t in range(T) if mask[b, t]]
    total = 0.0
    for direction in range(2):
        for b, t in frames:
            q = audio[b, t] if direction == 0 else motion[b, t]
            keys = motion if direction == 0 else audio
            def sim(bb, tt):
                return float(torch.cosine_similarity(q, keys[bb, tt], dim=0)) / temperature
            negatives = sorted((sim(bb, tt) for bb, tt in frames
                                if not (bb == b and abs(tt - t) <= window)), reverse=True)[:k]
            logits = [sim(b, t)] + negatives
            total += -logits[0] + math.log(sum(math.exp(x) for x in logits))
    return total / (2 * len(frames))


def test_topk_contrastive_matches_naive():
    torch.manual_seed(1)
    audio, motion = torch.randn(3, 7, 5), torch.randn(3, 7, 5)
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[2, 5:] = False
    got = topk_contrastive(audio, motion, mask, k=4, temperature=0.2, exclude_window=1)
    assert float(got) == pytest.approx(naive_topk(audio, motion, mask, 4, 0.2, 1), rel=1e-5)


def test_topk_contrastive_rewards_matching():
    torch.manual_seed(2)
    content = torch.randn(2, 20, 8)
    mask = torch.ones(2, 20, dtype=torch.bool)
    matched = topk_contrastive(content, content + 0.01 * torch.randn_like(content), mask)
    shuffled = topk_contrastive(content, content[:, torch.randperm(20)], mask)
    assert matched < shuffled


def test_gaussian_kl():
    mu, logvar = torch.randn(2, 4, 3), torch.randn(2, 4, 3) * 0.3
    mask = torch.ones(2, 4, dtype=torch.bool)
    assert gaussian_kl(mu, logvar, mu, logvar, mask) == pytest.approx(0.0, abs=1e-6)
    p = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    q = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = torch.distributions.kl_divergence(p, q).sum(-1).mean()
    assert gaussian_kl(mu, logvar, torch.zeros_like(mu), torch.zeros_like(mu), mask) == pytest.approx(float(expected), rel=1e-5)


def test_orthogonality():
    mask = torch.ones(1, 2, dtype=torch.bool)
    style = torch.tensor([[1.0, 0.0]])
    assert orthogonality(style, torch.tensor([[[0.0, 3.0], [0.0, -1.0]]]), mask) == pytest.approx(0.0)
    assert orthogonality(style, torch.tensor([[[2.0, 0.0], [0.0, 1.0]]]), mask) == pytest.approx(0.5)


def test_style_infonce():
    speaker = torch.tensor([0, 0, 1, 1])
    together = torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
    apart = together[[0, 2, 1, 3]]
    assert style_infonce(together, speaker) < style_infonce(apart, speaker)
    alone = style_infonce(torch.randn(3, 2, requires_grad=True), torch.tensor([0, 1, 2]))
    assert float(alone.detach()) == 0.0
    alone.backward()  # still differentiable


def test_grad_reverse():
    x = torch.ones(3, requires_grad=True)
    (grad_reverse(x, 0.5) * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert torch.allclose(x.grad, torch.tensor([-0.5, -1.0, -1.5]))


def test_lip_gap_loss():
    torch.manual_seed(3)
    target = torch.randn(1, 4, 6, 3)
    mask = torch.ones(1, 4, dtype=torch.bool)
    upper, lower = torch.tensor([0, 1]), torch.tensor([2, 3])
    assert lip_gap_loss(target + 0.5, target, mask, upper, lower) < 1e-12, "a common shift keeps the gap"
    opened = target.clone()
    opened[:, :, upper, 1] += 2.0  # the upper lip 2 units higher: gap error 2 in every frame
    assert lip_gap_loss(opened, target, mask, upper, lower) == pytest.approx(4.0)


def test_lip_seal_loss_counts_only_open_seals():
    upper, lower = torch.tensor([0]), torch.tensor([1])
    target = torch.zeros(1, 4, 2, 3)
    target[0, :, 0, 1] = torch.tensor([5.0, -0.5, -0.5, 5.0])  # closed (pressed) in frames 1 and 2
    mask = torch.ones(1, 4, dtype=torch.bool)
    pred = target.clone()
    pred[0, :, 0, 1] = torch.tensor([1.0, 1.5, -1.0, 9.0])  # frame 1 stays 2 open; open frames ignored
    assert lip_seal_loss(pred, target, mask, upper, lower, closed=1.0) == pytest.approx(4.0 / 2)
    mask[0, 1] = False  # a padded frame does not count
    assert lip_seal_loss(pred, target, mask, upper, lower, closed=1.0) == pytest.approx(0.0)
    never = target.clone()
    never[0, :, 0, 1] = 5.0
    assert lip_seal_loss(pred, never, torch.ones(1, 4, dtype=torch.bool), upper, lower, closed=1.0) == 0.0
