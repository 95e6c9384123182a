"""A fair FaceFormer baseline: a schedule search with early stopping under PTalker's budget.

    python benchmarks/faceformer_search.py [--ptalker-run outputs/train/ptalker_curve] [--install]

Every candidate is configs/train/faceformer_standin.yaml (PTalker's corpus, audio encoder,
decoder size, batches and motion loss terms) with its own learning rate and scheduled-sampling
share (``faceformer.scheduled_sampling``: training inputs taken from the network's own
predictions, against the exposure bias of a teacher-forced model decoded autoregressively). The
budget is PTalker's: at most 30 epochs of 40 steps of 8 clips, the cosine schedule spanning all
30, the checkpoint kept by val LVE (autoregressive decoding, as at test time), and early stopping
after ``--patience`` epochs without a better val LVE.

The search is successive halving on the runs themselves: every candidate trains its first
``--rung`` epochs, then the ``--keep`` best by val LVE continue (the same runs, resumed: nothing is
trained twice) to the end of the budget or until early stopping ends them. Runs go to
OUT/<candidate>; a search started again resumes them.

Written: RESULTS/faceformer_search.md and .json (every candidate's val curve, best epoch, where it
stopped, its time), and faceformer_curves.png: the training loss (the motion terms both models
share) and the val LVE per epoch of every candidate, with PTalker's run (``--ptalker-run``, a
``ptalker train configs/train/standin_default.yaml`` folder) beside them. ``--install`` writes the
winner's best.pt (fp16 weights, as the other shipped checkpoints) to
benchmarks/checkpoints/faceformer_standin.pt, the checkpoint the quality table
(benchmarks/quality.py) scores.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from common import ROOT, argument_parser, markdown_table, save_results, set_threads

from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.sampling import SpeakerPairSampler
from ptalker.data.splits import get_dataset_spec
from ptalker.pipelines.checkpoint import export_checkpoint
from ptalker.plots.training_curves import read_training_log
from ptalker.training.config import MOTION_TERMS, load_train_config
from ptalker.training.loop import train
from ptalker.training.run_state import patience_spent, record_validation

CONFIG = ROOT / "configs/train/faceformer_standin.yaml"
INSTALLED = ROOT / "benchmarks/checkpoints/faceformer_standin.pt"


@dataclass(frozen=True)
class Candidate:
    lr: float
    scheduled_sampling: float

    @property
    def name(self) -> str:
        return f"lr{self.lr:g}_ss{self.scheduled_sampling:g}"

    def overrides(self) -> list[str]:
        return [f"lr={self.lr}", f"faceformer.scheduled_sampling={self.scheduled_sampling}"]


CANDIDATES = [Candidate(5e-4, 0.0), Candidate(5e-4, 0.5), Candidate(2e-4, 1.0)]
"""The old recipe (lr 5e-4, teacher-forced); half the motion inputs the network's own; all of them
the network's own, at a lower rate (a noisier target for the gradient)."""


def steps_per_epoch(config) -> int:
    """Optimizer steps in one epoch of ``config`` (its speaker-pair batches)."""
    data = Path(config.data)
    train_set = TalkingHeadDataset(data, get_dataset_spec("custom", data / "dataset.yaml"), "train")
    return len(SpeakerPairSampler([n.subject for n in train_set.sequences], config.batch_size, config.seed))


def run(candidate: Candidate, out: Path, patience: int, max_steps: int):
    """Train (or resume) ``candidate`` into OUT/<name> until ``max_steps`` (0: the whole budget)."""
    config = load_train_config(CONFIG, [f"out={out / candidate.name}", f"patience={patience}",
                                        f"max_steps={max_steps}", *candidate.overrides()])
    print(f"{candidate.name}: training to step {max_steps or 'the end'}", flush=True)
    result = train(config, progress=False)
    print(f"  {result}", flush=True)
    return result


def curves(folder: Path) -> dict:
    """Per epoch: the mean of the motion terms' sum over the epoch's steps, and val LVE."""
    log = read_training_log(folder)
    motion = sum(log.terms[name] for name in MOTION_TERMS if name in log.terms)  # (N,) per step
    epochs = sorted({int(e) for e in log.epochs if np.isfinite(e)})
    val = log.validation
    best = val.best
    return {"epochs": epochs, "train_motion_loss": [float(np.nanmean(motion[log.epochs == e])) for e in epochs],
            "val_epochs": val.epochs.astype(int).tolist(), "val_lve": val.lve.tolist(),
            "best_epoch": int(val.epochs[best]), "best_val_lve": float(val.lve[best])}


def rung_val_lve(curve: dict, epochs: int) -> float:
    """The best val LVE of a run's first ``epochs`` epochs (what the cut compares)."""
    return min(lve for epoch, lve in zip(curve["val_epochs"], curve["val_lve"]) if epoch <= epochs)


def early_stop(curve: dict, patience: int) -> tuple[int, int, float]:
    """(epoch it stops at, kept epoch, its val LVE) when the trainer's early-stopping rule
    (ptalker.training.run_state) is applied to a run's val curve."""
    state, kept = {"best": float("inf"), "stale": 0}, (0, float("nan"))
    for epoch, lve in zip(curve["val_epochs"], curve["val_lve"]):
        if record_validation(state, lve):
            kept = (epoch, lve)
        if patience_spent(state, patience):
            return epoch, *kept
    return curve["val_epochs"][-1], *kept


