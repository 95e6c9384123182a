"""Training PTalker (or the FaceFormer baseline): ``ptalker train CONFIG [key=value ...]``.

Batches are speaker pairs (:mod:`ptalker.data.sampling`): each clip is decoded either with the
style of its partner clip (audio + motion of another sentence of the same speaker: the
personalization path) or with its speaker's identity style, and every loss term of the paper is
weighted in the config and logged. The FaceFormer baseline (``architecture: faceformer``) is
trained by the same loop on the same batches, teacher-forced, with its speakers' one-hot styles
and the motion terms only (reconstruction, velocity, lip, lip_gap, lip_seal): the others belong
to PTalker's style and content spaces, which FaceFormer does not have. Validation runs on the val
split only and keeps the best checkpoint by val LVE. ``OUT/last.pt`` is written atomically after
every epoch; a run started again with the same OUT continues from the last completed epoch,
exactly as if it had not stopped (every random choice is seeded per epoch). Under ``torchrun``
(several processes) training is distributed with DistributedDataParallel (gloo on CPU, nccl on GPU).
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from ptalker.audio.augment import AugmentConfig, augment
from ptalker.checkpoint import load_checkpoint, load_state, save_checkpoint
from ptalker.config import load_config
from ptalker.data.dataset import SequenceItem, TalkingHeadDataset, collate_sequences
from ptalker.data.sampling import SpeakerPairSampler, other_clip, partner
from ptalker.data.splits import get_dataset_spec
from ptalker.decoding import decode_offsets
from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_open
from ptalker.losses.alignment import gaussian_kl, orthogonality, style_infonce, topk_contrastive
from ptalker.losses.motion import lip_gap_loss, lip_loss, lip_seal_loss, reconstruction_loss, velocity_loss
from ptalker.metrics.face_measures import remove_head_motion, rigid_region_ids
from ptalker.metrics.vertex_errors import lip_vertex_error
from ptalker.models.build import SECTIONS, build_model, check_architecture
from ptalker.models.faceformer import FaceFormer, FaceFormerConfig
from ptalker.models.ptalker import PTalker, PTalkerConfig
from ptalker.topology import Topology

AUDIO_RATE_HZ = 16000
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
    """'ptalker', or 'faceformer' for the baseline (its sizes in the ``faceformer`` section)."""
    model: PTalkerConfig = field(default_factory=PTalkerConfig)
    faceformer: FaceFormerConfig = field(default_factory=FaceFormerConfig)
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
    max_steps: int = 0
    """Stop after this many optimizer steps (0: run all epochs)."""
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    """Mixed precision (bfloat16 autocast) on GPU; ignored on CPU."""

    def __post_init__(self) -> None:
        check_architecture(self.architecture)


def load_train_config(path: str | os.PathLike | None, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    return load_config(TrainConfig, path, overrides)


def crop(item: SequenceItem, max_frames: int, fps: float, rng: np.random.Generator) -> SequenceItem:
    """A random window of at most ``max_frames`` frames of ``item``, its audio cut alike."""
    frames = item.vertices.shape[0]
    if frames <= max_frames:
        return item
    start = int(rng.integers(0, frames - max_frames + 1))
    samples_per_frame = AUDIO_RATE_HZ / fps
    audio = item.audio[int(round(start * samples_per_frame)):int(round((start + max_frames) * samples_per_frame))]
    return dataclasses.replace(item, audio=audio, vertices=item.vertices[start:start + max_frames])


def stabilized(item: SequenceItem, rigid: np.ndarray | None) -> SequenceItem:
    """``item`` with its head's rigid motion removed (``rigid``: ids of vertices that move only with
    the head), or ``item`` itself when ``rigid`` is None."""
    if rigid is None:
        return item
    aligned = remove_head_motion(item.vertices.numpy(), item.template.numpy(), rigid).aligned
    return dataclasses.replace(item, vertices=torch.from_numpy(aligned.astype(np.float32)))


def _prepare(item: SequenceItem, config: TrainConfig, fps: float, rng: np.random.Generator,
             rigid: np.ndarray | None) -> SequenceItem:
    """A training clip: cropped, stabilized (``rigid``: see :func:`stabilized`), its audio augmented
    with probability ``config.augment_p``."""
    item = stabilized(crop(item, config.max_frames, fps, rng), rigid)
    if rng.random() < config.augment_p:
        item = dataclasses.replace(item, audio=torch.from_numpy(augment(item.audio.numpy(), rng, config.augment)))
    return item


def compute_losses(model: PTalker | FaceFormer, batch, weights: LossWeights, use_identity: bool, lip_ids: torch.Tensor,
                   lip_pairs: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict:
    """Every loss term for one pair batch (see module docstring); 'total' is their weighted sum.

    ``lip_pairs``: (upper, lower) paired lip-contact vertex ids for the lip-gap term, or None."""
    if isinstance(model, FaceFormer):
        return _faceformer_losses(model, batch, weights, lip_ids, lip_pairs)
    T = batch.vertices.shape[1]
    mask = batch.frame_mask
    offsets = batch.vertices - batch.template[:, None]  # (B, T, V, 3)
    audio = model.audio_codes(batch.audio, T, batch.audio_mask, mask)
    motion = model.motion_codes(offsets, batch.template, mask)
    B = len(offsets)
    pair = torch.tensor([partner(i) if partner(i) < B else i for i in range(B)], device=offsets.device)  # a lone clip: itself
    reference = model.reference_style(audio.style[pair], motion.style[pair])  # partners share a speaker
    identity = model.identity_style(batch.style_index) if model.identity is not None else None
    style = identity if use_identity else reference
    pred = model.decode(audio.content_mu, style, mask)  # (B, T, V, 3)
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
    terms["total"] = sum(getattr(weights, name) * value for name, value in terms.items())
    return terms


def motion_losses(pred: torch.Tensor, batch, weights: LossWeights, unit: float, lip_ids: torch.Tensor,
                  lip_pairs: tuple[torch.Tensor, torch.Tensor] | None) -> dict:
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


def _faceformer_losses(model: FaceFormer, batch, weights: LossWeights, lip_ids: torch.Tensor,
                       lip_pairs: tuple[torch.Tensor, torch.Tensor] | None) -> dict:
    """The motion terms of the teacher-forced baseline, decoded with its speakers' one-hot styles."""
    T = batch.vertices.shape[1]
    audio = model.encode_audio(batch.audio, T, batch.audio_mask)  # (B, T, D)
    target = (batch.vertices - batch.template[:, None]) * batch.frame_mask[..., None, None]  # (B, T, V, 3)
    pred = model(audio, model.identity_style(batch.style_index), target)
    terms = motion_losses(pred, batch, weights, model.config.motion_unit, lip_ids, lip_pairs)
    terms["total"] = sum(getattr(weights, name) * value for name, value in terms.items())
    return terms


