"""The Preferences dialog (device, precision, tiles, memory) and the keyboard shortcut list.

GPUs are listed without slowing the start: torch is imported on a background thread the first time
the dialog opens (or read from the already imported module once a repair has run).
"""

from __future__ import annotations

import sys
import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.settings import Settings

BACKENDS = [
    ("Automatic (bfloat16 on a CPU with AMX, else ONNX Runtime when installed)", "auto"),
    ("torch, float32", "torch"),
    ("torch, bfloat16 (CPUs with AMX or AVX-512 BF16; faster, within 0.05 dB)", "torch-bf16"),
    ("ONNX Runtime, float32", "onnx"),
    ("ONNX Runtime, int8 (faster, slightly less exact)", "onnx-int8"),
]

PRECISIONS = [
    ("Automatic (half precision on capable GPUs)", "auto"),
    ("float32", "float32"),
    ("float16", "float16"),
    ("bfloat16", "bfloat16"),
]


def detect_gpus() -> list[tuple[str, str]]:
    """(device string, description) for each accelerator torch sees; imports torch."""
    import torch

    found = [
        (f"cuda:{i}", f"CUDA {i}: {torch.cuda.get_device_name(i)}") for i in range(torch.cuda.device_count())
    ]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append(("mps", "Apple GPU (Metal)"))
    return found


class _GpuProbe(QObject):
    done = Signal(list)

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True, name="lacuna-gpu-probe").start()

    def _run(self) -> None:
        try:
            self.done.emit(detect_gpus())
        except Exception:  # noqa: BLE001 — no torch or a broken driver: only the CPU is offered
            self.done.emit([])


_gpu_cache: list[tuple[str, str]] | None = None


class PreferencesDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.settings = settings
        layout = QVBoxLayout(self)
        form = QFormLayout()

        self.device = QComboBox()
        self.device.addItem("Automatic (GPU if available)", "auto")
        self.device.addItem("CPU", "cpu")
        form.addRow("Device", self.device)
        self.gpu_note = QLabel("")
        self.gpu_note.setStyleSheet("color: #a9adb4;")
        form.addRow("", self.gpu_note)

        self.precision = QComboBox()
        for text, value in PRECISIONS:
            self.precision.addItem(text, value)
        form.addRow("Precision", self.precision)

        self.backend = QComboBox()
        from core.runtime.backends import unavailable_reason

        for text, value in BACKENDS:
            why = unavailable_reason(value) if value != "auto" else None
            self.backend.addItem(f"{text}: not available here" if why else text, value)
            if why:  # offered, every learned repair would fail (a walk-through)
                item = self.backend.model().item(self.backend.count() - 1)
                item.setEnabled(False)
                item.setToolTip(why)
        form.addRow("Learned networks run on", self.backend)

        self.tile = QSpinBox()
        self.tile.setRange(0, 8192)
        self.tile.setSingleStep(64)
        self.tile.setSpecialValueText("Automatic (from free memory)")
        self.tile.setSuffix(" px")
        form.addRow("Tile size", self.tile)

        self.memory = QSpinBox()
        self.memory.setRange(0, 1 << 20)
        self.memory.setSingleStep(256)
        self.memory.setSpecialValueText("No cap")
        self.memory.setSuffix(" MB")
        form.addRow("Memory cap", self.memory)

        self.undo_memory = QSpinBox()
        self.undo_memory.setRange(64, 1 << 20)
        self.undo_memory.setSingleStep(128)
        self.undo_memory.setSuffix(" MB")
        form.addRow("Undo memory", self.undo_memory)
        layout.addLayout(form)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        self._load()
        self._probe_gpus()

    def _load(self) -> None:
        s = self.settings
        self._select(self.device, s.get("run/device"), add_missing=True)
        self._select(self.precision, s.get("run/precision"))
        self._select(self.backend, s.usable_backend())  # a stale choice shows as what runs: automatic
        self.tile.setValue(s.get("run/tile"))
        self.memory.setValue(s.get("run/memory_mb"))
        self.undo_memory.setValue(s.get("history/undo_mb"))

    @staticmethod
    def _select(box: QComboBox, value: str, add_missing: bool = False) -> None:
        index = box.findData(value)
        if index < 0 and add_missing:
            box.addItem(value, value)
            index = box.count() - 1
        box.setCurrentIndex(max(index, 0))

    def _probe_gpus(self) -> None:
        if _gpu_cache is not None:
            self._add_gpus(_gpu_cache)
        elif "torch" in sys.modules:
            self._add_gpus(detect_gpus())
        else:
            self.gpu_note.setText("Looking for GPUs…")
            self._probe = _GpuProbe()
            self._probe.done.connect(self._add_gpus)
            self._probe.start()

    def _add_gpus(self, gpus: list) -> None:
        global _gpu_cache
        _gpu_cache = list(gpus)
        current = self.device.currentData()
        for device, text in gpus:
            index = self.device.findData(device)
            if index >= 0:
                self.device.setItemText(index, text)
            else:
                self.device.addItem(text, device)
        self._select(self.device, current)
        self.gpu_note.setText(f"{len(gpus)} GPU(s) found" if gpus else "No GPU found: repairs run on the CPU")

    def accept(self) -> None:
        s = self.settings
        s.set("run/device", self.device.currentData())
        s.set("run/precision", self.precision.currentData())
        s.set("run/backend", self.backend.currentData())
        s.set("run/tile", self.tile.value())
        s.set("run/memory_mb", self.memory.value())
        s.set("history/undo_mb", self.undo_memory.value())
        super().accept()


MOUSE_GESTURES = [
    ("Wheel", "Zoom around the cursor; on a series of scan slices, previous / next slice"),
    ("Ctrl+Wheel", "Zoom around the cursor on a series of scan slices"),
    ("Shift+Wheel", "Previous / next slice or page"),
    ("Space+Drag, Middle-drag", "Pan"),
    ("Right-drag", "Window/level: left-right = width, up-down = level"),
    ("Alt+Brush", "Erase while Alt is held (Alt also subtracts rectangles, lassos and fills)"),
    ("Hold X", "Show the image before the last repair"),
    ("Drag the split line", "Move the before/after divider in split view"),
]


class ShortcutsDialog(QDialog):
    """Lists the shortcuts of the window's actions (so the list never drifts from the menus)."""

    def __init__(self, actions, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(560, 640)
        layout = QVBoxLayout(self)
        rows = []
        for action in actions:
            keys = [k.toString(k.SequenceFormat.NativeText) for k in action.shortcuts()]
            if keys:
                rows.append((", ".join(keys), action.text().replace("&", "").rstrip(".…")))
        rows += MOUSE_GESTURES
        table = QTableWidget(len(rows), 2)
        table.setHorizontalHeaderLabels(["Keys", "Action"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        for r, (keys, text) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(keys))
            table.setItem(r, 1, QTableWidgetItem(text))
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(table)
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons, alignment=Qt.AlignmentFlag.AlignRight)
