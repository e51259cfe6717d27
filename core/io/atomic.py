"""Safe writing: never over the source, never over an existing file unless asked, always atomic.

A writer writes into a temporary file in the target's folder (same suffix, so libraries that pick
the format from the name still work), which is then moved into place, so a crash or a full disk never
leaves a half-written result under the final name. Unless replacing was asked for (`allow_replace`),
the move is exclusive: when another process created the target in the meantime, this one fails with a
clear message instead of silently replacing that result. Temporary files are created with the user's
umask (outputs get the permissions any other program would give them), carry this machine's and
process's id in their name, and those left behind by a killed write are removed on the next write
beside them, with a message saying so.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import hashlib
import logging
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from core.errors import OutputExistsError, WriteError, reason
from core.io.naming import full_suffix, numbered

log = logging.getLogger("lacuna")

# `.<name>.<host>-<pid>-<random>.lacuna-tmp<suffix>` (files) or `.lacuna-tmp` / `.lacuna-old` (folders).
TEMP_MARK = ".lacuna-tmp"
_TEMP_RE = re.compile(r"^\..+\.([0-9a-f]{6})-(\d+)-[0-9a-f]{8}\.lacuna-(tmp|old)")
STALE_AFTER_S = 24 * 3600  # a temp file from another machine is left alone for a day
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]
_REPLACE = contextvars.ContextVar("lacuna_replace", default=False)

OVERWRITE_POLICIES = ("refuse", "rename")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def resolve_target(
    target: Path,
    source: Path | None,
    overwrite: bool = False,
    overwrite_policy: str = "refuse",
    sidecar: bool = True,
) -> Path:
    """The path a writer may use for `target`, or a WriteError explaining why not.

    The source of the document is never overwritten, even with `overwrite=True`, neither by the
    result nor by its provenance sidecar (`<target>.lacuna.json`, checked like the target itself when
    `sidecar`). With `overwrite_policy="rename"` a free name "name_2.ext", ... is chosen instead.
    """
    from core.io.provenance import sidecar_path
    from core.io.uncertainty_map import map_path

    if overwrite_policy not in OVERWRITE_POLICIES:
        raise WriteError(f"unknown overwrite_policy {overwrite_policy!r} (use one of {OVERWRITE_POLICIES})")
    target = Path(target)

    def written(p: Path) -> list[Path]:
        return [p, sidecar_path(p), map_path(p)] if sidecar else [p]

    def hits_source(p: Path) -> bool:
        return source is not None and any(_same_file(w, Path(source)) for w in written(p))

    def blocked(p: Path) -> bool:
        return hits_source(p) or (not overwrite and any(taken(w) for w in written(p)))

    if target.is_dir() and not (source is not None and Path(source).is_dir()):
        # Said first: "already exists; allow replacing it" would send the person the wrong way.
        raise WriteError(f"{target}: is a folder; name the file to write (in it, or elsewhere)")
    if not blocked(target):
        return target
    if overwrite_policy == "rename":
        for n in range(2, 10_000):
            candidate = numbered(target, n)
            if not blocked(candidate):
                return candidate
        raise WriteError(f"{target.name}: no free name left beside it")
    if hits_source(target):
        if _same_file(target, Path(source)):
            raise WriteError(f"{target.name}: refusing to overwrite the original; choose another name")
        hit = next(w for w in written(target) if _same_file(w, Path(source)))
        raise WriteError(
            f"{target.name}: refusing to overwrite the original ({hit.name} would be written beside it);"
            " choose another name"
        )
    first = next(w for w in written(target) if taken(w))
    raise OutputExistsError(f"{first.name}: already exists; choose another name or allow replacing it")


def taken(path: Path) -> bool:
    """Something is there to lose: a file, or a folder with anything in it (an empty folder made
    for the frames of a film takes them without asking)."""
    if path.is_dir():
        return any(path.iterdir())
    return path.exists()


def check_folder(target: Path) -> None:
    """The folder `target` goes into exists and can be written."""
    folder = target.parent
    if not folder.is_dir():
        raise WriteError(f"{target}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise WriteError(f"{target}: the folder {folder} is not writable")


@contextlib.contextmanager
def allow_replace(replace: bool = True) -> Iterator[None]:
    """Inside the block, writes may replace an existing target (the caller checked `overwrite`)."""
    token = _REPLACE.set(replace)
    try:
        yield
    finally:
        _REPLACE.reset(token)


def temp_name(target: Path, kind: str = "tmp") -> Path:
    """A hidden name beside `target` that says who made it; the format's suffix stays last."""
    tag = f"{_HOST}-{os.getpid()}-{secrets.token_hex(4)}"
    suffix = full_suffix(target) if kind == "tmp" else ""
    return target.with_name(f".{target.name}.{tag}.lacuna-{kind}{suffix}")