class Objective(torch.nn.Module):
    """The model's training losses as a module's forward, so DistributedDataParallel can wrap it."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch, weights: LossWeights, use_identity: bool, lip_ids: torch.Tensor,
                lip_pairs: tuple[torch.Tensor, torch.Tensor] | None) -> dict:
        return compute_losses(self.model, batch, weights, use_identity, lip_ids, lip_pairs)


def warmup_cosine(step: int, warmup: int, total: int) -> float:
    """Learning-rate factor: linear warm-up over ``warmup`` steps, then a cosine decay to 0 at ``total``
    (a plain float: checkpoints hold no numpy scalars)."""
    return min(1.0, (step + 1) / max(warmup, 1)) * 0.5 * (1.0 + math.cos(math.pi * min(step / max(total, 1), 1.0)))


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _distributed() -> tuple[int, int]:
    """(rank, world size): joins the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


@torch.no_grad()
def validate(model: torch.nn.Module, dataset: TalkingHeadDataset, lip_ids: np.ndarray, device: torch.device,
             rigid: np.ndarray | None = None) -> float:
    """Pooled LVE of the val clips (as recorded, head motion included). PTalker decodes each with the
    style of another clip of its speaker (stabilized with ``rigid`` as in training); FaceFormer,
    which has no styles for unseen speakers, with the mean of its training speakers' styles."""
    model.eval()
    preds, gts = [], []
    subjects = [name.subject for name in dataset.sequences]
    for index in range(len(dataset)):
        item = dataset[index]
        if isinstance(model, FaceFormer):
            style = model.neutral_style()[None]
        else:
            ref_index = other_clip(subjects, index)
            ref = stabilized(item if ref_index is None else dataset[ref_index], rigid)  # a lone clip: its own reference
            ref_offsets = (ref.vertices - ref.template)[None].to(device)
            ref_audio = model.audio_codes(ref.audio[None].to(device), ref.vertices.shape[0])
            ref_motion = model.motion_codes(ref_offsets, ref.template[None].to(device))
            style = model.reference_style(ref_audio.style, ref_motion.style)
        offsets = decode_offsets(model, item.audio[None].to(device), item.vertices.shape[0], style)[0].cpu()
        preds.append((item.template + offsets).numpy())
        gts.append(item.vertices.numpy())
    model.train()
    return lip_vertex_error(preds, gts, lip_ids)


