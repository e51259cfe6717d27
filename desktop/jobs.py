"""The one runner of core generators (a repair, a fill, reading a file) on a worker thread.

Every workspace and the session use a `JobRunner`: it starts superqt's `GeneratorWorker` on the
generator, forwards progress, calls the caller's `on_result` in the GUI thread, and numbers its jobs
(ndv's generation idea) so that a reply to a request nobody wants any more (cancelled, superseded,
the document changed) is dropped instead of applied. Work done in one call that reports through a
callback (writing a video) runs the same way with `start_call`. Cancel sets the run context's `cancel_event`
(methods check it at every report) and stops the generator at its next yield; the window does not
wait for either. `shutdown()` joins the threads before the application quits (quitting while torch
runs aborts the process).

Progress is thinned in the worker, not by a clock alone: a report is forwarded when the percentage
shown changes, when it carries a preview, or (for new messages) a few times a second. Short runs
therefore still show their steps instead of jumping from 0 to 100%, and long runs never flood the
event queue.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal
from superqt.utils import GeneratorWorker

from core.errors import CancelledError, LacunaError

MESSAGE_INTERVAL = 0.25  # seconds between reports that change only the message or the ETA
MIN_THREADS = 4  # a cancelled job may still be finishing its step while the next one starts


def describe_error(exc: BaseException, what: str) -> str:
    """A one-line message a person can act on, for any failure."""
    name = type(exc).__name__
    text = str(exc).strip()
    if isinstance(exc, MemoryError) or name == "OutOfMemoryError" or "out of memory" in text.lower():
        return (
            f"{what} ran out of memory. Lower the tile size or the memory cap in Preferences, "
            "or choose the CPU as device."
        )
    if isinstance(exc, LacunaError):
        return text
    return f"{what} failed: {name}: {text}" if text else f"{what} failed: {name}"


class _Failure(Exception):
    """Carries a job's exception through superqt, which swallows RuntimeErrors (torch's
    OutOfMemoryError is one) as signs of a deleted worker."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


class _Thinning:
    """Which reports are worth showing: a new percentage, a preview, or a new message now and then."""

    def __init__(self):
        self.percent, self.at, self.message = -1, 0.0, None

    def passes(self, report) -> bool:
        percent = int(getattr(report, "fraction", 0.0) * 100)
        message = getattr(report, "message", None)
        now = time.monotonic()
        if (
            percent != self.percent
            or getattr(report, "preview", None) is not None
            or (message != self.message and now - self.at >= MESSAGE_INTERVAL)
        ):
            self.percent, self.at, self.message = percent, now, message
            return True
        return False


def thinned(factory: Callable[[], Generator[Any, None, Any]]) -> Generator[Any, None, Any]:
    """Run `factory()`'s generator, yielding only the reports worth showing; return its value."""
    thinning = _Thinning()
    try:
        gen = factory()
        try:
            while True:
                try:
                    report = next(gen)
                except StopIteration as stop:
                    return stop.value
                if thinning.passes(report):
                    yield report
        finally:
            gen.close()
    except (CancelledError, _Failure):
        raise
    except Exception as exc:  # noqa: BLE001 — every failure must reach the window
        raise _Failure(exc) from exc


def _called(call: Callable[[Callable[[Any], None]], Any], report: Callable[[Any], None]):
    """A job that is one call (it reports through `report` instead of yielding)."""
    return call(report)
    yield  # a generator, for the worker


class _Worker(GeneratorWorker):
    """A GeneratorWorker that also sets the method's cancel event, closes the generator on abort and
    says (thread-safely) when its thread is done."""

    def __init__(self, factory, cancel_event: threading.Event | None):
        super().__init__(thinned, factory)
        self.cancel_event = cancel_event
        self.ended = threading.Event()

    def quit(self) -> None:
        super().quit()
        if self.cancel_event is not None:
            self.cancel_event.set()

    def work(self):
        try:
            return super().work()
        finally:
            self._gen.close()  # after an abort: the method's cleanup runs here, on the worker
            self.ended.set()


@dataclass
class _Job:
    generation: int
    title: str
    on_result: Callable[[Any], None]
    worker: _Worker
    relay: QObject = field(repr=False)
    ctx: Any = field(default=None, repr=False)


def finished_message(title: str, ctx: Any = None) -> str:
    """'<title> finished on cpu (CUDA not available: …), network on onnx (…).' plus the run's notes,
    for the status bar."""
    extras = getattr(ctx, "extras", None) or {}
    # The device and backend by name: why ("CUDA not available: ...") filled the status bar and cut
    # off what to do next; Help and the command line still say why.
    device = f" on {extras['device'].split(' (')[0]}" if extras.get("device") else ""
    if extras.get("backend"):
        device += f", network on {extras['backend'].split(' (')[0]}"
    notes = "".join(f" {note[:1].upper()}{note[1:]}." for note in getattr(ctx, "notes", None) or [])
    return f"{title} finished{device}.{notes}"


class _Relay(QObject):
    """Receives one worker's signals in the GUI thread and hands them on with the job's number."""

    def __init__(self, runner: JobRunner, generation: int):
        super().__init__()
        self.runner, self.generation = runner, generation

    def yielded(self, report) -> None:
        self.runner._on_progress(self.generation, report)

    def returned(self, result) -> None:
        self.runner._on_returned(self.generation, result)

    def errored(self, exc) -> None:
        self.runner._on_errored(self.generation, exc)

    def aborted(self) -> None:
        self.runner._on_aborted(self.generation)


