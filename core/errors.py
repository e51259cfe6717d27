"""One exception hierarchy whose messages a person can act on.

Every error raised by `core` on purpose derives from `LacunaError`. The CLI and the desktop app show
`str(error)` as a one-line message and never a traceback.
"""

from __future__ import annotations

import errno
import os


class LacunaError(Exception):
    """Base class of every error that Lacuna reports to a person."""


class ReadError(LacunaError):
    """A file could not be read: missing, malformed, truncated or unsupported."""


class UnsupportedFormatError(ReadError):
    """The file is of a kind Lacuna does not read."""


class NothingToRepairError(ReadError):
    """A valid file that holds nothing Lacuna repairs (a DICOM structured report, ...).

    `details`: what the format could still say about the file, for `lacuna info`.
    """

    details: dict = {}


class TooLargeError(ReadError):
    """The file declares more pixels or samples than the configured limit (decompression bombs)."""


class WriteError(LacunaError):
    """A result could not be written (the original is never touched)."""


class OutputExistsError(WriteError):
    """The output is there already and replacing it was not allowed (the CLI names its flag)."""


class MethodError(LacunaError):
    """A repair method cannot run: unknown id, bad parameter, missing weights, wrong mask size."""


class NothingToDoError(MethodError):
    """A repair found nothing to change (a clip with no frame to rebuild): nothing is written, and a
    batch counts the item as skipped, not failed."""


class CancelledError(LacunaError):
    """The user cancelled a running job; the input is untouched."""


# What the operating system means, in words a person can act on (errno -> text).
_OS_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the disk is read-only",
    errno.EIO: "the disk reported an input/output error",
    errno.ENAMETOOLONG: "the name is too long",
}
MAX_REASON = 200  # characters of library text quoted in a message


def reason(exc: BaseException) -> str:
    """Why `exc` happened, in one short line without library internals.

    An OSError anywhere in the chain wins (libraries re-raise it wrapped, pydicom with its traceback
    in the text); otherwise the first line of the message, cut to `MAX_REASON` characters.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno is not None:
            return _OS_REASONS.get(seen.errno) or seen.strerror or os.strerror(seen.errno)
        seen = seen.__cause__ or seen.__context__
    lines = str(exc).strip().splitlines()
    text = lines[0].strip() if lines else type(exc).__name__
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"
