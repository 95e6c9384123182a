"""What a training run is told: :class:`TrainConfig` (``configs/train/*.yaml``) and the weight of
every loss term (:class:`LossWeights`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ptalker.audio.augment import AugmentConfig
from ptalker.config import load_config
from ptalker.errors import PtalkerError
from ptalker.models.build import check_architecture
from ptalker.models.faceformer import FaceFormerConfig
from ptalker.models.flow_talker import FlowTalkerConfig
from ptalker.models.ptalker import PTalkerConfig

MOTION_TERMS = ("reconstruction", "velocity", "lip", "lip_gap", "lip_seal")
"""Loss terms on the predicted motion alone (every architecture)."""
LOSS_TERMS = MOTION_TERMS + ("contrastive", "kl", "orthogonality", "style_nce", "style_anchor", "adversarial")


@dataclass
class LossWeights:
    """Weight of every loss term (0 switches a term off) and the terms' settings."""

    reconstruction: float = 1.0
    velocity: float = 1.0
    lip: float = 2.0
    lip_gap: float = 2.0
    """Lip-gap error on the head's paired lip-contact vertices (masks lip_contact_upper/lower);
    0 when the head has none."""
    lip_seal: float = 1.0
    """Closures the prediction leaves open, on the truth's closed frames only (same lip pairs)."""
    seal_gap: float = 1e-3
    """A lip gap below this (mesh units: 1 mm for metre meshes) counts as closed for lip_seal."""
    contrastive: float = 0.02
    kl: float = 1e-4
    orthogonality: float = 0.01
    style_nce: float = 0.02
    style_anchor: float = 0.1
    """Mean squared distance of a reference clip's style to its speaker's identity style (held
    fixed): reference styles land where the decoder has learnt each speaker's style."""
    adversarial: float = 0.01
    contrastive_k: int = 16
    temperature: float = 0.1


@dataclass
class TrainConfig:
    """Everything a training run needs (``configs/train/*.yaml``)."""

    data: str = "data/synth_benchmark"
    """Data set root in the standard layout."""
    dataset: str = ""
    """Data set YAML (DatasetSpec); empty: DATA/dataset.yaml."""
    out: str = "outputs/train"
    architecture: str = "ptalker"
    """'ptalker', 'faceformer' for the baseline (its sizes in the ``faceformer`` section), or 'flow'
    for the generative talker (the ``flow`` section; ``init`` names the PTalker it builds on)."""
    model: PTalkerConfig = field(default_factory=PTalkerConfig)
    faceformer: FaceFormerConfig = field(default_factory=FaceFormerConfig)
    flow: FlowTalkerConfig = field(default_factory=FlowTalkerConfig)
    losses: LossWeights = field(default_factory=LossWeights)
    epochs: int = 20
    batch_size: int = 8
    lr: float = 3e-4
    weight_decay: float = 0.01
    warmup_steps: int = 100
    grad_clip: float = 1.0
    identity_fraction: float = 0.5
    """Share of batches decoded with identity styles (the rest with the partner clip's style)."""
    max_frames: int = 120
    """Training clips are cut to a random window of at most this many frames."""
    stabilize_head: bool = True
    """Remove the head's rigid motion (Kabsch on the masks' scalp and ears) from training clips and
    reference clips: speech does not predict head sway, and left in, its error swamps every loss."""
    augment_p: float = 0.8
    """Share of training clips whose audio is augmented (:mod:`ptalker.audio.augment`)."""
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    init: str = ""
    """Checkpoint to start a new run from (fine-tuning; e.g. to add a phonetic channel); empty: random."""
    validate_every: int = 1
    """Epochs between validations (each writes last.pt, and best.pt when val LVE improved)."""
    max_steps: int = 0
    """Stop after this many optimizer steps (0: run all epochs)."""
    patience: int = 0
    """Early stopping: end the run when this many validations in a row have not improved on the
    best val LVE (0: run every epoch). The learning-rate schedule still spans ``epochs``."""
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    """Mixed precision (bfloat16 autocast) on GPU; ignored on CPU."""

    def __post_init__(self) -> None:
        check_architecture(self.architecture)
        if self.validate_every < 1:
            raise PtalkerError(f"validate_every: expected a whole number >= 1, got {self.validate_every}")
        if self.patience < 0:
            raise PtalkerError(f"patience: expected a whole number >= 0 (0: no early stopping), got {self.patience}")


def load_train_config(path: str | os.PathLike | None, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    return load_config(TrainConfig, path, overrides)
