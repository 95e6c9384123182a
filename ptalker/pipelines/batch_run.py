"""One job of ``ptalker batch``, run with a loaded model: :func:`run_job` writes it into its staged
folder and returns its :class:`JobResult` (shared by the local workers of
:mod:`ptalker.pipelines.batch` and the Ray actors of :mod:`ptalker.pipelines.batch_ray`)."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from ptalker.audio.io import check_speech_length, load_audio
from ptalker.errors import PtalkerError
from ptalker.pipelines.animate_folder import build_style, check_style_options
from ptalker.pipelines.batch_jobs import BatchJob
from ptalker.pipelines.output_folder import write_manifest
from ptalker.pipelines.outputs import write_outputs


@dataclass
class JobResult:
    """One attempt at a job, as the ledger records it."""

    name: str
    status: str
    """done or failed."""
    seconds: float
    key: str
    error: str | None = None
    outputs: list[str] = field(default_factory=list)
    """Paths relative to OUT."""
    staged: str | None = None
    """The folder the job was written into (renamed to OUT/<name> by the run)."""
    fatal: bool = False
    """The model could not be loaded: the run stops."""

    def ledger_line(self, audio: str) -> str:
        return json.dumps({"name": self.name, "status": self.status, "error": self.error,
                           "seconds": round(self.seconds, 3), "outputs": self.outputs, "key": self.key,
                           "audio": audio, "finished": time.strftime("%Y-%m-%dT%H:%M:%S")})



def run_job(animator, job: BatchJob, key: str, staged: Path) -> JobResult:
    """Animate ``job`` with ``animator`` into the folder ``staged``; errors make a failed result."""
    start = time.perf_counter()
    try:
        if job.error is not None:
            raise PtalkerError(job.error)
        options = job.options
        check_style_options(options.speaker, options.style_audio, options.style_motion, options.strength)
        check_speech_length(load_audio(job.audio), job.audio)
        style = build_style(options.speaker, options.style_audio, options.style_motion, options.style_template,
                            options.strength)
        text = job.text
        if job.text_file is not None:
            from ptalker.audio.phones import read_transcript

            text = read_transcript(job.text_file)
        animation = animator.animate(job.audio, style, text=text, controls=_controls(job))
        written = write_outputs(animation.vertices, animator.topology.faces, animator.fps, staged, job.audio,
                                options.formats, options.video)
        names = sorted({Path(p).relative_to(staged).parts[0] for p in written})
        write_manifest(staged, names, "batch", {"audio": job.audio, "key": key})
        return JobResult(job.name, "done", time.perf_counter() - start, key,
                         outputs=[f"{job.name}/{n}" for n in names], staged=str(staged))
    except PtalkerError as err:
        error = str(err)
    except Exception as err:  # noqa: BLE001 - one file's unexpected failure must not stop the batch
        error = f"internal error ({type(err).__name__}: {err}); please report it"
    shutil.rmtree(staged, ignore_errors=True)
    return JobResult(job.name, "failed", time.perf_counter() - start, key, error=error)


def _controls(job: BatchJob) -> dict | None:
    """The face controls of ``job`` (None: none asked for)."""
    from ptalker.controls.spec import parse_control_options

    o = job.options
    if all(value is None for value in (o.pose, o.gaze, o.blink, o.emotion)):
        return None
    return parse_control_options(o.pose, o.gaze, o.blink, o.emotion, o.control_clip, o.control_seed)
