"""Per-person adaptation (ptalker adapt, LoRA on the flow sampler) on a held-out person whose
style lies outside the training speakers' ranges.

    python benchmarks/adaptation.py --checkpoint outputs/train/flow_standin/best.pt \
        [--person data/synth_exaggerated] [--data data/synth_benchmark] [--rank 4 --steps 300]

The person is the one speaker of configs/data/synth_exaggerated.yaml (made when missing). Their
sentences 01-02, joined (about 7 s), are the reference clip: the adapter is fitted on it with
``ptalker adapt`` (its transcript aligned for the phones). Their sentences 03-08 are held out:
each is animated (with its own phone timeline) by

- the decoder in the reference clip's style,
- the flow sampler with the reference clip as its prompt (no adapter),
- the flow sampler with the adapter (the person's own prompt and face),

and scored by the held-out style error (the mean over jaw opening, lip motion, smile,
asymmetry and brow motion of |statistic(prediction) - statistic(truth)| in mm,
ptalker.metrics.face_measures.style_statistics, per sequence, averaged) and the LVE against
the truth (head motion removed from the truth: none of them makes head motion). Then the
adapted sampler animates the benchmark corpus's test split (its speakers' faces, their phone
timelines) and the share of /p b m/ it seals is printed: adaptation must not cost lip closure.
"""

from __future__ import annotations

import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile
from common import ROOT, argument_parser, markdown_table, save_results, set_threads
from corpus_measures import seal_rate

from ptalker.audio.timeline import read_timeline
from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.splits import get_dataset_spec
from ptalker.data.synth.corpus import generate_corpus, load_synth_config
from ptalker.flame.masks import head_face_sets
from ptalker.mesh.stabilize import remove_head_motion
from ptalker.metrics.face_measures import style_statistics
from ptalker.pipelines.animator import Style, load_model
from ptalker.training.adapt import AdaptSettings, adapt_person

STYLE_KEYS = ("jaw_opening_mm", "lip_motion_mm", "smile_mm", "asymmetry_mm", "brow_motion_mm")
REFERENCE = (0, 1)
"""The person's sentences joined into the reference clip (the rest are held out)."""


def style_error(pred: np.ndarray, truth: np.ndarray, template: np.ndarray, sets) -> float:
    a, b = (style_statistics(v, template, sets, 30.0).to_dict() for v in (pred, truth))
    return float(np.mean([abs(a[k] - b[k]) for k in STYLE_KEYS]))


def lve(pred: np.ndarray, truth: np.ndarray, lips: np.ndarray) -> float:
    n = min(len(pred), len(truth))
    return float(((pred[:n, lips] - truth[:n, lips]) ** 2).sum(-1).max(-1).mean())


