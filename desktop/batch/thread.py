"""A batch run on its own thread, reporting to the GUI through signals.

A batch is long (hours for an archive) and runs beside whatever the window is doing, so it has its own
thread rather than the window's job runner, whose next job would supersede it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QThread, Signal

from core.batch import Batch
from core.errors import LacunaError


class BatchThread(QThread):
    began = Signal(int, int)  # items in the tree, items to do in this run
    item_finished = Signal(object)  # a core.batch Outcome
    ended = Signal(object)  # the core.batch Summary
    failed = Signal(str)  # why the batch could not run, one line

    def __init__(self, batch: Batch, parent=None):
        super().__init__(parent)
        self.batch = batch
        batch.reporter = _Reporter(self)  # called on this thread; the signals cross to the GUI

    def cancel(self) -> None:
        self.batch.cancel()

    def run(self) -> None:
        try:
            self.batch.run()
        except LacunaError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown as one line; the manifest keeps what was done
            self.failed.emit(f"the batch stopped: {type(exc).__name__}: {exc}")


class _Reporter:
    """The core.batch reporter protocol, as the thread's signals."""

    def __init__(self, thread: BatchThread):
        self.thread = thread

    def start(self, total: int, todo: int) -> None:
        self.thread.began.emit(total, todo)

    def item(self, outcome: Any) -> None:
        self.thread.item_finished.emit(outcome)

    def finish(self, summary: Any) -> None:
        self.thread.ended.emit(summary)
