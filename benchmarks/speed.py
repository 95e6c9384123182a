"""Speed and memory: PTalker's parallel decoding against FaceFormer's step-by-step decoding.

    python benchmarks/speed.py [--lengths 5 10 30 60] [--results benchmarks/results]
    make bench-speed

All measured in one run on this machine, torch with 2 threads, for 5, 10, 30 and 60 s of audio:

- decoding only: PTalker's decoder (in inference's windows of 10 s) against the FaceFormer
  baseline's autoregressive decoding (one frame after another, as published), both with the same
  width, depth, heads and feed-forward size and FLAME's 5023-vertex output, from the same audio
  features; their ratio;
- end to end (audio encoder + decoder, ``Animator.animate``) for the default config (the shipped
  checkpoint) and a paper-size config (configs/train/vocaset.yaml's network with a wav2vec2-base
  audio encoder, random weights), with each speech-encoder path side by side (``--encoders``: float
  as trained, int8, onnx, onnx-int8; :mod:`ptalker.pipelines.fast_encoder`): seconds of audio per
  second of compute, and the share of time spent outside the audio encoder;
- peak memory: each end-to-end run happens in a fresh process; the peak RSS while it animates
  (Linux's high-water mark, reset after the model is loaded: loading a checkpoint peaks higher
  than animating), and that peak above the RSS the process had with the model loaded;
- training throughput (frames per second, 3 s clips) at batch size 1 and 8, for both models.

Written to RESULTS/speed.json and speed.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from common import ROOT, THREADS, argument_parser, markdown_table, save_results, set_threads

from ptalker.audio.encoder import AudioEncoderConfig
from ptalker.constants import AUDIO_SAMPLE_RATE_HZ
from ptalker.data.dataset import SequenceItem, collate_sequences
from ptalker.data.layout import SequenceName
from ptalker.models.decoder import MotionDecoder
from ptalker.models.faceformer import FaceFormer, FaceFormerConfig
from ptalker.pipelines.animator import Animator, load_model, window_spans
from ptalker.pipelines.checkpoint import build_network
from ptalker.pipelines.decoding import autoregressive_decode
from ptalker.pipelines.fast_encoder import ENCODERS, use_encoder
from ptalker.training.config import LossWeights, load_train_config
from ptalker.training.objective import compute_losses

FPS = 30.0
FLAME_VERTICES = 5023
TRAIN_CLIP_FRAMES = 90
PAPER_AUDIO = {"source": "config", "hidden_size": 768, "num_layers": 12, "num_heads": 12,
               "intermediate_size": 3072, "conv_dim": 512}
"""wav2vec2-base's architecture (random weights: timing only)."""


def timed(function, repeats: int = 1) -> float:
    """Fastest of ``repeats`` runs of ``function()``, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def decoding_only(lengths: list[float]) -> dict:
    """Seconds to decode each length from audio features, PTalker windows against FaceFormer steps."""
    config = load_train_config(ROOT / "configs/train/standin_default.yaml").model
    size = {"dim": config.content_dim, "layers": config.decoder_layers, "heads": config.decoder_heads,
            "ff": config.decoder_ff}
    ours = MotionDecoder(config.content_dim, config.style_dim, FLAME_VERTICES, config.decoder_layers,
                         config.decoder_heads, config.decoder_ff, config.window, config.align, config.basis).eval()
    tiny_audio = AudioEncoderConfig(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=32, conv_dim=8)
    theirs = FaceFormer(FaceFormerConfig(tiny_audio, size["dim"], size["layers"], size["heads"], size["ff"],
                                         num_speakers=8), FLAME_VERTICES).eval()  # the audio encoder is not timed
    style, their_style = torch.randn(1, config.style_dim), theirs.neutral_style()[None]
    with torch.no_grad():  # warm-up: first calls allocate
        ours(torch.randn(1, 30, size["dim"]), style)
        autoregressive_decode(theirs, torch.randn(1, 30, size["dim"]), their_style)
    rows = {}
    for seconds in lengths:
        frames = int(seconds * FPS)
        features = torch.randn(1, frames, size["dim"])
        with torch.no_grad():
            ptalker_s = timed(lambda: [ours(features[:, a:b], style) for a, b in window_spans(frames)], repeats=5)
            faceformer_s = timed(lambda: autoregressive_decode(theirs, features, their_style))
        rows[f"{seconds:g}s"] = {"frames": frames, "ptalker_s": ptalker_s, "faceformer_s": faceformer_s,
                                 "ratio": faceformer_s / ptalker_s}
        print(f"  decoding {seconds:g} s: ptalker {ptalker_s:.3f} s, faceformer {faceformer_s:.2f} s, "
              f"ratio {faceformer_s / ptalker_s:.0f}x", flush=True)
    return {"decoder": {**size, "vertices": FLAME_VERTICES}, "lengths": rows}


def paper_size_animator() -> Animator:
    """configs/train/vocaset.yaml's PTalker with a random wav2vec2-base encoder, on the stand-in head."""
    config = load_train_config(ROOT / "configs/train/vocaset.yaml", [f"model.audio={json.dumps(PAPER_AUDIO)}",
                                                                       "model.num_speakers=8"]).model
    topology = load_model().topology
    model = build_network("ptalker", config, topology)
    return Animator(model, {"config": {"architecture": "ptalker"}, "extra": {"fps": FPS}}, topology,
                    torch.device("cpu"))


