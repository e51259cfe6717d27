"""The session: the one owner of the current document, its undo history, saving, naming and autosave.

Workspaces change the document through `replace()` (a repair, a fill, an undo) and record their edits
in `history`; the shell opens, saves and closes through the session and asks it whether a change
would be lost (`unsaved`). Files are read on a `JobRunner`, so a huge image never freezes the
window. Output names follow core's rule (the one `lacuna repair` uses), and Save As never writes
over the original. A video is saved as a job (`start_save`): writing it re-encodes every frame and
makes a pending repair's frames on the way, with progress per frame; a cancelled save leaves no
file behind.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from core.documents import Document
from core.runtime.context import Progress
from desktop.autosave import Autosave
from desktop.history import History
from desktop.jobs import JobRunner, describe_error


def _read(path: Path, series: int | None = None):
    """Reading as a job: one report, then the document (series `series` of a DICOM folder if given)."""
    import core.io

    yield Progress(0.0, f"Reading {path.name}…")
    return core.io.read(path) if series is None else core.io.read_series(path, series)


BACKGROUND_SAVES = ("video",)  # kinds whose writing takes long enough to need progress and cancel


class Session(QObject):
    document_changed = Signal(bool)  # True: another document (or none); False: new content of this one
    history_changed = Signal()
    saved = Signal(object)  # the Path written
    error = Signal(str)  # for the notice bar
    status = Signal(str)  # a transient status-bar message
    warning = Signal(str)  # what to know about a result, for the notice bar (a lossy save)

    def __init__(self, autosave_root: Path | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.doc: Document | None = None
        self.clean_doc: Document | None = None  # the document as read or last saved
        self.saved_as: Path | None = None  # where the open document's result was last saved
        self.history = History()
        self.reader = JobRunner(self, "Opening cancelled: the document shown is unchanged.")
        self.reader.failed.connect(self.error)
        self.reader.failed.connect(self._open_ended)
        self.reader.cancelled.connect(self._open_ended)
        self.opening: Path | None = None
        self.writer = JobRunner(
            self, "Saving cancelled: nothing was written, the original is untouched.", settle_on_cancel=True
        )
        self.writer.failed.connect(self.error)
        self.autosave_root = autosave_root
        self.autosave: Autosave | None = None
        self.ask_restore: Callable[[Autosave], bool] = lambda session: True

    # --- the document ---

    def open(self, path: str | Path, series: int | None = None) -> None:
        """Start reading `path` on the job runner; the document changes when it has been read."""
        path = Path(path)
        self.opening = path

        def done(doc: Document) -> None:
            self.opening = None
            self.set_document(doc)
            warnings = (getattr(doc, "metadata", None) or {}).get("read_warnings")
            if warnings:  # a truncated file, an unusable attribute: shown, never silent
                self.error.emit("\n".join(warnings))

        self.reader.start(f"Opening {path.name}", lambda: _read(path, series), done)

    def _open_ended(self, _text: str = "") -> None:
        self.opening = None

    def set_document(self, doc: Document | None) -> None:
        """Another document (or none): a fresh history, nothing to save."""
        self.close_autosave(discard=True)
        self.doc = self.clean_doc = doc
        self.saved_as = None
        self.history.clear()
        self.document_changed.emit(True)
        self.history_changed.emit()

    def replace(self, doc: Document) -> None:
        """New content of the same document (a repair, a fill, or the undo of one)."""
        self.doc = doc
        self.document_changed.emit(False)

    def document_of(self, *kinds: str) -> Document | None:
        """The document if it is of one of `kinds` (what a workspace shows), else None."""
        return self.doc if self.doc is not None and self.doc.kind in kinds else None

    @property
    def unsaved(self) -> bool:
        """True when the document holds changes that neither the file read nor a save holds. Undone
        back to the file as read (no repair in it), nothing is unsaved, whatever a save wrote since
        (a walk-through saw "[REPAIRED, not saved]" on the untouched original after Save and Undo)."""
        doc, clean = self.doc, self.clean_doc
        if doc is None or doc is clean or not doc.provenance:
            return False
        return clean is None or doc.provenance != clean.provenance

    @property
    def repaired(self) -> bool:
        return self.doc is not None and bool(self.doc.provenance)

    # --- saving ---

    def default_save_path(self) -> Path | None:
        if self.doc is None:
            return None
        from core.io.naming import suggest_output

        return suggest_output(self.doc)

    @property
    def saves_in_background(self) -> bool:
        return self.doc is not None and self.doc.kind in BACKGROUND_SAVES

    def save_as(self, path: str | Path, replace: bool = False) -> Path | None:
        """Write the document to `path`; `replace`: the person agreed to replace an existing file."""
        doc = self._target_checked(path)
        if doc is None:
            return None
        try:
            import core.io

            written = Path(core.io.write(doc, path, overwrite=replace))
        except Exception as exc:  # noqa: BLE001 — a writer bug must not take the window down
            self.error.emit(describe_error(exc, f"Saving {Path(path).name}"))
            return None
        self._saved(doc, written)
        return written

    def start_save(self, path: str | Path, replace: bool = False) -> bool:
        """Write the document to `path` on the `writer` job (progress per frame, cancel); `saved` is
        emitted when it is written. The document may change meanwhile: what was shown when asked is
        what is written."""
        if self.writer.busy:
            self.error.emit(f"{self.writer.title} is running: wait for it, or cancel it first.")
            return False
        doc = self._target_checked(path)
        if doc is None:
            return False
        import core.io

        path = Path(path)
        from core.errors import LacunaError

        try:
            _refused_before_saving(doc, path, replace)
        except LacunaError as exc:  # anything else is the writer's to find: it checks all this again
            self.error.emit(describe_error(exc, f"Saving {path.name}"))
            return False
        self.writer.start_call(
            f"Saving {path.name}",
            lambda report: Path(core.io.write(doc, path, overwrite=replace, on_progress=report)),
            lambda written: self._saved(doc, written),
        )
        return True

    def _target_checked(self, path: str | Path) -> Document | None:
        """The document to save at `path`, or None (nothing open, or `path` is the original)."""
        doc = self.doc
        if doc is not None and doc.path is not None and Path(path).resolve() == Path(doc.path).resolve():
            self.error.emit("Lacuna never overwrites the original: choose another name.")
            return None
        return doc

    def _saved(self, doc: Document, written: Path) -> None:
        self.clean_doc = doc
        self.saved_as = Path(written)
        self.status.emit(f"Saved {written}")
        from core.io.provenance import conversions

        said = conversions(written)
        if said:  # as the command line says it (a walk-through's .webm save said nothing of its loss)
            self.warning.emit(f"Saved {Path(written).name}: " + "; ".join(said))
        self.saved.emit(written)
        self.history_changed.emit()  # the title's "not saved" goes

    # --- autosave of the edits (the mask journal) ---

    def start_autosave(self, shape: tuple[int, int, int]):
        """Journal the edits of the open file; returns (masks, history) restored from a crash, or None."""
        doc = self.doc
        if self.autosave_root is None or doc is None or doc.path is None:
            return None
        journal = Autosave(self.autosave_root, Path(doc.path), shape)
        if journal.exists() and journal.matches_shape() and self.ask_restore(journal):
            try:
                masks, history = journal.restore(self.history.cap_bytes)
            except Exception as exc:  # noqa: BLE001 — a damaged autosave must not block opening
                self.error.emit(f"The autosaved mask could not be restored: {exc}")
            else:
                history.cap_bytes = self.history.cap_bytes
                self.history = history
                self.status.emit(f"Restored {journal.count} mask edits from the autosave.")
                journal.resume()
                self.autosave = journal
                self.history_changed.emit()
                return masks
        journal.start()
        self.autosave = journal
        return None

    def close_autosave(self, discard: bool) -> None:
        if self.autosave is not None:
            if discard:
                self.autosave.discard()
            self.autosave = None


def _refused_before_saving(doc: Document, path: Path, replace: bool) -> None:
    """Raise what a save in the background would refuse, before its job starts (a walk-through saw an
    odd-sized clip run its whole save towards .mp4, whose H.264 takes even sizes only, and fail)."""
    from core.io.dispatch import check_target

    check_target(doc, path, overwrite=replace)
    if doc.kind == "video":
        from core.io.video import check_codec
        from core.tasks import TASKS

        # frames still to be made by a resizing repair have a size the clip's own does not say
        resizing = doc.pending is not None and any(
            TASKS[step.task].resizes for step in doc.provenance if step.task in TASKS
        )
        check_codec(path, None, None if resizing else doc)  # the app writes with the container's codec
