"""The training loop of PTalker (or the FaceFormer baseline): ``ptalker train CONFIG [key=value ...]``.

Every step draws a batch of speaker pairs, prepares its clips (:mod:`ptalker.training.clips`),
and optimises the architecture's objective (:mod:`ptalker.training.objective`: every loss term
is weighted in the config and logged to ``OUT/train_log.csv``). Validation runs on the val
split only and keeps the best checkpoint by val LVE. ``OUT/last.pt`` is written atomically after
every epoch; a run started again with the same OUT continues from the last completed epoch,
exactly as if it had not stopped (every random choice is seeded per epoch). Under ``torchrun``
(several processes) training is distributed with DistributedDataParallel (gloo on CPU, nccl on GPU).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from ptalker.data.dataset import TalkingHeadDataset, collate_sequences
from ptalker.data.sampling import SpeakerPairSampler
from ptalker.data.splits import get_dataset_spec
from ptalker.data.topology import data_topology
from ptalker.errors import PtalkerError
from ptalker.mesh.face_sets import rigid_region_ids
from ptalker.mesh.topology import Topology
from ptalker.metrics.vertex_errors import lip_vertex_error
from ptalker.models.build import SECTIONS
from ptalker.pipelines.checkpoint import build_network, load_checkpoint, save_checkpoint
from ptalker.pipelines.decoding import decode_offsets
from ptalker.training.clips import prepare_clip, stabilized
from ptalker.training.config import TrainConfig
from ptalker.training.logs import write_log
from ptalker.training.objective import OBJECTIVES, Objective
from ptalker.training.run_state import TrainResult, patience_spent, record_validation, resume_state, warmup_cosine


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
    """Pooled LVE of the val clips (as recorded, head motion included), each decoded in the style its
    architecture validates with (:mod:`ptalker.training.objective`; reference clips stabilized with
    ``rigid`` as in training)."""
    model.eval()
    preds, gts = [], []
    style_of = OBJECTIVES[model.architecture].validation_style
    stabilize = functools.partial(stabilized, rigid=rigid)
    for index in range(len(dataset)):
        item = dataset[index]
        style = style_of(model, dataset, index, stabilize, device)  # (1, S)
        phones = None if item.phones is None else item.phones[1][None].to(device)  # (1, T, P) the true phones
        offsets = decode_offsets(model, item.audio[None].to(device), item.vertices.shape[0], style, phones)[0].cpu()
        preds.append((item.template + offsets).numpy())
        gts.append(item.vertices.numpy())
    model.train()
    return lip_vertex_error(preds, gts, lip_ids)


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
    """epoch, step, best (val LVE), seconds, stale (validations since the best): what last.pt resumes."""


def _setup(config: TrainConfig) -> _Run:
    """Data, network, optimizer and schedule of a run, resumed from OUT/last.pt when it exists."""
    rank, world = _distributed()
    device = _device(config.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    torch.manual_seed(config.seed)  # the same initial weights in every process
    root = Path(config.data)
    spec = get_dataset_spec("custom", config.dataset or root / "dataset.yaml")
    phones = config.architecture == "ptalker" and config.model.phone_classes > 0
    train_set = TalkingHeadDataset(root, spec, "train", phones=phones)
    val_set = TalkingHeadDataset(root, spec, "val", phones=phones) if "val" in spec.splits else None
    if len(train_set) == 0:
        raise PtalkerError(f"{root}: the train split has no sequences; check --data and the data set YAML")
    topology = data_topology(root, spec, train_set.templates)
    masks = topology.masks
    rigid = rigid_region_ids(masks.all, f"{masks.source} (stabilize_head=true; set it false for meshes without "
                                        "them, e.g. BIWI, whose head motion is removed already)") \
        if config.stabilize_head else None
    section = SECTIONS[config.architecture][0]  # 'model' or 'faceformer'
    model_config = dataclasses.replace(getattr(config, section), num_speakers=len(train_set.style_subjects))
    model = build_network(config.architecture, model_config, topology).to(device)
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
    state = resume_state(out / "last.pt", model, optimizer, schedule)
    if config.init and state["step"] == 0:
        _initialise(model, Path(config.init))
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
        batch = collate_sequences([prepare_clip(run.train_set[i], config, run.fps, rng, run.rigid) for i in batch_ids]).to(run.device)
        use_identity = bool(rng.random() < config.identity_fraction) or OBJECTIVES[run.model.architecture].identity_only
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
            write_log(run.out / "train_log.csv", row)
            bar.set_postfix(loss=f"{row['total']:.3f}")
    state["epoch"] = epoch + 1


def _end_epoch(run: _Run, seconds: float) -> None:
    """Rank 0: validate, log, keep best.pt when val LVE improved, write last.pt (atomically)."""
    state, epoch = run.state, run.state["epoch"]
    val_lve = float("nan") if run.val_set is None else \
        validate(run.model, run.val_set, run.topology.masks.lips, run.device, run.rigid)
    write_log(run.out / "val_log.csv", {"epoch": epoch, "step": state["step"], "val_lve": val_lve})
    state["seconds"] = seconds
    config_dict = dataclasses.asdict(run.config)
    extra = {"speakers": run.train_set.style_subjects, "fps": run.fps}
    if record_validation(state, val_lve):
        save_checkpoint(run.out / "best.pt", run.model, config_dict, run.topology,
                        {**extra, "epoch": epoch, "val_lve": val_lve})
    save_checkpoint(run.out / "last.pt", run.model, config_dict, run.topology,
                    {**extra, "train_state": {**state, "optimizer": run.optimizer.state_dict(),
                                              "schedule": run.schedule.state_dict()}})


def train(config: TrainConfig, progress: bool = True) -> TrainResult:
    """Run (or continue) the training ``config`` describes."""
    if config.architecture == "flow":
        from ptalker.training.flow_loop import train_flow

        return train_flow(config, progress)
    run = _setup(config)
    start_time = time.perf_counter() - run.state["seconds"]
    for epoch in range(run.state["epoch"], config.epochs):
        stopped = patience_spent(run.state, config.patience) or (config.max_steps and run.state["step"] >= config.max_steps)
        if _agree(run, stopped):  # also when resuming a run that has stopped
            break
        _run_epoch(run, epoch, progress)
        done = run.state["epoch"] == config.epochs or (config.max_steps and run.state["step"] >= config.max_steps)
        if run.rank == 0 and (run.state["epoch"] % config.validate_every == 0 or done):
            _end_epoch(run, time.perf_counter() - start_time)
        if done:
            break
    if run.world > 1:
        dist.barrier()
    state = run.state
    return TrainResult(run.out, state["epoch"], state["step"], state["best"], time.perf_counter() - start_time,
                       patience_spent(state, config.patience))


def _agree(run: _Run, flag: bool) -> bool:
    """Rank 0's ``flag`` in every process (only rank 0 validates, so only it knows when to stop)."""
    if run.world == 1:
        return flag
    value = torch.tensor([float(flag)], device=run.device)
    dist.broadcast(value, src=0)
    return bool(value.item())


def _initialise(model: torch.nn.Module, path: Path) -> None:
    """Start from the weights of the checkpoint ``path``; parameters it lacks (e.g. a new
    phonetic channel) keep their initial values, and nothing else may differ."""
    weights = load_checkpoint(path)["model"]
    target = model.state_dict()
    misfit = [name for name, value in weights.items() if name not in target or target[name].shape != value.shape]
    if misfit:
        raise PtalkerError(f"init {path}: its weights do not fit this network ({', '.join(misfit[:4])}); "
                           "start from a checkpoint of the same sizes")
    model.load_state_dict(weights, strict=False)