@dataclass
class TrainResult:
    """Where the run wrote and how it went."""

    out: Path
    epochs: int
    steps: int
    best_val_lve: float
    seconds: float

    def __str__(self) -> str:
        return (f"trained {self.steps} steps ({self.epochs} epochs) in {self.seconds:.0f} s; best val LVE "
                f"{self.best_val_lve:.3e}; checkpoints in {self.out} (best.pt, last.pt), log train_log.csv")


def _write_log(path: Path, row: dict) -> None:
    """Append ``row`` to the CSV at ``path``. When the row has columns the file lacks (a resumed
    run that logs a new term), the file is rewritten under the union of the columns."""
    header = []
    if path.is_file():
        with path.open(newline="") as handle:
            header = next(csv.reader(handle), [])
    if header and set(row) - set(header):
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        fields = header + [key for key in row if key not in header]
        with atomic_open(path, "w") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows([*rows, row])
        return
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header or list(row))
        if not header:
            writer.writeheader()
        writer.writerow(row)


@dataclass
class _Run:
    """Everything one training run holds (see :func:`_setup`)."""

    config: TrainConfig
    rank: int
    world: int
    device: torch.device
    fps: float
    train_set: TalkingHeadDataset
    val_set: TalkingHeadDataset | None
    topology: Topology
    rigid: np.ndarray | None
    """Ids of the vertices that move only with the head when ``stabilize_head``, else None."""
    model: torch.nn.Module
    """PTalker or FaceFormer (``config.architecture``)."""
    objective: torch.nn.Module
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    sampler: SpeakerPairSampler
    lip_ids: torch.Tensor
    lip_pairs: tuple[torch.Tensor, torch.Tensor] | None
    out: Path
    state: dict
    """epoch, step, best (val LVE), seconds: what last.pt resumes."""


def _setup(config: TrainConfig) -> _Run:
    """Data, network, optimizer and schedule of a run, resumed from OUT/last.pt when it exists."""
    rank, world = _distributed()
    device = _device(config.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    torch.manual_seed(config.seed)  # the same initial weights in every process
    root = Path(config.data)
    spec = get_dataset_spec("custom", config.dataset or root / "dataset.yaml")
    train_set = TalkingHeadDataset(root, spec, "train")
    val_set = TalkingHeadDataset(root, spec, "val") if "val" in spec.splits else None
    if len(train_set) == 0:
        raise PtalkerError(f"{root}: the train split has no sequences; check --data and the data set YAML")
    topology = Topology.of_data(root, spec, train_set.templates)
    masks = topology.masks
    rigid = rigid_region_ids(masks.all, f"{masks.source} (stabilize_head=true; set it false for meshes without "
                                        "them, e.g. BIWI, whose head motion is removed already)") \
        if config.stabilize_head else None
    section = SECTIONS[config.architecture][0]  # 'model' or 'faceformer'
    model_config = dataclasses.replace(getattr(config, section), num_speakers=len(train_set.style_subjects))
    model = build_model(config.architecture, model_config, topology).to(device)
    pairs = tuple(torch.as_tensor(masks.all[key], device=device) for key in ("lip_contact_upper", "lip_contact_lower")) \
        if "lip_contact_upper" in masks.all else None
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr,
                                  weight_decay=config.weight_decay)
    sampler = SpeakerPairSampler([n.subject for n in train_set.sequences], config.batch_size, config.seed, rank, world)
    if len(sampler) == 0:
        raise PtalkerError(f"batch_size {config.batch_size}: larger than the pairs of the train split allow; lower it")
    total_steps = config.epochs * len(sampler)  # the schedule's length; max_steps only stops early
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: warmup_cosine(step, config.warmup_steps,
                                                                                      total_steps))
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    state = _resume(out / "last.pt", model, optimizer, schedule)
    objective = Objective(model)
    if world > 1:  # gradients are averaged over processes in backward
        objective = torch.nn.parallel.DistributedDataParallel(objective, find_unused_parameters=True)
    return _Run(dataclasses.replace(config, **{section: model_config}), rank, world, device, spec.fps, train_set, val_set,
                topology, rigid, model, objective, optimizer, schedule, sampler,
                torch.as_tensor(masks.lips, device=device), pairs, out, state)


