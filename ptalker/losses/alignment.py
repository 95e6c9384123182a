"""Feature alignment and disentanglement losses of PTalker.

- :func:`topk_contrastive`: audio and motion content of the same frame are positives; for each
  frame the k most similar other frames of the batch (other sequences, or the same sequence
  more than ``exclude_window`` frames away) are its negatives; InfoNCE in both directions.
- :func:`gaussian_kl`: KL(audio content || motion content) of diagonal Gaussians per frame.
- :func:`orthogonality`: squared cosine between a clip's style and each of its content frames.
- :func:`style_infonce`: clips of one speaker are positives of each other, other speakers'
  clips negatives (supervised InfoNCE over the batch).
- :func:`grad_reverse`: identity forward, negated (scaled) gradient backward, for the
  adversarial speaker classifier on content.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def topk_contrastive(audio: torch.Tensor, motion: torch.Tensor, frame_mask: torch.Tensor, k: int = 16,
                     temperature: float = 0.1, exclude_window: int = 2) -> torch.Tensor:
    """Top-k bidirectional contrastive loss.

    Args:
        audio, motion: (B, T, D) content features of the same frames.
        frame_mask: (B, T) True on real frames.
        k: hard negatives per frame (fewer when the batch has fewer candidates).
        temperature: softmax temperature on cosine similarities.
        exclude_window: frames of the same sequence within this distance are neither positive nor
            negative (neighbouring frames look alike).
    """
    B, T, _ = audio.shape
    valid = frame_mask.reshape(-1)  # (B*T,)
    a = F.normalize(audio.reshape(B * T, -1)[valid], dim=-1)  # (M, D)
    m = F.normalize(motion.reshape(B * T, -1)[valid], dim=-1)
    seq = torch.arange(B, device=audio.device).repeat_interleave(T)[valid]  # (M,)
    frame = torch.arange(T, device=audio.device).repeat(B)[valid]
    near = (seq[:, None] == seq[None]) & ((frame[:, None] - frame[None]).abs() <= exclude_window)  # (M, M)
    sim = a @ m.T / temperature  # (M, M): audio frame i vs motion frame j
    loss = 0.0
    for logits in (sim, sim.T):  # audio -> motion, motion -> audio
        positive = logits.diagonal()[:, None]  # (M, 1)
        negatives = logits.masked_fill(near, float("-inf"))
        count = min(k, int((~near).sum(dim=1).min()))
        hard = negatives.topk(count, dim=1).values if count > 0 else negatives[:, :0]  # (M, k)
        loss = loss + F.cross_entropy(torch.cat([positive, hard], dim=1),
                                      torch.zeros(len(positive), dtype=torch.long, device=audio.device))
    return loss / 2


def gaussian_kl(mu_p: torch.Tensor, logvar_p: torch.Tensor, mu_q: torch.Tensor, logvar_q: torch.Tensor,
                frame_mask: torch.Tensor) -> torch.Tensor:
    """Mean over real frames of KL(N(mu_p, var_p) || N(mu_q, var_q)), summed over dims: all (B, T, D)."""
    kl = 0.5 * (logvar_q - logvar_p + (logvar_p.exp() + (mu_p - mu_q) ** 2) / logvar_q.exp() - 1.0)
    weight = frame_mask.to(kl.dtype)
    return (kl.sum(-1) * weight).sum() / weight.sum().clamp(min=1)


def orthogonality(style: torch.Tensor, content: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """Mean over real frames of cos^2(style_b, content_bt): style (B, D), content (B, T, D)."""
    cos = F.cosine_similarity(style[:, None], content, dim=-1)  # (B, T)
    weight = frame_mask.to(cos.dtype)
    return (cos ** 2 * weight).sum() / weight.sum().clamp(min=1)


def style_infonce(style: torch.Tensor, speaker: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Supervised InfoNCE: style (B, D) of B clips, speaker (B,) ids; clips whose speaker has no
    other clip in the batch are left out. Zero when no speaker has two clips."""
    s = F.normalize(style, dim=-1)
    logits = s @ s.T / temperature  # (B, B)
    eye = torch.eye(len(s), dtype=torch.bool, device=s.device)
    logits = logits.masked_fill(eye, float("-inf"))
    positive = (speaker[:, None] == speaker[None]) & ~eye  # (B, B)
    has = positive.any(dim=1)
    if not has.any():
        return style.sum() * 0.0
    log_prob = logits.log_softmax(dim=1)  # (B, B)
    per_clip = -(log_prob.masked_fill(~positive, 0.0)).sum(dim=1) / positive.sum(dim=1).clamp(min=1)
    return per_clip[has].mean()


class _GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.scale * grad, None


def grad_reverse(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Identity in the forward pass; multiplies the gradient by -``scale`` in the backward pass."""
    return _GradReverse.apply(x, scale)