def plot(runs: dict[str, dict], out_png: Path) -> Path:
    """Two panels: training motion loss per epoch, val LVE per epoch (best marked)."""
    from ptalker.plots.figure import METHOD_COLOURS, drawing, save_figure

    with drawing(10.0, 3.6) as figure:
        loss_ax, val_ax = figure.subplots(1, 2)
        for (name, curve), colour in zip(runs.items(), METHOD_COLOURS):
            style = "-" if name.startswith("PTalker") else "--"
            loss_ax.plot(curve["epochs"], curve["train_motion_loss"], style, color=colour, label=name)
            val_ax.plot(curve["val_epochs"], np.array(curve["val_lve"]) * 1e5, style, color=colour, label=name)
            val_ax.plot([curve["best_epoch"]], [curve["best_val_lve"] * 1e5], "o", color=colour)
        loss_ax.set(title="training loss (the shared motion terms)", xlabel="epoch", yscale="log")
        val_ax.set(title="val LVE (x1e-5 m², dots: kept checkpoint)", xlabel="epoch")
        val_ax.legend(loc="upper right")
        figure.suptitle("PTalker and FaceFormer candidates, synthetic benchmark corpus")
        return save_figure(figure, out_png)


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__, results=True)
    parser.add_argument("--out", type=Path, default=ROOT / "outputs/faceformer_search", help="the runs")
    parser.add_argument("--rung", type=int, default=4, help="epochs every candidate trains before the cut")
    parser.add_argument("--keep", type=int, default=1, help="candidates that continue after the cut")
    parser.add_argument("--patience", type=int, default=5, help="epochs without a better val LVE before stopping")
    parser.add_argument("--ptalker-run", type=Path, default=ROOT / "outputs/train/ptalker_curve",
                        help="a run of configs/train/standin_default.yaml, for its curves")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--install", action="store_true", help="copy the winner to " + str(INSTALLED.relative_to(ROOT)))
    args = parser.parse_args(argv)
    set_threads(args.threads)
    per_epoch = steps_per_epoch(load_train_config(CONFIG))
    results = {c.name: run(c, args.out, args.patience, args.rung * per_epoch) for c in CANDIDATES}
    rung = {c.name: rung_val_lve(curves(args.out / c.name), args.rung) for c in CANDIDATES}
    kept = sorted(CANDIDATES, key=lambda c: rung[c.name])[:args.keep]
    for candidate in kept:
        results[candidate.name] = run(candidate, args.out, args.patience, 0)
    table, runs = {}, {}
    for candidate in CANDIDATES:
        curve = curves(args.out / candidate.name)
        result = results[candidate.name]
        runs[f"FaceFormer {candidate.name}"] = curve
        table[candidate.name] = {"lr": candidate.lr, "scheduled_sampling": candidate.scheduled_sampling,
                                 "val_lve_at_rung": rung[candidate.name], "kept": candidate in kept,
                                 "best_val_lve": curve["best_val_lve"], "best_epoch": curve["best_epoch"],
                                 "epochs_trained": result.epochs, "stopped_early": result.stopped_early,
                                 "seconds": result.seconds}
    winner = min(kept, key=lambda c: table[c.name]["best_val_lve"])
    if (args.ptalker_run / "val_log.csv").is_file():
        runs["PTalker (standin_default)"] = curves(args.ptalker_run)
    rows = [[name, f"{row['lr']:g}", f"{row['scheduled_sampling']:g}", f"{row['val_lve_at_rung']:.3e}",
             "yes" if row["kept"] else "no", f"{row['best_val_lve']:.3e}", row["best_epoch"],
             f"{row['epochs_trained']}{' (early stop)' if row['stopped_early'] else ''}", f"{row['seconds']:.0f}"]
            for name, row in table.items()]
    text = markdown_table(["candidate", "lr", "scheduled sampling", f"val LVE after {args.rung} epochs", "kept",
                           "best val LVE", "best epoch", "epochs trained", "s"], rows)
    if "PTalker (standin_default)" in runs:
        ptalker = runs["PTalker (standin_default)"]
        stop, kept, kept_lve = early_stop(ptalker, args.patience)
        text += (f"\n\nPTalker (configs/train/standin_default.yaml, {len(ptalker['val_epochs'])} epochs): best val LVE "
                 f"{ptalker['best_val_lve']:.3e} at epoch {ptalker['best_epoch']}; with patience {args.patience} it "
                 f"would have stopped at epoch {stop}, keeping epoch {kept} ({kept_lve:.3e}).")
    text += f"\n\nWinner: {winner.name}.\n"
    save_results(args.results, "faceformer_search", {"rung_epochs": args.rung, "patience": args.patience,
                                                     "winner": winner.name, "candidates": table, "curves": runs},
                 text)
    plot(runs, args.results / "faceformer_curves.png")
    if args.install:
        export_checkpoint(args.out / winner.name / "best.pt", INSTALLED)
        print(f"installed {winner.name} as {INSTALLED}")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