class JobRunner(QObject):
    started = Signal(str)  # title
    progress = Signal(object)  # a core Progress of the current job
    succeeded = Signal(str)  # "<title> finished."
    failed = Signal(str)  # a one-line message
    cancelled = Signal(str)  # a one-line message
    dropped = Signal()  # an outdated result arrived and was thrown away

    def __init__(
        self,
        parent: QObject | None = None,
        cancelled_text: str = "Cancelled.",
        settle_on_cancel: bool = False,
    ):
        super().__init__(parent)
        self.generation = 0
        self.cancelled_text = cancelled_text
        # A writer says "nothing was written" only once its thread has removed its temporary file (a
        # walk-through found it on disk for 2 s after the message): it stays busy until then.
        self.settle_on_cancel = settle_on_cancel
        self._job: _Job | None = None
        self._live: list[_Job] = []  # started and not yet ended: kept alive, joined at shutdown
        pool = QThreadPool.globalInstance()
        pool.setMaxThreadCount(max(pool.maxThreadCount(), MIN_THREADS))

    @property
    def busy(self) -> bool:
        return self._job is not None

    @property
    def title(self) -> str:
        return self._job.title if self._job is not None else ""

    def start(
        self,
        title: str,
        factory: Callable[[], Generator[Any, None, Any]],
        on_result: Callable[[Any], None],
        cancel_event: threading.Event | None = None,
        ctx: Any = None,
    ) -> int:
        """Run `factory()` (called on the worker thread); `on_result(value)` runs in the GUI thread if
        the job is still wanted when it returns. A running job is superseded. Returns its number.
        `ctx`, the job's RunContext, lets the success message say on which device it ran and what a
        person should know about the run (a fallback, a switch to the CPU)."""
        return self._run(title, _Worker(factory, cancel_event), on_result, ctx)

    def start_call(
        self,
        title: str,
        call: Callable[[Callable[[Any], None]], Any],
        on_result: Callable[[Any], None],
        cancel_event: threading.Event | None = None,
    ) -> int:
        """Run `call(report)` on the worker thread, for work done in one call that tells its progress
        through a callback (a writer): `report(progress)` forwards it as a yielded report would be, and
        raises `CancelledError` once the job is cancelled, so the call stops and cleans up there."""
        cancel_event = cancel_event or threading.Event()
        thinning = _Thinning()

        def report(progress) -> None:
            if cancel_event.is_set():
                raise CancelledError("cancelled by the user")
            if thinning.passes(progress):
                worker.yielded.emit(progress)

        worker = _Worker(lambda: _called(call, report), cancel_event)
        return self._run(title, worker, on_result, None)

    def _run(self, title: str, worker: _Worker, on_result: Callable[[Any], None], ctx: Any) -> int:
        self.drop()
        self.generation += 1
        relay = _Relay(self, self.generation)
        worker.yielded.connect(relay.yielded)
        worker.returned.connect(relay.returned)
        worker.errored.connect(relay.errored)
        worker.aborted.connect(relay.aborted)
        job = _Job(self.generation, title, on_result, worker, relay, ctx)
        self._live = [j for j in self._live if not j.worker.ended.is_set()] + [job]
        self._job = job
        self.started.emit(title)
        worker.start()
        return job.generation

    def cancel(self) -> None:
        """Stop the current job; the document stays as it was. Settling, the job ends (and says so)
        when its thread has stopped and cleaned up."""
        if self._job is None:
            return
        event = self._job.worker.cancel_event
        if self.settle_on_cancel and event is not None:
            # Only the call's own cancel: it stops at its next report and cleans up ("nothing was
            # written"), or, past its last report, finishes ("Saved"). Aborting the worker would
            # silence both replies and leave the runner busy for good (a review).
            event.set()
            return
        self.drop()
        self.cancelled.emit(self.cancelled_text)

    def drop(self) -> None:
        """Forget the current job without a word: cancel it, and make any late reply outdated."""
        if self._job is not None:
            self._job.worker.quit()
            self._job = None
            self.generation += 1

    def shutdown(self, timeout: float = 3.0) -> bool:
        """Cancel everything and wait for the threads; False if one is still running at `timeout`."""
        self.drop()
        deadline = time.monotonic() + timeout
        for job in self._live:
            job.worker.quit()
            if not job.worker.ended.wait(max(deadline - time.monotonic(), 0.0)):
                return False
        self._live = []
        return True

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until every started thread has ended (tests)."""
        deadline = time.monotonic() + timeout
        return all(j.worker.ended.wait(max(deadline - time.monotonic(), 0.0)) for j in self._live)

    # --- replies, in the GUI thread ---

    def _current(self, generation: int) -> _Job | None:
        job = self._job
        return job if job is not None and job.generation == generation else None

    def _on_progress(self, generation: int, report) -> None:
        if self._current(generation) is not None:
            self.progress.emit(report)

    def _on_returned(self, generation: int, result) -> None:
        job = self._current(generation)
        if job is None:
            self.dropped.emit()
            return
        self._job = None
        job.on_result(result)
        self.succeeded.emit(finished_message(job.title, job.ctx))

    def _on_errored(self, generation: int, exc: BaseException) -> None:
        job = self._current(generation)
        if job is None:
            return
        self._job = None
        error = exc.error if isinstance(exc, _Failure) else exc
        if isinstance(error, CancelledError):  # the method noticed the cancel itself
            self.cancelled.emit(self.cancelled_text)
            return
        if not isinstance(error, LacunaError | MemoryError) and type(error).__name__ != "OutOfMemoryError":
            traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
        self.failed.emit(describe_error(error, job.title))

    def _on_aborted(self, generation: int) -> None:
        if self._current(generation) is not None:
            self._job = None
            self.cancelled.emit(self.cancelled_text)


__all__ = ["JobRunner", "describe_error", "finished_message", "thinned"]