def end_to_end_child(config: str, encoder: str, seconds: float) -> dict:
    """In a fresh process: animate ``seconds`` of audio with ``config`` ('default' or 'paper') and
    the speech encoder's path ``encoder``; time, share outside the audio encoder, peak RSS."""
    set_threads()
    torch.manual_seed(0)  # the paper-size model's random weights: the same in every process (one ONNX export)
    animator = load_model(encoder=encoder) if config == "default" else paper_size_animator()
    if config != "default":
        use_encoder(animator.model, encoder)
    rng = np.random.default_rng(0)
    animator.animate((0.1 * rng.normal(size=AUDIO_SAMPLE_RATE_HZ)).astype(np.float32))  # warm-up, 1 s
    loaded_mb = rss_mb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets the high-water mark VmHWM to the current RSS
    encoder = animator.model.audio_encoder
    spent = []
    encoder.register_forward_pre_hook(lambda *_: spent.append(-time.perf_counter()))
    encoder.register_forward_hook(lambda *_: spent.append(time.perf_counter()))
    audio = (0.1 * rng.normal(size=int(seconds * AUDIO_SAMPLE_RATE_HZ))).astype(np.float32)
    total = timed(lambda: animator.animate(audio))
    peak_mb = rss_mb("VmHWM")
    return {"seconds": total, "encoder_s": sum(spent), "realtime_factor": seconds / total,
            "outside_encoder_share": 1.0 - sum(spent) / total, "peak_rss_mb": peak_mb,
            "peak_above_loaded_mb": peak_mb - loaded_mb}


def rss_mb(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS: resident now, VmHWM: its peak), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"/proc/self/status has no {field}: peak memory needs Linux")


def end_to_end(lengths: list[float], encoders: list[str]) -> dict:
    rows = {}
    for config in ("default", "paper"):
        for encoder in encoders:
            name = config if encoder == "float" else f"{config}, {encoder}"
            rows[name] = {}
            for seconds in lengths:
                out = subprocess.run([sys.executable, __file__, "--child", config, encoder, str(seconds)], check=True,
                                     capture_output=True, text=True).stdout
                row = json.loads(out.strip().splitlines()[-1])
                rows[name][f"{seconds:g}s"] = row
                print(f"  {name} {seconds:g} s: {row['realtime_factor']:.1f}x real time, "
                      f"{row['outside_encoder_share']:.0%} outside the encoder, peak RSS "
                      f"{row['peak_rss_mb']:.0f} MB (+{row['peak_above_loaded_mb']:.0f} MB)", flush=True)
    return rows


