"""How a batch reports while it runs: a rich progress bar (items/s, ETA), nothing (quiet), or one JSON
line per item (for scripts). Every reporter ends with the closing summary."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from core.batch.worker import FAILED, SKIPPED, WARNINGS, Outcome, failure_line


class QuietReporter:
    """The closing summary only."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr

    def start(self, total: int, todo: int) -> None:
        pass

    def item(self, outcome: Outcome) -> None:
        pass

    def finish(self, summary: Any) -> None:
        self.stream.write(summary.text() + "\n")
        self.stream.flush()


class JsonReporter:
    """One JSON object per line: each finished item, then the summary (`"summary": true`)."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout

    def _line(self, data: dict[str, Any]) -> None:
        self.stream.write(json.dumps(data, default=str) + "\n")
        self.stream.flush()

    def start(self, total: int, todo: int) -> None:
        self._line({"event": "start", "items": total, "todo": todo})

    def item(self, outcome: Outcome) -> None:
        data = {"event": "item", **outcome.__dict__}
        self._line(data)

    def finish(self, summary: Any) -> None:
        self._line({"event": "summary", **summary.as_dict()})


class BarReporter(QuietReporter):
    """One overall bar with items per second and time left; failures are printed above it."""

    def __init__(self, stream: TextIO | None = None):
        super().__init__(stream)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = Console(file=self.stream)
        self.bar = Progress(
            TextColumn("batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.task = None

    def start(self, total: int, todo: int) -> None:
        if not todo:  # everything was done before: the summary says so, a bar at 0/1 would not
            return
        self.bar.start()
        self.task = self.bar.add_task("batch", total=todo, rate="")

    def item(self, outcome: Outcome) -> None:
        # Why, above the bar: a failure, and a skip (its reason was said in the manifest only).
        if outcome.state in (FAILED, SKIPPED):
            self._say(failure_line(outcome.key, outcome.error, outcome.state))
        for warning in outcome.params.get(WARNINGS, []):  # what its record warns of (a call mostly lost)
            self._say(f"warning: {outcome.key}: {warning}")
        if self.task is None or outcome.cancelled:
            return
        self.bar.advance(self.task)
        speed = self.bar.tasks[0].speed
        self.bar.update(self.task, rate=f"{speed:.2f} items/s" if speed else "")

    def _say(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def finish(self, summary: Any) -> None:
        if self.task is not None:
            self.bar.stop()
        super().finish(summary)


def reporter_for(quiet: bool = False, as_json: bool = False):
    if as_json:
        return JsonReporter()
    return QuietReporter() if quiet else BarReporter()
