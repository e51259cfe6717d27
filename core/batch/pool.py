"""The local engine: jobs run in this process (one worker) or in a pool of worker processes.

A pool gets one process per GPU when there are GPUs, else N processes with the CPU threads split
among them. Processes live for the whole batch, so each loads a network once (`core.archs` caches
it per process). At most one job per worker is in flight, so a kill -9 redoes at most that many.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any

from core.batch.worker import FAILED, Job, Outcome, RunOptions, run_job

Started = Callable[[Job], None]


def drive_bounded(
    jobs: Iterable[Job],
    slots: int,
    submit: Callable[[Job], Any],
    wait_first: Callable[[list[Any]], Iterable[Any]],
    result_of: Callable[[Any, Job], Outcome],
    started: Started,
    stop: threading.Event,
) -> Iterator[Outcome]:
    """Keep `slots` jobs in flight; `started(job)` is called before each is handed out."""
    jobs = iter(jobs)
    in_flight: dict[Any, Job] = {}

    def fill() -> None:
        while len(in_flight) < slots and not stop.is_set():
            job = next(jobs, None)
            if job is None:
                return
            started(job)
            in_flight[submit(job)] = job

    fill()
    while in_flight:
        for future in wait_first(list(in_flight)):
            yield result_of(future, in_flight.pop(future))
        fill()


def gpu_devices(device: str) -> list[str]:
    """The CUDA devices a pool spreads over ("auto" or "cuda": all of them; "cuda:N": that one)."""
    if device not in ("auto", "cuda"):
        return []
    import torch

    return [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []


def default_workers(device: str = "auto") -> int:
    return len(gpu_devices(device)) or max(1, (os.cpu_count() or 1) // 2)


class InlineEngine:
    """One worker: the calling process itself (no start-up cost; cancels within a tile)."""

    def __init__(self, options: RunOptions):
        self.options = options
        self.cancel_event = threading.Event()
        self.slots = 1

    def run(self, jobs: Iterable[Job], started: Started, stop: threading.Event) -> Iterator[Outcome]:
        for job in jobs:
            if stop.is_set():
                return
            started(job)
            yield run_job(job, self.options, self.cancel_event)

    def cancel(self) -> None:
        self.cancel_event.set()

    def close(self) -> None:
        pass


# --- the process pool ---------------------------------------------------------------------------

_worker_options: RunOptions | None = None
_worker_cancel: Any = None


def _start_worker(devices: Any, options: RunOptions, cancel_event: Any) -> None:
    """Runs once in each pool process: take a GPU of its own, if there are any."""
    global _worker_options, _worker_cancel
    device = options.device
    if devices is not None:
        device = devices.get()
    _worker_options = replace(options, device=device)
    _worker_cancel = cancel_event


def _run_in_worker(job: Job) -> Outcome:
    assert _worker_options is not None
    return run_job(job, _worker_options, _worker_cancel)


class PoolEngine:
    def __init__(self, options: RunOptions, workers: int):
        self.context = multiprocessing.get_context("spawn")  # safe with torch and threads
        self.cancel_event = self.context.Event()
        self.workers = workers
        gpus = gpu_devices(options.device)
        threads = options.threads or max(1, (os.cpu_count() or 1) // workers)
        self.options = replace(options, threads=0 if gpus else threads)
        self.gpus = gpus
        self.slots = workers
        self.executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        devices = None
        if self.gpus:
            devices = self.context.Queue()
            for n in range(self.workers):
                devices.put(self.gpus[n % len(self.gpus)])
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=self.context,
            initializer=_start_worker,
            initargs=(devices, self.options, self.cancel_event),
        )

    def run(self, jobs: Iterable[Job], started: Started, stop: threading.Event) -> Iterator[Outcome]:
        def wait_first(futures: list[Future]) -> Iterable[Future]:
            return wait(futures, return_when=FIRST_COMPLETED).done

        return drive_bounded(jobs, self.slots, self._submit, wait_first, self._result, started, stop)

    def _submit(self, job: Job) -> Future:
        future = self.executor.submit(_run_in_worker, job)
        future.pool = self.executor  # which pool ran it, to rebuild a broken pool only once
        return future

    def _result(self, future: Future, job: Job) -> Outcome:
        try:
            return future.result()
        except BrokenProcessPool:
            # A worker died (killed, or out of memory): its jobs fail, and a fresh pool goes on.
            if future.pool is self.executor:
                self.executor.shutdown(wait=False, cancel_futures=True)
                self.executor = self._new_executor()
            return Outcome(
                job.key,
                FAILED,
                method=job.recipe.method,
                error="the worker process died while repairing it (out of memory?)",
            )

    def cancel(self) -> None:
        self.cancel_event.set()

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
