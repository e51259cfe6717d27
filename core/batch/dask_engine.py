"""The cluster engine: the same jobs on a Dask distributed cluster (`--scheduler ADDRESS`), or on an
embedded `LocalCluster` of worker processes (`--scheduler local`).

Clusters are deployed with the tools that exist for Dask (dask-jobqueue for SLURM/PBS,
dask-kubernetes, dask-cuda for one worker per GPU); Lacuna only connects. Workers need Lacuna
installed and the input and output folders at the same paths (a shared file system). The manifest
stays with the client: workers repair and report back, this process records. Install with
`pip install lacuna-studio[cluster]`.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from core.batch.pool import Started, drive_bounded
from core.batch.worker import FAILED, PENDING, Job, Outcome, RunOptions, one_line, run_job
from core.errors import LacunaError


def _client(address: str, workers: int, threads: int):
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise LacunaError(
            "--scheduler needs Dask's distributed scheduler: pip install 'lacuna-studio[cluster]'"
        ) from exc
    if address == "local":
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
            env={"OMP_NUM_THREADS": str(threads)},
        )
        return Client(cluster), cluster
    try:
        return Client(address, timeout="20s"), None
    except (OSError, TimeoutError) as exc:
        raise LacunaError(f"cannot reach the Dask scheduler at {address} ({one_line(exc)})") from exc


class DaskEngine:
    def __init__(self, address: str, options: RunOptions, workers: int):
        threads = max(1, (os.cpu_count() or 1) // max(workers, 1))
        self.client, self.cluster = _client(address, workers, threads)
        # On the embedded cluster the cores are split as in the local pool; a real cluster's
        # deployment decides its own threads (Dask's nanny sets OMP_NUM_THREADS).
        self.options = replace(options, threads=threads if self.cluster is not None else options.threads)
        self.slots = max(1, sum(self.client.nthreads().values()))
        self.futures: list[Any] = []

    def run(self, jobs: Iterable[Job], started: Started, stop: threading.Event) -> Iterator[Outcome]:
        from distributed import wait

        def submit(job: Job):
            future = self.client.submit(run_job, job, self.options, pure=False)
            self.futures.append(future)
            return future

        def wait_first(futures: list[Any]) -> Iterable[Any]:
            return wait(futures, return_when="FIRST_COMPLETED").done

        return drive_bounded(jobs, self.slots, submit, wait_first, self._result, started, stop)

    def _result(self, future: Any, job: Job) -> Outcome:
        self.futures.remove(future)
        try:
            return future.result()
        except concurrent.futures.CancelledError:  # cancel() stopped it: still to do, not failed
            return Outcome(job.key, PENDING, method=job.recipe.method, error="cancelled")
        except Exception as exc:  # noqa: BLE001 - a lost worker fails its item, not the batch
            return Outcome(
                job.key, FAILED, method=job.recipe.method, error=f"on the cluster: {one_line(exc)}"
            )

    def cancel(self) -> None:
        # Items in flight come back cancelled (to do) and are redone by the next run.
        self.client.cancel(list(self.futures))

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
