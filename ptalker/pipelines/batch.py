"""``ptalker batch``: animate many speech files with one model load, resumable and one bad file at a time.

Each job (:mod:`ptalker.pipelines.batch_jobs`) is written as ``ptalker animate`` writes one
animation (:mod:`ptalker.pipelines.outputs`), into ``OUT/.<name>.tmp-*`` first; that folder is
renamed to ``OUT/<name>/`` when complete, and only then is the job's line appended to the ledger
``OUT/batch_ledger.jsonl`` (one JSON object per attempt: name, status done/failed, error,
seconds, outputs, key: a hash of the inputs' contents, the options and the checkpoint). A killed
run therefore never leaves a folder a re-run takes for done: a re-run skips the jobs whose last
ledger line is done with the same key and whose folder is there, and runs the others (failed
ones are retried). ``OUT`` follows the output-folder rules (:mod:`ptalker.pipelines.output_folder`):
one batch at a time (locked), and a folder with files ptalker did not write is refused unless
``overwrite``. A job that fails is recorded and the run goes on. ``workers`` > 1 runs that many
processes (multiprocessing, spawn), each loading the model once and using its share of the cores.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ptalker.errors import PtalkerError
from ptalker.pipelines.batch_jobs import BatchJob, file_hash
from ptalker.pipelines.batch_run import JobResult, run_job
from ptalker.pipelines.output_folder import MANIFEST_FILE, FolderLock, check_out_path, read_manifest, write_manifest

LEDGER_FILE = "batch_ledger.jsonl"
TMP_INFIX = ".tmp-"
"""Jobs are written into OUT/.<name>.tmp-<random> and renamed when complete."""


@dataclass
class BatchReport:
    """What a batch run did (printed as one line)."""

    out: Path
    done: list[str]
    skipped: list[str]
    failed: dict[str, str]
    """name -> error."""
    seconds: float

    @property
    def exit_status(self) -> int:
        """0 when every job is done (now or before), 1 when some failed."""
        return 1 if self.failed else 0

    def __str__(self) -> str:
        rate = len(self.done) / self.seconds if self.seconds > 0 else 0.0
        failed = ""
        if self.failed:
            failed = f"; failed: {', '.join(sorted(self.failed))} (errors in {self.out / LEDGER_FILE})"
        return (f"batch {self.out}: {len(self.done)} done ({rate:.2f} files/s), {len(self.skipped)} skipped "
                f"(done before), {len(self.failed)} failed in {self.seconds:.1f} s{failed}")


def read_ledger(out: Path) -> dict[str, dict]:
    """The last ledger record of each job name (lines that do not parse, such as a line cut by a kill, are skipped)."""
    last: dict[str, dict] = {}
    with contextlib.suppress(FileNotFoundError):
        for line in (out / LEDGER_FILE).read_text().splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict) and isinstance(record.get("name"), str):
                    last[record["name"]] = record
    return last


def append_ledger(out: Path, line: str) -> None:
    """Append ``line`` to the ledger and flush it to disk (after a cut line, on a new line)."""
    path = out / LEDGER_FILE
    with open(path, "a+b") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell():
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                handle.write(b"\n")
        handle.write(line.encode() + b"\n")
        handle.flush()
        os.fsync(handle.fileno())


_WORKER: dict = {}


def _init_worker(checkpoint: str | None, options: dict, threads: int, timeout_s: float | None) -> None:
    """A worker process's start: its share of the cores, its jobs' time limit and its model (an
    error is kept for the first job)."""
    import torch

    torch.set_num_threads(threads)
    _WORKER["timeout_s"] = timeout_s
    try:
        from ptalker.pipelines.animator import load_model

        _WORKER["animator"] = load_model(checkpoint, **options)
    except PtalkerError as err:
        _WORKER["error"] = str(err)


def _work(task: tuple[BatchJob, str, str]) -> JobResult:
    job, key, staged = task
    if "error" in _WORKER:
        return JobResult(job.name, "failed", 0.0, key, error=_WORKER["error"], fatal=True)
    return run_job(_WORKER["animator"], job, key, Path(staged), _WORKER["timeout_s"])


def _results(tasks: list[tuple[BatchJob, str, str]], checkpoint, options: dict, workers: int,
             ray_address: str | None = None, timeout_s: float | None = None) -> Iterator[JobResult]:
    """Run ``tasks`` on a Ray cluster (``ray_address``: :mod:`ptalker.pipelines.batch_ray`), in this
    process (``workers`` 1) or in a pool of ``workers`` spawned processes, each job within
    ``timeout_s`` seconds (None: no limit); ``options``: the keyword arguments of
    :func:`ptalker.pipelines.animator.load_model` (phones, encoder)."""
    if ray_address is not None:
        from ptalker.pipelines.batch_ray import ray_results

        yield from ray_results(tasks, checkpoint, options, workers, ray_address, timeout_s)
        return
    if workers == 1:
        from ptalker.pipelines.animator import load_model

        animator = load_model(checkpoint, **options)
        for job, key, staged in tasks:
            yield run_job(animator, job, key, Path(staged), timeout_s)
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_init_worker,
                      initargs=(None if checkpoint is None else str(checkpoint), options, threads, timeout_s)) as pool:
        for result in pool.imap_unordered(_work, tasks):
            if result.fatal:
                pool.terminate()
                raise PtalkerError(result.error)
            yield result


def _commit(out: Path, result: JobResult) -> None:
    """Rename a done job's folder to OUT/<name> (replacing an older one whole)."""
    target = out / result.name
    aside = None
    if target.exists():
        aside = Path(tempfile.mkdtemp(dir=out, prefix=f".{result.name}.old-"))
        os.replace(target, aside / result.name)
    os.replace(result.staged, target)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _model_key(checkpoint, phones: bool, encoder: str) -> str:
    """What identifies the model in a job's key: the checkpoint's content, the phone channel's use
    and the speech encoder's path."""
    from ptalker.pipelines.animator import DEFAULT_CHECKPOINT

    path = Path(checkpoint) if checkpoint is not None else DEFAULT_CHECKPOINT
    if not path.is_file():
        raise PtalkerError(f"--checkpoint {path}: not found; give a checkpoint file from ptalker train, or leave "
                           "--checkpoint out for the shipped model")
    return f"{file_hash(path)}:phones={phones}" + ("" if encoder == "float" else f":encoder={encoder}")


