"""The CLI's progress bar: redrawn in place on a terminal, sparse whole lines elsewhere."""

from __future__ import annotations

import io
import sys

from core.repair_cli import TerminalProgress
from core.runtime.context import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_default_stream_on_a_terminal_redraws_one_line(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    bar = TerminalProgress()  # no stream given: stderr, which is a terminal here
    for fraction in (0.0, 1.0):
        bar(Progress(fraction, "tile"))
    bar.finish()
    text = terminal.getvalue()
    assert text.count("\r") == 2 and text.count("\n") == 1 and text.endswith("\n")
    assert "100.0%" in text


def test_a_file_gets_whole_lines(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    bar = TerminalProgress()
    for fraction in (0.0, 0.5, 1.0):
        bar(Progress(fraction, "tile"))
    bar.finish()
    assert "\r" not in log.getvalue() and log.getvalue().count("\n") == 3


def test_a_later_stage_fills_the_rest_of_the_bar_instead_of_jumping_back():
    """A video's repair measures (up to 41.7% for deflicker), then its frames are made while written,
    reported from 0 again: the bar goes on from where it stood (a user walk-through saw 41.7% -> 4.2%)."""
    out = io.StringIO()
    bar = TerminalProgress(out)
    bar(Progress(0.417, "measuring brightness"))
    bar.go_on()
    for fraction in (0.0, 0.5, 1.0):
        bar(Progress(fraction, "frame"))
    shown = [float(line.split("]")[1].split("%")[0]) for line in out.getvalue().splitlines()]
    assert shown == sorted(shown) and shown[0] == 41.7 and shown[-1] == 100.0
    assert 70.0 <= shown[-2] <= 71.0
