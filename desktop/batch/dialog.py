"""File → Batch Repair…: a folder, a method with its parameters (the same picker and cards as for one
file), an output folder; a queue with each item's state, overall progress and cancel.

The batch is `core.batch` with the manifest in the output folder, so a batch started here resumes from
`lacuna batch` with the same folders and method, and the other way round.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.batch import Batch, BatchRequest, RunOptions, plan
from core.batch.worker import DETECTION_MARKED, WARNINGS
from core.errors import LacunaError
from desktop.batch.thread import BatchThread
from desktop.widgets.method_picker import MethodPicker

KINDS = {"image": "Images and scans", "audio": "Recordings", "video": "Video clips"}
# What detection finds for the methods that need to be told where to repair (inpainting, fill-gap).
DETECT_TEXT = {
    "image": "Find the damage to inpaint (scratches, dust, tears) with the damage detector",
    "audio": "Find the clicks and dropouts to fill",
}  # a clip's damage is found by its own step (lacuna detect): the box is hidden for video
DETECT_CAVEAT = {  # what a repair nobody reviews can take away (walk-throughs: a mast, ropes, a hair bow)
    "image": "Unreviewed: it can take masts, ropes or a pale bow for scratches. Each note says how much"
    " it marked: check those first.",
    "audio": "Unreviewed: sharp drum hits and plosives can be taken for clicks and filled; listen to the"
    " results.",
}


def _earlier_note(row) -> str:
    """What the queue says of an item an earlier run recorded: its output if done, else why not."""
    if row["state"] == "done" and row["output"]:
        return f"done before: {Path(row['output']).name}"
    return row["error"]


STATE_TEXT = {
    "done": "done",
    "failed": "failed",
    "skipped": "skipped",
    "pending": "to do",
    "running": "running",
}


class BatchDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, folder: str | Path | None = None):
        super().__init__(parent)
        self.setWindowTitle("Batch Repair")
        self.resize(980, 880)  # room for a method's parameters under its description and the caveat
        self.thread: BatchThread | None = None
        self.summary: Any = None
        self.rows: dict[str, int] = {}
        self.started_at = 0.0

        self.input_edit, input_row = self._folder_row("Folder to repair")
        self.output_edit, output_row = self._folder_row("Output folder")
        self._suggested = ""  # the output folder last suggested (replaced when the input changes)
        self.input_edit.editingFinished.connect(self._suggest_output)
        self.kind = QComboBox()
        for key, title in KINDS.items():
            self.kind.addItem(title, key)
        self.kind.currentIndexChanged.connect(self._fill_picker)
        self.detect = QCheckBox()
        self.detect.setChecked(True)  # a method that needs a mask has nothing to work on without it
        keep_room = self.detect.sizePolicy()
        keep_room.setRetainSizeWhenHidden(True)  # the form does not jump as the box comes and goes
        self.detect.setSizePolicy(keep_room)
        self.detect_caveat = QLabel()  # said where the box is, not only in a tooltip (a walk-through)
        self.detect_caveat.setWordWrap(True)
        self.detect.toggled.connect(lambda *_: self._on_method())
        # `lacuna batch --unreviewed`: a folder holding scans is refused without it (core.batch.recipe)
        self.on_scans = QCheckBox("Also fill what it proposes on CT, MR and other scans")
        self.on_scans.setToolTip(
            "Off: a folder holding scans is refused, since anatomy can look like damage to the detector"
            " and no one reviews a batch's proposals (review one scan in the main window instead)"
        )
        self.loss_traces = QCheckBox("Conceal the lost packets each call's loss trace marks")
        self.loss_traces.setToolTip(
            "A recording's trace is NAME_is_lost.txt beside it (one 0/1 line per packet of 20, 10, 30,"
            " 40 or 60 ms, whichever its length fits); "
            "recordings without one are left to detection"
        )
        self.workers = QSpinBox()
        self.workers.setRange(1, 64)
        self.workers.setToolTip("Worker processes (one per GPU; on a CPU each gets a share of the cores)")
        form = QFormLayout()
        form.addRow("Input", input_row)
        form.addRow("Output", output_row)
        form.addRow("Files", self.kind)
        form.addRow("", self.detect)
        form.addRow("", self.detect_caveat)
        form.addRow("", self.on_scans)
        form.addRow("", self.loss_traces)
        form.addRow("Workers", self.workers)

        self.picker = MethodPicker(masks=False)
        self.picker.run_button.setText("Start Batch")
        self.picker.run_requested.connect(self._start)
        self.picker.tree.currentItemChanged.connect(self._on_method)

        self.queue = QTableWidget(0, 3)
        self.queue.setHorizontalHeaderLabels(["Item", "State", "Note"])
        self.queue.verticalHeader().setVisible(False)
        self.queue.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.queue.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.progress = QProgressBar()
        self.status = QLabel("Choose a folder, a method and an output folder.")
        self.status.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel Batch")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        close = QPushButton("Close")
        close.clicked.connect(self.close)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(form)
        left_layout.addWidget(self.picker, 1)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.queue)
        splitter.setStretchFactor(1, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)

        self._fill_picker()
        if folder:
            self.input_edit.setText(str(folder))
            self._suggest_output()

    # --- choosing ---

    def _folder_row(self, title: str) -> tuple[QLineEdit, QWidget]:
        edit = QLineEdit()
        browse = QPushButton("Browse…")
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(edit, 1)
        layout.addWidget(browse)

        def choose() -> None:
            folder = QFileDialog.getExistingDirectory(self, title, edit.text())
            if folder:
                edit.setText(folder)
                edit.editingFinished.emit()

        browse.clicked.connect(choose)
        return edit, row

    def _suggest_output(self) -> None:
        """NAME_repaired beside the folder to repair, unless the person chose an output of their own
        (a suggestion for an earlier input is replaced: a walk-through's photos were headed for
        'medical_repaired')."""
        source = self.input_edit.text().strip()
        typed = self.output_edit.text().strip()
        if source and (not typed or typed == self._suggested):
            self._suggested = str(Path(source).with_name(Path(source).name + "_repaired"))
            self.output_edit.setText(self._suggested)

    def _fill_picker(self) -> None:
        from core.methods import methods

        kind = self.kind.currentData()
        self.picker.set_cards(methods(), volume=kind == "image", kind=kind)
        self.detect.setText(DETECT_TEXT.get(kind, ""))
        self.detect_caveat.setText(DETECT_CAVEAT.get(kind, ""))
        self._on_method()

    def _on_method(self, *_) -> None:
        """Detection tells a method where to repair: offered only to the methods that need it."""
        card = self.picker.current_card()
        kind = self.kind.currentData()
        finds_mask = card is not None and card.needs_mask and kind != "video"
        self.detect.setEnabled(finds_mask)
        self.detect.setVisible(finds_mask)  # greyed but ticked, it read as if detection would run
        caveat = finds_mask and self.detect.isChecked() and bool(self.detect_caveat.text())
        self.detect_caveat.setVisible(caveat)
        self.on_scans.setVisible(finds_mask and self.detect.isChecked() and kind == "image")
        self.loss_traces.setVisible(kind == "audio")
        self.loss_traces.setEnabled(card is not None and card.task == "fill-gap")

    def request(self, task: str, method: str, params: dict[str, Any]) -> BatchRequest:
        return BatchRequest(
            input_dir=Path(self.input_edit.text().strip()),
            output_dir=Path(self.output_edit.text().strip()),
            tasks=(task,),
            methods=(method,),
            params=params,
            detect=self.detect.isChecked() and self.detect.isEnabled(),  # greyed out: not asked
            loss_traces=self.loss_traces.isChecked() and self.loss_traces.isEnabled(),
            unreviewed=self.on_scans.isChecked() and self.on_scans.isVisibleTo(self),
        )

    # --- running ---

    def _start(self, task: str, method: str, params: dict, _options: dict) -> None:
        if self.running:
            return
        if not self.input_edit.text().strip() or not self.output_edit.text().strip():
            self.status.setText("Choose the folder to repair and an output folder.")
            return
        request = self.request(task, method, params)
        try:
            planned = plan(request)
        except LacunaError as exc:
            self.status.setText(str(exc))
            return
        self._fill_queue(planned.items, planned.recipes, request.output_dir)
        batch = Batch(request, RunOptions(), workers=self.workers.value())
        self.thread = BatchThread(batch, self)
        self.thread.began.connect(self._began)
        self.thread.item_finished.connect(self._item_finished)
        self.thread.ended.connect(self._ended)
        self.thread.failed.connect(self._failed)
        self.summary = None
        self.started_at = time.monotonic()
        self.picker.set_busy(True)
        self.cancel_button.setEnabled(True)
        self.status.setText("Starting…")
        self.thread.start()

    def _fill_queue(self, items: list, recipes: dict, output_dir: Path) -> None:
        from core.batch.manifest import Manifest, manifest_path

        known: dict[str, tuple[str, str]] = {}
        if manifest_path(output_dir).exists():
            manifest = Manifest(manifest_path(output_dir))
            known = {row["key"]: (row["state"], _earlier_note(row)) for row in manifest.items()}
            manifest.close()
        self.queue.setRowCount(len(items))
        self.rows = {}
        for row, item in enumerate(items):
            state, note = known.get(item.key, ("pending", ""))
            if item.kind not in recipes:
                state, note = "skipped", f"no task chosen for {item.kind} files"
            self.rows[item.key] = row
            self.queue.setItem(row, 0, QTableWidgetItem(item.key))
            self.queue.setItem(row, 1, QTableWidgetItem(STATE_TEXT.get(state, state)))
            cell = QTableWidgetItem(note)
            cell.setToolTip(note)  # a long reason is cut in its column
            self.queue.setItem(row, 2, cell)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.isRunning()

    def _began(self, total: int, todo: int) -> None:
        self.progress.setRange(0, max(todo, 1))
        self.progress.setValue(0)
        self.status.setText(f"{todo} of {total} items to do.")

    def _item_finished(self, outcome) -> None:
        row = self.rows.get(outcome.key)
        if row is not None:
            self.queue.item(row, 1).setText(STATE_TEXT.get(outcome.state, outcome.state))
            note = outcome.error or Path(outcome.output).name
            marked = outcome.params.get(DETECTION_MARKED)
            if marked is not None and not outcome.error:  # which unreviewed fills to look at first
                note += f" (detection marked {marked * 100:.2f}%)"
            warnings = outcome.params.get(WARNINGS, [])  # as the command line says them (a truncated scan)
            more = f" (and {len(warnings) - 1} more)" if len(warnings) > 1 else ""
            shown = f"{note}; warning: {warnings[0]}{more}" if warnings else note
            self.queue.item(row, 2).setText(shown)
            self.queue.item(row, 2).setToolTip("\n".join([note, *(f"warning: {w}" for w in warnings)]))
            self.queue.scrollToItem(self.queue.item(row, 0))
        if outcome.cancelled:  # stopped in flight: still to do, not a step of the bar
            return
        self.progress.setValue(self.progress.value() + 1)
        done, total = self.progress.value(), self.progress.maximum()
        elapsed = time.monotonic() - self.started_at
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = f", about {int((total - done) / rate)} s left" if rate > 0 and done < total else ""
        self.status.setText(f"{done} of {total} items, {rate:.2f} items/s{eta}.")

    def _ended(self, summary) -> None:
        self.summary = summary
        report = f" Report: {summary.report}" if summary.report else ""  # the CSV
        # what the plan left out (an archive's inventory.txt), said as the command line says it
        notes = f" {len(summary.notes)} note(s): hover here." if summary.notes else ""
        self.status.setText(summary.text().splitlines()[0] + report + notes)
        self.status.setToolTip("\n".join(f"Note: {note}" for note in summary.notes))
        self._idle()

    def _failed(self, message: str) -> None:
        self.status.setText(message)
        self._idle()

    def _idle(self) -> None:
        self.picker.set_busy(False)
        self.cancel_button.setEnabled(False)

    def cancel(self) -> None:
        if self.running:
            self.thread.cancel()
            self.status.setText("Cancelling: the items in flight stop; the rest stay to do.")

    def shutdown(self, timeout: float = 3.0) -> bool:
        """Cancel a running batch and wait for its thread; False if it did not stop in time."""
        if self.thread is None:
            return True
        self.thread.cancel()
        return self.thread.wait(int(timeout * 1000))

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        # Closing the dialog stops the batch; what was done stays done, the rest stays to do.
        self.shutdown(timeout=60.0)
        super().closeEvent(event)
