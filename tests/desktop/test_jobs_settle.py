"""A writer's job settles on cancel: "nothing was written" only once its call has stopped and cleaned
up; a cancel that comes after the call's last report lets it finish and say so (a review found the
runner stuck busy for good when it had aborted the worker instead)."""

from __future__ import annotations

import threading

from desktop.jobs import JobRunner


def _runner(qtbot):
    runner = JobRunner(cancelled_text="Saving cancelled: nothing was written.", settle_on_cancel=True)
    said, results = [], []
    runner.cancelled.connect(said.append)
    runner.succeeded.connect(said.append)
    return runner, said, results


def test_a_cancel_the_call_notices_is_said_after_it_cleaned_up(qtbot, tmp_path):
    runner, said, results = _runner(qtbot)
    reporting, cleaned = threading.Event(), []
    partial = tmp_path / ".partial"

    def write(report):
        partial.write_bytes(b"half a file")
        try:
            while True:
                reporting.set()
                report(None)  # raises once cancelled
        finally:
            partial.unlink()
            cleaned.append(True)

    runner.start_call("Saving x", write, results.append)
    assert reporting.wait(10)
    runner.cancel()
    assert runner.busy  # settling: not said yet
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    assert said == ["Saving cancelled: nothing was written."] and cleaned and not partial.exists()
    assert not results


def test_a_cancel_after_the_last_report_lets_the_call_finish_and_say_so(qtbot):
    runner, said, results = _runner(qtbot)
    reported, go_on = threading.Event(), threading.Event()

    def write(report):
        report(None)
        reported.set()
        go_on.wait(10)  # past its last report: the cancel comes too late to stop it
        return "written"

    runner.start_call("Saving x", write, results.append)
    assert reported.wait(10)
    runner.cancel()
    go_on.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    assert results == ["written"] and said == ["Saving x finished."]
