"""The generative (flow) sampler against the deterministic decoder, and what each knob does.

    python benchmarks/flow_sampler.py --checkpoint outputs/train/flow_standin/best.pt \
        --data data/synth_benchmark [--quick]

On the synthetic corpus's test split (held-out speakers; each sequence in the style of a
reference clip, the next sentence of the same speaker, as ``ptalker evaluate``):

1. Quality: LVE (against the recorded motion; neither sampler makes head motion), the share of
   /p b m/ sealed (gap < 1 mm) and the style error (benchmarks/corpus_measures.style_errors: the
   distance of each speaker's style statistics to the truth's, in units of their spread over
   speakers), for the decoder and for the flow sampler at its defaults, with the corpus's phone
   timelines and with the audio alone.
2. Steps, quality and time: for each solver and 1, 2, 5, 10, 20 steps, the LVE, the distance
   to a 200-step midpoint solution, and the seconds to animate 10 s of speech (Animator.animate,
   audio alone, the model loaded; 2 threads). The decoder's time for the same audio beside it.
3. Knobs, on every second test sequence: the lip-gap amplitude (standard deviation of the lip
   gap) relative to the truth's at cfg_style 0, 0.5, 1, 1.5, 2; the lip-gap/envelope correlation
   (best within +-100 ms) at cfg_audio 0, 0.5, 1, 1.5, 2; the mean pairwise distance of 8 seeds
   at temperature 0, 0.5, 1.

``--figure PNG`` (default assets/flow_guidance.png, the README's): the lip opening of one test
sentence at several cfg_style, with the truth.

``--quick``: one sequence in four and fewer steps in part 2 (a smoke run).
"""

from __future__ import annotations

import dataclasses
import itertools
import time
import warnings
from pathlib import Path

import numpy as np
from common import ROOT, argument_parser, markdown_table, save_results, set_threads
from corpus_measures import seal_rate, style_errors

from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.splits import get_dataset_spec
from ptalker.evaluation.evaluate import evaluate
from ptalker.flame.masks import head_face_sets
from ptalker.metrics.face_measures import envelope_correlations, lip_gap
from ptalker.pipelines.animator import load_model
from ptalker.pipelines.flow_sampling import SamplerSettings

FPS = 30.0
SYNC_LAG_S = 0.1
FIGURE_SCALES = (0.0, 1.0, 2.0)


def guidance_figure(curves: dict[str, list[float]], truth: np.ndarray, title: str, out_png: Path) -> None:
    """The lip opening (mm) over time at each style scale of ``curves``, and the ``truth``'s."""
    from ptalker.plots.figure import check_out_png, drawing, save_figure

    out = check_out_png(out_png)
    with drawing(8.0, 3.0) as fig:
        ax = fig.add_subplot()
        seconds = np.arange(len(truth)) / FPS
        ax.plot(seconds, 1000 * truth, color="black", linewidth=2.0, label="truth (this speaker)")
        for scale, curve in curves.items():
            ax.plot(seconds[:len(curve)], 1000 * np.asarray(curve), linewidth=1.2, label=f"cfg_style {float(scale):g}")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("lip opening (mm)")
        ax.set_title(title)
        ax.legend(loc="upper right", ncol=4, fontsize=8)
        save_figure(fig, out)


def quality(checkpoint: Path, data: Path, out: Path) -> tuple[dict, str]:
    sets, results, rows = head_face_sets(), {}, []
    runs = {}
    for sampler, phones in itertools.product(("decoder", "flow"), ("timeline", "none")):
        name = f"{sampler}, {'corpus phones' if phones == 'timeline' else 'audio only'}"
        run = evaluate(checkpoint, data, out / f"{sampler}_{phones}", phones=phones, sampler=sampler)
        runs[name] = run
        results[name] = {"lve": run.report.lve, "lips_sealed": seal_rate(run.pred_dir, data, sets)}
    styles = style_errors({name: run.pred_dir for name, run in runs.items()}, data, sets)
    for name in runs:
        results[name]["style_error"] = styles[name]
        rows.append([name, f"{results[name]['lve']:.3e}", f"{100 * results[name]['lips_sealed']:.1f}%",
                     f"{styles[name]:.3f}"])
    return results, markdown_table(["sampler (synthetic test split)", "LVE (m^2)", "/p b m/ sealed",
                                    "style error"], rows)


