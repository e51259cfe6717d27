"""Keep the libraries' own complaints off the terminal while reading: a person gets Lacuna's one-line
error (or the warnings recorded in the document), not pydicom's, nibabel's or libpng's chatter."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import warnings
from collections.abc import Iterator

LIBRARY_LOGGERS = ("pydicom", "nibabel", "tifffile", "PIL", "soundfile")
_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def quiet_libraries(extra: tuple[str, ...] = ()) -> Iterator[None]:
    """Python warnings and the readers' loggers (and the `extra` loggers named) are silenced inside
    the block."""
    loggers = [logging.getLogger(name) for name in (*LIBRARY_LOGGERS, *extra)]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


@contextlib.contextmanager
def quiet_c_stderr() -> Iterator[None]:
    """C libraries (libpng inside OpenCV) print on file descriptor 2 itself: point it at /dev/null for
    the duration of one call. Other threads' stderr output in that moment is lost too, so keep the
    block short."""
    try:
        fd = sys.__stderr__.fileno() if sys.__stderr__ is not None else 2
    except (AttributeError, OSError, ValueError):  # no real stderr (a windowed app): nothing to hide
        yield
        return
    with _STDERR_LOCK:
        saved = os.dup(fd)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            os.close(devnull)
