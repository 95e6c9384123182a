"""``ptalker batch --ray [ADDRESS]``: the same batch on a Ray cluster (the optional extra,
``pip install 'ptalker[cluster]'``).

The jobs become a Ray Data dataset; ``map_batches`` runs them through a pool of ``workers``
actors, each of which loads the model once (:class:`AnimateActor`) and writes its jobs' staged
folders as a local worker process does (:func:`ptalker.pipelines.batch_run.run_job`). The driver
(``ptalker batch`` itself) renames the folders and writes the ledger, so resuming works as for
local runs. ADDRESS ``local`` starts a Ray instance on this machine for the run (and stops it);
anything else (``auto``, ``ray://head:10001``) joins an existing cluster, whose nodes must see
the output folder and the inputs at the same paths (a shared filesystem).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

from ptalker.errors import PtalkerError
from ptalker.pipelines.batch_jobs import BatchJob
from ptalker.pipelines.batch_run import JobResult, run_job

LOCAL = "local"


class AnimateActor:
    """A Ray actor holding one model; called with a batch of jobs, returns their results."""

    def __init__(self, checkpoint: str | None, options: dict, threads: int, timeout_s: float | None) -> None:
        import torch

        from ptalker.pipelines.animator import load_model

        torch.set_num_threads(threads)
        self.animator = load_model(checkpoint, **options)
        self.timeout_s = timeout_s

    def __call__(self, batch: dict) -> dict:
        results = [run_job(self.animator, job, key, Path(staged), self.timeout_s)
                   for job, key, staged in zip(batch["job"], batch["key"], batch["staged"])]
        return {"result": [dataclasses.asdict(result) for result in results]}


def _connect(address: str, workers: int, threads: int):
    try:
        import ray
    except ImportError:
        raise PtalkerError("--ray: Ray is not installed; pip install 'ptalker[cluster]' (or leave --ray out to run "
                           "on this machine)") from None
    if address == LOCAL:
        ray.init(num_cpus=workers * threads, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    else:
        try:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise PtalkerError(f"--ray {address}: cannot join the cluster ({err}); start one with 'ray start --head' "
                               "or use --ray local") from None
    return ray


def ray_results(tasks: list[tuple[BatchJob, str, str]], checkpoint, options: dict, workers: int,
                address: str, timeout_s: float | None = None) -> Iterator:
    """Run ``tasks`` (job, key, staged folder) on ``workers`` actors of the Ray cluster at
    ``address``, each job within ``timeout_s`` seconds (None: no limit); yields :class:`JobResult`
    as they finish."""
    threads = max(1, (os.cpu_count() or 1) // workers) if address == LOCAL else 1
    ray = _connect(address, workers, threads)
    try:
        items = [{"job": job, "key": key, "staged": staged} for job, key, staged in tasks]
        dataset = ray.data.from_items(items).map_batches(
            AnimateActor, batch_size=1, concurrency=workers, num_cpus=threads,
            fn_constructor_kwargs={"checkpoint": None if checkpoint is None else str(checkpoint), "options": options,
                                   "threads": threads, "timeout_s": timeout_s})
        for row in dataset.iter_rows():
            yield JobResult(**row["result"])
    finally:
        ray.shutdown()