def ten_seconds(dataset: TalkingHeadDataset) -> np.ndarray:
    """10 s of test speech (sequences joined)."""
    audio = np.concatenate([dataset[i].audio.numpy() for i in range(6)])
    return audio[:10 * AUDIO_SAMPLE_RATE_HZ]


def steps_curve(checkpoint: Path, dataset: TalkingHeadDataset, indices: list[int], step_counts: list[int]):
    """Rows of part 2."""
    animator, plain = load_model(checkpoint), load_model(checkpoint, phones=False)
    speech = ten_seconds(dataset)
    plain.animate(speech[:16000])  # warm-up
    start = time.perf_counter()
    plain.animate(speech, sampler="decoder")
    decoder_seconds = time.perf_counter() - start
    lips = animator.topology.masks.lips
    defaults = SamplerSettings()

    def predict(settings: SamplerSettings) -> list[np.ndarray]:
        out = []
        for index in indices:
            item = dataset[index]
            style = reference_style(dataset, index)
            out.append(animator.animate(item.audio.numpy(), style, item.template.numpy(),
                                        timeline=timeline(dataset, index), settings=settings).vertices)
        return out

    fine = predict(dataclasses.replace(defaults, steps=200, solver="midpoint"))
    truth = [dataset[i].vertices.numpy() for i in indices]
    rows, results = [], []
    for solver, steps in itertools.product(("euler", "midpoint"), step_counts):
        settings = dataclasses.replace(defaults, steps=steps, solver=solver)
        preds = predict(settings)
        start = time.perf_counter()
        plain.animate(speech, settings=settings)
        seconds = time.perf_counter() - start
        lve = float(np.mean([lve_of(p, t, lips) for p, t in zip(preds, truth)]))
        distance = float(np.mean([np.sqrt(((p - f) ** 2).sum(-1)).mean() for p, f in zip(preds, fine)])) * 1000
        results.append({"solver": solver, "steps": steps, "lve": lve, "distance_to_fine_mm": distance,
                        "seconds_per_10s": seconds, "times_real_time": 10.0 / seconds})
        rows.append([solver, steps, f"{lve:.3e}", f"{distance:.4f}", f"{seconds:.2f}", f"{10.0 / seconds:.1f}x"])
    rows.append(["(decoder)", "", "", "", f"{decoder_seconds:.2f}", f"{10.0 / decoder_seconds:.1f}x"])
    table = markdown_table(["solver", "steps", "LVE (m^2)", "distance to 200-step midpoint (mm)",
                            "s per 10 s of speech", "x real time"], rows, left=2)
    return {"curve": results, "decoder_seconds_per_10s": decoder_seconds}, table


def lve_of(pred: np.ndarray, truth: np.ndarray, lips: np.ndarray) -> float:
    """Mean over frames of the largest squared lip-vertex distance (the field's LVE of one sequence)."""
    n = min(len(pred), len(truth))
    return float(((pred[:n, lips] - truth[:n, lips]) ** 2).sum(-1).max(-1).mean())


def reference_style(dataset: TalkingHeadDataset, index: int):
    from ptalker.evaluation.evaluate import choose_style

    return choose_style(dataset, index, "reference")


def timeline(dataset: TalkingHeadDataset, index: int):
    from ptalker.audio.timeline import read_timeline

    return read_timeline(dataset.root / "align" / f"{dataset.sequences[index].stem}.json")


def amplitude(vertices: np.ndarray, template: np.ndarray, sets) -> float:
    """Standard deviation of the lip gap over the frames (metres)."""
    return float(lip_gap(vertices, sets, template).std())


def sync(audio: np.ndarray, vertices: np.ndarray, template: np.ndarray, sets) -> float:
    _, corr = envelope_correlations(audio, AUDIO_SAMPLE_RATE_HZ, lip_gap(vertices, sets, template), FPS, SYNC_LAG_S)
    return float(np.nanmax(corr))