def random_batch(batch_size: int, num_vertices: int, template: np.ndarray) -> object:
    """A batch of ``batch_size`` random 3 s clips of speakers 0 and 1 (pairs)."""
    rng = np.random.default_rng(batch_size)
    samples = int(TRAIN_CLIP_FRAMES / FPS * AUDIO_SAMPLE_RATE_HZ)
    items = [SequenceItem(SequenceName(f"S{i % 2}", f"s{i}"),
                          torch.from_numpy((0.1 * rng.normal(size=samples)).astype(np.float32)),
                          torch.from_numpy(template + 1e-3 * rng.normal(size=(TRAIN_CLIP_FRAMES, num_vertices, 3))
                                           .astype(np.float32)),
                          torch.from_numpy(template), (i // 2) % 2) for i in range(batch_size)]
    return collate_sequences(items)


def training_throughput(batch_sizes: tuple[int, ...] = (1, 8), steps: int = 3) -> dict:
    """Frames per second of training steps (losses, backward, optimizer) of the default configs."""
    topology = load_model().topology
    template = topology.template.astype(np.float32)
    masks = topology.masks.all
    lip_ids = torch.as_tensor(topology.masks.lips)
    pairs = (torch.as_tensor(masks["lip_contact_upper"]), torch.as_tensor(masks["lip_contact_lower"]))
    rows = {}
    for name, path in (("ptalker", "standin_default"), ("faceformer", "faceformer_standin")):
        config = load_train_config(ROOT / f"configs/train/{path}.yaml")
        section = config.model if name == "ptalker" else config.faceformer
        model = build_network(name, dataclasses.replace(section, num_speakers=2), topology).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
        for batch_size in batch_sizes:
            batch = random_batch(batch_size, topology.num_vertices, template)

            def step() -> None:
                terms = compute_losses(model, batch, LossWeights(), False, lip_ids, pairs)
                optimizer.zero_grad()
                terms["total"].backward()
                optimizer.step()

            step()  # warm-up
            seconds = sum(timed(step) for _ in range(steps)) / steps
            rows[f"{name}_batch{batch_size}"] = {"step_s": seconds,
                                                 "frames_per_s": batch_size * TRAIN_CLIP_FRAMES / seconds}
            print(f"  training {name}, batch {batch_size}: {batch_size * TRAIN_CLIP_FRAMES / seconds:.0f} frames/s",
                  flush=True)
    return rows


def markdown(result: dict) -> str:
    decoding = markdown_table(
        ["audio", "frames", "PTalker (s)", "FaceFormer step by step (s)", "ratio"],
        [[length, row["frames"], f"{row['ptalker_s']:.3f}", f"{row['faceformer_s']:.2f}", f"{row['ratio']:.0f}x"]
         for length, row in result["decoding"]["lengths"].items()])
    whole = markdown_table(
        ["config", "audio", "compute (s)", "× real time", "outside encoder", "peak RSS animating (MB)",
         "above loaded (MB)"],
        [[config, length, f"{row['seconds']:.2f}", f"{row['realtime_factor']:.1f}",
          f"{row['outside_encoder_share']:.0%}", f"{row['peak_rss_mb']:.0f}", f"{row['peak_above_loaded_mb']:.0f}"]
         for config, rows in result["end_to_end"].items() for length, row in rows.items()], left=2)
    training = markdown_table(["model, batch", "step (s)", "frames/s"],
                              [[name, f"{row['step_s']:.2f}", f"{row['frames_per_s']:.0f}"]
                               for name, row in result["training"].items()])
    return "\n\n".join(["Decoding only (same width and depth, 5023 vertices):", decoding,
                        "End to end (audio encoder + decoder), fresh process per run:", whole,
                        "Training throughput (3 s clips):", training]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__, results=True)
    parser.add_argument("--lengths", type=float, nargs="+", default=[5, 10, 30, 60], help="seconds of audio")
    parser.add_argument("--encoders", nargs="+", default=list(ENCODERS), choices=ENCODERS,
                        help="speech-encoder paths timed end to end, side by side")
    parser.add_argument("--child", nargs=3, metavar=("CONFIG", "ENCODER", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(end_to_end_child(args.child[0], args.child[1], float(args.child[2]))))
        return 0
    set_threads()
    print("decoding only", flush=True)
    result = {"threads": THREADS, "decoding": decoding_only(args.lengths)}
    print("end to end", flush=True)
    result["end_to_end"] = end_to_end(args.lengths, args.encoders)
    print("training throughput", flush=True)
    result["training"] = training_throughput()
    save_results(args.results, "speed", result, markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