def _run_epoch(run: _Run, epoch: int, progress: bool) -> None:
    """One pass over the pair batches (stops early at max_steps); every step logged by rank 0."""
    from tqdm import tqdm

    config, state = run.config, run.state
    # every random choice is seeded per epoch, so a resumed run repeats an uninterrupted one
    rng = np.random.default_rng([config.seed, run.rank, epoch])
    torch.manual_seed(config.seed * 1000 + epoch)
    run.sampler.set_epoch(epoch)
    amp = config.amp and run.device.type == "cuda"
    bar = tqdm(run.sampler, desc=f"epoch {epoch + 1}/{config.epochs}", disable=not progress or run.rank != 0)
    for batch_ids in bar:
        if config.max_steps and state["step"] >= config.max_steps:
            break
        batch = collate_sequences([_prepare(run.train_set[i], config, run.fps, rng, run.rigid) for i in batch_ids]).to(run.device)
        use_identity = bool(rng.random() < config.identity_fraction) or isinstance(run.model, FaceFormer)
        with torch.autocast(run.device.type, dtype=torch.bfloat16, enabled=amp):
            terms = run.objective(batch, config.losses, use_identity, run.lip_ids, run.lip_pairs)
        run.optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), config.grad_clip)
        run.optimizer.step()
        run.schedule.step()
        state["step"] += 1
        if run.rank == 0:
            row = {"epoch": epoch + 1, "step": state["step"], "lr": run.schedule.get_last_lr()[0],
                   "style": "identity" if use_identity else "reference",
                   **{name: value.item() for name, value in terms.items()}}
            _write_log(run.out / "train_log.csv", row)
            bar.set_postfix(loss=f"{row['total']:.3f}")
    state["epoch"] = epoch + 1


def _end_epoch(run: _Run, seconds: float) -> None:
    """Rank 0: validate, log, keep best.pt when val LVE improved, write last.pt (atomically)."""
    state, epoch = run.state, run.state["epoch"]
    val_lve = float("nan") if run.val_set is None else \
        validate(run.model, run.val_set, run.topology.masks.lips, run.device, run.rigid)
    _write_log(run.out / "val_log.csv", {"epoch": epoch, "step": state["step"], "val_lve": val_lve})
    state["seconds"] = seconds
    config_dict = dataclasses.asdict(run.config)
    extra = {"speakers": run.train_set.style_subjects, "fps": run.fps}
    if val_lve < state["best"] or not np.isfinite(state["best"]):  # without a val split: the last is best
        state["best"] = val_lve
        save_checkpoint(run.out / "best.pt", run.model, config_dict, run.topology,
                        {**extra, "epoch": epoch, "val_lve": val_lve})
    save_checkpoint(run.out / "last.pt", run.model, config_dict, run.topology,
                    {**extra, "train_state": {**state, "optimizer": run.optimizer.state_dict(),
                                              "schedule": run.schedule.state_dict()}})


def train(config: TrainConfig, progress: bool = True) -> TrainResult:
    """Run (or continue) the training ``config`` describes."""
    run = _setup(config)
    start_time = time.perf_counter() - run.state["seconds"]
    for epoch in range(run.state["epoch"], config.epochs):
        _run_epoch(run, epoch, progress)
        if run.rank == 0:
            _end_epoch(run, time.perf_counter() - start_time)
        if config.max_steps and run.state["step"] >= config.max_steps:
            break
    if run.world > 1:
        dist.barrier()
    state = run.state
    return TrainResult(run.out, state["epoch"], state["step"], state["best"], time.perf_counter() - start_time)


def _resume(path: Path, model: torch.nn.Module, optimizer, schedule) -> dict:
    """Load ``path`` into the model/optimizer/schedule if it exists; the run's state dict."""
    state = {"epoch": 0, "step": 0, "best": float("inf"), "seconds": 0.0}
    if not path.is_file():
        return state
    checkpoint = load_checkpoint(path)
    load_state(model, checkpoint)
    saved = checkpoint["extra"]["train_state"]
    optimizer.load_state_dict(saved["optimizer"])
    schedule.load_state_dict(saved["schedule"])
    return {key: saved[key] for key in state}