def run_batch(jobs: list[BatchJob], out: str | os.PathLike, checkpoint: str | os.PathLike | None = None,
              phones: bool = True, workers: int = 1, overwrite: bool = False, progress: bool = True,
              ray_address: str | None = None, encoder: str = "float", timeout_s: float | None = None) -> BatchReport:
    """Animate ``jobs`` into OUT/<name>/ (see the module doc) with the model in ``checkpoint``
    (default: the shipped one; ``phones=False``: audio only; ``encoder``: the speech encoder's
    path, :mod:`ptalker.pipelines.fast_encoder`) in ``workers`` processes, or in ``workers``
    actors of the Ray cluster at ``ray_address`` ('local' starts one here). A job running past
    ``timeout_s`` seconds fails (and is retried by the next run); None: no limit.

    Raises:
        PtalkerError: ``out`` cannot be written (a file, another batch writing into it, files
            ptalker did not write without ``overwrite``), or the model cannot be loaded.
    """
    from tqdm import tqdm

    if workers < 1:
        raise PtalkerError(f"--workers {workers}: expected a whole number >= 1")
    if timeout_s is not None and not timeout_s > 0:
        raise PtalkerError(f"--timeout {timeout_s}: expected a number of seconds > 0 (or leave it out: no limit)")
    model_key = _model_key(checkpoint, phones, encoder)
    out = check_out_path(out, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with FolderLock(out):
        check_out_path(out, overwrite)
        if read_manifest(out) is None:
            write_manifest(out, [], "batch", {})  # marks OUT as ptalker's before anything else is written
        for stale in out.glob(f".*{TMP_INFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)
        for stale in out.glob(".*.old-*"):
            shutil.rmtree(stale, ignore_errors=True)
        ledger = read_ledger(out)
        tasks, skipped = [], []
        for job in jobs:
            key = job.key(model_key)
            last = ledger.get(job.name, {})
            if last.get("status") == "done" and last.get("key") == key and (out / job.name / MANIFEST_FILE).is_file():
                skipped.append(job.name)
            else:
                tasks.append((job, key, tempfile.mkdtemp(dir=out, prefix=f".{job.name}{TMP_INFIX}")))
        audio = {job.name: job.audio for job, _, _ in tasks}
        done, failed = [], {}
        bar = tqdm(total=len(tasks), unit="file", desc="batch", disable=not progress, smoothing=0.1)
        try:
            for result in _results(tasks, checkpoint, {"phones": phones, "encoder": encoder},
                                   min(workers, max(1, len(tasks))),
                                   ray_address, timeout_s) if tasks else ():
                if result.status == "done":
                    _commit(out, result)
                    done.append(result.name)
                else:
                    failed[result.name] = result.error
                    bar.write(f"ptalker: {result.name} failed: {result.error}", file=sys.stderr)
                append_ledger(out, result.ledger_line(audio[result.name]))
                bar.update()
        finally:
            bar.close()
            for _, _, staged in tasks:
                shutil.rmtree(staged, ignore_errors=True)
    return BatchReport(out, done, skipped, failed, time.perf_counter() - start)
