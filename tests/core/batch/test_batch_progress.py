"""The batch's progress bar on the terminal."""

from __future__ import annotations

import io

from core.batch.progress import BarReporter
from core.batch.runner import Summary
from core.batch.worker import SKIPPED, Outcome


def test_a_batch_done_before_shows_no_bar_at_zero_of_one():
    """Resumed with nothing left to do (a walk-through saw 'batch 0/1 ... ETA -:--:--' for three
    items done before): only the summary line."""
    stream = io.StringIO()
    reporter = BarReporter(stream)
    reporter.start(3, 0)
    reporter.item(Outcome("a.png", SKIPPED))
    reporter.finish(Summary(skipped=3, done_before=3))
    text = stream.getvalue()
    assert "0/1" not in text and "batch: 0 succeeded, 0 failed, 3 skipped (3 done before)" in text
