"""Does a PTalker checkpoint's style space tell speakers apart while holding no content?

    python benchmarks/style_probes.py [--checkpoint CKPT] [--data data/synth_benchmark] [--results DIR]

For every clip of the synthetic corpus (train, val and test splits), two per-clip features:

- style: the clip's style embedding as a reference (PTalker.reference_style of its audio and
  motion styles), (S,);
- content (positive control): the clip-mean audio content code (audio_codes' content_mu, from
  the audio alone, averaged over frames), (C,).

Each clip's content histogram is the mean over frames of its true phones' class shares (the
corpus timeline ROOT/align/<stem>.json read as ptalker.data.phones reads it, 13 classes). Probes
(ptalker.evaluation.style_probes), printed as a Markdown table and written to
RESULTS/style_probes.json and .md:

- speaker accuracy: a ridge classifier of the 8 training speakers, fit on their sentences 01-20
  and tested on their sentences 21-40 (chance 1/8);
- content R^2: ridge regression of the content histogram, same fit and test clips (chance 0);
- retrieval top-1: cosine nearest neighbour of the same speaker among the held-out speakers'
  clips (val and test, 4 speakers x 20 sentences), no fitting.

A style space that holds no content scores high on speaker accuracy and retrieval and about 0
on content R^2; the content codes show how much content a linear probe can find at all.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from common import ROOT, argument_parser, markdown_table, save_results, set_threads

from ptalker.audio.phones import phone_features
from ptalker.audio.timeline import read_timeline
from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.phones import canonical_timeline
from ptalker.data.splits import get_dataset_spec
from ptalker.evaluation.style_probes import (
    content_probe,
    retrieval_accuracy,
    retrieval_chance,
    speaker_chance,
    speaker_probe,
)
from ptalker.pipelines.animator import Animator, Style, load_model

FIT_SENTENCES = frozenset(f"sentence{number:02d}" for number in range(1, 21))
"""Training speakers' sentences the probes are fit on; their other sentences test them."""
FEATURES = ("style", "content")


@torch.no_grad()
def clip_features(animator: Animator, dataset: TalkingHeadDataset) -> dict[str, np.ndarray]:
    """{"style": (N, S), "content": (N, C), "hist": (N, 13)} of the N clips of ``dataset``."""
    model = animator.model
    rows: dict[str, list[np.ndarray]] = {"style": [], "content": [], "hist": []}
    for index in range(len(dataset)):
        item = dataset[index]
        audio, offsets, template = animator.reference_clip(Style(
            reference_audio=item.audio.numpy(), reference_motion=item.vertices.numpy(),
            reference_template=item.template.numpy()))
        codes = model.audio_codes(audio[None], len(offsets))  # .style (1, S), .content_mu (1, T, C)
        motion = model.motion_codes(offsets[None], template[None])  # .style (1, S)
        rows["style"].append(model.reference_style(codes.style, motion.style)[0].numpy())
        rows["content"].append(codes.content_mu.mean(1)[0].numpy())
        speech = canonical_timeline(read_timeline(dataset.root / "align" / f"{item.name.stem}.json"))
        rows["hist"].append(phone_features(speech, len(offsets), dataset.fps).mean(axis=0))
    return {key: np.stack(values) for key, values in rows.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__, results=True)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=ROOT / "data/synth_benchmark")
    args = parser.parse_args(argv)
    set_threads()
    start = time.perf_counter()
    animator = load_model(args.checkpoint)
    spec = get_dataset_spec("custom", args.data / "dataset.yaml")
    train = TalkingHeadDataset(args.data, spec, "train")
    held_out = [TalkingHeadDataset(args.data, spec, split) for split in ("val", "test")]

    seen = clip_features(animator, train)
    seen_speakers = np.array([name.subject for name in train.sequences])
    fit = np.array([name.sentence in FIT_SENTENCES for name in train.sequences])  # (N,) bool
    parts = [clip_features(animator, dataset) for dataset in held_out]
    unseen = {key: np.concatenate([part[key] for part in parts]) for key in FEATURES}
    unseen_speakers = [name.subject for dataset in held_out for name in dataset.sequences]

    data = {"checkpoint": str(args.checkpoint or "shipped"),
            "clips": {"fit": int(fit.sum()), "test": int((~fit).sum()), "retrieval": len(unseen_speakers)},
            "speaker_accuracy": {"chance": speaker_chance(seen_speakers[fit])},
            "content_r2": {"chance": 0.0},
            "retrieval_top1": {"chance": retrieval_chance(unseen_speakers)}}
    for key in FEATURES:
        data["speaker_accuracy"][key] = speaker_probe(seen[key][fit], seen_speakers[fit], seen[key][~fit],
                                                      seen_speakers[~fit])
        data["content_r2"][key] = content_probe(seen[key][fit], seen["hist"][fit], seen[key][~fit],
                                                seen["hist"][~fit])
        data["retrieval_top1"][key] = retrieval_accuracy(unseen[key], unseen_speakers)
    data["seconds"] = time.perf_counter() - start

    probes = {"speaker_accuracy": f"speaker accuracy ({len(set(seen_speakers))} train speakers, "
                                  f"fit sentences 01-20, test 21-40)",
              "content_r2": "content R² (phone-class histogram, same clips)",
              "retrieval_top1": f"retrieval top-1 ({len(set(unseen_speakers))} held-out speakers, "
                                f"{len(unseen_speakers)} clips)"}
    table = markdown_table(["probe", f"style ({seen['style'].shape[1]} dims)",
                            f"content, control ({seen['content'].shape[1]} dims)", "chance"],
                           [[text, *(f"{data[key][column]:.3f}" for column in (*FEATURES, "chance"))]
                            for key, text in probes.items()])
    text = (f"Style embeddings (reference audio + motion) against clip-mean audio content codes, "
            f"checkpoint {data['checkpoint']}; {data['seconds']:.0f} s.\n\n{table}")
    save_results(args.results, "style_probes", data, text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
