"""One job of ``ptalker batch``, run with a loaded model: :func:`run_job` writes it into its staged
folder and returns its :class:`JobResult` (shared by the local workers of
:mod:`ptalker.pipelines.batch` and the Ray actors of :mod:`ptalker.pipelines.batch_ray`)."""

from __future__ import annotations

import contextlib
import ctypes
import json
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ptalker.audio.io import check_speech_length, load_audio
from ptalker.errors import PtalkerError
from ptalker.pipelines.animate_folder import build_style, check_style_options, write_animation
from ptalker.pipelines.batch_jobs import BatchJob
from ptalker.pipelines.output_folder import write_manifest


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


class JobTimeout(Exception):
    """A job ran past its time limit (raised by the alarm :func:`time_limit` sets)."""


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`JobTimeout` in the block once ``seconds`` have passed (None: no limit).

    On a process's main thread (local workers) the limit is a SIGALRM timer, which also ends a
    blocking wait; on another thread (a Ray actor runs its batches on one) a timer thread raises
    the exception in the job's thread. Either way Python is interrupted between operations: a
    single long torch operation finishes before the job stops."""
    if seconds is None:
        yield
    elif threading.current_thread() is threading.main_thread():
        with _alarm(seconds):
            yield
    else:
        with _thread_timer(seconds):
            yield


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def expire(signum, frame):
        raise JobTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _thread_timer(seconds: float) -> Iterator[None]:
    target, lock, state = threading.get_ident(), threading.Lock(), {"done": False, "fired": False}
    set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc

    def expire():
        with lock:
            if not state["done"]:
                state["fired"] = True
                set_async_exc(ctypes.c_ulong(target), ctypes.py_object(JobTimeout))

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            state["done"] = True
            if state["fired"] and set_async_exc(ctypes.c_ulong(target), None):  # fired but not yet raised here
                raise JobTimeout


def run_job(animator, job: BatchJob, key: str, staged: Path, timeout_s: float | None = None) -> JobResult:
    """Animate ``job`` with ``animator`` into the folder ``staged``; errors, and a job running past
    ``timeout_s`` seconds, make a failed result (its staged folder removed)."""
    start = time.perf_counter()
    try:
        with time_limit(timeout_s):
            return _animate_job(animator, job, key, staged, start)
    except JobTimeout:
        error = (f"timed out after {timeout_s:g} s (--timeout); the next run retries it: raise --timeout, or cut "
                 "the audio into shorter files")
    except PtalkerError as err:
        error = str(err)
    except Exception as err:  # noqa: BLE001 - one file's unexpected failure must not stop the batch
        error = f"internal error ({type(err).__name__}: {err}); please report it"
    shutil.rmtree(staged, ignore_errors=True)
    return JobResult(job.name, "failed", time.perf_counter() - start, key, error=error)


def _animate_job(animator, job: BatchJob, key: str, staged: Path, start: float) -> JobResult:
    """The work of :func:`run_job`: animate, write the outputs and the job folder's manifest."""
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
    written = write_animation(animator, job.audio, style, staged, options.formats, options.video, text,
                              controls=_controls(job))[1]
    names = sorted({Path(p).relative_to(staged).parts[0] for p in written})
    write_manifest(staged, names, "batch", {"audio": job.audio, "key": key})
    return JobResult(job.name, "done", time.perf_counter() - start, key,
                     outputs=[f"{job.name}/{n}" for n in names], staged=str(staged))


def _controls(job: BatchJob) -> dict | None:
    """The face controls of ``job`` (None: none asked for)."""
    from ptalker.controls.spec import parse_control_options

    o = job.options
    if all(value is None for value in (o.pose, o.gaze, o.blink, o.emotion)):
        return None
    return parse_control_options(o.pose, o.gaze, o.blink, o.emotion, o.control_clip, o.control_seed)
