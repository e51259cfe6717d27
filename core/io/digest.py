"""SHA-256 of a file, read once per version of it (its size and modification time): a derivative's
record names its source by content as well as by path, so an archive can tell which master it came
from after either was renamed or moved (fixity, as BagIt and PREMIS keep it)."""

from __future__ import annotations

import functools
import hashlib
import stat
from pathlib import Path


@functools.lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: str | Path) -> str | None:
    """The hex SHA-256 of a regular file; None for a folder (a series) or a file that cannot be read."""
    try:
        status = Path(path).stat()
        if not stat.S_ISREG(status.st_mode):
            return None
        return _sha256(str(path), status.st_size, status.st_mtime_ns)
    except OSError:
        return None
