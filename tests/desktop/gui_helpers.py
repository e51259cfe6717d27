"""Helpers for driving the real window: files open on a worker thread, so a test waits for them."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import QApplication


def open_file(window, path, timeout: float = 60.0) -> bool:
    """Open `path` as the person would and wait until it is shown; True if it is the document now."""
    if not window.open_path(path):
        return False
    deadline = time.monotonic() + timeout
    while window.session.opening is not None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} was still being opened after {timeout} s")
        QApplication.processEvents()
        time.sleep(0.002)
    doc = window.session.doc
    return doc is not None and doc.path is not None and Path(doc.path) == Path(path)


def image(window):
    return window.workspace("image")


def audio(window):
    return window.workspace("audio")
