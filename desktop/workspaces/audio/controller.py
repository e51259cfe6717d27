"""The audio workspace's state and actions, without a window: selections, fills, their undo, A/B.

A fill runs core's `repair(doc, "fill-gap", ...)` on the shared `JobRunner` with the preferences'
device and precision and the method's parameters. It changes a few hundred milliseconds of a
recording that may last an hour, so its undo step (a `FillEdit` in the session's one history) keeps
only the changed samples, before and after, not two copies of the whole document.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.documents import AudioDoc
from desktop.history import GLOBAL, Entry
from desktop.jobs import JobRunner
from desktop.session import Session


@dataclass
class FillEdit:
    start: int
    before: np.ndarray
    after: np.ndarray
    provenance_before: list
    provenance_after: list
    selections: tuple = ()  # what was selected for the fill (the history list shows it)

    @property
    def nbytes(self) -> int:
        return int(self.before.nbytes + self.after.nbytes)

    @staticmethod
    def between(old: AudioDoc, new: AudioDoc, selections=()) -> FillEdit | None:
        """The samples `new` changed in `old`, or None when it changed none."""
        changed = np.flatnonzero(np.any(old.samples != new.samples, axis=1))
        if changed.size == 0:
            return None
        a, b = int(changed[0]), int(changed[-1]) + 1
        return FillEdit(
            a,
            old.samples[a:b].copy(),
            new.samples[a:b].copy(),
            old.provenance,
            new.provenance,
            tuple(selections),
        )

    def applied_to(self, doc: AudioDoc, undo: bool) -> AudioDoc:
        values, provenance = (
            (self.before, self.provenance_before) if undo else (self.after, self.provenance_after)
        )
        samples = doc.samples.copy()
        samples[self.start : self.start + len(values)] = values
        out = doc.with_samples(samples)
        out.provenance = list(provenance)
        return out


def with_channels(selections: list, channels: tuple[int, ...] | None) -> list:
    """The selections restricted to `channels` (None: all channels)."""
    if channels is None:
        return list(selections)
    out = []
    for sel in selections:
        if hasattr(sel, "mask"):  # a TFMask keeps its grid
            out.append(type(sel)(sel.mask, sel.start, sel.step, sel.max_hz, channels))
        else:
            out.append(dataclasses.replace(sel, channels=channels))
    return out


class AudioController(QObject):
    shown_changed = Signal()  # the recording shown (after a fill, an undo, A/B) or the selections changed
    error = Signal(str)
    status = Signal(str)
    dropouts_found = Signal(object)  # Detect dropouts' findings (core.audio.detect.Detection), now selected
    packets_marked = Signal(str)  # a loss trace's lost packets are now selected; what to tell the person
    warning = Signal(str)  # what the person should know of a trace: a call mostly lost, its length

    def __init__(self, session: Session, settings=None, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self.jobs = JobRunner(self, "Cancelled: the recording is unchanged.")
        self.selections: list = []
        self.filled = False  # the selections were just filled: drawn as markers, the fill left visible
        self.showing_before = False
        self.opened_provenance: list = []  # the repairs the file had when it was opened

    @property
    def doc(self) -> AudioDoc | None:
        return self.session.document_of("audio")

    @property
    def history(self):
        return self.session.history

    @property
    def busy(self) -> bool:
        return self.jobs.busy

    def show_new_document(self) -> None:
        self.jobs.drop()
        self.opened_provenance = list(self.doc.provenance) if self.doc is not None else []
        self.selections = []
        self.selection_origin = ""
        self.filled = self.showing_before = False
        self.shown_changed.emit()

    def set_selections(self, selections, origin: str = "") -> None:
        """The spans and regions to fill, and where they came from for the record ('89 found by
        Detect dropouts'; '' for a person's own selection)."""
        self.selections = [s for s in (selections or []) if s is not None]
        self.selection_origin = origin if self.selections else ""
        self.filled = False
        self.shown_changed.emit()

    # --- fills ---

    def fill(self, method: str, params: dict[str, Any] | None = None, channels=None, title: str = "") -> bool:
        """Fill the selections with `method` on the worker thread; False when there is nothing to do."""
        doc = self.doc
        if doc is None or not self.selections:
            return False
        from core.runtime.context import RunContext

        if self.showing_before:  # a fill changes the recording as it is now: show that, not "A"
            self.set_ab(False)
        selections = with_channels(self.selections, channels)
        ctx = RunContext(**(self.settings.run_settings() if self.settings is not None else {}))
        params = dict(params or {})

        def start():
            from core.repair import repair

            return repair(doc, "fill-gap", method, selections, ctx, **params)

        origin = self.selection_origin
        self.jobs.start(
            title or f"Filling with {method}",
            start,
            lambda result: self._finished(doc, result, selections, origin),
            ctx.cancel_event,
            ctx,
        )
        return True

    def _finished(self, source: AudioDoc, result: AudioDoc, selections: list, origin: str = "") -> None:
        if self.doc is not source:
            return
        if origin and result.provenance:  # the record says where the selection came from, as the CLI's
            step = result.provenance[-1]
            step.selection = "; ".join(filter(None, [origin, step.selection]))
        count = len(selections)
        edit = FillEdit.between(source, result, selections)
        if edit is None:
            # a walk-through filled twice and read "Nothing changed." as a failure
            filled = ": the selections are filled already; undo the fill to try another method"
            self.status.emit(f"Nothing changed{filled if self.filled else ''}.")
            return
        from core.methods import method_name

        made_by = result.provenance[-1].method if result.provenance else ""
        label = f"fill with {method_name(made_by) or 'a method'}"  # Edit > Undo names what it undoes
        self.history.push(Entry(GLOBAL, label, edit, edit.nbytes))
        self.filled = True
        self._show(result)
        self.status.emit(f"Filled {count} selection(s)")
        self.session.history_changed.emit()

    def cancel(self) -> None:
        self.jobs.cancel()

    def shutdown(self, timeout: float = 3.0) -> bool:
        return self.jobs.shutdown(timeout)

    def detect(self) -> None:
        """Propose damaged spans (clicks, dropouts, discontinuities) as the selection."""
        from core.audio.detect import count_kinds, detect

        doc = self.shown_document()
        if doc is None:
            return
        found = detect(doc.samples, doc.sample_rate)
        summary = count_kinds(found)
        self.set_selections(
            [d.selection for d in found], f"{summary} found by Detect damage" if found else ""
        )
        self.status.emit(f"Detected: {summary or 'no damage found'}")

    def detect_dropouts(self) -> bool:
        """Find the dropouts (core's detector: runs of exact zeros on a packet grid, silences cutting
        through speech) on the worker; they become the selection. False without a recording."""
        doc = self.doc
        if doc is None:
            return False
        self.jobs.start(
            "Detecting dropouts",
            lambda: dropouts(doc.samples, doc.sample_rate),
            lambda found: self._dropouts_found(doc, found),
        )
        return True

    def _dropouts_found(self, source: AudioDoc, found: list) -> None:
        from core.audio.detect import call_warnings, packet_grid_ms

        if self.doc is not source:
            return
        grid = packet_grid_ms(found, source.sample_rate)
        on_grid = f" on a {grid:g} ms packet grid" if grid else ""
        self.set_selections([d.selection for d in found], f"{len(found)} found by Detect dropouts{on_grid}")
        self.dropouts_found.emit(found)
        for warning in call_warnings(found, grid, len(source.samples)):  # as a loss trace's load says
            self.warning.emit(warning[:1].upper() + warning[1:])

    def load_loss_trace(self, path) -> bool:
        """Select the packets a loss trace marks lost (as `lacuna repair --loss-trace`): one 0/1 line
        per packet, the packet length the one of the common ones whose count fits the recording. A
        trace that is unreadable, or marks the recording's received speech, is refused with the reason
        and the selection kept. False when nothing was selected."""
        from pathlib import Path

        from core.audio.loss_trace import traced_loss
        from core.errors import LacunaError

        doc = self.doc
        if doc is None:
            return False
        path = Path(path)
        try:  # against the recording as opened: after a fill, its own trace marked Lacuna's fill
            loss = traced_loss(self.opened().samples, doc.sample_rate, path)
        except LacunaError as exc:
            self.error.emit(str(exc))
            return False
        if not loss.spans:
            self.error.emit(f"{path.name}: no packet of this recording is marked lost")
            return False
        self.set_selections(loss.spans, loss.origin)
        lost_ms = sum(span.stop - span.start for span in loss.spans) * 1000 / doc.sample_rate
        told = f"{loss.origin} ({len(loss.spans)} run(s), {lost_ms:.0f} ms)"
        self.packets_marked.emit(told)
        if loss.warnings:
            self.warning.emit(f"{path.name}: " + "; ".join(loss.warnings))
        return True

    # --- undo / redo (the session's one history; fills live in the global lane) ---

    def can_undo(self) -> bool:
        return self.history.can_undo(None)

    def can_redo(self) -> bool:
        return self.history.can_redo(None)

    def undo(self) -> None:
        self._step(undo=True)

    def redo(self) -> None:
        self._step(undo=False)

    def _step(self, undo: bool) -> None:
        doc = self.doc
        if doc is None or self.busy:
            return
        entry = self.history.undo(None) if undo else self.history.redo(None)
        if entry is None:
            return
        self.filled = not undo  # undone, the selections are holes again; redone, filled
        self._show(entry.payload.applied_to(doc, undo))
        self.status.emit(("Undid " if undo else "Redid ") + entry.label)
        self.session.history_changed.emit()

    def _show(self, doc: AudioDoc) -> None:
        self.showing_before = False
        self.session.replace(doc)
        self.shown_changed.emit()

    # --- A/B ---

    def previous(self) -> AudioDoc | None:
        """The recording before the last fill (the "A" of an A/B comparison), or None."""
        entry = self.history.peek_undo(None)
        doc = self.doc
        if entry is None or doc is None or not isinstance(entry.payload, FillEdit):
            return None
        return entry.payload.applied_to(doc, undo=True)

    def fills(self) -> list[FillEdit]:
        """The fills done to this recording in this session and not undone, oldest first."""
        return [e.payload for e in self.history.entries() if isinstance(e.payload, FillEdit)]

    def difference(self, against: str = "previous") -> tuple[np.ndarray, int] | None:
        """What the fills changed, as (current - earlier samples over the changed span, its first
        sample): against the state before the last fill ("previous") or as the file was opened
        ("original"); None when nothing was filled."""
        fills = self.fills()
        doc = self.doc
        if not fills or doc is None:
            return None
        if against == "previous":
            last = fills[-1]
            return last.after - last.before, last.start
        original = self.opened()
        a = min(e.start for e in fills)
        b = max(e.start + len(e.before) for e in fills)
        return doc.samples[a:b] - original.samples[a:b], a

    def opened(self) -> AudioDoc | None:
        """The recording as it was opened: the current one with this session's fills taken back."""
        original = self.doc
        for edit in reversed(self.fills()):
            original = edit.applied_to(original, undo=True)
        return original

    def shown_document(self) -> AudioDoc | None:
        if self.showing_before:
            return self.previous() or self.doc
        return self.doc

    def set_ab(self, before: bool) -> None:
        self.showing_before = bool(before) and self.can_undo()
        self.shown_changed.emit()


