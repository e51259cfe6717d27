"""File formats: read(path) -> document, write(document, path) -> path actually written.

Readers check declared sizes against `limits.MAX_PIXELS` / `limits.MAX_SAMPLES` before decoding and
raise `ReadError` subclasses naming the file and what is wrong. Writers never overwrite the source,
write atomically and record provenance.
"""

from __future__ import annotations

from pathlib import Path

from core.documents import Document


def read(path: str | Path) -> Document:
    from core.io.dispatch import read_any

    return read_any(Path(path))


def write(document: Document, path: str | Path, **options) -> Path:
    from core.io.dispatch import write_any

    return write_any(document, Path(path), **options)


__all__ = ["read", "write"]
