"""The batch manifest: one SQLite file in the output folder, the single source of truth of a batch.

It records what the batch does (input folder, recipes) and, per item, its state, method, parameters,
output, time, attempts and error. Every change is one transaction in WAL mode with full sync, so a
kill -9 at any moment leaves the last committed state: an item is marked done only after its output
was moved into place, and items found "running" when a batch starts again were in flight when the
last run died; they are done again. The CLI and the desktop open the same file, so either resumes a
batch the other started.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from core.batch.items import Item
from core.batch.worker import DONE, FAILED, PENDING, SKIPPED, Outcome
from core.errors import LacunaError

FILE_NAME = "lacuna-batch.sqlite"
RUNNING = "running"
STATES = (PENDING, RUNNING, DONE, FAILED, SKIPPED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    series INTEGER,
    state TEXT NOT NULL DEFAULT 'pending',
    method TEXT NOT NULL DEFAULT '',
    params TEXT NOT NULL DEFAULT '{}',
    output TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    started REAL,
    finished REAL,
    seconds REAL,
    worker TEXT NOT NULL DEFAULT '',
    source_stamp TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS items_state ON items (state);
"""


# What differs, in the words of the command, when a folder's batch was started otherwise.
DESCRIBED = {
    "input": "another input folder",
    "recipes": "other tasks, methods, parameters or detection settings",
    "include": "other files included (--include)",
    "exclude": "other files excluded (--exclude)",
    "lossless_video": "clips saved another way (--lossless-video)",
}


class ManifestMismatch(LacunaError):
    """The output folder holds a batch that does something else."""


def source_stamp(source: str | Path) -> str:
    """'size:mtime' of an item's source, '' when it cannot be read (a folder's: its own entry)."""
    try:
        status = os.stat(source)
    except OSError:
        return ""
    return f"{status.st_size}:{status.st_mtime_ns}"


def manifest_path(output_dir: Path) -> Path:
    return Path(output_dir) / FILE_NAME