def dropouts(samples: np.ndarray, rate: int, chunk_s: float = 60.0, overlap_s: float = 5.0):
    """Core's dropout detector (clicks and discontinuities left out) as a job: a minute at a time, so
    an hour-long recording shows progress and stops at the next minute when cancelled.

    Each minute is read with `overlap_s` on either side and keeps the findings that start inside it:
    a dropout across a boundary is found whole in the minute where it starts (up to `overlap_s` long).
    """
    from core.audio.detect import detect, snapped_to_grid
    from core.runtime.context import Progress

    n = len(samples)
    chunk, overlap = max(1, int(chunk_s * rate)), int(overlap_s * rate)
    found = []
    for start in range(0, n, chunk):
        yield Progress(start / n, f"Looking for dropouts… {start / rate:.0f} s of {n / rate:.0f} s")
        lo, stop = max(0, start - overlap), min(n, start + chunk)
        for finding in detect(
            samples[lo : min(n, stop + overlap)], rate, clicks=False, discontinuities=False
        ):
            if start <= finding.selection.start + lo < stop:
                found.append(dataclasses.replace(finding, selection=finding.selection.shifted(lo)))
    yield Progress(1.0, f"{len(found)} dropout(s) found")
    return snapped_to_grid(found, rate, n)  # a call's lost packets, not the zero samples beside them
