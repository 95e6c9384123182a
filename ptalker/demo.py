"""The demo (``make demo``): animate a shipped sentence in a test speaker's style.

The sentence (``ptalker/assets/demo/sample.wav``) is one no speaker of the training corpus says;
the style comes from a reference clip of test speaker S12 (``reference.npz``: another sentence's
audio and motion), the personalization path for people the model never saw. Outputs in the
folder: ``vertices.npy`` (T, V, 3), an OBJ sequence in ``obj/``, the speech as ``audio.wav`` and
``demo.json`` saying what was done.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptalker.constants import INT16_FULL_SCALE
from ptalker.export.mesh_sequence import write_obj_sequence
from ptalker.fileio import atomic_open, save_json, save_npy
from ptalker.inference import Style, load_model

DEMO_DIR = Path(__file__).resolve().parent / "assets" / "demo"


@dataclass
class DemoResult:
    out_dir: Path
    frames: int
    fps: float
    text: str
    speaker: str

    def __str__(self) -> str:
        return (f"animated '{self.text}' in the style of test speaker {self.speaker} (from a reference clip): "
                f"{self.frames} frames at {self.fps:g} fps in {self.out_dir}: vertices.npy, obj/, audio.wav")


def run_demo(out_dir: str | os.PathLike, checkpoint: str | os.PathLike | None = None) -> DemoResult:
    """Animate the shipped sample in the shipped reference style and write the outputs into ``out_dir``."""
    out_dir = Path(out_dir)
    reference = np.load(DEMO_DIR / "reference.npz")
    style = Style(reference_audio=reference["audio"].astype(np.float32) / INT16_FULL_SCALE,
                  reference_motion=reference["vertices"].astype(np.float32),
                  reference_template=reference["template"])
    animator = load_model(checkpoint)
    result = animator.animate(DEMO_DIR / "sample.wav", style, template=reference["template"])
    save_npy(out_dir / "vertices.npy", result.vertices)
    write_obj_sequence(result.vertices, result.faces, out_dir / "obj", result.fps)
    with atomic_open(out_dir / "audio.wav", "wb") as handle, open(DEMO_DIR / "sample.wav", "rb") as source:
        shutil.copyfileobj(source, handle)
    text = (DEMO_DIR / "sample.txt").read_text().strip()
    speaker = str(reference["speaker"])
    save_json(out_dir / "demo.json", {"text": text, "style": f"reference clip of {speaker} ({reference['sentence']})",
                                      "checkpoint": str(checkpoint or "default"), "fps": result.fps,
                                      "frames": len(result.vertices)})
    return DemoResult(out_dir, len(result.vertices), result.fps, text, speaker)
