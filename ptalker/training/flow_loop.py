"""Training the generative talker (architecture ``flow``): ``ptalker train configs/train/flow_standin.yaml``.

The content model is a trained PTalker checkpoint (``init``), frozen. Setup fits the motion
basis on the training frames (head motion removed) and computes, once, every sequence's motion
coefficients and, for each phone source the content model reads (none; and with a phonetic
channel, recognized and true phones), the decoder's neutral-style motion (the prior) and its
motion in the style of the sequence's *partner* (the next sequence of
the same speaker, whose start is the prompt when the sequence is validated). These features
are kept in ``OUT/features.pt``, so a resumed run starts at once; the residual scale is their
residuals' spread; each step then trains the velocity field alone on random windows of them,
which is what makes the sampler trainable in minutes on a laptop CPU.

Validation generates every third val clip (the default sampler settings) with the start of its
partner as the prompt, and scores the pooled LVE against the head-stabilized truth. Checkpoints
hold the content model, the basis and the field; their speakers are the content model's
(``--speaker`` gives the sampler that identity's style channel). Resuming, logs and atomic
writes are those of :mod:`ptalker.training.loop`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.sampling import other_clip
from ptalker.data.splits import get_dataset_spec
from ptalker.data.topology import data_topology
from ptalker.errors import PtalkerError
from ptalker.fileio import atomic_open
from ptalker.mesh.face_sets import rigid_region_ids
from ptalker.mesh.topology import Topology
from ptalker.metrics.vertex_errors import lip_vertex_error
from ptalker.models.flow_talker import FlowPrompt, FlowTalker
from ptalker.models.motion_basis import MotionBasis
from ptalker.pipelines.checkpoint import load_checkpoint, load_state, network_from_config, save_checkpoint
from ptalker.pipelines.flow_sampling import SamplerSettings, generate_motion
from ptalker.training.clips import stabilized
from ptalker.training.config import TrainConfig
from ptalker.training.logs import write_log
from ptalker.training.run_state import TrainResult, patience_spent, record_validation, resume_state, warmup_cosine

PHONE_SOURCES = ("none", "recognized", "true")
"""The phone inputs the features are computed for (the last two only for a content model with a
phonetic channel): (T, P) phones as :class:`ptalker.data.dataset.SequenceItem` holds them."""
BASIS_FRAME_STEP = 3
"""Every third frame of every training sequence fits the motion basis."""


@dataclass
class SequenceFeatures:
    """One sequence as the flow trains on it."""

    speaker: str
    motion: torch.Tensor
    """(T, K) basis coefficients of the stabilized offsets."""
    prior: dict[str, torch.Tensor]
    """phone source -> (T, K) the decoder's motion in the neutral style."""
    styled: dict[str, torch.Tensor]
    """phone source -> (T, K) the decoder's motion in the partner's style."""
    partner: int
    """The sequence whose style ``style`` is: the next one of the same speaker (cyclically)."""
    style: torch.Tensor
    """(S_dim,) PTalker's style embedding of the partner."""
    template: torch.Tensor
    """(V, 3) the speaker's neutral face."""

    def condition(self, talker: FlowTalker, source: str) -> torch.Tensor:
        """(T, 2K) the condition for the phone ``source``, in the partner's style."""
        return talker.join_condition(self.prior[source], self.styled[source])


def _phones_of(item, source: str) -> torch.Tensor | None:
    """(1, T, P) phones of ``item`` for ``source`` (:data:`PHONE_SOURCES`), None for 'none'."""
    if source == "none":
        return None
    return item.phones[0 if source == "recognized" else 1][None]


@torch.no_grad()
def _features(talker: FlowTalker, dataset: TalkingHeadDataset, rigid: np.ndarray | None,
              progress: bool) -> list[SequenceFeatures]:
    from tqdm import tqdm

    model = talker.content_model
    sources = PHONE_SOURCES if model.uses_phones else PHONE_SOURCES[:1]
    items = [stabilized(dataset[index], rigid) for index in range(len(dataset))]
    subjects = [name.subject for name in dataset.sequences]
    out = []
    for index in tqdm(range(len(dataset)), desc="features", leave=False, disable=not progress):
        item = items[index]
        partner = other_clip(subjects, index)
        partner = index if partner is None else partner
        other = items[partner]
        style = model.clip_style(other.audio[None], (other.vertices - other.template)[None],
                                 other.template[None])  # (1, S_dim)
        prior, styled = {}, {}
        for source in sources:
            content, prior_motion = talker.content_and_prior(item.audio[None], len(item.vertices),
                                                             _phones_of(item, source))
            prior[source], styled[source] = prior_motion[0], talker.styled_motion(content, style)[0]
        out.append(SequenceFeatures(subjects[index], talker.basis.encode(item.vertices - item.template), prior,
                                    styled, partner, style[0], item.template))
    return out


def residual_scale(features: list[SequenceFeatures]) -> torch.Tensor:
    """(K,) the standard deviation of each coefficient's residual over the prior, over the
    training frames (the phones the content model reads best: true phones, else none)."""
    source = "true" if "true" in features[0].prior else "none"
    residuals = torch.cat([f.motion - f.prior[source] for f in features])  # (N, K)
    return residuals.std(dim=0).clamp(min=1e-3)


