"""The History dock: the repairs done to the open recording, oldest first, with the details of the
one picked (method, parameters, selection, time). Picking an entry informs and shows where it acted;
it changes nothing (Undo and Redo stay the Edit menu's)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from desktop.workspaces.audio.repair_log import RepairRecord


class RepairHistoryPanel(QWidget):
    show_span = Signal(int, int)  # [start, stop) samples a picked repair changed

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.records: list[RepairRecord] = []
        self.rate = 1
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.list = QListWidget()
        self.list.setToolTip("The repairs done to this recording; pick one to see what it did")
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setStyleSheet("color: #a9adb4;")
        layout.addWidget(self.list, 1)
        layout.addWidget(self.details)
        self.list.currentRowChanged.connect(self._picked)

    def set_records(self, records: list[RepairRecord], rate: int) -> None:
        """Show `records` (oldest first); the newest is picked."""
        self.records, self.rate = list(records), max(1, int(rate))
        self.list.blockSignals(True)
        self.list.clear()
        for record in self.records:
            item = QListWidgetItem(record.title())
            item.setToolTip(record.details(self.rate))
            self.list.addItem(item)
        if self.records:  # the newest picked, without moving the view: nobody asked for it
            self.list.setCurrentRow(len(self.records) - 1)
            self.details.setText(self.records[-1].details(self.rate))
        else:
            self.details.setText("No repairs yet: the recording is as it was opened.")
        self.list.blockSignals(False)

    def _picked(self, row: int) -> None:
        if not 0 <= row < len(self.records):
            return
        record = self.records[row]
        self.details.setText(record.details(self.rate))
        if record.changed is not None:
            self.show_span.emit(*record.changed)