def main() -> None:
    parser = argument_parser(__doc__, results=True)
    parser.add_argument("--checkpoint", type=Path, required=True, help="a flow checkpoint")
    parser.add_argument("--person", type=Path, default=ROOT / "data" / "synth_exaggerated")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "synth_benchmark")
    parser.add_argument("--rank", type=int, default=4)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "bench_adaptation")
    args = parser.parse_args()
    set_threads()
    warnings.simplefilter("ignore")
    if not (args.person / "dataset.yaml").is_file():
        generate_corpus(args.person, load_synth_config(ROOT / "configs" / "data" / "synth_exaggerated.yaml"))
    person = TalkingHeadDataset(args.person, get_dataset_spec("custom", args.person / "dataset.yaml"), "train")
    sets = head_face_sets()
    base = load_model(args.checkpoint)
    items = [person[i] for i in range(len(person))]
    texts = [json.loads((args.person / "align" / f"{n.stem}.json").read_text())["text"] for n in person.sequences]
    ref_audio = np.concatenate([items[i].audio.numpy() for i in REFERENCE])
    ref_motion = np.concatenate([items[i].vertices.numpy() for i in REFERENCE])
    template = items[0].template.numpy()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        wav, npy, face = Path(folder) / "ref.wav", Path(folder) / "ref.npy", Path(folder) / "face.npy"
        soundfile.write(wav, ref_audio, 16000)
        np.save(npy, ref_motion)
        np.save(face, template)
        start = time.perf_counter()
        report = adapt_person(wav, npy, args.out / "person.pt", checkpoint=args.checkpoint, template=face,
                              settings=AdaptSettings(rank=args.rank, steps=args.steps),
                              text=" ".join(texts[i] for i in REFERENCE), progress=False)
        adapt_seconds = time.perf_counter() - start
    print(report, flush=True)
    adapted = load_model(args.checkpoint)
    adapted.load_adapter(args.out / "person.pt")
    reference = Style(reference_audio=ref_audio, reference_motion=ref_motion, reference_template=template)
    systems = {"decoder, reference style": lambda a, tl: base.animate(a, reference, template, timeline=tl,
                                                                       sampler="decoder"),
               "flow, reference clip as prompt": lambda a, tl: base.animate(a, reference, template, timeline=tl),
               "flow + adapter": lambda a, tl: adapted.animate(a, timeline=tl)}
    held_out = [i for i in range(len(items)) if i not in REFERENCE]
    rows, results = [], {}
    for name, animate in systems.items():
        errors, lves = [], []
        for i in held_out:
            tl = read_timeline(args.person / "align" / f"{person.sequences[i].stem}.json")
            pred = animate(items[i].audio.numpy(), tl).vertices
            truth = remove_head_motion(items[i].vertices.numpy(), template, sets.rigid).aligned
            errors.append(style_error(pred, truth, template, sets))
            lves.append(lve(pred, truth, base.topology.masks.lips))
        results[name] = {"style_error_mm": float(np.mean(errors)), "lve": float(np.mean(lves))}
        rows.append([name, f"{np.mean(errors):.3f}", f"{np.mean(lves):.3e}"])
    drop = 1 - results["flow + adapter"]["style_error_mm"] / results["flow, reference clip as prompt"]["style_error_mm"]
    table = markdown_table(["held-out person, sentences 03-08", "style error (mm)", "LVE (m^2)"], rows)
    print(table)
    # the adapted sampler on the benchmark's test split: lip closure kept?
    test = TalkingHeadDataset(args.data, get_dataset_spec("custom", args.data / "dataset.yaml"), "test")
    pred_dir = args.out / "test_split"
    pred_dir.mkdir(exist_ok=True)
    for index in range(len(test)):
        item = test[index]
        tl = read_timeline(args.data / "align" / f"{item.name.stem}.json")
        np.save(pred_dir / f"{item.name.stem}.npy", adapted.animate(item.audio.numpy(), template=item.template.numpy(),
                                                                   timeline=tl).vertices)
    sealed = seal_rate(pred_dir, args.data, sets)
    summary = (f"adaptation: {report.trainable} of {report.total} parameters ({100 * report.trainable / report.total:.2f}%)"
               f" trained, {report.steps} steps in {report.seconds:.1f} s ({1000 * report.seconds / report.steps:.0f} ms"
               f"/step; {adapt_seconds:.1f} s with loading and the clip's phones, 2 threads); held-out style error "
               f"{100 * drop:.0f}% below the unadapted sampler's; the adapted sampler seals {100 * sealed:.1f}% of "
               f"/p b m/ on the synthetic test split")
    print(summary)
    results.update({"adapt": {"trainable": report.trainable, "total": report.total, "steps": report.steps,
                              "seconds": report.seconds, "seconds_with_setup": adapt_seconds,
                              "first_loss": report.first_loss, "last_loss": report.last_loss},
                    "style_error_drop": drop, "test_split_sealed": sealed})
    save_results(args.results, "adaptation", results, table + "\n\n" + summary + "\n")


if __name__ == "__main__":
    main()