def knobs(checkpoint: Path, dataset: TalkingHeadDataset, indices: list[int]) -> tuple[dict, str]:
    animator, sets = load_model(checkpoint), head_face_sets()
    defaults = SamplerSettings()
    out, lines = {}, []

    def run(index: int, **knob) -> np.ndarray:
        item = dataset[index]
        return animator.animate(item.audio.numpy(), reference_style(dataset, index), item.template.numpy(),
                                timeline=timeline(dataset, index),
                                settings=dataclasses.replace(defaults, **knob)).vertices

    scales = [0.0, 0.5, 1.0, 1.5, 2.0]
    ratios = []
    for scale in scales:
        ratios.append(float(np.mean([amplitude(run(i, cfg_style=scale), dataset[i].template.numpy(), sets)
                                     / amplitude(dataset[i].vertices.numpy(), dataset[i].template.numpy(), sets)
                                     for i in indices])))
    out["cfg_style"] = dict(zip(map(str, scales), ratios))
    lines.append("cfg_style " + ", ".join(f"{s:g}: {r:.2f}" for s, r in zip(scales, ratios))
                 + " (lip-gap amplitude / the truth's)")
    correlations = []
    for scale in scales:
        correlations.append(float(np.mean([sync(dataset[i].audio.numpy(), run(i, cfg_audio=scale),
                                                dataset[i].template.numpy(), sets) for i in indices])))
    out["cfg_audio"] = dict(zip(map(str, scales), correlations))
    lines.append("cfg_audio " + ", ".join(f"{s:g}: {c:.3f}" for s, c in zip(scales, correlations))
                 + " (lip-gap / envelope correlation)")
    temperatures = [0.0, 0.5, 1.0]
    spreads = []
    for temperature in temperatures:
        per_clip = []
        for i in indices[:4]:
            samples = [run(i, temperature=temperature, seed=seed) for seed in range(8)]
            per_clip.append(np.mean([np.sqrt(((a - b) ** 2).sum(-1)).mean()
                                     for a, b in itertools.combinations(samples, 2)]) * 1000)
        spreads.append(float(np.mean(per_clip)))
    out["temperature"] = dict(zip(map(str, temperatures), spreads))
    out["figure"] = {str(scale): lip_gap(run(indices[0], cfg_style=scale), sets,
                                         dataset[indices[0]].template.numpy()).tolist() for scale in FIGURE_SCALES}
    lines.append("temperature " + ", ".join(f"{t:g}: {s:.4f} mm" for t, s in zip(temperatures, spreads))
                 + " (mean pairwise distance of 8 seeds)")
    return out, "\n".join(f"- {line}" for line in lines)


def main() -> None:
    parser = argument_parser(__doc__, results=True)
    parser.add_argument("--checkpoint", type=Path, required=True, help="a flow checkpoint")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "synth_benchmark")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "bench_flow", help="predictions")
    parser.add_argument("--quick", action="store_true", help="a smoke run on fewer sequences and steps")
    parser.add_argument("--figure", type=Path, default=ROOT / "assets" / "flow_guidance.png")
    args = parser.parse_args()
    set_threads()
    warnings.simplefilter("ignore")
    dataset = TalkingHeadDataset(args.data, get_dataset_spec("custom", args.data / "dataset.yaml"), "test")
    every = 4 if args.quick else 2
    indices = list(range(0, len(dataset), every))
    data = {"checkpoint": str(args.checkpoint), "defaults": dataclasses.asdict(SamplerSettings())}
    markdown = [f"Defaults: {SamplerSettings()}"]
    data["quality"], table = quality(args.checkpoint, args.data, args.out)
    print(table, flush=True)
    markdown.append(table)
    data["steps"], table = steps_curve(args.checkpoint, dataset, indices,
                                       [1, 2, 5] if args.quick else [1, 2, 5, 10, 20])
    print(table, flush=True)
    markdown.append(table)
    data["knobs"], text = knobs(args.checkpoint, dataset, indices)
    print(text, flush=True)
    markdown.append(text)
    first = dataset[indices[0]]
    guidance_figure(data["knobs"]["figure"], lip_gap(first.vertices.numpy(), head_face_sets(), first.template.numpy()),
                    f"{first.name.stem}: flow sampler, reference clip of the same speaker", args.figure)
    save_results(args.results, "flow_sampler", data, "\n\n".join(markdown) + "\n")


if __name__ == "__main__":
    main()
