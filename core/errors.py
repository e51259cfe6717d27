"""One exception hierarchy whose messages a person can act on.

Every error raised by `core` on purpose derives from `LacunaError`. The CLI and the desktop app show
`str(error)` as a one-line message and never a traceback.
"""

from __future__ import annotations


class LacunaError(Exception):
    """Base class of every error that Lacuna reports to a person."""


class ReadError(LacunaError):
    """A file could not be read: missing, malformed, truncated or unsupported."""


class UnsupportedFormatError(ReadError):
    """The file is of a kind Lacuna does not read."""


class TooLargeError(ReadError):
    """The file declares more pixels or samples than the configured limit (decompression bombs)."""


class WriteError(LacunaError):
    """A result could not be written (the original is never touched)."""


class MethodError(LacunaError):
    """A repair method cannot run: unknown id, bad parameter, missing weights, wrong mask size."""


class CancelledError(LacunaError):
    """The user cancelled a running job; the input is untouched."""