class Manifest:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        with self.transaction():
            for statement in filter(str.strip, _SCHEMA.split(";")):
                self.db.execute(statement)
            columns = {row["name"] for row in self.db.execute("PRAGMA table_info(items)")}
            if "series" not in columns:  # a manifest from before items named a folder's series
                self.db.execute("ALTER TABLE items ADD COLUMN series INTEGER")
            if "source_stamp" not in columns:  # from before a changed source was repaired again
                self.db.execute("ALTER TABLE items ADD COLUMN source_stamp TEXT NOT NULL DEFAULT ''")

    @classmethod
    def open(cls, output_dir: Path) -> Manifest:
        return cls(manifest_path(output_dir))

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- what the batch does -------------------------------------------------------------------

    def description(self) -> dict[str, Any]:
        return {row["key"]: json.loads(row["value"]) for row in self.db.execute("SELECT * FROM batch")}

    def bind(self, description: dict[str, Any]) -> None:
        """Record what this batch does, or check that it is what the folder's batch already does."""
        if self.description():
            self.check(description)
            return
        with self.transaction():
            self.db.executemany(
                "INSERT INTO batch (key, value) VALUES (?, ?)",
                [(k, json.dumps(v, sort_keys=True)) for k, v in description.items()],
            )

    def check(self, description: dict[str, Any]) -> None:
        """Refuse a batch that is not what the folder's batch does (writes nothing: the dry run asks
        too, or it would call every item of another batch done)."""
        known = self.description()
        if not known:  # no batch bound to it yet
            return
        wanted = json.loads(json.dumps(description, sort_keys=True))
        for key in sorted(set(wanted) | set(known)):  # a setting given before and not now differs too
            if known.get(key) != wanted.get(key):
                what = DESCRIBED.get(key, f"other {key} settings")
                raise ManifestMismatch(
                    f"{self.path.parent} holds a batch of {what}; resume it with the same settings, or"
                    " choose another output folder"
                )

    # --- items ---------------------------------------------------------------------------------

    def add(self, items: Iterable[Item]) -> int:
        """Add items not seen before as pending; returns how many were new."""
        rows = [(item.key, item.kind, str(item.source), item.series) for item in items]
        with self.transaction():
            before = self.db.total_changes
            self.db.executemany(
                "INSERT OR IGNORE INTO items (key, kind, source, series) VALUES (?, ?, ?, ?)", rows
            )
            return self.db.total_changes - before

    def recover(self) -> int:
        """Items left running by a run that died go back to pending; returns how many."""
        with self.transaction():
            return self.db.execute("UPDATE items SET state = ? WHERE state = ?", (PENDING, RUNNING)).rowcount

    def missing(self, keys: Iterable[str]) -> list[str]:
        """Of the items `keys`, those done whose result is gone from the output folder (deleted since).
        Looked for in the folder the manifest is in, by the result's place in the mirrored tree, so a
        moved or remounted output folder does not make every item look gone."""
        wanted = set(keys)
        rows = self.db.execute("SELECT key, output FROM items WHERE state = ? AND output != ''", (DONE,))
        return [
            row["key"]
            for row in rows.fetchall()
            if row["key"] in wanted
            and not (self.path.parent / PurePosixPath(row["key"]).parent / Path(row["output"]).name).exists()
        ]

    def reopen_missing(self, keys: Iterable[str]) -> list[str]:
        """The `missing` items are to do again; returns their keys."""
        return self._reopen(self.missing(keys))

    def changed(self, keys: Iterable[str]) -> list[str]:
        """Of the items `keys`, those done whose source has changed since it was read (a photo scanned
        again under the same name: its old result would be kept as done)."""
        wanted = set(keys)
        rows = self.db.execute("SELECT key, source, source_stamp FROM items WHERE state = ?", (DONE,))
        return [
            row["key"]
            for row in rows.fetchall()
            if row["key"] in wanted
            and row["source_stamp"]  # kept since this version: earlier items are not second-guessed
            and source_stamp(row["source"]) != row["source_stamp"]
        ]

    def reopen_changed(self, keys: Iterable[str]) -> list[str]:
        """The `changed` items are to do again; returns their keys."""
        return self._reopen(self.changed(keys))

    def _reopen(self, keys: list[str]) -> list[str]:
        if keys:
            with self.transaction():
                self.db.executemany("UPDATE items SET state = ? WHERE key = ?", [(PENDING, k) for k in keys])
        return keys

    def todo(self, retry_failed: bool = True) -> list[sqlite3.Row]:
        states = (PENDING, FAILED) if retry_failed else (PENDING,)
        marks = ",".join("?" * len(states))
        return self.db.execute(
            f"SELECT * FROM items WHERE state IN ({marks}) ORDER BY key", states
        ).fetchall()

    def mark_running(self, key: str) -> None:
        """The item is being repaired; its source's size and time are kept (`changed`)."""
        (source,) = self.db.execute("SELECT source FROM items WHERE key = ?", (key,)).fetchone()
        with self.transaction():
            self.db.execute(
                "UPDATE items SET state = ?, attempts = attempts + 1, started = ?, error = '',"
                " source_stamp = ? WHERE key = ?",
                (RUNNING, time.time(), source_stamp(source), key),
            )

    def record(self, outcome: Outcome) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE items SET state = ?, method = ?, params = ?, output = ?, error = ?, finished = ?,"
                " seconds = ?, worker = ? WHERE key = ?",
                (
                    outcome.state,
                    outcome.method,
                    json.dumps(outcome.params, sort_keys=True, default=str),
                    outcome.output,
                    outcome.error,
                    time.time(),
                    outcome.seconds,
                    outcome.worker,
                    outcome.key,
                ),
            )

    def mark_skipped(self, key: str, reason: str) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE items SET state = ?, error = ?, finished = ? WHERE key = ?",
                (SKIPPED, reason, time.time(), key),
            )

    def counts(self) -> dict[str, int]:
        found = dict(self.db.execute("SELECT state, COUNT(*) FROM items GROUP BY state").fetchall())
        return {state: int(found.get(state, 0)) for state in STATES}

    def items(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM items ORDER BY key").fetchall()

    def failures(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM items WHERE state = ? ORDER BY key", (FAILED,)).fetchall()


@contextlib.contextmanager
def exclusive(output_dir: Path) -> Iterator[None]:
    """One batch at a time writes into an output folder. The lock is the operating system's, so it
    goes with the process that held it, kill -9 included."""
    try:
        handle = open(Path(output_dir) / f"{FILE_NAME}.lock", "a+b")
    except OSError as exc:
        raise LacunaError(f"{output_dir}: cannot write into it ({exc.strerror or exc})") from None
    try:
        if not _try_lock(handle):
            raise LacunaError(f"{output_dir}: another batch is writing into this folder right now")
        yield
    finally:
        handle.close()


def _try_lock(handle) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
