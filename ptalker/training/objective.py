"""The training objective: every loss term of one pair batch, by architecture.

Batches are speaker pairs (:mod:`ptalker.data.sampling`): each clip is decoded either with the
style of its partner clip (audio + motion of another sentence of the same speaker: the
personalization path) or with its speaker's identity style. Each architecture says how it is
trained through a small strategy object (:data:`OBJECTIVES`, keyed by the network's
``architecture``):

- PTalker: every term of the paper: the motion terms (:data:`MOTION_TERMS`), the feature-level
  alignment (top-k contrastive, KL), style/content orthogonality, style InfoNCE, the style
  anchor (reference styles onto their speaker's identity) and the adversarial speaker term.
- FaceFormer: teacher-forced, always with its speakers' one-hot identity styles, the motion terms
  only (the others belong to PTalker's style and content spaces, which FaceFormer does not have).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ptalker.data.sampling import other_clip, partner
from ptalker.losses.alignment import gaussian_kl, orthogonality, style_infonce, topk_contrastive
from ptalker.losses.motion import lip_gap_loss, lip_loss, lip_seal_loss, reconstruction_loss, velocity_loss
from ptalker.models.faceformer import FaceFormer
from ptalker.models.ptalker import PTalker
from ptalker.training.config import LossWeights

LipPairs = tuple[torch.Tensor, torch.Tensor]
"""(upper, lower) paired lip-contact vertex ids, each (P,)."""


def motion_losses(pred: torch.Tensor, batch, weights: LossWeights, unit: float, lip_ids: torch.Tensor,
                  lip_pairs: LipPairs | None) -> dict:
    """The MOTION_TERMS of predicted offsets ``pred`` (B, T, V, 3) (mesh units) against the batch's,
    computed in network units (``unit`` mesh units each: millimetres for metre meshes)."""
    mask = batch.frame_mask
    pred, offsets = pred / unit, (batch.vertices - batch.template[:, None]) / unit  # (B, T, V, 3)
    rest = batch.template[:, None] / unit  # (B, 1, V, 3)
    zero = pred.sum() * 0.0
    return {
        "reconstruction": reconstruction_loss(pred, offsets, mask),
        "velocity": velocity_loss(pred, offsets, mask),
        "lip": lip_loss(pred, offsets, mask, lip_ids),
        # the gap is linear in the vertices: the template cancels, offsets suffice
        "lip_gap": lip_gap_loss(pred, offsets, mask, *lip_pairs) if lip_pairs is not None else zero,
        "lip_seal": lip_seal_loss(rest + pred, rest + offsets, mask, *lip_pairs, weights.seal_gap / unit)
        if lip_pairs is not None else zero,
    }


def _weighted_total(terms: dict, weights: LossWeights) -> dict:
    """``terms`` with 'total', their sum weighted by ``weights``."""
    terms["total"] = sum(getattr(weights, name) * value for name, value in terms.items())
    return terms


class PTalkerObjective:
    """How PTalker is trained and validated (see module docstring)."""

    identity_only = False
    """False: batches alternate between identity and reference styles."""

    @staticmethod
    def losses(model: PTalker, batch, weights: LossWeights, use_identity: bool, lip_ids: torch.Tensor,
               lip_pairs: LipPairs | None) -> dict:
        T = batch.vertices.shape[1]
        mask = batch.frame_mask
        offsets = batch.vertices - batch.template[:, None]  # (B, T, V, 3)
        audio = model.audio_codes(batch.audio, T, batch.audio_mask, mask, batch.phones)
        motion = model.motion_codes(offsets, batch.template, mask)
        B = len(offsets)
        pair = torch.tensor([partner(i) if partner(i) < B else i for i in range(B)], device=offsets.device)  # a lone clip: itself
        reference = model.reference_style(audio.style[pair], motion.style[pair])  # partners share a speaker
        identity = model.identity_style(batch.style_index) if model.identity is not None else None
        pred = model.decode(audio.content_mu, identity if use_identity else reference, mask)  # (B, T, V, 3)
        terms = motion_losses(pred, batch, weights, model.config.motion_unit, lip_ids, lip_pairs)
        zero = pred.sum() * 0.0
        terms.update({
            "contrastive": topk_contrastive(audio.content_mu, motion.content_mu, mask, weights.contrastive_k,
                                            weights.temperature),
            "kl": gaussian_kl(audio.content_mu, audio.content_logvar, motion.content_mu, motion.content_logvar, mask),
            "orthogonality": orthogonality(model.style_as_content(motion.style), motion.content_mu, mask)
            + orthogonality(model.style_as_content(audio.style), audio.content_mu, mask),
            "style_nce": style_infonce(torch.cat([motion.style, audio.style]), batch.style_index.repeat(2),
                                       weights.temperature),
            "style_anchor": F.mse_loss(reference, identity.detach()) if identity is not None else zero,
            "adversarial": F.cross_entropy(model.speaker_logits(audio.content_mu, mask, 1.0), batch.style_index)
            + F.cross_entropy(model.speaker_logits(motion.content_mu, mask, 1.0), batch.style_index),
        })
        return _weighted_total(terms, weights)

    @staticmethod
    def validation_style(model: PTalker, dataset, index: int, stabilize, device: torch.device) -> torch.Tensor:
        """(1, S) the style of another clip of the speaker of ``dataset[index]`` (the clip itself when
        it is the speaker's only one), stabilized by ``stabilize`` as training clips are."""
        subjects = [name.subject for name in dataset.sequences]
        ref_index = other_clip(subjects, index)
        ref = stabilize(dataset[index if ref_index is None else ref_index])
        return model.clip_style(ref.audio[None].to(device), (ref.vertices - ref.template)[None].to(device),
                                ref.template[None].to(device))


class FaceFormerObjective:
    """How the FaceFormer baseline is trained and validated (see module docstring)."""

    identity_only = True
    """Always its training speakers' one-hot styles: it has no reference path."""

    @staticmethod
    def losses(model: FaceFormer, batch, weights: LossWeights, use_identity: bool, lip_ids: torch.Tensor,
               lip_pairs: LipPairs | None) -> dict:
        T = batch.vertices.shape[1]
        audio = model.encode_audio(batch.audio, T, batch.audio_mask)  # (B, T, D)
        target = (batch.vertices - batch.template[:, None]) * batch.frame_mask[..., None, None]  # (B, T, V, 3)
        pred = model(audio, model.identity_style(batch.style_index), target)
        return _weighted_total(motion_losses(pred, batch, weights, model.config.motion_unit, lip_ids, lip_pairs),
                               weights)

    @staticmethod
    def validation_style(model: FaceFormer, dataset, index: int, stabilize, device: torch.device) -> torch.Tensor:
        """(1, S) the mean of its training speakers' styles (it has none for unseen speakers)."""
        return model.neutral_style()[None]


OBJECTIVES = {PTalker.architecture: PTalkerObjective, FaceFormer.architecture: FaceFormerObjective}
"""architecture -> how it is trained."""


def compute_losses(model: PTalker | FaceFormer, batch, weights: LossWeights, use_identity: bool, lip_ids: torch.Tensor,
                   lip_pairs: LipPairs | None = None) -> dict:
    """Every loss term of ``model`` for one pair batch (see module docstring); 'total' is their
    weighted sum. ``lip_ids``: (L,) lip vertex ids; ``lip_pairs``: for the lip-gap terms, or None."""
    return OBJECTIVES[model.architecture].losses(model, batch, weights, use_identity, lip_ids, lip_pairs)


class Objective(torch.nn.Module):
    """The model's training losses as a module's forward, so DistributedDataParallel can wrap it."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch, weights: LossWeights, use_identity: bool, lip_ids: torch.Tensor,
                lip_pairs: LipPairs | None) -> dict:
        return compute_losses(self.model, batch, weights, use_identity, lip_ids, lip_pairs)
