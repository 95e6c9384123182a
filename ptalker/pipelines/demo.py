"""The demo (``make demo``): animate a shipped sentence in a test speaker's style.

The sentence (``ptalker/assets/demo/sample.wav``) is one no speaker of the training corpus says;
the style comes from a reference clip of test speaker S12 (``reference.npz``: another sentence's
audio and motion), the personalization path for people the model never saw. Outputs in the
folder (:mod:`ptalker.pipelines.outputs`): ``vertices.npy`` (T, V, 3) with ``sequence.json``, an OBJ
sequence in ``obj/``, ``animation.glb`` with the speech ``animation.wav`` beside it, ``preview.mp4`` (the
rendered head with the speech), ``lip_opening.png`` (the lip opening over the sentence's phoneme
timeline, ``sample_timeline.json``) and ``demo.json`` saying what was done. The folder follows
the output-folder rules (:mod:`ptalker.pipelines.output_folder`): locked, written whole, and a
folder holding files ptalker did not write is refused unless ``overwrite``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptalker.audio.timeline import read_timeline
from ptalker.constants import INT16_FULL_SCALE
from ptalker.fileio import save_json
from ptalker.mesh.face_sets import FaceSets
from ptalker.pipelines.animator import ASSETS_DIR, Style, load_model
from ptalker.pipelines.output_folder import check_out_path, output_folder
from ptalker.pipelines.outputs import write_outputs
from ptalker.plots import phoneme_spans, plot_lip_opening, word_spans
from ptalker.render.gl_platform import probe_ahead

DEMO_DIR = ASSETS_DIR / "demo"


@dataclass
class DemoResult:
    out_dir: Path
    frames: int
    fps: float
    text: str
    speaker: str

    def __str__(self) -> str:
        return (f"animated '{self.text}' in the style of test speaker {self.speaker} (from a reference clip): "
                f"{self.frames} frames at {self.fps:g} fps in {self.out_dir}: vertices.npy, obj/, animation.glb, "
                "animation.wav, preview.mp4, lip_opening.png")


def run_demo(out_dir: str | os.PathLike, checkpoint: str | os.PathLike | None = None,
             overwrite: bool = False) -> DemoResult:
    """Animate the shipped sample in the shipped reference style and write the outputs into ``out_dir``."""
    out_dir = check_out_path(out_dir, overwrite)
    probe_ahead()
    reference = np.load(DEMO_DIR / "reference.npz")
    style = Style(reference_audio=reference["audio"].astype(np.float32) / INT16_FULL_SCALE,
                  reference_motion=reference["vertices"].astype(np.float32),
                  reference_template=reference["template"])
    with output_folder(out_dir, overwrite, kind="demo") as staging:
        animator = load_model(checkpoint)
        speech = read_timeline(DEMO_DIR / "sample_timeline.json")  # espeak's phone times: the phonetic channel's input
        result = animator.animate(DEMO_DIR / "sample.wav", style, template=reference["template"], timeline=speech)
        write_outputs(result.vertices, result.faces, result.fps, staging.path, DEMO_DIR / "sample.wav",
                      ("obj", "glb"), video=True)
        masks = animator.topology.masks
        plot_lip_opening(result.vertices, staging.path / "lip_opening.png",
                         FaceSets.from_masks(masks.all, masks.source), result.fps, template=reference["template"],
                         phonemes=phoneme_spans(speech), words=word_spans(speech),
                         title="demo: predicted lip opening (no ground truth for this sentence)")
        text = (DEMO_DIR / "sample.txt").read_text().strip()
        speaker = str(reference["speaker"])
        save_json(staging.path / "demo.json", {"text": text,
                                               "style": f"reference clip of {speaker} ({reference['sentence']})",
                                               "checkpoint": str(checkpoint or "default"), "fps": result.fps,
                                               "frames": len(result.vertices)})
        staging.record = {"audio": str(DEMO_DIR / "sample.wav")}
    return DemoResult(out_dir, len(result.vertices), result.fps, text, speaker)
