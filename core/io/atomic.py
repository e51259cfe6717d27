"""Safe writing: never over the source, never over an existing file unless asked, always atomic.

A writer writes into a temporary file in the target's folder (same suffix, so libraries that pick
the format from the name still work) and the file is moved into place with `os.replace`, so a
crash or a full disk never leaves a half-written result under the final name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from core.errors import WriteError

OVERWRITE_POLICIES = ("refuse", "rename")


def full_suffix(path: Path) -> str:
    """'.nii.gz' for 'brain.nii.gz', '.png' for 'a.png'."""
    name = path.name.lower()
    for double in (".nii.gz", ".tar.gz"):
        if name.endswith(double):
            return path.name[-len(double) :]
    return path.suffix


def _stem(path: Path) -> str:
    suffix = full_suffix(path)
    return path.name[: len(path.name) - len(suffix)] if suffix else path.name


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def numbered(path: Path, n: int) -> Path:
    """'scan (2).dcm' for n=2."""
    return path.with_name(f"{_stem(path)} ({n}){full_suffix(path)}")


def resolve_target(
    target: Path,
    source: Path | None,
    overwrite: bool = False,
    overwrite_policy: str = "refuse",
) -> Path:
    """The path a writer may use for `target`, or a WriteError explaining why not.

    The source of the document is never overwritten, even with `overwrite=True`. With
    `overwrite_policy="rename"` a free name "name (2).ext", "name (3).ext", ... is chosen instead.
    """
    if overwrite_policy not in OVERWRITE_POLICIES:
        raise WriteError(f"unknown overwrite_policy {overwrite_policy!r} (use one of {OVERWRITE_POLICIES})")
    target = Path(target)

    def blocked(p: Path) -> bool:
        if source is not None and _same_file(p, Path(source)):
            return True
        return p.exists() and not overwrite

    if not blocked(target):
        if target.is_dir() and not (source is not None and Path(source).is_dir()) and overwrite:
            raise WriteError(f"{target}: is a folder; name a file to write")
        return target
    if overwrite_policy == "rename":
        for n in range(2, 10_000):
            candidate = numbered(target, n)
            if not blocked(candidate):
                return candidate
        raise WriteError(f"{target.name}: no free name left beside it")
    if source is not None and _same_file(target, Path(source)):
        raise WriteError(f"{target.name}: refusing to overwrite the original; choose another name")
    raise WriteError(f"{target.name}: already exists (pass overwrite=True to replace it)")


def _check_folder(target: Path) -> None:
    folder = target.parent
    if not folder.is_dir():
        raise WriteError(f"{target}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise WriteError(f"{target}: the folder {folder} is not writable")


def atomic_write(target: Path, write: Callable[[Path], None]) -> Path:
    """Call `write(temp_path)` and move the result to `target` atomically."""
    _check_folder(target)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{_stem(target)}.", suffix=f".tmp{full_suffix(target)}", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise WriteError(f"{target.name}: cannot write ({exc.strerror or exc})") from exc
        raise
    return target


@contextlib.contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `target`; on success it replaces `target` (a folder)."""
    _check_folder(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        if target.is_dir():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            os.replace(target, old / "x")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise WriteError(f"{target.name}: cannot write ({exc.strerror or exc})") from exc
        raise