def _fit_basis(dataset: TalkingHeadDataset, size: int, rigid: np.ndarray | None) -> MotionBasis:
    frames = []
    for index in range(len(dataset)):
        item = stabilized(dataset[index], rigid)
        frames.append((item.vertices - item.template)[::BASIS_FRAME_STEP])
    return MotionBasis.fit(torch.cat(frames), size)


def _pick_source(sources: dict, config: TrainConfig, rng: np.random.Generator) -> str:
    """A phone source as the content model was trained to see them (model.phone_dropout, model.recognized_phones)."""
    if len(sources) == 1 or rng.random() < config.model.phone_dropout:
        return "none"
    return "recognized" if rng.random() < config.model.recognized_phones else "true"


def _batch(talker: FlowTalker, features: list[SequenceFeatures], ids: np.ndarray, config: TrainConfig,
           rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
    """(motion (B, T, K), condition (B, T, 2K), frame_mask (B, T), templates (B, V, 3)) of random
    windows of at most ``config.max_frames`` frames, zero-padded."""
    windows = []
    for index in ids:
        sequence = features[index]
        T = len(sequence.motion)
        length = min(T, config.max_frames)
        start = int(rng.integers(0, T - length + 1))
        condition = sequence.condition(talker, _pick_source(sequence.prior, config, rng))
        windows.append((sequence.motion[start:start + length], condition[start:start + length]))
    T = max(len(m) for m, _ in windows)
    motion = torch.zeros(len(windows), T, windows[0][0].shape[-1])
    condition = torch.zeros(len(windows), T, windows[0][1].shape[-1])
    mask = torch.zeros(len(windows), T, dtype=torch.bool)
    for row, (m, c) in enumerate(windows):
        motion[row, :len(m)], condition[row, :len(m)], mask[row, :len(m)] = m, c, True
    return motion, condition, mask, torch.stack([features[index].template for index in ids])


def _best_source(sequence: SequenceFeatures) -> str:
    return "true" if "true" in sequence.prior else "none"


def _prompt(talker: FlowTalker, sequence: SequenceFeatures, style: torch.Tensor) -> FlowPrompt:
    """The start of ``sequence`` as a prompt whose style embedding is ``style`` (S_dim,)."""
    frames = talker.config.prompt_frames
    return FlowPrompt(sequence.motion[:frames], sequence.condition(talker, _best_source(sequence))[:frames], style)


@torch.no_grad()
def validate_flow(talker: FlowTalker, features: list[SequenceFeatures], lip_ids: np.ndarray) -> float:
    """Pooled LVE (stabilized truth) of every third sequence, generated with the start of its
    partner (another sequence of the same speaker) as the prompt (see the module docstring)."""
    preds, truths = [], []
    settings = SamplerSettings()
    for index in range(0, len(features), 3):
        sequence = features[index]
        prompt = _prompt(talker, features[sequence.partner], sequence.style)
        motion = generate_motion(talker, sequence.condition(talker, _best_source(sequence)), settings, prompt)
        preds.append((sequence.template + talker.basis.decode(motion)).numpy())
        truths.append((sequence.template + talker.basis.decode(sequence.motion)).numpy())
    talker.field.train()
    return lip_vertex_error(preds, truths, lip_ids)


def _content_model(config: TrainConfig, topology: Topology) -> tuple[torch.nn.Module, dict]:
    """The frozen PTalker that ``config.init`` names, and its checkpoint."""
    if not config.init:
        raise PtalkerError("init: architecture 'flow' builds on a trained PTalker; set init to its checkpoint "
                           "(e.g. ptalker/assets/ptalker_standin.pt)")
    checkpoint = load_checkpoint(config.init)
    content_config = checkpoint["config"]
    if content_config.get("architecture", "ptalker") != "ptalker":
        raise PtalkerError(f"init {config.init}: expected a PTalker checkpoint, got architecture "
                           f"'{content_config['architecture']}'")
    if checkpoint["topology"]["num_vertices"] != topology.num_vertices:
        raise PtalkerError(f"init {config.init}: its mesh has {checkpoint['topology']['num_vertices']} vertices, "
                           f"the data {topology.num_vertices}; train the content model on this mesh first")
    model = network_from_config(content_config, topology, config.init)
    load_state(model, checkpoint)
    return model, checkpoint


def _features_file(path: Path, build, made_from: dict) -> dict:
    """The cached features at ``path`` (plain containers, written atomically from ``build()`` the
    first time); ``made_from`` (the settings they depend on) must match the cached ones."""
    if not path.is_file():
        data = {**build(), "made_from": made_from}
        with atomic_open(path, "wb") as handle:
            torch.save({**data, "train": [dataclasses.asdict(f) for f in data["train"]],
                        "val": [dataclasses.asdict(f) for f in data["val"]]}, handle)
    data = torch.load(path, weights_only=True)
    if data["made_from"] != made_from:
        raise PtalkerError(f"{path}: cached features of {data['made_from']}, this run has {made_from}; "
                           "use another out, or delete the file to compute them again")
    return {**data, "train": [SequenceFeatures(**f) for f in data["train"]],
            "val": [SequenceFeatures(**f) for f in data["val"]]}


def train_flow(config: TrainConfig, progress: bool = True) -> TrainResult:
    """Run (or continue) the flow training ``config`` describes (see the module docstring)."""
    from tqdm import tqdm

    torch.manual_seed(config.seed)
    root = Path(config.data)
    spec = get_dataset_spec("custom", config.dataset or root / "dataset.yaml")
    probe = TalkingHeadDataset(root, spec, "train", phones=False)
    if len(probe) == 0:
        raise PtalkerError(f"{root}: the train split has no sequences; check --data and the data set YAML")
    topology = data_topology(root, spec, probe.templates)
    content, content_checkpoint = _content_model(config, topology)
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, **{
        f.name: getattr(content.config, f.name) for f in dataclasses.fields(content.config)}))
    rigid = rigid_region_ids(topology.masks.all, f"{topology.masks.source} (stabilize_head)") \
        if config.stabilize_head else None
    train_set = TalkingHeadDataset(root, spec, "train", phones=content.uses_phones)
    val_set = TalkingHeadDataset(root, spec, "val", phones=content.uses_phones) if "val" in spec.splits else None
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)

    def build() -> dict:
        talker = FlowTalker(content, config.flow, _fit_basis(train_set, config.flow.basis_size, rigid))
        return {"basis": talker.basis.state(), "train": _features(talker, train_set, rigid, progress),
                "val": _features(talker, val_set, rigid, progress) if val_set is not None else []}

    made_from = {"data": str(root), "init": str(config.init), "basis_size": config.flow.basis_size,
                 "stabilize_head": config.stabilize_head}
    cached = _features_file(out / "features.pt", build, made_from)
    talker = FlowTalker(content, config.flow, MotionBasis.from_state(cached["basis"]))
    train_features, val_features = cached["train"], cached["val"]
    talker.residual_scale.copy_(residual_scale(train_features))
    masks = topology.masks.all
    lip_pairs = (torch.as_tensor(masks["lip_contact_upper"]), torch.as_tensor(masks["lip_contact_lower"])) \
        if "lip_contact_upper" in masks else None
    optimizer = torch.optim.AdamW(talker.field.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = max(1, len(train_features) // config.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: warmup_cosine(step, config.warmup_steps, config.epochs * steps_per_epoch))
    state = resume_state(out / "last.pt", talker, optimizer, schedule)
    start_time = time.perf_counter() - state["seconds"]
    config_dict = dataclasses.asdict(config)
    extra = {"speakers": content_checkpoint["extra"].get("speakers", []), "fps": spec.fps}
    talker.train()
    for epoch in range(state["epoch"], config.epochs):
        if patience_spent(state, config.patience) or (config.max_steps and state["step"] >= config.max_steps):
            break  # also when resuming a run that has stopped
        rng = np.random.default_rng([config.seed, epoch])  # seeded per epoch: a resumed run repeats
        generator = torch.Generator().manual_seed(config.seed * 1000 + epoch)
        order = rng.permutation(len(train_features))
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{config.epochs}", disable=not progress)
        for step in bar:
            if config.max_steps and state["step"] >= config.max_steps:
                break
            ids = order[step * config.batch_size:(step + 1) * config.batch_size]
            motion, condition, mask, templates = _batch(talker, train_features, ids, config, rng)
            loss = talker.loss(motion, condition, mask, generator, templates, lip_pairs)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(talker.field.parameters(), config.grad_clip)
            optimizer.step()
            schedule.step()
            state["step"] += 1
            write_log(out / "train_log.csv", {"epoch": epoch + 1, "step": state["step"],
                                              "lr": schedule.get_last_lr()[0], "total": loss.item()})
            bar.set_postfix(loss=f"{loss.item():.3f}")
        state["epoch"] = epoch + 1
        done = state["epoch"] == config.epochs or (config.max_steps and state["step"] >= config.max_steps)
        if state["epoch"] % config.validate_every == 0 or done:
            val_lve = validate_flow(talker, val_features, topology.masks.lips) if val_features else float("nan")
            write_log(out / "val_log.csv", {"epoch": state["epoch"], "step": state["step"], "val_lve": val_lve})
            state["seconds"] = time.perf_counter() - start_time
            if record_validation(state, val_lve):
                save_checkpoint(out / "best.pt", talker, config_dict, topology,
                                {**extra, "epoch": state["epoch"], "val_lve": val_lve})
            save_checkpoint(out / "last.pt", talker, config_dict, topology,
                            {**extra, "train_state": {**state, "optimizer": optimizer.state_dict(),
                                                      "schedule": schedule.state_dict()}})
        if done:
            break
    return TrainResult(out, state["epoch"], state["step"], state["best"], time.perf_counter() - start_time,
                       patience_spent(state, config.patience))
