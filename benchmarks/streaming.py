"""Streaming against offline decoding: latency, and what it costs in LVE.

    python benchmarks/streaming.py [--checkpoint CKPT] [--data data/synth_benchmark]

Every test sequence of the synthetic corpus is animated in its own-reference style twice: offline
(``Animator.animate``) and streamed (``Animator.stream``, its audio fed in chunks), for a few chunk
lengths and lookaheads. Printed and written to RESULTS/streaming.json and streaming.md:

- the algorithmic latency, ``chunk + (lookahead_frames + 1) / fps``;
- LVE of the streamed output against the ground truth, relative to offline's (1.00: no loss);
- LVE of the streamed output against the offline output (how far streaming moves the lips);
- compute per chunk (mean and worst, torch with 2 threads), which must stay below the chunk
  length for a live source.

Streaming feeds no phones (they are not known while an utterance is spoken), so a checkpoint
with a phonetic channel is compared on its audio-only path, offline too.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from common import ROOT, argument_parser, markdown_table, save_results, set_threads

from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.splits import get_dataset_spec
from ptalker.evaluation.evaluate import choose_style
from ptalker.metrics.vertex_errors import lip_vertex_error
from ptalker.pipelines.animator import load_model
from ptalker.pipelines.streaming import StreamSettings, split_chunks

SETTINGS = ((0.1, 3), (0.2, 2), (0.1, 5), (0.2, 3))
"""(chunk seconds, lookahead frames); the first is ptalker animate --stream's default."""


def streamed(animator, audio: np.ndarray, style, template: np.ndarray, chunk_s: float,
             lookahead: int) -> tuple[np.ndarray, list[float]]:
    """(T, V, 3) streamed vertices and the seconds each chunk took."""
    frames, spent = [], []
    stream = animator.stream(split_chunks(audio, chunk_s), style, template, StreamSettings(lookahead_frames=lookahead))
    while True:
        start = time.perf_counter()
        try:
            frames.append(next(stream))
        except StopIteration:
            break
        spent.append(time.perf_counter() - start)
    return np.concatenate(frames), spent


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__, results=True)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=ROOT / "data/synth_benchmark")
    args = parser.parse_args(argv)
    set_threads()
    test = TalkingHeadDataset(args.data, get_dataset_spec("custom", args.data / "dataset.yaml"), "test")
    animator = load_model(args.checkpoint, phones=False)  # streaming runs the audio-only path
    lips = animator.topology.masks.lips
    items = [test[i] for i in range(len(test))]
    styles = [choose_style(test, i, "reference") for i in range(len(test))]
    truth = [item.vertices.numpy() for item in items]
    offline = [animator.animate(item.audio.numpy(), style, item.template.numpy()).vertices
               for item, style in zip(items, styles)]
    offline_lve = lip_vertex_error(offline, truth, lips)
    rows = []
    for chunk_s, lookahead in SETTINGS:
        outputs, spent = [], []
        for item, style in zip(items, styles):
            vertices, seconds = streamed(animator, item.audio.numpy(), style, item.template.numpy(), chunk_s, lookahead)
            outputs.append(vertices)
            spent += seconds
        rows.append({"chunk_ms": 1000 * chunk_s, "lookahead_frames": lookahead,
                     "latency_ms": 1000 * StreamSettings(lookahead_frames=lookahead).latency_s(chunk_s, animator.fps),
                     "lve_vs_offline_ratio": lip_vertex_error(outputs, truth, lips) / offline_lve,
                     "lve_streamed_vs_offline": lip_vertex_error(outputs, offline, lips),
                     "chunk_compute_mean_ms": 1000 * float(np.mean(spent)),
                     "chunk_compute_max_ms": 1000 * float(np.max(spent))})
        print(rows[-1], flush=True)
    table = markdown_table(["chunk (ms)", "lookahead (frames)", "latency (ms)", "LVE / offline LVE",
                            "LVE streamed vs offline (m²)", "compute per chunk, mean / max (ms)"],
                           [[f"{r['chunk_ms']:.0f}", r["lookahead_frames"], f"{r['latency_ms']:.0f}",
                             f"{r['lve_vs_offline_ratio']:.3f}", f"{r['lve_streamed_vs_offline']:.2e}",
                             f"{r['chunk_compute_mean_ms']:.0f} / {r['chunk_compute_max_ms']:.0f}"] for r in rows],
                           left=0)
    text = f"Test split, {len(items)} sequences, own-reference style; offline LVE {offline_lve:.3e} m².\n\n{table}"
    save_results(args.results, "streaming", {"offline_lve": offline_lve, "sequences": len(items), "rows": rows},
                 text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
