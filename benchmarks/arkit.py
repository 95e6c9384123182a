"""ARKit blend-shape weights (export --format arkit): reconstruction, weight range, speed.

    python benchmarks/arkit.py [--data data/synth_benchmark]

On the test split of the synthetic corpus (stand-in head), each sequence's weights are solved on
its speaker's neutral head (templates.pkl): the vertex distance between the sequence and the 52
shapes played back with the head pose put back (mean and max, mm), the range of the weights, the
seconds of solving per 100 frames (solve_sequence: the basis and the solve; CPU, torch with 2 threads).

Printed, and written to RESULTS/arkit.json and arkit.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from common import ROOT, THREADS, argument_parser, save_results, set_threads

from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.splits import get_dataset_spec
from ptalker.pipelines.arkit import solve_sequence


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__, results=True)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "synth_benchmark", help="synthetic corpus root")
    args = parser.parse_args(argv)
    set_threads()
    test = TalkingHeadDataset(args.data, get_dataset_spec("custom", args.data / "dataset.yaml"), "test")
    seconds, frames, means, worst, low, high = 0.0, 0, [], 0.0, 1.0, 0.0
    for index, name in enumerate(test.sequences):
        item = test[index]
        start = time.perf_counter()
        basis, solve, _ = solve_sequence(item.vertices.numpy(), item.template.numpy())
        seconds += time.perf_counter() - start
        count = len(solve.weights)
        frames += count
        means.append(solve.error_mean_mm * count)
        worst = max(worst, solve.error_max_mm)
        low, high = min(low, float(solve.weights.min())), max(high, float(solve.weights.max()))
        print(f"{name.stem}: {solve}", flush=True)
    results = {"sequences": len(test), "frames": frames, "error_mean_mm": sum(means) / frames, "error_max_mm": worst,
               "weight_min": low, "weight_max": high, "seconds_per_100_frames": 100 * seconds / frames,
               "threads": THREADS, "zero_shapes": list(basis.zero_shapes)}
    print(results)
    save_results(args.results, "arkit", results, report(results) + "\n")
    return 0


def report(results: dict) -> str:
    """The Markdown of arkit.md."""
    return "\n".join([
        f"ARKit weights solved on the synthetic test split ({results['sequences']} sequences, {results['frames']} "
        f"frames, stand-in head, each speaker's neutral head): reconstruction {results['error_mean_mm']:.4f} mm mean, "
        f"{results['error_max_mm']:.3f} mm max vertex distance (the 52 shapes played back, head pose put back).",
        "",
        f"Weights in [{results['weight_min']:.3f}, {results['weight_max']:.3f}]. Solving: "
        f"{results['seconds_per_100_frames']:.2f} s per 100 frames (CPU, torch with {results['threads']} threads, "
        "the basis included).",
        "",
        f"Zero shapes (the stand-in does not make them): {', '.join(results['zero_shapes'])}.",
    ])


if __name__ == "__main__":
    sys.exit(main())
