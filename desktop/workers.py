"""Run a core generator (`core.repair.repair`) on a worker thread, reporting through Qt signals.

`Job` owns one run: `progress`, `finished`, `failed` and `cancelled` are emitted from the worker
thread and delivered in the GUI thread (queued), each tagged with the job's generation number so the
controller can drop replies to requests it no longer wants. Cancel sets the run context's
`cancel_event` (methods check it at every progress report) and closes the generator at the next
yield; the controller does not wait for either, so the window reacts at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, Signal

from core.errors import CancelledError


class Job(QObject):
    progress = Signal(int, object)  # generation, core.runtime.context.Progress
    finished = Signal(int, object)  # generation, the generator's return value
    failed = Signal(int, object)  # generation, the exception
    cancelled = Signal(int)  # generation

    # Progress reports faster than this are coalesced: the event queue must stay free for painting.
    min_interval = 0.05

    def __init__(self, generation: int, start: Callable[[], Generator[Any, None, Any]], cancel_event=None):
        super().__init__()
        self.generation = generation
        self._start = start
        self._cancel_event = cancel_event
        self._quit = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"lacuna-job-{self.generation}", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._quit.set()
        if self._cancel_event is not None:
            self._cancel_event.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker thread ends (tests and shutdown); True if it did."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        last_emit = 0.0
        try:
            gen = self._start()
            while True:
                if self._quit.is_set():
                    gen.close()
                    self.cancelled.emit(self.generation)
                    return
                try:
                    report = next(gen)
                except StopIteration as stop:
                    if self._quit.is_set():
                        self.cancelled.emit(self.generation)
                    else:
                        self.finished.emit(self.generation, stop.value)
                    return
                now = time.monotonic()
                if now - last_emit >= self.min_interval:
                    self.progress.emit(self.generation, report)
                    last_emit = now
        except CancelledError:
            self.cancelled.emit(self.generation)
        except BaseException as exc:  # noqa: BLE001 — every failure must reach the window
            if self._quit.is_set():
                self.cancelled.emit(self.generation)
            else:
                self.failed.emit(self.generation, exc)
