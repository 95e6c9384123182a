"""FLAME parameter fitting (ptalker fit): round trips, recovery of known parameters, speed.

    python benchmarks/flame_fit.py [--data data/synth_benchmark] [--motions 5] [--frames 150]

- round trip on the test split of the synthetic corpus: each sequence -> FLAME parameters ->
  vertices, the vertex distance to the sequence (mean and max, mm); the corpus was made from FLAME
  parameters of the stand-in head (params_npy/), so the fit is also checked against them (jaw and
  neck angle, expression coefficients, betas);
- recovery of known parameters: ``--motions`` random smooth motions of ``--frames`` frames
  (:func:`ptalker.flame.flame_params.random_flame_motion`: expression, jaw, neck, global pose,
  eyes, translation, a random shape), the largest error of each parameter;
- seconds of fitting per 100 frames (default FitSettings, torch with 2 threads; the time of
  fit_flame, loading the head model included).

Printed, and written to RESULTS/flame_fit.json and flame_fit.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from common import ROOT, THREADS, argument_parser, markdown_table, save_results, set_threads
from scipy.spatial.transform import Rotation

from ptalker.data.dataset import TalkingHeadDataset
from ptalker.data.splits import get_dataset_spec
from ptalker.flame.fitting import FlameFit, fit_flame, flame_params_vertices, random_flame_motion

ROTATIONS = ("jaw_pose", "neck_pose", "global_orient", "leye_pose", "reye_pose")


def rotation_error_deg(fitted: np.ndarray, truth: np.ndarray) -> float:
    """Largest angle (degrees) between the axis-angle rotations ``fitted`` and ``truth`` (T, 3)."""
    return float(np.degrees((Rotation.from_rotvec(fitted).inv() * Rotation.from_rotvec(truth)).magnitude()).max())


def recovery(fit: FlameFit, truth: dict[str, np.ndarray]) -> dict[str, float]:
    """Largest error of each parameter in ``truth`` (smplx names; betas and expression may be shorter)."""
    errors = {}
    for name, value in truth.items():
        if name in ROTATIONS:
            errors[f"{name}_deg"] = rotation_error_deg(getattr(fit, name), value)
        elif name == "transl":
            errors["transl_mm"] = 1000 * float(np.abs(fit.transl - value).max())
        else:
            errors[name] = float(np.abs(getattr(fit, name)[..., :value.shape[-1]] - value).max())
    return errors


def timed_fit(vertices: np.ndarray, fps: float) -> tuple[FlameFit, float]:
    """The fit of ``vertices`` (T, V, 3) and the seconds it took."""
    start = time.perf_counter()
    fit = fit_flame(vertices, fps=fps)
    return fit, time.perf_counter() - start


def worst(rows: list[dict[str, float]]) -> dict[str, float]:
    """The largest value of each key over ``rows``."""
    return {key: max(row[key] for row in rows) for key in rows[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__, results=True)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "synth_benchmark", help="synthetic corpus root")
    parser.add_argument("--motions", type=int, default=5, help="random known-parameter motions")
    parser.add_argument("--frames", type=int, default=150, help="frames of each random motion")
    args = parser.parse_args(argv)
    set_threads()
    test = TalkingHeadDataset(args.data, get_dataset_spec("custom", args.data / "dataset.yaml"), "test")
    seconds, distances, corpus = 0.0, [], []
    for index, name in enumerate(test.sequences):
        vertices = test[index].vertices.numpy()
        fit, spent = timed_fit(vertices, test.fps)
        seconds += spent
        distances.append(np.linalg.norm(flame_params_vertices(fit) - vertices, axis=-1) * 1000)  # (T, V) mm
        with np.load(args.data / "params_npy" / f"{name.stem}.npz") as known:
            corpus.append(recovery(fit, {"jaw_pose": known["jaw_pose"], "neck_pose": known["neck_pose"],
                                         "expression": known["expression"], "betas": known["shape"]}))
        print(f"{name.stem}: {fit} in {spent:.1f} s", flush=True)
    distance = np.concatenate(distances)  # (frames, V) mm
    frames = len(distance)
    motions = []
    for seed in range(args.motions):
        truth = random_flame_motion(args.frames, seed=seed)
        fit, spent = timed_fit(flame_params_vertices(truth), truth.fps)
        frames, seconds = frames + args.frames, seconds + spent
        motions.append({"error_mean_mm": fit.error_mean_mm, "error_max_mm": fit.error_max_mm,
                        **recovery(fit, truth.params())})
        print(f"random motion {seed}: {fit} in {spent:.1f} s", flush=True)
    results = {"round_trip": {"sequences": len(test), "frames": len(distance), "mean_mm": float(distance.mean()),
                              "max_mm": float(distance.max()), "corpus_parameters_max_error": worst(corpus)},
               "known_parameters": {"motions": args.motions, "frames": args.frames, "max_error": worst(motions)},
               "seconds_per_100_frames": 100 * seconds / frames, "threads": THREADS}
    print(results)
    save_results(args.results, "flame_fit", results, report(results) + "\n")
    return 0


def report(results: dict) -> str:
    """The Markdown of flame_fit.md."""
    trip, known = results["round_trip"], results["known_parameters"]
    corpus, motion = trip["corpus_parameters_max_error"], known["max_error"]
    rows = [[name, f"{corpus[name]:.3f}" if name in corpus else "", f"{motion[name]:.3f}"]
            for name in motion if name not in ("error_mean_mm", "error_max_mm")]
    return "\n".join([
        f"Round trip vertices -> FLAME parameters -> vertices on the synthetic test split ({trip['sequences']} "
        f"sequences, {trip['frames']} frames, stand-in head): {trip['mean_mm']:.4f} mm mean, "
        f"{trip['max_mm']:.3f} mm max vertex distance.",
        "",
        f"Largest parameter errors: against the corpus's own FLAME parameters, and on {known['motions']} random "
        f"smooth motions of {known['frames']} frames (vertex distance at most {motion['error_mean_mm']:.4f} mm "
        f"mean, {motion['error_max_mm']:.3f} mm max):",
        "",
        markdown_table(["parameter", "corpus test split", "random motions"], rows),
        "",
        f"Fitting speed: {results['seconds_per_100_frames']:.1f} s per 100 frames (CPU, torch with "
        f"{results['threads']} threads, default FitSettings).",
    ])


if __name__ == "__main__":
    sys.exit(main())