def remove_stale_temps(folder: Path) -> list[Path]:
    """Remove the temporary files and folders of writes that were killed (their process is gone)."""
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        found = _TEMP_RE.match(entry.name)
        if not found or not _stale(entry, found.group(1), int(found.group(2))):
            continue
        size = _size(entry)
        with contextlib.suppress(OSError):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
            log.warning(
                "removed %s, left in %s by an interrupted write (%.1f MB)", entry.name, folder, size / 1e6
            )
    return removed


def _stale(entry: Path, host: str, pid: int) -> bool:
    if host == _HOST and pid != os.getpid() and os.name == "posix":
        try:
            os.kill(pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, another user's
        return False
    try:
        return time.time() - entry.lstat().st_mtime > STALE_AFTER_S
    except OSError:
        return False


def _size(entry: Path) -> int:
    try:
        if entry.is_dir():
            return sum(f.stat().st_size for f in entry.rglob("*") if f.is_file())
        return entry.stat().st_size
    except OSError:
        return 0


def _create_temp(target: Path) -> Path:
    tmp = temp_name(target)
    # O_EXCL: never an existing file; mode 0o666 lets the umask decide, as for any program's output.
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    return tmp


def _claim(tmp: Path, target: Path) -> None:
    """Move `tmp` to `target`: replacing it only when allowed, else exclusively."""
    if _REPLACE.get():
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # atomic, and fails if the target exists
    except FileExistsError:
        raise _taken(target) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV):
            raise
        # A file system without hard links (FAT, some network shares): claim the name, then move.
        try:
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            raise _taken(target) from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def _taken(target: Path) -> WriteError:
    return WriteError(
        f"{target.name}: another program created this file while Lacuna was writing it; it was left as "
        "it is and this result was not saved (choose another name)"
    )


def atomic_write(target: Path, write: Callable[[Path], None]) -> Path:
    """Call `write(temp_path)` and move the result to `target` atomically."""
    check_folder(target)
    remove_stale_temps(target.parent)
    tmp = None
    try:
        tmp = _create_temp(target)
        write(tmp)
        _claim(tmp, target)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
        if isinstance(exc, OSError):
            raise WriteError(f"{target.name}: cannot write ({reason(exc)})") from exc
        raise
    return target


@contextlib.contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `target`; on success it becomes `target` (a folder).

    An existing `target` is replaced only inside `allow_replace()`; otherwise it is an error.
    """
    check_folder(target)
    remove_stale_temps(target.parent)
    tmp = temp_name(target)
    os.mkdir(tmp, 0o777)  # the umask decides, as for a folder any program makes
    try:
        yield tmp
        if taken(target) and not _REPLACE.get():
            raise _taken(target)
        if target.is_dir() and taken(target):
            old = temp_name(target, "old")
            os.rename(target, old)
            os.rename(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:  # nothing there, or an empty folder, which the rename replaces (not if filled meanwhile)
            os.rename(tmp, target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                raise _taken(target) from exc
            raise WriteError(f"{target.name}: cannot write ({reason(exc)})") from exc
        raise
